"""Multi-object tracking with ByteTrack from Roboflow's maintained `trackers`
library. Tracking is label-aware by keeping each label's boxes apart, so a bag
put down by a person never inherits the person's track id.

ByteTrack wants the detector's threshold *below* its own: boxes between the two
cannot start a track but keep an existing one alive through a weak frame (a
small bottle scoring 0.3 for a moment). Only boxes at or above
``high_confidence_threshold`` (and ``activation_threshold``) start tracks."""

from __future__ import annotations

import numpy as np
import supervision as sv
from trackers import ByteTrackTracker

from inference.detections import Detections


class ObjectTracker:
    def __init__(
        self,
        *,
        frame_rate: float,
        lost_track_seconds: float = 3.0,
        activation_threshold: float = 0.35,
        high_confidence_threshold: float = 0.35,
        min_consecutive_frames: int = 2,
        label_thresholds: dict[str, float] | None = None,
    ) -> None:
        self._settings = dict(
            lost_track_buffer=max(1, int(round(lost_track_seconds * frame_rate))),
            frame_rate=frame_rate,
            track_activation_threshold=activation_threshold,
            high_conf_det_threshold=high_confidence_threshold,
            minimum_consecutive_frames=min_consecutive_frames,
        )
        # A label whose detection floor is below the start threshold could never start a
        # track: for it, the floor is also where tracks start.
        self._label_thresholds = dict(label_thresholds or {})
        self._per_label: dict[str, ByteTrackTracker] = {}
        self._id_offset: dict[str, int] = {}

    def _settings_for(self, label: str) -> dict:
        floor = self._label_thresholds.get(label)
        if floor is None:
            return self._settings
        return {**self._settings,
                "track_activation_threshold": min(self._settings["track_activation_threshold"], floor),
                "high_conf_det_threshold": min(self._settings["high_conf_det_threshold"], floor)}

    def update(self, detections: Detections, timestamp: float) -> Detections:
        """Return the same boxes with tracker ids; boxes not yet confirmed keep NO_TRACK."""
        parts = []
        for label in sorted(set(detections.labels.tolist()) | set(self._per_label)):
            tracker = self._per_label.get(label)
            if tracker is None:
                tracker = self._per_label[label] = ByteTrackTracker(**self._settings_for(label))
                # Disjoint id ranges per label keep ids unique across the camera.
                self._id_offset[label] = len(self._id_offset) * 1_000_000
            subset = detections.with_labels([label])
            sv_dets = sv.Detections(
                xyxy=subset.xyxy.astype(np.float32).reshape(-1, 4),
                confidence=subset.confidence.astype(np.float32),
                class_id=np.zeros(len(subset), dtype=int),
            )
            tracked = tracker.update(sv_dets, timestamp=timestamp)
            if len(tracked) == 0:
                continue
            ids = np.asarray(tracked.tracker_id, dtype=np.int64)
            ids = np.where(ids >= 0, ids + self._id_offset[label], ids)
            parts.append(
                Detections(tracked.xyxy, tracked.confidence, np.full(len(tracked), label, dtype=object), ids)
            )
        return Detections.merge(parts)
