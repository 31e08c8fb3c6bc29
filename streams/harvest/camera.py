"""One camera's harvester: what ``CameraPipeline.harvest`` is (streams.pipeline).

It asks the camera's :class:`~streams.harvest.sampler.HarvestSampler` about each analysed
frame and hands a pick to the worker's :class:`~streams.harvest.uploader.HarvestUploader` as
references (the raw frame, the boxes before and after tracking, the model that saw them);
the encoding happens on the uploader's thread. A failure here never stops the camera.
"""

from __future__ import annotations

import logging

from inference.detections import Detections
from inference.frames import VideoFrame
from streams.harvest.sampler import HarvestSampler
from streams.harvest.uploader import HarvestCandidate, HarvestUploader

log = logging.getLogger(__name__)


class CameraHarvester:
    def __init__(self, camera_id: str, sampler: HarvestSampler, uploader: HarvestUploader, *,
                 default_floor: float) -> None:
        self.camera_id = camera_id
        self.sampler = sampler
        self.uploader = uploader
        self.default_floor = default_floor  # the model config's confidence: the floor of labels without their own
        self.offered = 0
        self.errors = 0

    def observe(self, frame: VideoFrame, detections: Detections, tracked: Detections, detector) -> None:
        """Called by the pipeline after its rules ran; ``detector``: the model that saw the frame."""
        try:
            floors = getattr(detector, "class_confidence", None) or {}
            pick = self.sampler.observe(frame.image, detections, tracked, floors, self.default_floor)
            if pick is None:
                return
            self.uploader.offer(HarvestCandidate(
                camera_id=self.camera_id, captured_at=frame.captured_at, model_name=detector.name,
                model_version=detector.version, reasons=pick.reasons, image=frame.image, detections=detections,
                tracked=tracked, detail=pick.detail,
            ))
            self.offered += 1
        except Exception:
            self.errors += 1
            if self.errors == 1:
                log.exception("camera %s: harvesting failed; the camera keeps analysing (further failures are "
                              "counted, not logged)", self.camera_id)

    def stats(self) -> dict:
        return {**self.sampler.stats(), "harvest_offered": self.offered, "harvest_errors": self.errors}
