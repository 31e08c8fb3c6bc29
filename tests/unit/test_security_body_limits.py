"""Issue 14 §2: the token is checked before a body is read, and every body has a
size limit enforced while it streams in.

Against a real `gridsight serve` process: large bodies are sent from a generator
over a raw socket (the client never holds them), and a reader thread notes how
much had been sent when the answer arrived. An anonymous 50 MB upload must get
its 401, and an oversize one its 413, long before the body is through; four
concurrent ones must not grow the server's resident memory (read from
/proc/<pid>/status) by 100 MB, and /health must keep answering between the refusals meanwhile."""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.support.api import ApiServer
from tests.support.ops import ADMIN, OP_A, WORKER, secured_settings
from tests.support.orders import JPEG, b64, order_body

MB = 1024 * 1024
BIG = 50 * MB
LIMIT = 1 * MB
JSON_LIMIT = 64 * 1024
TOKENS = {
    f"wk-{secrets.token_hex(16)}": {"role": "worker", "name": "cam-worker"},
    f"op-{secrets.token_hex(16)}": {"role": "operator", "name": "op.a", "grids": ["cell-0274"]},
}
WORKER_TOKEN, OPERATOR_TOKEN = TOKENS


@dataclass
class Answer:
    status: int | None
    body: bytes
    sent_at_answer: int  # body bytes the client had handed to the socket when the status line arrived
    sent_total: int
    seconds: float


def upload(port: int, method: str, path: str, size: int, *, token: str | None = None, chunked: bool = False,
           content_type: str = "application/json", chunk: int = 64 * 1024, timeout_s: float = 60) -> Answer:
    """Send ``size`` body bytes made on the fly (Content-Length, or chunked) and return
    the answer, with how much of the body had gone out when it came."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
    head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Type: {content_type}"]
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}")
    if token is not None:
        head.append(f"Authorization: Bearer {token}")
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    sent = 0
    answered = threading.Event()
    result: dict = {"data": b"", "sent_at": None}

    def read() -> None:
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                if result["sent_at"] is None:
                    result["sent_at"] = sent
                    answered.set()
                result["data"] += data
                head_end = result["data"].find(b"\r\n\r\n")
                if head_end >= 0:
                    length = _content_length(result["data"][:head_end])
                    if length is not None and len(result["data"]) >= head_end + 4 + length:
                        break
        except OSError:
            pass
        finally:
            answered.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    started = time.monotonic()
    prefix = b'{"evidence": [{"kind": "snapshot", "content_type": "image/jpeg", "data_b64": "'
    try:
        while sent < size and not answered.is_set():
            piece = (prefix if sent == 0 else b"") or b"A" * min(chunk, size - sent)
            piece = piece[: size - sent]
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            sent += len(piece)
        if chunked and sent >= size and not answered.is_set():
            sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server closed the connection after answering
    reader.join(timeout_s)
    elapsed = time.monotonic() - started
    sock.close()
    data = result["data"]
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else None
    body = data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in data else b""
    sent_at = result["sent_at"] if result["sent_at"] is not None else sent
    return Answer(status, body, sent_at, sent, elapsed)


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return None


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[int, int]]:
    """`gridsight serve` with tokens (not dev mode) and 1 MB upload limits; yields (port, pid)."""
    api = ApiServer(tmp_path_factory.mktemp("guard"), tokens=TOKENS, env={
        "GRIDSIGHT_JOB_INTERVAL_S": "0",
        "GRIDSIGHT_MAX_EVIDENCE_BODY_BYTES": str(LIMIT),
        "GRIDSIGHT_MAX_SNAPSHOT_BYTES": str(LIMIT),
        "GRIDSIGHT_MAX_JSON_BODY_BYTES": str(JSON_LIMIT),
    })
    with api:
        yield api.port, api.pid


ORDERS = "/api/v1/work-orders"
SNAPSHOT = "/api/v1/cameras/cam-01/snapshot"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("method,path", [("POST", ORDERS), ("PUT", SNAPSHOT), ("POST", "/api/v1/grid-cells"),
                                         ("POST", "/api/v1/work-orders/1/transitions")])
def test_an_anonymous_upload_is_refused_before_its_body_is_read(server, method: str, path: str, chunked: bool) -> None:
    port, _ = server
    answer = upload(port, method, path, BIG, chunked=chunked)
    assert answer.status == 401, answer
    assert answer.sent_at_answer < BIG // 4, f"401 came after {answer.sent_at_answer} of {BIG} bytes"
    assert "bearer token" in json.loads(answer.body)["detail"]
    bad_token = upload(port, method, path, BIG, chunked=chunked, token="not-a-token-" + "x" * 20)
    assert bad_token.status == 401 and bad_token.sent_at_answer < BIG // 4, bad_token


@pytest.mark.parametrize("method,path", [("POST", ORDERS), ("PUT", SNAPSHOT), ("POST", "/api/v1/events/end"),
                                         ("POST", "/api/v1/events/evidence")])
def test_the_wrong_role_is_refused_before_the_body_is_read(server, method: str, path: str) -> None:
    port, _ = server
    answer = upload(port, method, path, BIG, token=OPERATOR_TOKEN, content_type="image/jpeg")
    assert answer.status == 403, answer
    assert answer.sent_at_answer < BIG // 4


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("method,path,content_type,limit", [
    ("POST", ORDERS, "application/json", LIMIT),
    ("PUT", SNAPSHOT, "image/jpeg", LIMIT),
    ("POST", "/api/v1/work-orders/1/comments", "application/json", JSON_LIMIT),
])
def test_an_oversize_body_is_413_as_soon_as_it_passes_the_limit(server, method: str, path: str, content_type: str,
                                                                limit: int, chunked: bool) -> None:
    port, _ = server
    token = OPERATOR_TOKEN if "comments" in path else WORKER_TOKEN
    answer = upload(port, method, path, BIG, token=token, chunked=chunked, content_type=content_type)
    assert answer.status == 413, answer
    detail = json.loads(answer.body)["detail"]
    assert f"{limit}-byte limit" in detail and "GRIDSIGHT_MAX_" in detail
    if chunked:  # counted while streaming: refused once past the limit, not at the end
        assert limit < answer.sent_at_answer < BIG // 4, answer
    else:  # the declared length is refused before any of the body is read
        assert answer.sent_at_answer < BIG // 4, answer


def test_requests_within_the_limits_still_work(server) -> None:
    port, _ = server
    base = f"http://127.0.0.1:{port}"
    worker = {"Authorization": f"Bearer {WORKER_TOKEN}"}
    body = order_body(evidence=[{"kind": "snapshot", "content_type": "image/jpeg", "data_b64": b64(JPEG)}])
    response = httpx.post(f"{base}{ORDERS}", json=body, headers={**worker, "Idempotency-Key": "key-guard-0001"})
    assert response.status_code == 201, response.text
    snap = httpx.put(f"{base}{SNAPSHOT}", content=JPEG, headers={**worker, "Content-Type": "image/jpeg"})
    assert snap.status_code == 200, snap.text

    def chunks() -> Iterator[bytes]:  # chunked, under the limit
        yield JPEG[:100]
        yield JPEG[100:]

    chunked = httpx.put(f"{base}{SNAPSHOT}", content=chunks(), headers={**worker, "Content-Type": "image/jpeg"})
    assert chunked.status_code == 200, chunked.text


@pytest.mark.slow  # a 4 s attack on the real server
def test_four_concurrent_anonymous_uploads_leave_memory_and_health_alone(server) -> None:
    port, pid = server
    base = f"http://127.0.0.1:{port}"
    httpx.get(f"{base}/health", timeout=5)
    before = rss_bytes(pid)
    peak = before
    stop = threading.Event()
    answers: list[Answer] = []

    def attacker(n: int) -> None:
        while not stop.is_set():
            answers.append(upload(port, "POST", ORDERS, BIG, chunked=bool(n % 2)))

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, rss_bytes(pid))
            time.sleep(0.02)

    threads = [threading.Thread(target=attacker, args=(n,), daemon=True) for n in range(4)]
    threads.append(threading.Thread(target=sample, daemon=True))
    for thread in threads:
        thread.start()
    # Each /health notes how many attack answers had come back before and after it: a server
    # that served it only once the attack's requests were through would show none in between.
    # (How fast it answers is a benchmark's question, not a test's: a 1 s bound here failed on
    # a loaded 2-core CI host while nothing was wrong.)
    health: list[tuple[int, int]] = []
    try:
        under_way = time.monotonic() + 60  # a bound on the wait, so a hung server fails instead of hanging
        while len(answers) < 4:  # the attack is under way: four refusals have come back
            assert all(thread.is_alive() for thread in threads), "an attacker died before the attack got going"
            assert time.monotonic() < under_way, f"only {len(answers)} refusals in 60 s"
            time.sleep(0.01)
        for _ in range(20):
            seen = len(answers)
            assert httpx.get(f"{base}/health", timeout=10).status_code == 200
            health.append((seen, len(answers)))
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert answers and all(a.status == 401 and a.sent_at_answer < BIG // 4 for a in answers), answers[:4]
    assert peak - before < 100 * MB, f"RSS grew {(peak - before) / MB:.0f} MB under the attack"
    # The attack went on while /health was answered: it is served between refusals, not after them.
    assert health[-1][0] > health[0][0], f"no attack answers came back while /health was sampled: {health}"


# In-process checks of the same guard (quick, no server).

@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[TestClient]:
    settings = secured_settings(tmp_path, max_evidence_body_bytes=64 * 1024, max_json_body_bytes=8 * 1024)
    with TestClient(create_app(settings)) as client:
        yield client


def test_refusals_close_the_connection_and_say_which_setting(guarded: TestClient) -> None:
    big = guarded.post(ORDERS, content=b"{" + b" " * 70_000 + b"}", headers={**WORKER, "Content-Type": "application/json"})
    assert big.status_code == 413 and big.headers["connection"] == "close"
    assert big.json()["detail"] == (
        "request body larger than the 65536-byte limit of this route (GRIDSIGHT_MAX_EVIDENCE_BODY_BYTES)")
    anonymous = guarded.post(ORDERS, content=b"{}", headers={"Content-Type": "application/json"})
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    team = guarded.post("/api/v1/teams", json={"code": "t1", "name": "x" * 9000}, headers=ADMIN)
    assert team.status_code == 413 and "GRIDSIGHT_MAX_JSON_BODY_BYTES" in team.json()["detail"]
    # Without a body nothing changes: the routes answer as before.
    assert guarded.get(ORDERS, headers=OP_A).status_code == 200
    assert guarded.get(ORDERS).status_code == 401


def test_a_streamed_body_is_counted_when_it_has_no_length(guarded: TestClient) -> None:
    def pieces() -> Iterator[bytes]:
        for _ in range(100):
            yield b" " * 1024

    response = guarded.post(ORDERS, content=pieces(), headers={**WORKER, "Content-Type": "application/json"})
    assert response.status_code == 413 and "65536-byte limit" in response.json()["detail"]


def test_limits_are_settings_with_bounds(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from api.settings import Settings

    fields = Settings.model_fields
    for name in ("max_json_body_bytes", "max_evidence_body_bytes", "max_snapshot_bytes"):
        assert fields[name].description
    with pytest.raises(ValidationError):
        secured_settings(tmp_path, max_json_body_bytes=10)
    with pytest.raises(ValidationError):
        secured_settings(tmp_path, max_evidence_body_bytes=2 * 1024**3)
