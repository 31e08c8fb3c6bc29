"""Webhook subscriptions for city hotline systems. Every timeline entry
(filtered by ``events``) is POSTed as JSON, signed with HMAC-SHA256; see
:mod:`api.webhooks` for the headers and retry schedule."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response

from api.crud import registry
from api.deps import AdminDep, AdminReaderDep, SessionDep, SettingsDep, WriteSessionDep
from api.db.models import Webhook
from api.schemas_registry import WebhookCreate, WebhookDeliveryPublic, WebhookPublic
from api.webhooks import UnsafeUrl, check_url, deliveries_for, display_url

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
HookId = Annotated[int, Path(ge=1, le=2**31 - 1)]
SIGNING = (
    " Requests carry `X-GridSight-Timestamp` and `X-GridSight-Signature: sha256=<hex>`, the HMAC-SHA256 of "
    "`timestamp + '.' + body` with GRIDSIGHT_WEBHOOK_SECRET; also `X-GridSight-Event` (the timeline action) and "
    "`X-GridSight-Delivery`. Body: `{delivery_id, event, work_order}`. Failed deliveries are retried with "
    "exponential backoff (30 s doubling, at most 1 h) up to GRIDSIGHT_WEBHOOK_MAX_ATTEMPTS. Role: admin."
)


def _public(h: Webhook) -> WebhookPublic:
    return WebhookPublic(id=h.id, url=display_url(h.url), events=list(h.events), description=h.description, active=h.active,
                         created_at=h.created_at)


def _get(session: SessionDep, hook_id: int) -> Webhook:
    hook = session.get(Webhook, hook_id)
    if hook is None:
        raise HTTPException(404, f"webhook {hook_id} not found")
    return hook


@router.get("", response_model=list[WebhookPublic], summary="List webhook subscriptions", description="Role: admin.")
def list_webhooks(session: SessionDep, _admin: AdminReaderDep) -> list[WebhookPublic]:
    return [_public(h) for h in registry.list_webhooks(session)]


@router.post("", response_model=WebhookPublic, status_code=201, summary="Subscribe a URL to order events",
             description="Events are timeline actions (created, merged, transition, comment, verdict, overdue, "
             "escalated, camera_recheck, ...); an empty list means all. The URL needs a host; loopback, "
             "link-local, private and other non-public addresses (in any spelling: 0x7f000001, 2130706433, "
             "[::1], localhost) are refused, and a name is resolved and checked again at every delivery, unless "
             "GRIDSIGHT_WEBHOOK_ALLOW_PRIVATE=true. Credentials in the URL (user:password@) are sent as basic "
             "auth but shown masked." + SIGNING,
             responses={422: {"description": "Invalid body, or a URL without a host or aimed at a non-public "
                                             "address"}})
def create_webhook(body: WebhookCreate, session: WriteSessionDep, settings: SettingsDep,
                   _admin: AdminDep) -> WebhookPublic:
    try:
        check_url(body.url, settings.webhook_allow_private)
    except UnsafeUrl as exc:
        raise HTTPException(422, str(exc)) from None
    hook = Webhook(url=body.url, events=body.events, description=body.description, active=body.active)
    session.add(hook)
    session.commit()
    return _public(hook)


@router.delete("/{hook_id}", status_code=204, summary="Remove a subscription (and its pending deliveries)",
               description="Role: admin.", responses={404: {"description": "No such webhook"}})
def delete_webhook(hook_id: HookId, session: WriteSessionDep, _admin: AdminDep) -> Response:
    registry.delete(session, _get(session, hook_id))
    return Response(status_code=204)


@router.get("/{hook_id}/deliveries", response_model=list[WebhookDeliveryPublic],
            summary="Recent deliveries of one webhook, newest first", description="Role: admin.",
            responses={404: {"description": "No such webhook"}})
def list_deliveries(hook_id: HookId, session: SessionDep, _admin: AdminReaderDep) -> list[WebhookDeliveryPublic]:
    _get(session, hook_id)
    return [
        WebhookDeliveryPublic(id=d.id, timeline_entry_id=d.timeline_entry_id, state=d.state, attempts=d.attempts,
                              next_attempt_at=d.next_attempt_at, last_status=d.last_status,
                              last_error=d.last_error, delivered_at=d.delivered_at)
        for d in deliveries_for(session, hook_id)
    ]
