"""How one camera's rule events become outbox records, built in its evidence lane (streams.evidence_writer).

- **An order**: its evidence files made (off the camera's thread with the worker's pool), the boxes
  mapped into the record stream's pixels where the pictures come from it, the payload checked
  against the wire contract (one the API would refuse is logged, never spooled), then spooled.
- **Clip later**: an order that must not wait (emergency tier) goes with its pictures only; its clip
  follows as an evidence follow-up (api.contract.wire.EvidenceFollowUp), made on the pool's niced
  follow-up thread and spooled after the order. On a loaded 2-core worker the clip's H.264 encoding held
  such orders back by seconds (docs/sizing.md); its frames are all there at the deciding frame.
- **A rule END**: the frame that shows the zone empty again, after its order.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Callable

from api.contract.wire import ContractError
from inference.detections import Detections
from inference.evidence import render_snapshot
from inference.frames import VideoFrame
from inference.rules import RuleEvent
from inference.zones import PolygonZone
from streams.delivery.orders import event_end_payload, evidence_follow_up_payload
from streams.evidence_buffer import EventEvidence
from streams.evidence_writer import EvidenceLane
from streams.record_evidence import map_boxes
from streams.work_order_template import WorkOrderTemplate, order_payload

log = logging.getLogger(__name__)

Submit = Callable[[str, dict], None]  # (idempotency key, payload): into the worker's outbox


class EventDelivery:
    """One camera's orders, follow-ups and ENDs, submitted to its lane in the order they happen."""

    def __init__(self, camera_id: str, lane: EvidenceLane, submit_order: Submit) -> None:
        self.camera_id = camera_id
        self.lane = lane
        self.submit_order = submit_order
        self.follow_ups = 0  # clips sent after their order

    def file_order(self, evidence: EventEvidence, event: RuleEvent, template: WorkOrderTemplate,
                   model: tuple[str, str], *, clip_later: Submit | None = None) -> None:
        """Make ``event``'s files and order in the lane; ``clip_later``: where its clip goes, after it."""
        self.lane.submit(lambda: self._order(evidence, event, template, model, clip_later is not None))
        if clip_later is not None:
            self.lane.submit_follow_up(lambda: self._clip(evidence, event, clip_later))

    def _order(self, evidence: EventEvidence, event: RuleEvent, template: WorkOrderTemplate, model: tuple[str, str],
               clip_later: bool) -> Callable[[], None] | None:
        try:
            items = evidence.build(clip_later=clip_later).items
        except Exception:  # a bug in making the files must cost the files, never the order
            log.exception("camera %s: event %s: evidence could not be made; the order goes without it",
                          self.camera_id, event.event_id)
            items = ()
        else:
            if evidence.boxes_to is not None:  # the frame is the record stream's: the boxes go in its pixels
                event = replace(event, detections=map_boxes(event.detections, *evidence.boxes_to))
        try:
            payload = order_payload(event, template, model, items)
        except ContractError as exc:  # the API would refuse it: never spool it
            log.error("camera %s: event %s cannot be filed: %s", self.camera_id, event.event_id, exc)
            return None
        submit = self.submit_order
        return lambda: submit(event.idempotency_key(), payload)

    def _clip(self, evidence: EventEvidence, event: RuleEvent, submit: Submit) -> Callable[[], None] | None:
        try:
            clip = evidence.build_clip()
        except Exception:  # the order went; this costs its clip only
            log.exception("camera %s: event %s: the clip could not be made", self.camera_id, event.event_id)
            return None
        if clip is None:
            return None
        payload = evidence_follow_up_payload(event, (clip,))

        def deliver() -> None:
            submit(f"{event.idempotency_key()}-clip", payload)
            self.follow_ups += 1

        return deliver

    def event_end(self, event: RuleEvent, frame: VideoFrame, tracked: Detections, *, zone: PolygonZone, caption: str,
                  site_zone, submit: Submit) -> None:
        """The zone is empty again: the frame that shows it, so the API can verify an order waiting for
        feedback without anyone going on site. Through the lane, so it reaches the outbox after its order."""

        def job() -> Callable[[], None]:
            snapshot = render_snapshot(frame.image, zone, event.detections, context=tracked, caption=caption,
                                       captured_at=frame.captured_at, time_zone=site_zone)
            payload = event_end_payload(event, snapshot_jpeg=snapshot)
            return lambda: submit(event.idempotency_key(), payload)

        self.lane.submit(job)
