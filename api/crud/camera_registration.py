"""A worker registers its cameras from its config (issue 17), so the pages show and
edit what actually runs.

Who wins, field by field (the same rule the worker's zone sync follows downwards,
streams/sync/zones.py):

- the camera's grid cell, address and position follow the config while no admin
  has registered the camera (``registered_at`` null); once an admin registers or
  edits it, the registry's values stay and registration only records the worker;
- a zone the API lacks is created with origin ``config`` and follows the config
  (polygon, kind, rules) at every registration; a zone whose polygon was edited
  in the API (origin ``dashboard``) keeps its polygon: the worker pulls it down.
  Its kind and rules still come from the config (the API cannot edit them);
- a ``config`` zone the config no longer has is deleted; a ``dashboard`` zone no
  rule watches stays, with no rules;
- a zone deleted on the dashboard is back to the config's polygon: the worker
  falls back to its file and registers it again.
A zone's name and grid cell are the API's: registration names a new zone after
its description and never touches either afterwards."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.contract.wire import ZONE_ORIGIN_CONFIG
from api.crud import registry
from api.db.models import Camera, Zone
from api.schemas_cameras import CameraRegistrationIn, ZoneRegistrationIn


def _camera_for(session: Session, camera_id: str, now: dt.datetime) -> Camera:
    camera = session.get(Camera, camera_id, with_for_update=True, populate_existing=True)
    if camera is not None:
        return camera
    try:
        with session.begin_nested():  # losing a race with the first status event keeps the transaction
            camera = Camera(camera_id=camera_id, attempt=0, details={}, updated_at=now)
            session.add(camera)
    except IntegrityError:
        camera = session.get(Camera, camera_id, with_for_update=True, populate_existing=True)
        if camera is None:
            raise
    return camera


def _name(description: str | None) -> str | None:
    if not description:
        return None
    return description if len(description) <= 128 else description[:127] + "…"


def _apply_zone(session: Session, camera_id: str, zone: Zone | None, body: ZoneRegistrationIn) -> None:
    if zone is None:
        session.add(Zone(camera_id=camera_id, zone_id=body.zone_id, name=_name(body.description),
                         polygon=body.polygon, grid_cell=None, origin=ZONE_ORIGIN_CONFIG, kind=body.kind,
                         rules=list(body.rules)))
        return
    if zone.origin == ZONE_ORIGIN_CONFIG:
        zone.polygon = body.polygon
    zone.kind = body.kind
    zone.rules = list(body.rules)


def register_from_config(session: Session, camera_id: str, body: CameraRegistrationIn,
                         now: dt.datetime) -> tuple[Camera, list[Zone]]:
    """Apply one worker registration (see the module docstring for who wins); commits."""
    camera = _camera_for(session, camera_id, now)
    if camera.registered_at is None:
        camera.grid_cell, camera.address = body.grid_cell, body.address
        camera.latitude, camera.longitude = body.latitude, body.longitude
    camera.config_worker = body.worker
    camera.config_registered_at = now
    camera.updated_at = now
    existing = {z.zone_id: z for z in registry.list_zones(session, camera_id)}
    for item in body.zones:
        _apply_zone(session, camera_id, existing.pop(item.zone_id, None), item)
    for zone in existing.values():  # zones this config does not have (any more)
        if zone.origin == ZONE_ORIGIN_CONFIG:
            session.delete(zone)
        else:
            zone.rules = []
    try:
        session.commit()
    except IntegrityError:  # two workers registering the same new zone at once: the other one's stands
        session.rollback()
        camera = session.get(Camera, camera_id)
    return camera, registry.list_zones(session, camera_id)
