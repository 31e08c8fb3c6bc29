"""Outgoing webhooks for city hotline systems (12345 and the like).

Deliveries are queued with each timeline entry (see crud.timeline) and sent
by :func:`deliver_due`, retried with exponential backoff until
``webhook_max_attempts``. Each request is signed::

    X-GridSight-Timestamp: <unix seconds>
    X-GridSight-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>

Receivers recompute the HMAC over the raw body with the shared
``GRIDSIGHT_WEBHOOK_SECRET`` and reject stale timestamps (replays)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.crud import timeline as timeline_crud
from api.crud import work_orders as order_crud
from api.models import TimelineEntry, Webhook, WebhookDelivery, WorkOrder
from api.settings import Settings

log = logging.getLogger(__name__)
BASE_RETRY_S = 30.0
MAX_RETRY_S = 3600.0
BATCH = 50


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def retry_delay(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(MAX_RETRY_S, BASE_RETRY_S * 2 ** max(0, attempts - 1)))


def _payload(session: Session, delivery: WebhookDelivery, now: dt.datetime) -> tuple[str, bytes]:
    entry = session.get(TimelineEntry, delivery.timeline_entry_id)
    assert entry is not None  # cascades delete the delivery with its entry
    order = session.get(WorkOrder, entry.work_order_id)
    assert order is not None
    body = {
        "delivery_id": delivery.id,
        "event": timeline_crud.to_public(entry).model_dump(mode="json"),
        "work_order": order_crud.to_public(order, now=now).model_dump(mode="json"),
    }
    return entry.action, json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _send(client: httpx.Client, url: str, action: str, delivery_id: int, body: bytes, settings: Settings,
          now: dt.datetime) -> tuple[int | None, str | None]:
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "gridsight-webhooks",
        "X-GridSight-Event": action,
        "X-GridSight-Delivery": str(delivery_id),
        "X-GridSight-Timestamp": timestamp,
        "X-GridSight-Signature": sign(settings.webhook_secret.get_secret_value(), timestamp, body),
    }
    try:
        response = client.post(url, content=body, headers=headers, timeout=settings.webhook_timeout_s)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"


def deliver_due(sessions: sessionmaker[Session], settings: Settings, client: httpx.Client, now: dt.datetime) -> int:
    """Send every delivery that is due; returns how many succeeded. No database
    transaction is held open while a receiver answers."""
    with sessions() as session:
        due = list(session.scalars(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.id)
            .limit(BATCH)
        ))
    delivered = 0
    for delivery_id in due:
        with sessions() as session:
            delivery = session.get(WebhookDelivery, delivery_id)
            hook = session.get(Webhook, delivery.webhook_id) if delivery else None
            if delivery is None or hook is None or delivery.state != "pending":
                continue
            action, body = _payload(session, delivery, now)
            url = hook.url
        status, error = _send(client, url, action, delivery_id, body, settings, now)
        with sessions() as session:
            delivery = session.get(WebhookDelivery, delivery_id)
            if delivery is None:
                continue
            delivery.attempts += 1
            delivery.last_status, delivery.last_error = status, error
            if error is None:
                delivery.state, delivery.delivered_at = "delivered", now
                delivered += 1
            elif delivery.attempts >= settings.webhook_max_attempts:
                delivery.state = "failed"
                log.warning("webhook delivery %d to %s failed for good: %s", delivery_id, url, error)
            else:
                delivery.next_attempt_at = now + retry_delay(delivery.attempts)
            session.commit()
    return delivered


def deliveries_for(session: Session, webhook_id: int, limit: int = 100) -> list[WebhookDelivery]:
    stmt = (select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
            .order_by(WebhookDelivery.id.desc()).limit(limit))
    return list(session.scalars(stmt))
