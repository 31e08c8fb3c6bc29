"""Camera status to the API, best effort: the latest status of each camera wins
(an older status is worth nothing), sent from one background thread."""

from __future__ import annotations

import threading

from api.contract.wire import CameraStatusEvent
from streams.delivery.api_client import ApiClient


class StatusReporter:
    """Pushes the latest status of each camera to the API (an older status is worth nothing)."""

    def __init__(self, client: ApiClient) -> None:
        self._client = client
        self._latest: dict[str, CameraStatusEvent] = {}
        self._lock = threading.Lock()
        self._changed = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="status-reporter", daemon=True)

    def __call__(self, event: CameraStatusEvent) -> None:
        # The source has already logged the transition; this only forwards it.
        with self._lock:
            self._latest[event.camera_id] = event
        self._changed.set()

    def discard(self, camera_id: str) -> None:
        """Drop a camera's unsent status (cluster mode: it moved, its next owner reports now)."""
        with self._lock:
            self._latest.pop(camera_id, None)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._changed.wait(1.0)
            self._changed.clear()
            self.flush()

    def flush(self) -> None:
        with self._lock:
            batch, self._latest = self._latest, {}
        for camera_id, event in batch.items():
            result = self._client.put_camera_status(camera_id, event.to_dict())
            if not result.delivered:
                with self._lock:  # keep it unless a newer status arrived meanwhile
                    self._latest.setdefault(camera_id, event)
                self._stop.wait(1.0)
                return

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._changed.set()
        self._thread.join(timeout=5)
        self.flush()
