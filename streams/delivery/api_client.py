"""The worker's HTTP client for the GridSight API."""

from __future__ import annotations

import logging
from urllib.parse import quote

import httpx

from streams.delivery.outbox import SendResult

log = logging.getLogger(__name__)


def worker_http_client(base_url: str, *, token: str | None = None, timeout_s: float = 10.0,
                       transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """An httpx client rooted at the API as a worker reaches it: its User-Agent, its bearer token (in
    the header only), the API's timeout. ``transport``: httpx's, for tests (httpx.MockTransport)."""
    headers = {"User-Agent": "gridsight-worker"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s, transport=transport)


class ApiClient:
    def __init__(self, base_url: str, *, token: str | None = None, timeout_s: float = 10.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        """``transport``: httpx's, for tests (httpx.MockTransport); absent: the network."""
        self._client = worker_http_client(base_url, token=token, timeout_s=timeout_s, transport=transport)

    def send_work_order(self, payload: dict, idempotency_key: str) -> SendResult:
        return self._request("POST", "/api/v1/work-orders", payload, {"Idempotency-Key": idempotency_key})

    def send_event_end(self, payload: dict, idempotency_key: str) -> SendResult:
        """The rule event ended (zone empty again): lets the API re-check the order by camera."""
        return self._request("POST", "/api/v1/events/end", payload, {"Idempotency-Key": idempotency_key})

    def send_evidence_follow_up(self, payload: dict, idempotency_key: str) -> SendResult:
        """Files of an order made after it was sent (an emergency order's clip)."""
        return self._request("POST", "/api/v1/events/evidence", payload, {"Idempotency-Key": idempotency_key})

    def send_harvest_batch(self, payload: dict) -> SendResult:
        """Frames worth labelling (api.contract.harvest.HarvestBatch.to_wire(); streams.harvest)."""
        return self._request("POST", "/api/v1/harvest/frames", payload, {})

    def put_camera_status(self, camera_id: str, status: dict) -> SendResult:
        return self._request("PUT", f"/api/v1/cameras/{camera_id}/status", status, {})

    def put_camera_registration(self, camera_id: str, registration: dict) -> SendResult:
        """The camera as this worker's config has it (streams.sync.registration)."""
        return self._request("PUT", f"/api/v1/cameras/{quote(camera_id, safe='')}/registration", registration, {})

    def put_camera_snapshot(self, camera_id: str, jpeg: bytes) -> SendResult:
        """The camera's latest frame, for the dashboard (streams.sync.snapshots)."""
        try:
            response = self._client.put(
                f"/api/v1/cameras/{quote(camera_id, safe='')}/snapshot", content=jpeg,
                headers={"Content-Type": "image/jpeg"},
            )
        except httpx.HTTPError as exc:
            return SendResult(None, f"{type(exc).__name__}: {exc}")
        return SendResult(response.status_code, response.text[:300] if response.status_code >= 400 else "")

    def get_camera_zones(self, camera_id: str) -> list[dict] | None:
        """The camera's zones as registered in the API (streams.sync.zones): [] when the
        API does not know the camera, None when it could not be asked (network, auth)."""
        try:
            response = self._client.get(f"/api/v1/cameras/{quote(camera_id, safe='')}/zones")
        except httpx.HTTPError as exc:
            log.debug("zones of camera %s: %s", camera_id, type(exc).__name__)
            return None
        if response.status_code == 404:
            return []
        if response.status_code != 200:
            log.debug("zones of camera %s: HTTP %d", camera_id, response.status_code)
            return None
        try:
            zones = response.json()
        except ValueError:
            return None
        return zones if isinstance(zones, list) else None

    def _request(self, method: str, path: str, body: dict, headers: dict) -> SendResult:
        try:
            response = self._client.request(method, path, json=body, headers=headers)
        except httpx.HTTPError as exc:
            return SendResult(None, f"{type(exc).__name__}: {exc}")
        detail = ""
        if response.status_code >= 400:
            try:
                detail = str(response.json().get("detail", ""))[:500]
            except ValueError:
                detail = response.text[:500]
        merged = response.headers.get("Work-Order-Merged", "").lower() == "true"
        return SendResult(response.status_code, detail, merged=merged)

    def close(self) -> None:
        self._client.close()
