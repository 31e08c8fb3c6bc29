"""Which analysed frames are worth labelling: one camera's sampling state machine (issue 18).

Fed every analysed frame (its raw image, the detector's boxes before tracking with the
per-label floors the detector applied, and the tracked boxes), it says whether to harvest the
frame and why (:class:`api.contract.harvest.HarvestReason`):

- ``uncertain``: a detection whose confidence lies within ``uncertainty_margin`` above its
  label's floor (the detector drops what lies below, inference.models.detector);
- ``flicker``: a track that vanished and came back within ``flicker_s``, or whose label changed
  (the tracker runs one tracker per label, so a label change is a new track of another label
  on the box of one that has just gone);
- ``time_of_day``: the first frame of an hour of the day (site-local) not yet sampled today;
- ``scene_change``: the downscaled grey thumbnail differs from the last harvested one by more
  than ``scene_change_threshold`` (light, weather, a PTZ move).

Per camera a daily budget, reset at site-local midnight, is shared across reasons, each of which
has its own cap so that one reason cannot eat the day; harvested frames are at least
``min_spacing_s`` apart and a near-duplicate of a recent pick is skipped. Every window is in
seconds of stream time, read from an injected clock (the pipeline's FrameClock; a FakeClock in
tests), so a camera analysed at 0.2 fps and one at 10 fps pick comparable frames of one scene.

It keeps no image, only thumbnails (64 x 36 grey), and runs on the analysis thread: the cost of
a frame that is not picked is a few numpy comparisons, plus one thumbnail a second.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, deque
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import cv2
import numpy as np

from api.contract.harvest import HarvestReason
from inference.clock import Clock
from inference.detections import Detections
from inference.geometry import box_iou
from inference.site_time import DEFAULT_SITE_TIMEZONE, in_zone, site_zone

# The reasons a worker decides on (false_positive is the API's own, from operators' verdicts).
SAMPLED_REASONS = (HarvestReason.UNCERTAIN.value, HarvestReason.FLICKER.value, HarvestReason.TIME_OF_DAY.value,
                   HarvestReason.SCENE_CHANGE.value)
THUMB_SIZE = (64, 36)  # width, height: enough for light and view, blind to one passing person
SCENE_CHECK_S = 1.0  # a frame nothing else picks is compared with the last pick at most once a stream second
RECENT_PICKS = 8  # thumbnails of the latest picks kept for the near-duplicate check
LABEL_CHANGE_IOU = 0.5  # a new track of another label this close to a vanished one is the same object relabelled
DEFAULT_REASON_CAPS = MappingProxyType({"uncertain": 80, "flicker": 60, "time_of_day": 24, "scene_change": 60})


@dataclass(frozen=True)
class SamplerSettings:
    """One camera's sampling policy (the config's ``harvest`` section, streams.config.harvest)."""

    budget_per_day: int = 200
    reason_caps: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_REASON_CAPS))
    uncertainty_margin: float = 0.1
    flicker_s: float = 10.0
    min_spacing_s: float = 10.0
    scene_change_threshold: float = 0.12
    duplicate_threshold: float = 0.02
    site_timezone: str = DEFAULT_SITE_TIMEZONE


@dataclass(frozen=True)
class Pick:
    """A frame to harvest: why (reasons in SAMPLED_REASONS order) and the numbers behind it."""

    reasons: tuple[str, ...]
    detail: dict = field(default_factory=dict)


def thumbnail(image: np.ndarray) -> np.ndarray:
    """A 64 x 36 grey thumbnail in 0..1. Every n-th pixel is read first (still 4 x 4 samples per
    thumbnail pixel): an area resize of a whole 1080p frame costs ~20 ms, this ~2 ms."""
    step = max(1, min(image.shape[0] // (THUMB_SIZE[1] * 4), image.shape[1] // (THUMB_SIZE[0] * 4)))
    small = cv2.resize(image[::step, ::step], THUMB_SIZE, interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
    return grey.astype(np.float32) / 255.0


def thumb_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two thumbnails, 0 (same) .. 1."""
    return float(np.abs(a - b).mean())


@dataclass
class _Seen:
    label: str
    box: np.ndarray
    at: float  # stream time it was last on a frame
    frame: int  # the analysed frame's index


class FlickerWatch:
    """Tracks that vanish and come back, or change label, within ``flicker_s`` of stream time.

    The absence is estimated from the frames that missed the track: last seen at ``t0``, back at
    ``t`` one frame interval ``dt`` after the previous frame, it was gone about ``t - t0 - dt``,
    which does not grow with a slower analysis rate the way ``t - t0`` does."""

    def __init__(self, flicker_s: float) -> None:
        self.flicker_s = flicker_s
        self._seen: dict[int, _Seen] = {}
        self._frame = 0
        self._previous_at: float | None = None

    def update(self, tracked: Detections, now: float) -> list[dict]:
        """This frame's flickers: [{"track_id", "kind": "returned"|"label_changed", "absent_s"}]."""
        self._frame += 1
        interval = now - self._previous_at if self._previous_at is not None else 0.0
        self._previous_at = now
        present = {int(t): i for i, t in enumerate(tracked.tracker_id) if t >= 0} if len(tracked) else {}
        found = []
        for track_id, i in present.items():
            label, box = str(tracked.labels[i]), tracked.xyxy[i]
            seen = self._seen.get(track_id)
            if seen is not None and seen.label != label:
                found.append({"track_id": track_id, "kind": "label_changed", "absent_s": 0.0})
            elif seen is not None and self._frame - seen.frame > 1:
                absent = max(0.0, now - seen.at - interval)
                if absent <= self.flicker_s:
                    found.append({"track_id": track_id, "kind": "returned", "absent_s": round(absent, 2)})
            elif seen is None and (gone := self._relabelled(label, box, present, now)) is not None:
                found.append({"track_id": track_id, "kind": "label_changed", "absent_s": 0.0, "was": gone})
            self._seen[track_id] = _Seen(label, box.copy(), now, self._frame)
        # A track gone longer than the window can no longer flicker: forget it (bounded memory).
        self._seen = {t: s for t, s in self._seen.items() if now - s.at <= self.flicker_s + interval}
        return found

    def _relabelled(self, label: str, box: np.ndarray, present: dict, now: float) -> int | None:
        for track_id, seen in self._seen.items():
            if (track_id not in present and seen.label != label and now - seen.at <= self.flicker_s
                    and box_iou(seen.box, box)[0, 0] >= LABEL_CHANGE_IOU):
                return track_id
        return None


class HarvestSampler:
    """One camera's sampling state machine; ``observe`` once per analysed frame (stream time
    from ``clock``). Counters (``picked``, ``skipped``) are read by stats and metrics."""

    def __init__(self, settings: SamplerSettings, clock: Clock) -> None:
        self.settings = settings
        self._clock = clock
        self._zone = site_zone(settings.site_timezone)
        self._flicker = FlickerWatch(settings.flicker_s)
        self._day: dt.date | None = None
        self.today = 0  # frames harvested today (site-local)
        self.today_by_reason: Counter[str] = Counter()
        self._hours_sampled: set[int] = set()
        self._last_pick_at: float | None = None
        self._last_scene_check: float | None = None
        self._reference: np.ndarray | None = None  # the last pick's thumbnail (scene change)
        self._recent: deque[np.ndarray] = deque(maxlen=RECENT_PICKS)
        self.picked: Counter[str] = Counter()  # frames per reason, since start
        self.skipped: Counter[str] = Counter()  # candidates not taken: spacing, budget, cap, duplicate

    def observe(self, image: np.ndarray, detections: Detections, tracked: Detections,
                floor_of: Mapping[str, float], default_floor: float) -> Pick | None:
        """Whether to harvest this frame. ``floor_of``: the detector's per-label floors
        (``default_floor`` for the others)."""
        now = self._clock.now()
        local = in_zone(now, self._zone)
        if local.date() != self._day:  # site-local midnight: a new day's budget and hours
            self._day, self.today = local.date(), 0
            self.today_by_reason.clear()
            self._hours_sampled.clear()
        flickers = self._flicker.update(tracked, now)  # every frame: it must see each track's presence
        fired, detail = self._cheap_reasons(detections, floor_of, default_floor, flickers, local.hour)
        if self._last_pick_at is not None and now - self._last_pick_at < self.settings.min_spacing_s:
            return self._skip("spacing") if fired else None
        if self.today >= self.settings.budget_per_day:
            return self._skip("budget") if fired else None
        if not fired and not self._scene_check_due(now):
            return None
        thumb = thumbnail(image)
        if self._reference is not None:
            change = thumb_difference(thumb, self._reference)
            if change > self.settings.scene_change_threshold:
                fired.append(HarvestReason.SCENE_CHANGE.value)
                detail["scene_change"] = round(change, 4)
        if not fired:
            return None
        reasons = [r for r in SAMPLED_REASONS if r in fired and self.today_by_reason[r] < self._cap(r)]
        if not reasons:
            return self._skip("cap")
        if any(thumb_difference(thumb, old) < self.settings.duplicate_threshold for old in self._recent):
            self._hours_sampled.add(local.hour)  # a frame that looks like this one is already harvested
            return self._skip("duplicate")
        return self._take(now, local.hour, thumb, tuple(reasons), detail)

    def _cheap_reasons(self, detections: Detections, floor_of: Mapping[str, float], default_floor: float,
                       flickers: list[dict], hour: int) -> tuple[list[str], dict]:
        fired, detail = [], {}
        if len(detections):
            floors = np.array([floor_of.get(str(label), default_floor) for label in detections.labels], np.float32)
            near = (detections.confidence >= floors) & (detections.confidence < floors + self.settings.uncertainty_margin)
            if near.any():
                fired.append(HarvestReason.UNCERTAIN.value)
                detail["uncertain_labels"] = sorted({str(label) for label in detections.labels[near]})
        if flickers:
            fired.append(HarvestReason.FLICKER.value)
            detail["flicker"] = flickers[:10]
        if hour not in self._hours_sampled:
            fired.append(HarvestReason.TIME_OF_DAY.value)
            detail["hour"] = hour
        return fired, detail

    def _scene_check_due(self, now: float) -> bool:
        if self._last_scene_check is not None and now - self._last_scene_check < SCENE_CHECK_S:
            return False
        self._last_scene_check = now
        return True

    def _cap(self, reason: str) -> int:
        return int(self.settings.reason_caps.get(reason, self.settings.budget_per_day))

    def _skip(self, why: str) -> None:
        self.skipped[why] += 1
        return None

    def _take(self, now: float, hour: int, thumb: np.ndarray, reasons: tuple[str, ...], detail: dict) -> Pick:
        self._last_pick_at = now
        self.today += 1
        self._hours_sampled.add(hour)
        self._reference = thumb
        self._recent.append(thumb)
        for reason in reasons:
            self.today_by_reason[reason] += 1
            self.picked[reason] += 1
        return Pick(reasons, detail)

    def stats(self) -> dict:
        return {"harvest_today": self.today, "harvest_picked": dict(self.picked), "harvest_skipped": dict(self.skipped)}
