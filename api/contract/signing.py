"""How GridSight signs what it POSTs to someone else's endpoint: the API's webhooks and the
worker's edge-action hooks (streams.actions.http) sign alike, so a receiver verifies both
with one function.

The signature is ``sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`` in
``X-GridSight-Signature``, the Unix timestamp (seconds) in ``X-GridSight-Timestamp``; a
receiver rejects a timestamp far from its own clock to stop replays.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-GridSight-Signature"
TIMESTAMP_HEADER = "X-GridSight-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
