"""Shadow mode: a candidate model watches the same frames as the live one and files nothing.

Before a new model goes live an engineer wants to know how it would have
behaved on the real cameras: which alerts it would have raised that the live
model did not, and which it would have missed. The shadow runner gets every
frame the live pipeline analyses, runs its own detector, tracker and a copy of
the camera's rules (their own clock and state), and appends both sides'
events to a JSON-lines log; it holds no reference to the outbox, so a shadow
event cannot become a work order. ``shadow_report`` pairs the two sides per
rule and zone.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from inference.clock import FrameClock
from inference.rules import EventPhase, RuleEvent
from inference.tracking import ObjectTracker
from inference.frames import VideoFrame

log = logging.getLogger(__name__)


class ShadowLog:
    """Append-only JSON lines, one file per camera; safe to share between camera threads."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def path(self, camera_id: str) -> Path:
        return self.directory / f"{camera_id}.jsonl"

    def record(self, side: str, model: str, event: RuleEvent) -> None:
        line = {
            "side": side, "model": model, "camera_id": event.camera_id, "rule_id": event.rule_id,
            "zone_id": event.zone_id, "event_id": event.event_id, "phase": event.phase.value,
            "at": round(event.at, 3), "started_at": round(event.started_at, 3), "labels": list(event.labels),
            "confidence": round(float(event.max_confidence), 4),
        }
        with self._lock, open(self.path(event.camera_id), "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")


class ShadowRunner:
    """The candidate side of one camera. ``observe`` is called by the live pipeline after
    its own rules ran, with the live events of that frame."""

    def __init__(self, camera_id: str, detector, tracker: ObjectTracker, rules: list, clock: FrameClock,
                 shadow_log: ShadowLog, live_model: str) -> None:
        self.camera_id = camera_id
        self._detector = detector
        self._tracker = tracker
        self._rules = rules  # (rule, template) pairs; templates are never used: nothing is filed
        self._clock = clock
        self._log = shadow_log
        self._live_model = live_model
        self.model = f"{detector.name} {detector.version}"
        self.frames = 0
        self.events = 0

    def observe(self, frame: VideoFrame, live_events: list[RuleEvent]) -> None:
        for event in live_events:
            self._log.record("live", self._live_model, event)
        try:
            detections = self._detector.detect([frame.image])[0]
            tracked = self._tracker.update(detections, timestamp=frame.captured_at)
            self._clock.advance_to(frame.captured_at)
            self.frames += 1
            for rule, _template in self._rules:
                for event in rule.update(tracked, (frame.width, frame.height)):
                    self.events += 1
                    self._log.record("shadow", self.model, event)
        except Exception:
            # The candidate is on trial: its failure must never cost the live camera a frame.
            log.exception("camera %s: shadow model %s failed on a frame", self.camera_id, self.model)


# --------------------------------------------------------------------------- report


@dataclass
class RuleAgreement:
    camera_id: str
    rule_id: str
    zone_id: str
    live: int  # START events of the live model
    shadow: int  # START events of the candidate
    both: int  # live STARTs with a candidate START of the same rule and zone within the tolerance
    live_only: int
    shadow_only: int

    @property
    def agreement(self) -> float:
        """Jaccard of the two event sets: 1.0 when both said exactly the same (or both nothing)."""
        union = self.both + self.live_only + self.shadow_only
        return self.both / union if union else 1.0


def _starts(path: Path) -> dict[tuple[str, str, str], dict[str, list[float]]]:
    out: dict[tuple[str, str, str], dict[str, list[float]]] = defaultdict(lambda: {"live": [], "shadow": []})
    with open(path, encoding="utf-8") as fh:
        for raw in fh:
            line = json.loads(raw)
            # A reopened event (UPDATE) is the same incident: only STARTs count.
            if line["phase"] == EventPhase.START.value:
                out[(line["camera_id"], line["rule_id"], line["zone_id"])][line["side"]].append(line["started_at"])
    return out


def _pair(live: list[float], shadow: list[float], tolerance_s: float) -> int:
    """Greedy one-to-one pairing of start times in order."""
    remaining = sorted(shadow)
    both = 0
    for t in sorted(live):
        match = next((s for s in remaining if abs(s - t) <= tolerance_s), None)
        if match is not None:
            remaining.remove(match)
            both += 1
    return both


def shadow_report(directory: str | Path, tolerance_s: float = 30.0) -> list[RuleAgreement]:
    rows = []
    for path in sorted(Path(directory).glob("*.jsonl")):
        for (camera_id, rule_id, zone_id), sides in sorted(_starts(path).items()):
            both = _pair(sides["live"], sides["shadow"], tolerance_s)
            rows.append(RuleAgreement(camera_id, rule_id, zone_id, len(sides["live"]), len(sides["shadow"]), both,
                                      len(sides["live"]) - both, len(sides["shadow"]) - both))
    return rows


def format_report(rows: list[RuleAgreement]) -> str:
    head = f"{'camera':<16} {'rule':<24} {'zone':<14} {'live':>5} {'shadow':>6} {'both':>5} {'live only':>9} {'shadow only':>11} {'agreement':>9}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r.camera_id:<16} {r.rule_id:<24} {r.zone_id:<14} {r.live:>5} {r.shadow:>6} {r.both:>5} "
                     f"{r.live_only:>9} {r.shadow_only:>11} {r.agreement:>9.2f}")
    if not rows:
        lines.append("(no events recorded on either side)")
    return "\n".join(lines)
