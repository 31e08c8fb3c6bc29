"""Harvested frames to Label Studio and its finished annotations back (issue 18).

:func:`export_batch` reads frames from the API (``GET /api/v1/harvest/frames`` and each
raw image), makes or reuses a Label Studio project whose labelling config is
RectangleLabels over the canonical labels, uploads each image's bytes to Label Studio
(so tasks work offline and survive restarts of either side, with no file serving to
set up), imports one task per frame with the model's boxes as a prediction
(pre-annotation, percent coordinates, the model's version) and the harvest frame id in
the task's data, then marks the frames exported. :func:`import_project` reads the
finished annotations back, writes a dataset version
(:mod:`gridsight.ml.dataset_version`), registers it with the API and marks the frames
labelled. Both sides' tokens stay in request headers; neither is logged or printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

import httpx

from gridsight.ml.dataset_version import (
    CLASS_ORDER, DatasetVersion, LabelledBox, LabelledImage, register_dataset, write_dataset_version,
)

FROM_NAME = "label"  # the RectangleLabels control
TO_NAME = "image"  # the Image object; task data key "image"
FRAME_KEY = "harvest_frame_id"
PAGE = 100


class LabelStudioError(RuntimeError):
    """Label Studio or the API refused a step; the message is one line for the user."""


def labelling_config(labels: tuple[str, ...] = CLASS_ORDER) -> str:
    """RectangleLabels over ``labels`` on the task's image."""
    options = "".join(f"<Label value={quoteattr(label)}/>" for label in labels)
    return (f'<View><Image name="{TO_NAME}" value="${TO_NAME}"/>'
            f'<RectangleLabels name="{FROM_NAME}" toName="{TO_NAME}">{options}</RectangleLabels></View>')


def connect(url: str, token: str):
    """An SDK client; a legacy API token and a personal access token (JWT) both work (the SDK tells them apart)."""
    from label_studio_sdk.client import LabelStudio

    return LabelStudio(base_url=url.rstrip("/"), api_key=token, timeout=60)


def _plain(obj) -> dict:
    """SDK responses are pydantic models; the code below reads plain dicts."""
    if isinstance(obj, dict):
        return obj
    return obj.model_dump() if hasattr(obj, "model_dump") else dict(obj)


def find_project(ls, title: str) -> int | None:
    for project in ls.projects.list(title=title):
        if _plain(project).get("title") == title:
            return int(_plain(project)["id"])
    return None


def ensure_project(ls, title: str) -> int:
    """The id of the project named ``title``; created with the canonical labelling config if absent.

    A project of that name whose config lacks a canonical label is refused rather than
    changed: its annotators chose that config."""
    project_id = find_project(ls, title)
    if project_id is None:
        created = ls.projects.create(title=title, label_config=labelling_config(),
                                     description="GridSight harvested frames (issue 18)")
        return int(_plain(created)["id"])
    config = _plain(ls.projects.get(id=project_id)).get("label_config") or ""
    missing = [label for label in CLASS_ORDER if f'value="{label}"' not in config]
    if missing:
        raise LabelStudioError(f"Label Studio project {title!r} has a labelling config without "
                               f"{', '.join(missing[:5])}; use another --project")
    return project_id


# --------------------------------------------------------------------------- API side


def _check(response: httpx.Response, what: str) -> httpx.Response:
    if response.status_code >= 400:
        detail = " ".join(response.text.split())[:200]
        raise LabelStudioError(f"{what}: HTTP {response.status_code} {detail}")
    return response


def fetch_frames(api: httpx.Client, *, status: str | None = "new", camera_id: str | None = None,
                 batch_id: int | None = None, limit: int | None = None) -> list[dict]:
    """Harvest frame records from the API, oldest first, paging with after_id up to ``limit``."""
    frames: list[dict] = []
    after = 0
    while limit is None or len(frames) < limit:
        params = {"limit": PAGE if limit is None else min(PAGE, limit - len(frames)), "after_id": after}
        params.update({k: v for k, v in (("status", status), ("camera_id", camera_id), ("batch_id", batch_id))
                       if v is not None})
        page = _check(api.get("/api/v1/harvest/frames", params=params), "listing harvest frames").json()
        frames += page["items"]
        if page.get("next_after_id") is None or not page["items"]:
            break
        after = page["next_after_id"]
    return frames


def frame_image(api: httpx.Client, frame: dict) -> bytes:
    return _check(api.get(frame["image_url"]), f"reading harvest frame {frame['id']}'s image").content


def mark_frames(api: httpx.Client, ids: list[int], status: str, note: str) -> int:
    if not ids:
        return 0
    body = {"ids": ids, "status": status, "note": note}
    return int(_check(api.post("/api/v1/harvest/frames/status", json=body), f"marking frames {status}").json()
               ["updated"])


# --------------------------------------------------------------------------- export


def prediction_of(frame: dict) -> dict:
    """The model's boxes as a Label Studio prediction: percent coordinates of the original image."""
    results = []
    for n, box in enumerate(frame.get("boxes") or []):
        if box["label"] not in CLASS_ORDER:
            continue  # a model class the canonical config cannot show
        results.append({
            "id": f"f{frame['id']}b{n}", "from_name": FROM_NAME, "to_name": TO_NAME, "type": "rectanglelabels",
            "original_width": frame["width"], "original_height": frame["height"], "image_rotation": 0,
            "score": box["confidence"],
            "value": {"x": box["x1"] * 100, "y": box["y1"] * 100, "width": (box["x2"] - box["x1"]) * 100,
                      "height": (box["y2"] - box["y1"]) * 100, "rotation": 0, "rectanglelabels": [box["label"]]},
        })
    score = sum(r["score"] for r in results) / len(results) if results else 0.0
    return {"model_version": f"{frame['model_name']}:{frame['model_version']}", "score": score, "result": results}


def _upload_image(ls, project_id: int, frame: dict, jpeg: bytes) -> str:
    """Upload the image's bytes to the project without making a task; returns its /data/upload/ URL.

    The SDK has no multipart upload, so this one call is made with httpx and the SDK's
    own authorisation header (which also resolves a personal access token)."""
    wrapper = ls._client_wrapper
    headers = {k: v for k, v in wrapper.get_headers().items() if k.lower() == "authorization"}
    response = httpx.post(f"{wrapper.get_base_url()}/api/projects/{project_id}/import",
                          params={"commit_to_project": "false"}, headers=headers, timeout=60,
                          files={"file": (f"frame-{frame['id']}.jpg", jpeg, "image/jpeg")})
    _check(response, f"uploading frame {frame['id']} to Label Studio")
    upload_id = response.json()["file_upload_ids"][0]
    return "/data/" + str(_plain(ls.files.get(id=upload_id))["file"]).lstrip("/")


def project_frame_ids(ls, project_id: int) -> dict[int, int]:
    """harvest frame id -> task id of every task in the project that came from a harvest frame."""
    tasks = {}
    for task in ls.tasks.list(project=project_id, fields="all"):
        task = _plain(task)
        frame_id = (task.get("data") or {}).get(FRAME_KEY)
        if isinstance(frame_id, int):
            tasks[frame_id] = int(task["id"])
    return tasks


@dataclass
class ExportResult:
    project_id: int
    exported: dict[int, int] = field(default_factory=dict)  # harvest frame id -> new task id
    already: list[int] = field(default_factory=list)  # frames the project already had a task for

    def summary(self, title: str) -> str:
        return (f"Label Studio project {title!r} (id {self.project_id}): {len(self.exported)} tasks created, "
                f"{len(self.already)} frames already there")


def export_batch(api: httpx.Client, ls, project: str, frames: list[dict] | None = None, *, status: str = "new",
                 camera_id: str | None = None, batch_id: int | None = None,
                 limit: int | None = None) -> ExportResult:
    """Export harvest frames to the Label Studio project ``project`` (created if absent).

    ``frames``: the frame records to export (as GET /api/v1/harvest/frames lists them);
    None reads them from the API with the filters. A frame the project already has a task
    for is not imported twice (an export interrupted before marking is safe to re-run);
    every exported frame, old or new, is marked exported."""
    if frames is None:
        frames = fetch_frames(api, status=status, camera_id=camera_id, batch_id=batch_id, limit=limit)
    result = ExportResult(project_id=ensure_project(ls, project))
    known = project_frame_ids(ls, result.project_id)
    for start in range(0, len(frames), 16):
        chunk = [f for f in frames[start:start + 16] if f["id"] not in known]
        result.already += [f["id"] for f in frames[start:start + 16] if f["id"] in known]
        tasks = []
        for frame in chunk:
            url = _upload_image(ls, result.project_id, frame, frame_image(api, frame))
            data = {TO_NAME: url, FRAME_KEY: frame["id"], "camera_id": frame["camera_id"],
                    "captured_at": frame["captured_at"], "reasons": ", ".join(frame.get("reasons") or []),
                    "sha256": frame.get("sha256", "")}
            tasks.append({"data": data, "predictions": [prediction_of(frame)]})
        if tasks:
            reply = _plain(ls.projects.import_tasks(id=result.project_id, request=tasks, return_task_ids=True))
            result.exported.update(zip((f["id"] for f in chunk), (int(t) for t in reply.get("task_ids") or [])))
        mark_frames(api, [f["id"] for f in frames[start:start + 16]], "exported",
                    f"label-studio project {project} (id {result.project_id})")
    return result


# --------------------------------------------------------------------------- import


def boxes_of(result: list[dict], where: str) -> tuple[LabelledBox, ...]:
    """The rectangles of one annotation, percent coordinates -> normalised corners."""
    boxes = []
    for region in result:
        if region.get("type") != "rectanglelabels":
            continue
        value = region["value"]
        labels = value.get("rectanglelabels") or []
        unknown = [label for label in labels if label not in CLASS_ORDER]
        if unknown:
            raise LabelStudioError(f"{where} uses labels that are not canonical: {', '.join(unknown)}")
        x1, y1 = value["x"] / 100, value["y"] / 100
        x2, y2 = x1 + value["width"] / 100, y1 + value["height"] / 100
        x1, y1, x2, y2 = max(0.0, x1), max(0.0, y1), min(1.0, x2), min(1.0, y2)
        if labels and x2 > x1 and y2 > y1:
            boxes.append(LabelledBox(labels[0], x1, y1, x2, y2))
    return tuple(boxes)


def finished_annotations(ls, project_id: int) -> dict[int, tuple[dict, dict]]:
    """harvest frame id -> (task, its newest annotation that was submitted and not cancelled)."""
    finished = {}
    for task in ls.tasks.list(project=project_id, fields="all"):
        task = _plain(task)
        frame_id = (task.get("data") or {}).get(FRAME_KEY)
        done = [_plain(a) for a in task.get("annotations") or [] if not _plain(a).get("was_cancelled")]
        if isinstance(frame_id, int) and done:
            finished[frame_id] = (task, max(done, key=lambda a: (str(a.get("updated_at") or ""), a["id"])))
    return finished


def import_project(api: httpx.Client, ls, project: str, *, out, name: str, version: str,
                   register: bool = True) -> DatasetVersion:
    """Write the finished annotations of ``project`` as dataset version ``name`` ``version`` under ``out``,
    register it with the API and mark its frames labelled.

    Images come from the API (the raw harvested bytes, checksummed there), so importing
    the same annotations again gives the same fingerprint."""
    project_id = find_project(ls, project)
    if project_id is None:
        raise LabelStudioError(f"Label Studio has no project {project!r}")
    finished = finished_annotations(ls, project_id)
    if not finished:
        raise LabelStudioError(f"Label Studio project {project!r} has no finished annotations yet")
    frames = {f["id"]: f for f in _frames_by_id(api, sorted(finished))}
    missing = sorted(set(finished) - set(frames))
    if missing:
        raise LabelStudioError(f"the API no longer has harvest frames {', '.join(map(str, missing[:10]))} "
                               "(evicted?); their annotations cannot be imported")
    images = []
    for frame_id, (task, annotation) in sorted(finished.items()):
        frame = frames[frame_id]
        images.append(LabelledImage(
            name=f"{frame['camera_id']}-{frame_id:08d}", image=frame_image(api, frame),
            boxes=boxes_of(annotation.get("result") or [], f"task {task['id']}"), camera_id=frame["camera_id"],
            captured_at=_unix(frame["captured_at"]), harvest_frame_id=frame_id))
    described = write_dataset_version(images, out, name=name, version=version, source="label-studio")
    if register:
        register_dataset(api, described)
    mark_frames(api, described.harvest_frame_ids, "labelled", f"dataset {name} {version}")
    return described


def _frames_by_id(api: httpx.Client, ids: list[int]) -> list[dict]:
    """The frame records of ``ids``, whatever their status now (listing pages through all of them)."""
    wanted = set(ids)
    return [f for f in fetch_frames(api, status=None) if f["id"] in wanted]


def _unix(captured_at) -> float:
    from datetime import datetime

    if isinstance(captured_at, (int, float)):
        return float(captured_at)
    return datetime.fromisoformat(str(captured_at).replace("Z", "+00:00")).timestamp()
