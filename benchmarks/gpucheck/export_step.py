"""Step 2: the demo model exported, parity-checked and recorded -- in a scratch copy of its manifest.

On a CUDA host: TensorRT FP16 through ``gridsight.ml.export.export_model`` (ultralytics'
engine export with ``half=True``, i.e. ``quantize=16``; the engine is then checked box by box
against PyTorch on the project's synthetic frames and recorded in the scratch manifest with
its parity and batch-1 latency). Without CUDA, or when the TensorRT build or its parity check
fails, ONNX instead (same check), and the reason is recorded. weights/ is never written.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

from gpucheck.budget import FAILED, Outcome, StepFailed, fallback, ok, one_line

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


def export_step_bounded(model: ExportedModel, *, cuda: bool, cpu_reason: str, timeout_s: float) -> Outcome:
    """``export_step`` in a child process killed after ``timeout_s``: an engine build cannot be stopped
    from inside, and the run's time budget must hold. Its output goes where this process's does (the log)."""
    with tempfile.TemporaryDirectory(prefix="gridsight-export-step-") as tmp:
        answer = Path(tmp) / "outcome.json"
        cmd = [sys.executable, "-m", "gpucheck.export_step", str(model.manifest), str(answer), cpu_reason]
        cmd += ["--cuda"] if cuda else []
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "benchmarks"), str(ROOT),
                                                             os.environ.get("PYTHONPATH", "")])}
        child = subprocess.Popen(cmd, env=env, start_new_session=True)
        try:
            child.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            raise StepFailed(f"the export did not finish within its {timeout_s:.0f} s budget; killed") from None
        if not answer.exists():
            raise StepFailed(f"the export process exited {child.returncode} without an outcome (see the log)")
        result = json.loads(answer.read_text(encoding="utf-8"))
    model.backend, model.device = result.pop("backend"), result.pop("device")
    return Outcome(**result)


def _child(argv: list[str]) -> None:
    manifest, answer, cpu_reason = Path(argv[0]), Path(argv[1]), argv[2]
    cuda = "--cuda" in argv[3:]
    model = ExportedModel(manifest, device="cuda:0" if cuda else "cpu")
    try:
        outcome = export_step(model, cuda=cuda, cpu_reason=cpu_reason)
    except Exception as exc:  # noqa: BLE001 -- the parent records it as the step's one-line failure
        traceback.print_exc()  # to the log
        outcome = Outcome(FAILED, one_line(exc))
    answer.write_text(json.dumps({**asdict(outcome), "backend": model.backend, "device": model.device},
                                 default=str), encoding="utf-8")


if __name__ == "__main__":
    _child(sys.argv[1:])
