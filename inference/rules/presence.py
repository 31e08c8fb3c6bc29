"""Which objects are present, since when, and whether they have stopped moving.

Shared by every rule. Two things a plain "track id -> first seen" map gets wrong:

* **Tracker id switches.** During an occlusion (a bus drives past the parked
  e-bike) ByteTrack may lose a track and start a new id for the same object.
  A new id of a compatible label that appears within ``max_distance`` box
  sizes of where a track vanished, at most ``max_gap_s`` later, takes over
  that track's presence: its entered-at time, its "settled" time and its
  origin id. So a 10-minute dwell timer does not restart at minute 9, and an
  object that already caused an event is still recognised as that object.
* **Static.** An object is static while its bottom-centre stays within
  ``static_tolerance`` box sizes of the point where it settled; a larger move
  re-settles it there. ``static_for(now)`` is then how long it has stood still,
  which is what "roaming vendor stopped", "litter left lying" and "a bag carried
  away is not litter" need.
* **Slow analysis rates.** At 0.5 fps one missed detection is a 4 s gap. The
  grace period and the id-switch gap are therefore never shorter than
  ``MISSES_TOLERATED`` intervals between the frames this rule has been shown
  (their median, so a stream outage does not stretch them): one missed frame
  never ends a presence, at any rate.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from statistics import median

import numpy as np

from inference.detections import NO_TRACK, Detections
from inference.rules.geometry import box_heights, box_sizes

# Labels a detector confuses for the same physical object from frame to frame;
# a track id switch may also switch between them.
#: A presence survives this many frame intervals unseen at least: one missed frame and a late one.
MISSES_TOLERATED = 2.5

COMPATIBLE_LABEL_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"bicycle", "ebike", "motorcycle"}),
    frozenset({"car", "truck"}),
    frozenset({"litter", "garbage_bag", "garbage_pile"}),
    frozenset({"bin", "bin_full"}),
)


def labels_compatible(a: str, b: str) -> bool:
    return a == b or any(a in group and b in group for group in COMPATIBLE_LABEL_GROUPS)


@dataclass(frozen=True)
class ContinuitySettings:
    max_gap_s: float = 3.0  # the tracker's default lost-track time: a successor appears within it
    max_distance: float = 1.0  # in sizes (longer side) of the vanished box
    static_tolerance: float = 0.25  # bottom-centre movement, in box sizes, that still counts as standing still

    def __post_init__(self) -> None:
        if self.max_gap_s < 0 or self.max_distance < 0 or self.static_tolerance < 0:
            raise ValueError("continuity settings must be >= 0")


@dataclass
class Presence:
    track_id: int  # the current tracker id
    origin_id: int  # the first tracker id this object had (kept across id switches)
    label: str
    entered_at: float
    last_seen_at: float
    position: tuple[float, float]  # last bottom-centre, pixels
    size: float  # last longer box side, pixels
    height: float  # last box height, pixels (a person's height scales "near")
    confidence: float
    settled_at: float
    settle_point: tuple[float, float]
    box: np.ndarray  # last xyxy
    path: deque = field(default_factory=deque)  # (t, x, y) bottom-centres over the path window

    def static_for(self, now: float) -> float:
        return now - self.settled_at

    def distance_to(self, point: tuple[float, float]) -> float:
        return float(np.hypot(self.position[0] - point[0], self.position[1] - point[1]))


class PresenceTracker:
    """Presence of tracked objects in one rule's view of the scene.

    ``grace_s``: an object unseen for longer has left. ``path_window_s``: how much
    of each object's recent path to keep (0: none)."""

    def __init__(self, grace_s: float, continuity: ContinuitySettings, path_window_s: float = 0.0) -> None:
        self._grace_s = grace_s
        self._continuity = continuity
        self._path_window_s = path_window_s
        self._entries: dict[int, Presence] = {}
        self._renamed: dict[int, int] = {}  # old tracker id -> the id that took over
        self._last_frame_at: float | None = None
        self._intervals: deque[float] = deque(maxlen=5)

    @property
    def grace_s(self) -> float:
        """The configured grace, or more when frames come further apart (see the module doc)."""
        return max(self._grace_s, self._rate_floor())

    @property
    def max_gap_s(self) -> float:
        return max(self._continuity.max_gap_s, self._rate_floor())

    def _rate_floor(self) -> float:
        return MISSES_TOLERATED * median(self._intervals) if self._intervals else 0.0

    def _note_frame(self, now: float) -> None:
        # Called after _forget: the intervals before this frame decide whether a gap ended a
        # presence, so an outage still does; a lasting slower rate (the shedder) joins the median.
        if self._last_frame_at is not None and now > self._last_frame_at:
            self._intervals.append(now - self._last_frame_at)
        if self._last_frame_at is None or now > self._last_frame_at:
            self._last_frame_at = now

    def observe(self, detections: Detections, now: float) -> list[int]:
        """Record one frame's detections (untracked boxes are ignored).

        Returns the track ids seen for the first time that did not take over an
        earlier track: objects that really are new to the scene."""
        self._forget(now)  # first, so an id returning after the memory has lapsed starts afresh
        self._note_frame(now)
        tracked = detections[detections.tracker_id != NO_TRACK] if len(detections) else detections
        anchors = tracked.bottom_centers() if len(tracked) else np.zeros((0, 2))
        sizes, heights = box_sizes(tracked.xyxy), box_heights(tracked.xyxy)
        seen_now = set(tracked.tracker_id.tolist())
        new_objects = []
        for i, tid in enumerate(tracked.tracker_id.tolist()):
            point = (float(anchors[i][0]), float(anchors[i][1]))
            label, conf = str(tracked.labels[i]), float(tracked.confidence[i])
            entry = self._entries.get(tid)
            if entry is None:
                entry = self._take_over(tid, label, point, now, seen_now)
            if entry is None:
                entry = Presence(tid, tid, label, now, now, point, float(sizes[i]), float(heights[i]), conf, now, point,
                                 tracked.xyxy[i].copy())
                self._entries[tid] = entry
                new_objects.append(tid)
            self._refresh(entry, point, float(sizes[i]), float(heights[i]), conf, tracked.xyxy[i], now, label)
        return new_objects

    def _take_over(self, tid: int, label: str, point: tuple[float, float], now: float, seen_now: set[int]) -> Presence | None:
        """A vanished track near ``point`` whose presence ``tid`` inherits, or None."""
        best, best_distance = None, float("inf")
        for old in self._entries.values():
            if old.track_id in seen_now or old.last_seen_at >= now or now - old.last_seen_at > self.max_gap_s:
                continue
            distance = old.distance_to(point)
            if labels_compatible(old.label, label) and distance <= self._continuity.max_distance * old.size and distance < best_distance:
                best, best_distance = old, distance
        if best is None:
            return None
        del self._entries[best.track_id]
        self._renamed[best.track_id] = tid
        best.track_id = tid
        self._entries[tid] = best
        return best

    def _refresh(self, entry: Presence, point, size: float, height: float, conf: float, box, now: float, label: str) -> None:
        entry.last_seen_at, entry.position, entry.size, entry.height, entry.box = now, point, size, height, box.copy()
        entry.label = label
        entry.confidence = max(entry.confidence, conf)
        moved = np.hypot(point[0] - entry.settle_point[0], point[1] - entry.settle_point[1])
        if moved > self._continuity.static_tolerance * size:
            entry.settle_point, entry.settled_at = point, now
        if self._path_window_s > 0:
            entry.path.append((now, point[0], point[1]))
            while len(entry.path) > 1 and now - entry.path[0][0] > self._path_window_s:
                entry.path.popleft()

    def _forget(self, now: float) -> None:
        keep_s = max(self.grace_s, self.max_gap_s)
        for tid in [t for t, p in self._entries.items() if now - p.last_seen_at > keep_s]:
            del self._entries[tid]
        live = set(self._entries)
        self._renamed = {old: new for old, new in self._renamed.items() if new in live or new in self._renamed}

    def present(self, now: float) -> list[Presence]:
        """Objects seen within the grace period."""
        grace_s = self.grace_s
        return [p for p in self._entries.values() if now - p.last_seen_at <= grace_s]

    def get(self, track_id: int) -> Presence | None:
        """The object that had ``track_id`` (following id switches), if still remembered."""
        seen: set[int] = set()
        while track_id in self._renamed and track_id not in seen:
            seen.add(track_id)
            track_id = self._renamed[track_id]
        return self._entries.get(track_id)

    def origin_ids(self) -> set[int]:
        return {p.origin_id for p in self._entries.values()}
