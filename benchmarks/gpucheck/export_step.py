"""Step 2: the demo model exported, parity-checked and recorded -- in a scratch copy of its manifest.

On a CUDA host: TensorRT FP16 through ``gridsight.ml.export.export_model`` (ultralytics'
engine export with ``half=True``, i.e. ``quantize=16``; the engine is then checked box by box
against PyTorch on the project's synthetic frames and recorded in the scratch manifest with
its parity and batch-1 latency). Without CUDA, or when the TensorRT build or its parity check
fails, ONNX instead (same check), and the reason is recorded. weights/ is never written.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from gpucheck.budget import Outcome, fallback, ok, one_line

ROOT = Path(__file__).resolve().parents[2]
DEMO_MANIFEST = ROOT / "weights" / "gridsight-demo-v1.yaml"  # the model the throughput benchmark measures


@dataclass
class ExportedModel:
    """What the end-to-end step loads: the scratch manifest and which of its copies, on which device."""

    manifest: Path
    backend: str = "pytorch"
    device: str = "cpu"


def scratch_manifest(workdir: Path) -> Path:
    target = workdir / "weights"
    target.mkdir(parents=True, exist_ok=True)
    for path in (DEMO_MANIFEST, DEMO_MANIFEST.with_suffix(".pt")):
        shutil.copyfile(path, target / path.name)
    return target / DEMO_MANIFEST.name


def _summary(record) -> dict:
    return {"format": record.format, "file": record.file, "half": record.half, "imgsz": record.imgsz,
            "parity": record.parity, "latency_ms": record.latency_ms, "hardware": record.hardware}


def export_step(model: ExportedModel, *, cuda: bool, cpu_reason: str) -> Outcome:
    """Export into ``model.manifest`` (already a scratch copy) and point ``model`` at the export."""
    from gridsight.ml.export import export_model

    if cuda:
        try:
            record = export_model(model.manifest, "tensorrt", device="cuda:0", half=True)
            model.backend, model.device = "tensorrt", "cuda:0"
            return ok(export=_summary(record))
        except Exception as exc:  # noqa: BLE001 -- no TensorRT or ModelOpt here, a failed build, or no parity
            why = f"TensorRT export failed ({one_line(exc)})"
        model.device = "cuda:0"  # the end-to-end step runs PyTorch on the GPU then: the ONNX copy is CPU-only
    else:
        why = f"{cpu_reason}: TensorRT skipped"
    record = export_model(model.manifest, "onnx")
    if not cuda:
        model.backend = "onnx"
    return fallback(f"{why}, exported onnx instead", export=_summary(record))
