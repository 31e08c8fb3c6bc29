"""Harvested frames to the API: ``POST /api/v1/harvest/frames`` (issue 18), off the analysis thread.

One uploader per worker, shared by its cameras. A camera hands over a :class:`HarvestCandidate`
(references to the raw frame and its boxes: nothing is copied or encoded on the analysis thread)
into a bounded queue; the uploader's thread encodes the RAW frame as JPEG
(inference.evidence.encode_jpeg, never annotated), builds its
:class:`api.contract.harvest.HarvestFrame` and posts batches of at most ``batch_max_frames``.

Harvesting is best effort, so both holding places are bounded and memory only, each with the
named drop policy ``drop_oldest`` and counted drops: the queue of raw frames waiting to be encoded
(``queue_max_frames``: a raw 1080p frame is 6 MB) and the encoded frames waiting for the API
(``spool_max_frames``). While the API is unreachable (no answer, 5xx, 408/429) the uploader
retries with backoff and keeps the newest ``spool_max_frames``; a 4xx refusal drops that batch
(counted) and logs its one-line reason. Each change of state (sending, retrying, refused) is one
log line, never one per batch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np

from api.contract.harvest import HarvestBatch, HarvestBox, HarvestFrame
from api.contract.wire import ContractError
from inference.detections import NO_TRACK, Detections
from inference.evidence import encode_jpeg
from streams.backoff import Backoff
from streams.delivery.outbox import SendResult

log = logging.getLogger(__name__)

DROP_POLICY = "drop_oldest"
BATCH_MAX_FRAMES = 16
SENDING, RETRYING, REFUSED = "sending", "retrying", "refused"


class HarvestSender(Protocol):
    def send_harvest_batch(self, payload: dict) -> SendResult: ...  # streams.delivery.api_client.ApiClient


@dataclass(frozen=True)
class HarvestCandidate:
    """A frame the sampler picked, as the analysis thread left it (references only)."""

    camera_id: str
    captured_at: float
    model_name: str
    model_version: str
    reasons: tuple[str, ...]
    image: np.ndarray  # the raw BGR frame
    detections: Detections  # the detector's boxes (before tracking), canonical labels
    tracked: Detections  # the same frame's tracked boxes: their track ids go with the boxes
    detail: dict = field(default_factory=dict)


def harvest_boxes(detections: Detections, tracked: Detections, width: int, height: int) -> tuple[HarvestBox, ...]:
    """The detector's boxes normalised to 0..1, each with the track id of the tracked box it became
    (the tracker returns the detector's own boxes, so the match is exact); degenerate boxes left out."""
    ids = {}
    for i in range(len(tracked)):
        if tracked.tracker_id[i] != NO_TRACK:
            ids[(str(tracked.labels[i]), tuple(np.round(tracked.xyxy[i], 1)))] = int(tracked.tracker_id[i])
    boxes = []
    for i in range(len(detections)):
        x1, y1, x2, y2 = (float(v) for v in detections.xyxy[i])
        x1, x2 = (min(max(v / width, 0.0), 1.0) for v in (x1, x2))
        y1, y2 = (min(max(v / height, 0.0), 1.0) for v in (y1, y2))
        if x2 <= x1 or y2 <= y1:
            continue
        label = str(detections.labels[i])
        track = ids.get((label, tuple(np.round(detections.xyxy[i], 1))))
        boxes.append(HarvestBox(label, round(float(detections.confidence[i]), 4), round(x1, 5), round(y1, 5),
                                round(x2, 5), round(y2, 5), track))
    return tuple(boxes)


class HarvestUploader:
    """The bounded queue, the encoder and the batch sender; ``pump()`` is one step (tests drive it
    directly), ``start()`` runs it on a thread of its own."""

    def __init__(self, sender: HarvestSender, worker_name: str, *, queue_max_frames: int = 8,
                 spool_max_frames: int = 64, batch_max_frames: int = BATCH_MAX_FRAMES, jpeg_quality: int = 90,
                 backoff: Backoff | None = None, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._sender = sender
        self.worker_name = worker_name
        self.queue_max_frames = queue_max_frames
        self.spool_max_frames = spool_max_frames
        self.batch_max_frames = min(batch_max_frames, BATCH_MAX_FRAMES)
        self.jpeg_quality = jpeg_quality
        self._backoff = backoff or Backoff(1.0, 60.0)
        self._monotonic = monotonic
        self._queue: deque[HarvestCandidate] = deque()
        self._spool: deque[HarvestFrame] = deque()
        self._wake = threading.Condition()
        self._next_attempt = 0.0
        self.state = SENDING
        self.refusal: str | None = None  # the API's last one-line reason for refusing a batch
        self.dropped: Counter[str] = Counter()  # frames dropped: queue_full, spool_full, refused, invalid
        self.sent = 0  # frames the API acknowledged
        self.batches_sent = 0
        self.failed_attempts = 0  # posts that got no answer or a retryable one
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- the analysis thread's side ------------------------------------------------------------
    def offer(self, candidate: HarvestCandidate) -> None:
        """Queue a picked frame; never blocks. A full queue drops its oldest frame (counted)."""
        with self._wake:
            self._queue.append(candidate)
            while len(self._queue) > self.queue_max_frames:
                self._queue.popleft()
                self.dropped["queue_full"] += 1
            self._wake.notify()

    # -- the uploader's side --------------------------------------------------------------------
    def pump(self) -> float:
        """Encode what is queued, then post one batch when one is due; returns seconds until the
        next post is worth trying (0: more to send now)."""
        self._encode_queued()
        if not self._spool:
            return 60.0
        wait = self._next_attempt - self._monotonic()
        if wait > 0:
            return wait
        self._post(list(self._spool)[: self.batch_max_frames])
        return 0.0 if self._spool and self.state == SENDING else max(0.0, self._next_attempt - self._monotonic())

    def _encode_queued(self) -> None:
        while True:
            with self._wake:
                if not self._queue:
                    return
                candidate = self._queue.popleft()
            frame = self._encode(candidate)
            if frame is None:
                continue
            with self._wake:
                self._spool.append(frame)
                while len(self._spool) > self.spool_max_frames:
                    self._spool.popleft()
                    self.dropped["spool_full"] += 1

    def _encode(self, c: HarvestCandidate) -> HarvestFrame | None:
        height, width = c.image.shape[:2]
        try:
            return HarvestFrame(
                camera_id=c.camera_id, captured_at=c.captured_at, model_name=c.model_name,
                model_version=c.model_version, reasons=c.reasons, jpeg=encode_jpeg(c.image, self.jpeg_quality),
                width=int(width), height=int(height), boxes=harvest_boxes(c.detections, c.tracked, width, height),
                detail=c.detail,
            )
        except (ContractError, RuntimeError) as exc:  # the API would refuse it: never queue it
            self.dropped["invalid"] += 1
            if self.dropped["invalid"] == 1:
                log.warning("harvest: frame of camera %s not sent: %s (further ones are counted, not logged)",
                            c.camera_id, exc)
            return None

    def _post(self, frames: list[HarvestFrame]) -> None:
        body = HarvestBatch(worker=self.worker_name, frames=tuple(frames)).to_wire()
        result = self._sender.send_harvest_batch(body)
        if result.status_code == 413 and len(frames) > 1:  # too large for the API: smaller batches, nothing lost
            self.batch_max_frames = len(frames) // 2
            log.warning("harvest: the API finds a batch of %d frame(s) too large; sending %d at a time",
                        len(frames), self.batch_max_frames)
            return
        if result.delivered or result.permanent_failure:
            with self._wake:
                for _ in frames:
                    self._spool.popleft()
        if result.delivered:
            self.sent += len(frames)
            self.batches_sent += 1
            self._backoff.reset()
            self._next_attempt = 0.0
            self._enter(SENDING, f"harvest: the API takes harvested frames ({len(frames)} sent)")
        elif result.permanent_failure:
            self.dropped["refused"] += len(frames)
            reason = f"HTTP {result.status_code}: {result.detail or 'no reason given'}"[:300]
            if self.state != REFUSED or reason != self.refusal:
                log.warning("harvest: the API refuses harvested frames (%s); %d frame(s) dropped, later ones "
                            "are still offered", reason, len(frames))
            self.refusal, self.state = reason, REFUSED
        else:
            self.failed_attempts += 1
            delay = self._backoff.next_delay()
            self._next_attempt = self._monotonic() + delay
            why = f"HTTP {result.status_code}" if result.status_code is not None else (result.detail or "no answer")
            self._enter(RETRYING, f"harvest: the API cannot take harvested frames ({why[:200]}); retrying with "
                                  f"backoff, keeping at most {self.spool_max_frames} frame(s) in memory")

    def _enter(self, state: str, line: str) -> None:
        if state != self.state:
            (log.info if state == SENDING else log.warning)(line)
            self.state = state
            if state == SENDING:
                self.refusal = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self.pump()
            except Exception:  # a harvesting bug must not end the thread silently, nor the worker
                log.exception("harvest: upload step failed; retrying")
                wait = 5.0
            if wait > 0:
                with self._wake:
                    if not self._queue and not self._stop.is_set():
                        self._wake.wait(timeout=min(wait, 60.0))

    def start(self) -> "HarvestUploader":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="harvest-upload", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0, flush_timeout_s: float = 0.0) -> None:
        """Stop the thread, then keep posting what is in memory for up to ``flush_timeout_s``
        (while the API takes it); what is left then is lost: harvesting is best effort."""
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
        still_running = self._thread is not None and self._thread.is_alive()  # stuck in a post: never two at once
        deadline = self._monotonic() + (0.0 if still_running else flush_timeout_s)
        while self.pending and self.state != REFUSED and self._monotonic() < deadline:
            self._next_attempt = 0.0  # the last flush does not wait out a backoff
            self.pump()
            if self.state == RETRYING:
                break
        if self.pending:
            log.info("harvest: stopping with %d frame(s) not sent", self.pending)

    # -- what stats, metrics and health read -----------------------------------------------------
    @property
    def pending(self) -> int:
        return len(self._spool) + len(self._queue)

    def problem(self) -> str | None:
        """One line for /health while the API refuses harvested frames (or cannot take them)."""
        if self.state == REFUSED:
            return f"harvesting is on but the API refuses it: {self.refusal}"
        if self.state == RETRYING:
            return f"harvesting is on but the API cannot take frames; {len(self._spool)} waiting in memory"
        return None

    def stats(self) -> dict:
        return {"state": self.state, "sent": self.sent, "batches": self.batches_sent, "pending": self.pending,
                "dropped": dict(self.dropped), "drop_policy": DROP_POLICY, "failed_attempts": self.failed_attempts,
                "refusal": self.refusal}
