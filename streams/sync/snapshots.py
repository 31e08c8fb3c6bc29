"""Upload each camera's latest analysed frame to the API every few seconds, so
the dashboard's camera wall and zone editor show the street as it is now.

One background thread for the whole worker. It reads ``pipeline.latest_frame``
(set by the analysis thread in one assignment), encodes it as a JPEG (scaled
down to at most ``max_width`` pixels wide) and PUTs it to
``/api/v1/cameras/{id}/snapshot``. A frame already sent is not sent again, so
a stalled camera costs nothing. Uploads are best effort: a failure is logged
once and the next tick tries again; nothing is queued."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Protocol

import cv2
import numpy as np

from streams.delivery.outbox import SendResult

log = logging.getLogger(__name__)


class SnapshotClient(Protocol):
    def put_camera_snapshot(self, camera_id: str, jpeg: bytes) -> SendResult: ...


def encode_frame(image: np.ndarray, max_width: int = 1280, quality: int = 80) -> bytes:
    """BGR image -> JPEG bytes, scaled down (never up) to ``max_width``."""
    height, width = image.shape[:2]
    if width > max_width:
        scale = max_width / width
        image = cv2.resize(image, (max_width, max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


class SnapshotUploader:
    def __init__(self, client: SnapshotClient, pipelines: Callable[[], Iterable], interval_s: float,
                 *, max_width: int = 1280, quality: int = 80) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be > 0 (0 means: do not build an uploader)")
        self._client = client
        self._pipelines = pipelines
        self.interval_s = interval_s
        self._max_width = max_width
        self._quality = quality
        self._sent: dict[str, tuple[int, float]] = {}
        self._failing: dict[str, str] = {}
        self.uploaded = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="snapshot-uploader", daemon=True)

    @classmethod
    def from_config(cls, config, client: SnapshotClient, pipelines: Callable[[], Iterable]) -> "SnapshotUploader | None":
        interval = getattr(config.worker, "snapshot_interval_s", 0)
        return cls(client, pipelines, interval) if interval and interval > 0 else None

    def tick(self) -> int:
        """Upload every camera's frame that is newer than the one sent last; returns how many went."""
        sent = 0
        for pipeline in list(self._pipelines()):
            frame = getattr(pipeline, "latest_frame", None)
            if frame is None or self._stop.is_set():
                continue
            camera_id = pipeline.camera_id
            stamp = (frame.frame_id, frame.captured_at)
            if self._sent.get(camera_id) == stamp:
                continue
            try:
                jpeg = encode_frame(frame.image, self._max_width, self._quality)
            except (ValueError, cv2.error) as exc:
                log.warning("camera %s: snapshot not encoded: %s", camera_id, exc)
                continue
            result = self._client.put_camera_snapshot(camera_id, jpeg)
            if result.delivered:
                self._sent[camera_id] = stamp
                self.uploaded += 1
                sent += 1
                if self._failing.pop(camera_id, None) is not None:
                    log.info("camera %s: snapshot upload works again", camera_id)
            else:
                problem = f"HTTP {result.status_code}" if result.status_code is not None else "API unreachable"
                if self._failing.get(camera_id) != problem:
                    log.warning("camera %s: snapshot upload failed (%s) %s; will retry every %.0f s",
                                camera_id, problem, result.detail[:200], self.interval_s)
                self._failing[camera_id] = problem
        return sent

    def _run(self) -> None:
        # The first frame goes up soon after start, then every interval.
        wait = min(self.interval_s, 2.0)
        while not self._stop.wait(wait):
            wait = self.interval_s
            try:
                self.tick()
            except Exception:  # a snapshot is never worth a dead thread
                log.exception("snapshot upload failed")

    def start(self) -> None:
        log.info("uploading each camera's latest frame every %.0f s", self.interval_s)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
