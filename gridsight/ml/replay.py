"""``gridsight replay``: run a recorded clip through the full camera pipeline, offline.

To reproduce or debug an alert an engineer needs exactly what the worker
does — the same source decoding and sampling, detector, tracker, rules and
evidence — but with nothing sent anywhere. Replay builds the camera's
pipeline with the worker's own factory, points it at the clip (read as fast
as it decodes, in stream time), and writes what would have been filed:
``events.jsonl`` (one line per order or event end) and each order's evidence
files, so the snapshot and clip can be looked at side by side with the
original alert. The clip can also be an existing order's evidence clip,
fetched from the API.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from streams.config import GridSightConfig

log = logging.getLogger(__name__)

_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "video/mp4": ".mp4"}


@dataclass
class ReplayResult:
    camera_id: str
    clip: str
    model: str
    frames_analysed: int
    orders: list[dict] = field(default_factory=list)  # compact summaries, in filing order
    event_ends: list[dict] = field(default_factory=list)

    def table(self) -> str:
        lines = [f"replay of {self.clip} as camera {self.camera_id} with {self.model}: "
                 f"{self.frames_analysed} frames analysed, {len(self.orders)} orders, {len(self.event_ends)} event ends"]
        for o in self.orders:
            lines.append(f"  order  {o['rule_id']:<24} zone {o['zone_id']:<12} {o['category_code']:<18} "
                         f"started {o.get('started_s')} s, filed {o.get('detected_s')} s  labels {','.join(o['labels'])}  evidence {','.join(o['evidence'])}")
        for e in self.event_ends:
            lines.append(f"  ended  {e['rule_id']:<24} zone {e['zone_id']:<12} at {e.get('at_s')} s")
        return "\n".join(lines)


def _summary(payload: dict, evidence_files: list[str]) -> dict:
    keys = ("rule_id", "zone_id", "category_code", "category_name", "priority", "event_id", "labels",
            "confidence", "detected_at", "event_started_at", "model_name", "model_version")
    out = {k: payload.get(k) for k in keys}
    out["boxes"] = len(payload.get("boxes") or [])
    out["evidence"] = evidence_files
    return out


class _Recorder:
    """Stands in for the outbox: keeps every payload and writes its evidence to disk."""

    def __init__(self, out_dir: Path | None) -> None:
        self.out_dir = out_dir
        self.orders: list[dict] = []
        self.ends: list[dict] = []
        self._lock = threading.Lock()

    def relative_to(self, clip_start: float) -> None:
        """Add seconds-from-clip-start beside the absolute (wall-clock) times."""
        import datetime as dt

        def offset(iso: str | None) -> float | None:
            return None if iso is None else round(dt.datetime.fromisoformat(iso).timestamp() - clip_start, 2)

        for o in self.orders:
            o["started_s"], o["detected_s"] = offset(o["event_started_at"]), offset(o["detected_at"])
        for e in self.ends:
            e["at_s"] = offset(e["at"])

    def _write_evidence(self, index: int, payload: dict) -> list[str]:
        names = []
        for item in payload.get("evidence") or []:
            name = f"order-{index:03d}-{item['kind']}{_EXTENSIONS.get(item.get('content_type', ''), '.bin')}"
            if self.out_dir is not None:
                (self.out_dir / name).write_bytes(base64.b64decode(item["data_b64"]))
            names.append(name)
        return names

    def order(self, _key: str, payload: dict) -> None:
        with self._lock:
            files = self._write_evidence(len(self.orders) + 1, payload)
            self.orders.append(_summary(payload, files))

    def event_end(self, _key: str, payload: dict) -> None:
        with self._lock:
            self.ends.append({"rule_id": payload.get("rule_id"), "zone_id": payload.get("zone_id"),
                              "event_id": payload.get("event_id"), "at": payload.get("ended_at") or payload.get("at")})


def _replay_config(config: GridSightConfig, camera_id: str, clip: Path, model_manifest: Path | None) -> GridSightConfig:
    if camera_id not in config.cameras:
        raise ValueError(f"camera '{camera_id}' is not in the config (cameras: {sorted(config.cameras)})")
    camera = config.cameras[camera_id]
    # Stream time, not wall time: the rules see the clip's own timestamps, so a 10-minute
    # dwell replays in however long decoding takes.
    source = camera.source.model_copy(update={"realtime": False, "loop": False})
    # The clip is the only stream: a camera's detect or record stream would be the live camera's.
    # Nothing leaves this process: no frames harvested for labelling either (issue 18).
    camera = camera.model_copy(update={"url": str(clip), "detect_url": None, "record_url": None, "source": source,
                                       "harvest": None})
    models = dict(config.models)
    if model_manifest is not None:
        models[camera.model] = models[camera.model].model_copy(update={"manifest": model_manifest.resolve()})
    return config.model_copy(update={"cameras": {camera_id: camera}, "models": models,
                                     "harvest": config.harvest.model_copy(update={"enabled": False})})


def replay_clip(config: GridSightConfig, camera_id: str, clip: str | Path, *, model_manifest: Path | None = None,
                out_dir: str | Path | None = None) -> ReplayResult:
    """Run ``clip`` through camera ``camera_id``'s pipeline; nothing leaves this process."""
    from streams.config import check_model_labels
    from streams.pipeline_factory import PipelineFactory, load_detectors, shadow_models

    clip = Path(clip)
    if not clip.is_file():
        raise FileNotFoundError(f"clip not found: {clip}")
    config = _replay_config(config, camera_id, clip, model_manifest)
    check_model_labels(config)
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    recorder = _Recorder(out)
    camera = config.cameras[camera_id]
    detectors = load_detectors(config, {camera.model} | shadow_models(config))  # a shadow candidate replays too
    factory = PipelineFactory(config, detectors, on_status=lambda event: log.info("source: %s", event), submit_order=recorder.order)
    pipeline = factory.build(camera_id, camera)
    pipeline.submit_event_end = recorder.event_end
    pipeline.run(threading.Event())  # returns when the file ends (and flushes pending evidence)
    # File sources stamp frames with wall time at open + pts: times from the clip's first
    # frame are the same on every replay.
    if pipeline.first_frame_at is not None:
        recorder.relative_to(pipeline.first_frame_at)
    result = ReplayResult(camera_id, str(clip), f"{detectors[camera.model].name} {detectors[camera.model].version}",
                          pipeline.frames_analysed, recorder.orders, recorder.ends)
    if out is not None:
        with open(out / "events.jsonl", "w", encoding="utf-8") as fh:
            for o in result.orders:
                fh.write(json.dumps({"type": "order", **o}, ensure_ascii=False) + "\n")
            for e in result.event_ends:
                fh.write(json.dumps({"type": "event_end", **e}, ensure_ascii=False) + "\n")
    return result


def fetch_order_clip(order_id: int, dest: Path, *, api_url: str | None = None, token: str | None = None,
                     client=None, timeout_s: float = 30.0) -> tuple[Path, str]:
    """Download work order ``order_id``'s evidence clip; returns (path, camera_id).

    ``client`` (an httpx.Client rooted at the API) replaces ``api_url``/``token`` in tests."""
    from gridsight.ml.api_client import api_client, refusal_detail

    with api_client(api_url, token, client=client, timeout_s=timeout_s) as http:
        resp = http.get(f"/api/v1/work-orders/{order_id}")
        if resp.status_code != 200:
            raise ValueError(f"work order {order_id}: the API answered {resp.status_code}: {refusal_detail(resp, 200)}")
        order = resp.json()
        clips = [e for e in order.get("evidence", []) if e.get("kind") == "clip"]
        if not clips:
            raise ValueError(f"work order {order_id} has no evidence clip to replay (evidence: "
                             f"{[e.get('kind') for e in order.get('evidence', [])]})")
        data = http.get(clips[-1]["url"])
        if data.status_code != 200:
            raise ValueError(f"work order {order_id}: downloading its clip failed with {data.status_code}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data.content)
    return dest, order["camera_id"]
