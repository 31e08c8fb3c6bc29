"""HookSink (streams.actions.http) against a real HTTP server on loopback: a 2xx is delivered,
a 5xx retried, a 404 final, a timeout and a refused connection failed after retries + 1
attempts with backoff; the body is signed as the API's webhooks (api.contract.signing) when a
secret is set; neither the secret nor a URL's user:password reaches the log or /health;
problem() reports a failing hook until it answers again; stop() drops what is still queued."""

from __future__ import annotations

import base64
import http.server
import json
import logging
import threading
import time

import pytest

from api.contract.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from streams.actions.http import HookSink, display_url
from streams.actions.queue import DELIVERED, DROPPED, FAILED, ActionMessage
from streams.config.actions import HookConfig
from tests.support.procs import free_port, wait_until

HANG = "hang"  # the handler answers only once the test releases it (long after the client's timeout)
SECRET = "s3cret-hmac-key"
PASSWORD = "pa55-w0rd"


class HookServer:
    """A scripted endpoint: each request takes the next status (or HANG) from ``script``; 200 once it is empty."""

    def __init__(self) -> None:
        self.script: list = []
        self.requests: list[dict] = []
        self.release = threading.Event()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                owner.requests.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                       "at": time.monotonic()})
                action = owner.script.pop(0) if owner.script else 200
                if action == HANG:
                    owner.release.wait(30)
                    action = 200
                try:
                    self.send_response(action)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the client gave up on us

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}/hook"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint():
    server = HookServer()
    yield server
    server.close()


@pytest.fixture
def sinks():
    """Started sinks, stopped after the test."""
    made: list[HookSink] = []

    def make(url: str, **config) -> HookSink:
        config = {"retries": 2, "backoff_initial_s": 0.05, "backoff_max_s": 0.2, "timeout_s": 2.0, **config}
        sink = HookSink("speaker", HookConfig(url=url, **config))
        sink.start()
        made.append(sink)
        return sink

    yield make
    for sink in made:
        sink.stop(flush_timeout_s=0.5)


def message(n: int = 1, phase: str = "start") -> ActionMessage:
    body = json.dumps({"event_id": f"e{n}", "phase": phase, "name": "电动车进电梯"}, ensure_ascii=False).encode()
    return ActionMessage("hook:speaker", "speaker", body, event_id=f"e{n}", phase=phase, route="lift")


def send(sink: HookSink, msg: ActionMessage, timeout_s: float = 15) -> ActionMessage:
    sink.submit(msg)
    assert msg.done.wait(timeout_s), f"{msg.event_id} not finished within {timeout_s} s"
    return msg


def test_a_2xx_is_delivered_once_with_the_body_and_headers(endpoint, sinks):
    sink = sinks(endpoint.url)
    msg = send(sink, message(phase="end"))
    assert msg.outcome == DELIVERED and sink.attempts == 1
    (request,) = endpoint.requests
    assert request["path"] == "/hook" and request["body"] == msg.body
    headers = request["headers"]
    assert headers["Content-Type"] == "application/json" and headers["X-GridSight-Event"] == "action.end"
    assert headers["X-GridSight-Action-Id"] == "e1"
    assert sink.stats()["delivered"] == 1 and sink.problem() is None


def test_a_5xx_is_retried_and_then_delivered(endpoint, sinks):
    endpoint.script = [500, 503]
    sink = sinks(endpoint.url)
    msg = send(sink, message())
    assert msg.outcome == DELIVERED and sink.attempts == 3 and len(endpoint.requests) == 3
    assert all(r["body"] == msg.body for r in endpoint.requests)
    gaps = [b["at"] - a["at"] for a, b in zip(endpoint.requests, endpoint.requests[1:])]
    assert gaps[0] >= 0.05 * 0.7 - 0.005 and gaps[1] >= 0.1 * 0.7 - 0.005  # backoff 0.05 s, then 0.1 s (+-30 %)


@pytest.mark.parametrize("status", [429, 408])
def test_too_many_requests_and_request_timeout_are_retried(endpoint, sinks, status):
    endpoint.script = [status]
    sink = sinks(endpoint.url)
    assert send(sink, message()).outcome == DELIVERED and sink.attempts == 2


@pytest.mark.parametrize("status", [404, 400, 401])
def test_a_4xx_is_final_and_not_retried(endpoint, sinks, status):
    endpoint.script = [status]
    sink = sinks(endpoint.url, retries=5)
    msg = send(sink, message())
    assert msg.outcome == FAILED and msg.detail == f"HTTP {status}"
    assert sink.attempts == 1 and len(endpoint.requests) == 1
    assert sink.stats()["failed"] == 1


def test_an_endpoint_that_does_not_answer_in_time_fails_after_every_retry(endpoint, sinks):
    endpoint.script = [HANG, HANG]
    sink = sinks(endpoint.url, timeout_s=0.3, retries=1)
    started = time.monotonic()
    msg = send(sink, message())
    elapsed = time.monotonic() - started
    assert msg.outcome == FAILED and msg.detail == "no answer within 0.3 s"
    assert sink.attempts == 2 and len(endpoint.requests) == 2
    assert 2 * 0.3 <= elapsed < 5


def test_a_refused_connection_fails_after_retries_plus_one_attempts_with_backoff(sinks):
    url = f"http://127.0.0.1:{free_port()}/hook"
    sink = sinks(url, retries=2, backoff_initial_s=0.1, backoff_max_s=1.0)
    started = time.monotonic()
    msg = send(sink, message())
    elapsed = time.monotonic() - started
    assert msg.outcome == FAILED and sink.attempts == 3
    assert "ConnectError" in msg.detail
    assert elapsed >= (0.1 + 0.2) * 0.7 - 0.01  # two backoff delays (0.1 s, 0.2 s; jitter +-30 %)


def test_the_body_is_signed_as_the_api_signs_its_webhooks(endpoint, sinks):
    sink = sinks(endpoint.url, secret=SECRET)
    msg = send(sink, message())
    headers = endpoint.requests[0]["headers"]
    timestamp, signature = headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER]
    assert signature.startswith("sha256=")
    assert verify(SECRET, timestamp, msg.body, signature)
    assert abs(int(timestamp) - time.time()) < 60
    assert not verify("another-key", timestamp, msg.body, signature)
    assert not verify(SECRET, str(int(timestamp) + 1), msg.body, signature)  # the timestamp is signed too
    assert not verify(SECRET, timestamp, msg.body + b" ", signature)


def test_without_a_secret_there_is_no_signature(endpoint, sinks):
    send(sinks(endpoint.url), message())
    headers = endpoint.requests[0]["headers"]
    assert SIGNATURE_HEADER not in headers and TIMESTAMP_HEADER not in headers


def test_display_url_strips_credentials_and_query():
    assert display_url(f"https://admin:{PASSWORD}@10.0.0.5:8443/hook?token=abc") == "https://10.0.0.5:8443/hook"
    assert display_url("http://10.0.0.5/hook") == "http://10.0.0.5/hook"


def test_neither_the_secret_nor_a_url_password_reaches_the_log_or_health(endpoint, sinks, caplog):
    with_credentials = endpoint.url.replace("127.0.0.1", f"admin:{PASSWORD}@127.0.0.1") + "?token=t0k3n"
    refused = f"http://admin:{PASSWORD}@127.0.0.1:{free_port()}/hook?token=t0k3n"
    endpoint.script = [404]
    with caplog.at_level(logging.DEBUG):
        good = sinks(with_credentials, secret=SECRET)
        failed = send(good, message(1))
        problem = good.problem()
        send(good, message(2))
        bad = sinks(refused, secret=SECRET, retries=1)
        refused_msg = send(bad, message(3))
        bad_problem = bad.problem()
    # The URL's user:password went to the endpoint as basic auth, the query as it was.
    assert endpoint.requests[0]["headers"]["Authorization"] == "Basic " + base64.b64encode(
        f"admin:{PASSWORD}".encode()).decode()
    assert endpoint.requests[0]["path"] == "/hook?token=t0k3n"
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("streams"))
    assert "hook speaker" in ours  # the failures were logged
    seen = "\n".join([ours, problem, bad_problem, failed.detail, refused_msg.detail, json.dumps(good.stats()),
                      json.dumps(bad.stats())])
    for secret in (PASSWORD, SECRET, "t0k3n"):
        assert secret not in seen, f"{secret!r} leaked"
    # httpx logs each request's URL at INFO (the worker's logging keeps it at WARNING, and scrubs
    # query secrets); the password is not in that URL at all.
    assert PASSWORD not in caplog.text and SECRET not in caplog.text


def test_a_percent_encoded_password_is_sent_decoded(endpoint, sinks):
    url = endpoint.url.replace("127.0.0.1", "ad%40min:p%3Ass%2Fw@127.0.0.1")
    send(sinks(url), message())
    assert endpoint.requests[0]["headers"]["Authorization"] == "Basic " + base64.b64encode(b"ad@min:p:ss/w").decode()


def test_problem_is_set_by_a_failure_and_cleared_by_the_next_success(endpoint, sinks, caplog):
    endpoint.script = [404]
    sink = sinks(endpoint.url)
    with caplog.at_level(logging.INFO, logger="streams.actions.http"):
        send(sink, message(1))
        problem = sink.problem()
        assert problem is not None and "hook speaker" in problem and "HTTP 404" in problem and "1 failed" in problem
        assert send(sink, message(2)).outcome == DELIVERED
    assert sink.problem() is None
    assert any("answers again" in r.getMessage() for r in caplog.records)


def test_stop_drops_and_counts_what_is_still_queued(endpoint):
    endpoint.script = [HANG]
    sink = HookSink("speaker", HookConfig(url=endpoint.url, timeout_s=0.5, retries=3, backoff_initial_s=5,
                                          backoff_max_s=5))
    sink.start()
    waiting = [message(n) for n in range(4)]
    for msg in waiting:
        sink.submit(msg)
    wait_until(lambda: endpoint.requests, 10, "the first request", poll_s=0.02)
    started = time.monotonic()
    sink.stop(flush_timeout_s=0.1)
    assert time.monotonic() - started < 3  # stop does not sit out a 5 s backoff
    assert [m.outcome for m in waiting] == [FAILED, DROPPED, DROPPED, DROPPED]
    assert all(m.done.is_set() for m in waiting)
    assert sink.stats()["dropped"] == 3 and sink.stats()["failed"] == 1 and sink.stats()["queued"] == 0
    assert "stopped" in waiting[1].detail


def test_a_sink_never_started_drops_everything_at_stop():
    sink = HookSink("speaker", HookConfig(url="http://127.0.0.1:9/hook"))
    waiting = [message(n) for n in range(3)]
    for msg in waiting:
        sink.submit(msg)
    sink.stop(flush_timeout_s=0)
    assert [m.outcome for m in waiting] == [DROPPED] * 3 and sink.stats()["dropped"] == 3
