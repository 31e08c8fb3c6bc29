"""Multi-object tracking with ByteTrack from Roboflow's maintained `trackers`
library. Tracking is label-aware by keeping each label's boxes apart, so a bag
put down by a person never inherits the person's track id.

ByteTrack wants the detector's threshold *below* its own: boxes between the two
cannot start a track but keep an existing one alive through a weak frame (a
small bottle scoring 0.3 for a moment). Only boxes at or above
``high_confidence_threshold`` (and ``activation_threshold``) start tracks.

Units, read from trackers 2.6's code (pinned by tests/unit/test_tracking.py):

* ``lost_track_buffer`` is counted in **30-fps frames**, whatever ``frame_rate``
  says: with timestamps, ``maximum_time_without_update = lost_track_buffer / 30``
  seconds, and a lost track is pruned once that much *stream time* has passed
  without a match. So a lost-track time of S seconds is ``round(S * 30)``.
* ``frame_rate`` only scales the Kalman step (``frame_step = elapsed * frame_rate``).

Analysis rates go down to 0.2 fps (slow rules, the fps shedder), where two
things the library's defaults assume stop holding:

* One missed detection is a gap of two frame intervals (10 s at 0.2 fps). The
  lost-track time is therefore never shorter than :data:`MISSES_TOLERATED`
  frame intervals at the rate the camera is actually analysed at.
* A walking person moves more than its own width between frames below ~2 fps,
  so IoU alone loses it. :class:`ReachSimilarity` adds a fallback: a box whose
  centre lies within the distance the object can have moved since the last
  frame (box sizes per second x elapsed seconds) matches with a score below any
  real overlap's, so overlapping boxes always win.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import supervision as sv
from trackers import ByteTrackTracker
from trackers.utils.iou import BaseIoU

from inference.detections import Detections

#: trackers counts ``lost_track_buffer`` in frames of a 30-fps video (see the module doc).
LIBRARY_BUFFER_FPS = 30.0
#: A lost track survives this many frame intervals at least: one missed frame and a late one.
MISSES_TOLERATED = 2.5
#: How far (in box sizes, sqrt of the area) an object may move per second and still be
#: matched without overlap: a walking person covers ~0.8 of its height a second.
DEFAULT_REACH_PER_S = 1.5
#: The fallback never reaches further than this many box sizes, however long the gap.
MAX_REACH = 4.0
#: Matches scored below this are refused (ByteTrack's own default IoU threshold).
MIN_SIMILARITY = 0.1
#: Fallback scores lie in [MIN_SIMILARITY, MIN_SIMILARITY + FALLBACK_SPAN): below a real overlap.
FALLBACK_SPAN = 0.2
#: Boxes more unlike in area than this are never matched by distance.
MAX_AREA_RATIO = 2.5


def lost_track_buffer(seconds: float) -> int:
    """trackers' ``lost_track_buffer`` for a lost-track time in seconds (its unit is a 30-fps frame)."""
    return max(1, int(round(seconds * LIBRARY_BUFFER_FPS)))


class ReachSimilarity(BaseIoU):
    """IoU, with a distance fallback for boxes that no longer overlap.

    ``reach`` (box sizes) is set before each association from the time since the last frame;
    a pair whose centres lie within it (measured in the larger box's size, areas alike)
    scores from ``MIN_SIMILARITY`` (at the edge) up to ``MIN_SIMILARITY + FALLBACK_SPAN``
    (at zero distance), so a true overlap of IoU >= 0.3 is always preferred."""

    def __init__(self) -> None:
        self.reach = 0.0

    def _compute(self, boxes_1: np.ndarray, boxes_2: np.ndarray) -> np.ndarray:
        iou = sv.box_iou_batch(boxes_1, boxes_2).astype(np.float64)
        if self.reach <= 0:
            return iou
        a1, a2 = _areas(boxes_1), _areas(boxes_2)
        size = np.sqrt(np.maximum(a1[:, None], a2[None, :]))
        distance = np.hypot(*(_centres(boxes_1)[:, None, :] - _centres(boxes_2)[None, :, :]).transpose(2, 0, 1))
        ratio = np.maximum(a1[:, None], a2[None, :]) / np.maximum(np.minimum(a1[:, None], a2[None, :]), 1e-9)
        closeness = 1.0 - distance / np.maximum(size * self.reach, 1e-9)
        fallback = np.where((closeness >= 0) & (ratio <= MAX_AREA_RATIO), MIN_SIMILARITY + FALLBACK_SPAN * closeness, 0.0)
        return np.maximum(iou, fallback)


def _areas(boxes: np.ndarray) -> np.ndarray:
    return np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)


def _centres(boxes: np.ndarray) -> np.ndarray:
    return np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], axis=1)


class _LabelTrack:
    """One label's ByteTrack with its similarity (whose reach follows the frame gaps)."""

    def __init__(self, settings: dict) -> None:
        self.similarity = ReachSimilarity()
        self.tracker = ByteTrackTracker(**settings, minimum_iou_threshold=MIN_SIMILARITY, iou=self.similarity)


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
        reach_per_s: float = DEFAULT_REACH_PER_S,
    ) -> None:
        if frame_rate <= 0 or lost_track_seconds <= 0 or reach_per_s < 0:
            raise ValueError("frame_rate and lost_track_seconds must be > 0, reach_per_s >= 0")
        self._lost_track_seconds = lost_track_seconds
        self._reach_per_s = reach_per_s
        self._settings = dict(
            lost_track_buffer=lost_track_buffer(lost_track_seconds),
            frame_rate=frame_rate,
            track_activation_threshold=activation_threshold,
            high_conf_det_threshold=high_confidence_threshold,
            minimum_consecutive_frames=min_consecutive_frames,
        )
        # A label whose detection floor is below the start threshold could never start a
        # track: for it, the floor is also where tracks start.
        self._label_thresholds = dict(label_thresholds or {})
        self._per_label: dict[str, _LabelTrack] = {}
        self._id_offset: dict[str, int] = {}
        self._last_timestamp: float | None = None
        self._intervals: deque[float] = deque(maxlen=5)
        # The configured rate is the expected interval until frames have shown the real one.
        self._intervals.append(1.0 / frame_rate)

    @property
    def lost_track_time_s(self) -> float:
        """How long a lost track is kept now: the configured time, or more at a low analysis rate."""
        return max(self._lost_track_seconds, MISSES_TOLERATED * float(np.median(self._intervals)))

    def _settings_for(self, label: str) -> dict:
        floor = self._label_thresholds.get(label)
        if floor is None:
            return self._settings
        return {**self._settings,
                "track_activation_threshold": min(self._settings["track_activation_threshold"], floor),
                "high_conf_det_threshold": min(self._settings["high_conf_det_threshold"], floor)}

    def _advance(self, timestamp: float) -> None:
        """Set this frame's lost-track budget and association reach from the time since the
        previous frame (one nominal interval for the first)."""
        if self._last_timestamp is None or timestamp <= self._last_timestamp:
            elapsed = self._intervals[-1] if self._last_timestamp is None else 0.0
        else:
            elapsed = timestamp - self._last_timestamp
        # The budget for this frame comes from the intervals before it: an outage (a gap far
        # longer than usual) still ends the tracks, as time without frames should.
        budget = self.lost_track_time_s
        for track in self._per_label.values():
            track.tracker.maximum_time_without_update = budget
            track.similarity.reach = min(MAX_REACH, self._reach_per_s * elapsed)
        if self._last_timestamp is not None and timestamp > self._last_timestamp:
            self._intervals.append(elapsed)
        self._last_timestamp = timestamp if self._last_timestamp is None else max(self._last_timestamp, timestamp)

    def update(self, detections: Detections, timestamp: float) -> Detections:
        """Return the same boxes with tracker ids; boxes not yet confirmed keep NO_TRACK."""
        for label in set(detections.labels.tolist()) - set(self._per_label):
            self._per_label[label] = _LabelTrack(self._settings_for(label))
            # Disjoint id ranges per label keep ids unique across the camera.
            self._id_offset[label] = len(self._id_offset) * 1_000_000
        self._advance(timestamp)
        parts = []
        for label in sorted(self._per_label):
            subset = detections.with_labels([label])
            sv_dets = sv.Detections(
                xyxy=subset.xyxy.astype(np.float32).reshape(-1, 4),
                confidence=subset.confidence.astype(np.float32),
                class_id=np.zeros(len(subset), dtype=int),
            )
            tracked = self._per_label[label].tracker.update(sv_dets, timestamp=timestamp)
            if len(tracked) == 0:
                continue
            ids = np.asarray(tracked.tracker_id, dtype=np.int64)
            ids = np.where(ids >= 0, ids + self._id_offset[label], ids)
            parts.append(
                Detections(tracked.xyxy, tracked.confidence, np.full(len(tracked), label, dtype=object), ids)
            )
        return Detections.merge(parts)
