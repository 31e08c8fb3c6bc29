"""The worker's HTTP client for the GridSight API."""

from __future__ import annotations

import logging

import httpx

from streams.outbox import SendResult

log = logging.getLogger(__name__)


class ApiClient:
    def __init__(self, base_url: str, *, token: str | None = None, timeout_s: float = 10.0) -> None:
        headers = {"User-Agent": "gridsight-worker"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s)

    def send_work_order(self, payload: dict, idempotency_key: str) -> SendResult:
        return self._request("POST", "/api/v1/work-orders", payload, {"Idempotency-Key": idempotency_key})

    def send_event_end(self, payload: dict, idempotency_key: str) -> SendResult:
        """The rule event ended (zone empty again): lets the API re-check the order by camera."""
        return self._request("POST", "/api/v1/events/end", payload, {"Idempotency-Key": idempotency_key})

    def put_camera_status(self, camera_id: str, status: dict) -> SendResult:
        return self._request("PUT", f"/api/v1/cameras/{camera_id}/status", status, {})

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
        return SendResult(response.status_code, detail)

    def close(self) -> None:
        self._client.close()
