"""The worker's HTTP client for the API's model registry (issue 18): the cameras' assignments,
a model version's files, and load reports (shapes: api.contract.models).

Its own httpx client (the worker's token, the API's timeout), so the model sync can be tested
against ``httpx.MockTransport`` and a slow download never holds up the outbox's sender.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

import httpx

from api.contract.models import ModelAssignment, ModelAssignments, ModelFile, ModelLoadReport
from api.contract.wire import ContractError
from streams.delivery.api_client import worker_http_client
from streams.model_loader import ModelLoadError, one_line

CAMERAS_PER_REQUEST = 100  # keeps the query string short on a worker with many cameras


class RegistryUnavailable(Exception):
    """The assignments could not be read (network, auth, an API without the registry); one line."""


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
        detail = body.get("detail") if isinstance(body, dict) else None
    except ValueError:
        detail = None
    return f"HTTP {response.status_code}" + (f": {one_line(str(detail))}" if detail else "")


class ModelRegistryClient:
    def __init__(self, base_url: str, *, token: str | None = None, timeout_s: float = 10.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self._client = worker_http_client(base_url, token=token, timeout_s=timeout_s, transport=transport)

    def assignments(self, camera_ids: Sequence[str]) -> ModelAssignments:
        """The assignments of those of ``camera_ids`` the registry assigns a model; raises RegistryUnavailable."""
        found: list[ModelAssignment] = []
        ids = list(camera_ids)
        for start in range(0, len(ids), CAMERAS_PER_REQUEST):
            chunk = ",".join(ids[start:start + CAMERAS_PER_REQUEST])
            try:
                response = self._client.get("/api/v1/models/assignments", params={"cameras": chunk})
            except httpx.HTTPError as exc:
                raise RegistryUnavailable(f"{type(exc).__name__}: {one_line(str(exc))}") from None
            if response.status_code == 404:
                raise RegistryUnavailable("the API has no model registry (HTTP 404 on /api/v1/models/assignments)")
            if response.status_code != 200:
                raise RegistryUnavailable(_detail(response))
            try:
                found += ModelAssignments.from_wire(response.json()).assignments
            except (ValueError, ContractError) as exc:
                raise RegistryUnavailable(f"unreadable assignments: {one_line(str(exc))}") from None
        return ModelAssignments(tuple(found))

    def fetch_file(self, assignment: ModelAssignment, file: ModelFile, dest: Path) -> None:
        """Stream one file of the assignment's model version to ``dest``, never more than its size.

        Raises ModelLoadError: ``retry`` for the network and 5xx, not for a 4xx (a 404: the registry
        does not hold the file it listed)."""
        path = "/".join(quote(part, safe="") for part in file.path.split("/"))
        url = (f"/api/v1/models/{quote(assignment.model_name, safe='')}/"
               f"{quote(assignment.model_version, safe='')}/files/{path}")
        try:
            with self._client.stream("GET", url) as response:
                if response.status_code != 200:
                    response.read()
                    raise ModelLoadError(f"fetching {file.path}: {_detail(response)}",
                                         retry=response.status_code >= 500 or response.status_code == 429)
                written = 0
                with open(dest, "wb") as out:
                    for chunk in response.iter_bytes(1 << 20):
                        written += len(chunk)
                        if written > file.size:
                            raise ModelLoadError(f"{file.path}: more than the {file.size} bytes the registry lists")
                        out.write(chunk)
        except httpx.HTTPError as exc:
            raise ModelLoadError(f"fetching {file.path}: {type(exc).__name__}: {exc}", retry=True) from None

    def send_report(self, report: ModelLoadReport) -> int | None:
        """POST the load report; its HTTP status, or None when the API could not be reached."""
        try:
            return self._client.post("/api/v1/models/load-reports", json=report.to_wire()).status_code
        except httpx.HTTPError:
            return None

    def close(self) -> None:
        self._client.close()
