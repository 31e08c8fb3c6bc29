"""Outgoing webhooks for city hotline systems (12345 and the like).

Deliveries are queued with each timeline entry (see crud.timeline) and sent
by :func:`deliver_due`, retried with exponential backoff until
``webhook_max_attempts``. Each request is signed::

    X-GridSight-Timestamp: <unix seconds>
    X-GridSight-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>

Receivers recompute the HMAC over the raw body with the shared
``GRIDSIGHT_WEBHOOK_SECRET`` and reject stale timestamps (replays).

Targets are checked twice, because an admin token must not be able to make the
server call its own network (SSRF): when subscribed (:func:`check_url`: a host is
required; loopback, link-local, private and other non-public addresses are
refused in every spelling, ``0x7f000001``, ``2130706433``, ``[::1]``,
``[::ffff:127.0.0.1]``, ``localhost``) and at each delivery (:func:`pin_target`:
the name is resolved, every address it has must be public, and the request goes
to that vetted address, so a DNS answer that changes in between cannot redirect
it). ``GRIDSIGHT_WEBHOOK_ALLOW_PRIVATE=true`` turns both off for receivers on
the same host or LAN. Redirects are never followed. A URL's ``user:password@``
is sent (basic auth) but never shown or logged (:func:`display_url`)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import socket
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.contract.signing import sign
from api.crud import timeline as timeline_crud
from api.crud import work_orders as order_crud
from api.db.models import TimelineEntry, Webhook, WebhookDelivery, WorkOrder
from api.redaction import redact_text
from api.settings import Settings

log = logging.getLogger(__name__)
BASE_RETRY_S = 30.0
MAX_RETRY_S = 3600.0
BATCH = 50


ALLOW_PRIVATE_HINT = "set GRIDSIGHT_WEBHOOK_ALLOW_PRIVATE=true for a receiver on this host or network"
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


class UnsafeUrl(ValueError):
    """A webhook target the server must not call. The message never quotes the URL."""


def display_url(url: str) -> str:
    """The URL as it may be shown or logged: credentials (user:password@) masked."""
    return redact_text(url)


def literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host name spells, in any form an HTTP client accepts (dotted, hex, octal,
    a bare decimal integer, shortened "127.1", IPv6 in brackets), or None for a DNS name."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(ch in "0123456789abcdefxABCDEFX." for ch in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))  # what the C resolver (and curl) make of it
        except OSError:
            return None
    return None


def address_problem(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why the server must not send to this address (None: a public address)."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    for kind, flag in (("a loopback", "is_loopback"), ("a link-local", "is_link_local"),
                       ("an unspecified", "is_unspecified"), ("a multicast", "is_multicast")):
        if getattr(address, flag):
            return f"{kind} address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "a non-public (reserved or shared) address"
    return None


def _parts(url: str):
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeUrl("the webhook URL does not parse (check the host and port)") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl("a webhook URL must start with http:// or https://")
    host = parts.hostname
    if not host:
        raise UnsafeUrl("the webhook URL has no host (e.g. https://hotline.example/gridsight)")
    if "%" in host:
        raise UnsafeUrl("the webhook URL's host has an IPv6 zone id; use a public address or a name")
    return parts, host, port or (443 if parts.scheme == "https" else 80)


def check_url(url: str, allow_private: bool) -> None:
    """At subscription: a host is required; unless ``allow_private``, a literal address that is not
    public (in any spelling) and local names are refused. DNS names are checked at delivery."""
    _, host, _port = _parts(url)
    if allow_private:
        return
    address = literal_address(host)
    if address is not None:
        problem = address_problem(address)
        if problem is not None:
            raise UnsafeUrl(f"the webhook URL's host is {problem}; {ALLOW_PRIVATE_HINT}")
    elif host.rstrip(".").lower() in _LOCAL_NAMES or host.rstrip(".").lower().endswith(".localhost"):
        raise UnsafeUrl(f"the webhook URL's host is this machine (localhost); {ALLOW_PRIVATE_HINT}")


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (tests replace this)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def pin_target(url: str, allow_private: bool) -> tuple[str, dict[str, str], dict[str, str]]:
    """At delivery: (URL to send to, extra headers, request extensions). Unless ``allow_private``
    the host is resolved now, every address must be public, and the request is pinned to the first:
    the URL names the address, ``Host`` and TLS (SNI, certificate check) keep the name."""
    check_url(url, allow_private)
    parts, host, port = _parts(url)
    if allow_private:
        return url, {}, {}
    address = literal_address(host)
    if address is not None:
        return url, {}, {}
    try:
        addresses = resolve_host(host, port)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl(f"the webhook host does not resolve ({type(exc).__name__})") from None
    if not addresses:
        raise UnsafeUrl("the webhook host does not resolve")
    for text in addresses:
        problem = address_problem(ipaddress.ip_address(text.split("%", 1)[0]))
        if problem is not None:
            raise UnsafeUrl(f"the webhook host resolves to {problem}; not sent ({ALLOW_PRIVATE_HINT})")
    pinned = str(httpx.URL(url).copy_with(host=addresses[0]))
    netloc_host = parts.netloc.rsplit("@", 1)[-1]  # host[:port] as the URL wrote it
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    return pinned, {"Host": netloc_host}, extensions


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
        target, extra_headers, extensions = pin_target(url, settings.webhook_allow_private)
    except UnsafeUrl as exc:
        return None, f"refused: {exc}"[:500]
    try:
        response = client.post(target, content=body, headers={**headers, **extra_headers}, extensions=extensions,
                               timeout=settings.webhook_timeout_s, follow_redirects=False)
    except httpx.HTTPError as exc:
        return None, display_url(f"{type(exc).__name__}: {exc}")[:500]
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
                log.warning("webhook delivery %d to %s failed for good: %s", delivery_id, display_url(url), error)
            else:
                delivery.next_attempt_at = now + retry_delay(delivery.attempts)
            session.commit()
    return delivered


def deliveries_for(session: Session, webhook_id: int, limit: int = 100) -> list[WebhookDelivery]:
    stmt = (select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
            .order_by(WebhookDelivery.id.desc()).limit(limit))
    return list(session.scalars(stmt))
