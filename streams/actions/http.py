"""The HTTP hook sink: edge actions POSTed to a device or site system next to the camera
(a loudspeaker box, a lift controller's gateway, a sign).

One message at a time, in order: each attempt has ``timeout_s``; a connection error, a
timeout, a 5xx, 408 or 429 is retried up to ``retries`` times with exponential backoff
(streams.backoff), any other 4xx is final (the endpoint has said no; retrying will not
change its mind). Signed like the API's webhooks (api.contract.signing) when the hook has a
secret. The URL is logged without any user:password part; the secret never. A user:password
in the URL goes to the endpoint as HTTP basic auth, never inside the URL httpx is handed (and
may log).
"""

from __future__ import annotations

import logging
import random
import time
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

from api.contract.redact import redact_url
from api.contract.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from streams.actions.queue import DELIVERED, FAILED, ActionMessage, BoundedQueue
from streams.actions.sink import Sink
from streams.backoff import Backoff
from streams.config.actions import HookConfig

log = logging.getLogger(__name__)

RETRIED_STATUSES = frozenset({408, 429})


def display_url(url: str) -> str:
    """The URL without credentials, for logs and /health."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def split_credentials(url: str) -> tuple[str, httpx.BasicAuth | None]:
    """(the URL without its user:password, basic auth from them); no user: (url, None)."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, None
    host = parts.netloc.rsplit("@", 1)[-1]
    bare = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return bare, httpx.BasicAuth(unquote(parts.username), unquote(parts.password or ""))


class HookSink(Sink):
    kind = "hook"

    def __init__(self, hook_name: str, config: HookConfig, *, observe_latency=None,
                 client: httpx.Client | None = None) -> None:
        super().__init__(f"hook:{hook_name}", BoundedQueue(config.queue_size, config.drop_policy),
                         observe_latency=observe_latency)
        self.hook_name = hook_name
        self.config = config
        self.url = display_url(config.url)
        self._post_url, self._auth = split_credentials(config.url)
        self._client = client if client is not None else httpx.Client(timeout=config.timeout_s, follow_redirects=False)
        self._last_failure: str | None = None  # why the latest message failed; None: it went through
        self.attempts = 0

    def _run(self) -> None:
        self._one_at_a_time(self._deliver)

    def _deliver(self, message: ActionMessage) -> None:
        backoff = Backoff(self.config.backoff_initial_s, self.config.backoff_max_s, rng=random.Random())
        for attempt in range(self.config.retries + 1):
            error, final = self._attempt(message)
            if error is None:
                if self._last_failure is not None:
                    log.info("edge actions: hook %s (%s) answers again", self.hook_name, self.url)
                self._last_failure = None
                self.finish(message, DELIVERED)
                return
            if final or attempt == self.config.retries or self._stop.wait(backoff.next_delay()):
                break
        if self._last_failure is None:
            log.warning("edge actions: hook %s (%s) failed for %s event %s after %d attempt(s): %s; "
                        "the cameras keep analysing", self.hook_name, self.url, message.phase, message.event_id,
                        attempt + 1, error)
        self._last_failure = error
        self.finish(message, FAILED, error)

    def _attempt(self, message: ActionMessage) -> tuple[str | None, bool]:
        """None on a 2xx; else (why, whether retrying is pointless)."""
        self.attempts += 1
        headers = {"Content-Type": "application/json", "User-Agent": "gridsight-actions",
                   "X-GridSight-Event": f"action.{message.phase}", "X-GridSight-Action-Id": message.event_id}
        if self.config.secret is not None:
            timestamp = str(int(time.time()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = sign(self.config.secret.get_secret_value(), timestamp, message.body)
        try:
            response = self._client.post(self._post_url, content=message.body, headers=headers, auth=self._auth,
                                         timeout=self.config.timeout_s)
        except httpx.TimeoutException:
            return f"no answer within {self.config.timeout_s:g} s", False
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {redact_url(str(exc))}"[:300], False
        if 200 <= response.status_code < 300:
            return None, False
        retry = response.status_code >= 500 or response.status_code in RETRIED_STATUSES
        return f"HTTP {response.status_code}", not retry

    def stop(self, flush_timeout_s: float) -> None:
        super().stop(flush_timeout_s)
        self._client.close()

    def problem(self) -> str | None:
        if self._last_failure is None:
            return None
        return f"hook {self.hook_name} ({self.url}) failing: {self._last_failure}; {self.counts[FAILED]} failed so far"
