"""Which copy of a model the detector runs: the PyTorch weights or a verified export.

``gridsight export`` records each export in the manifest with its checksum,
a parity check against the PyTorch outputs and a same-machine latency
comparison. ``auto`` takes the fastest export that passed parity and whose
runtime is present on this host (TensorRT, OpenVINO INT8 and FP32, ONNX: the
lowest ``latency_ms.export``), and otherwise falls back to PyTorch, saying
why in the log; an explicitly requested backend that cannot run is an error,
because an operator who asked for TensorRT should not silently get a CPU.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from inference.models.manifest import ExportRecord, ManifestError, ModelManifest, sha256_path

log = logging.getLogger(__name__)

Backend = Literal["auto", "pytorch", "onnx", "tensorrt", "openvino", "openvino-int8"]
BACKENDS: tuple[str, ...] = get_args(Backend)
# backend -> (ExportRecord.format, ExportRecord.int8): which export each backend runs.
_FORMAT_OF = {"onnx": ("onnx", False), "tensorrt": ("engine", False), "openvino": ("openvino", False),
              "openvino-int8": ("openvino", True)}


@dataclass(frozen=True)
class BackendChoice:
    backend: str  # pytorch | onnx | tensorrt | openvino | openvino-int8
    path: Path
    reason: str


def _cuda_available() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:  # pragma: no cover - torch is a dependency
        return False


def _runtime_missing(backend: str, device: str) -> str | None:
    """Why ``backend`` cannot run on this host for ``device``, or None if it can."""
    if backend == "onnx":
        if importlib.util.find_spec("onnxruntime") is None:
            return "onnxruntime is not installed"
        if device != "cpu":
            return f"the ONNX export runs on the CPU provider only, and device is {device}"
        return None
    if backend.startswith("openvino"):
        if importlib.util.find_spec("openvino") is None:
            return "the openvino package is not installed (pip install openvino)"
        if device != "cpu":
            return f"the OpenVINO export runs on the CPU only, and device is {device}"
        return None
    if backend == "tensorrt":
        if device == "cpu":
            return "TensorRT needs a CUDA device and device is cpu"
        if not _cuda_available():
            return "no CUDA GPU is visible"
        if importlib.util.find_spec("tensorrt") is None:
            return "the tensorrt package is not installed"
        return None
    return None


def _usable(record: ExportRecord | None, backend: str, device: str, manifest_dir: Path) -> tuple[Path | None, str]:
    if record is None:
        return None, f"no {backend} export in the manifest (run `gridsight export`)"
    if not record.parity.get("passed"):
        return None, f"the {backend} export failed its parity check"
    missing = _runtime_missing(backend, device)
    if missing:
        return None, missing
    path = (manifest_dir / record.file).resolve()
    if not path.exists():
        return None, f"export file {path} is missing"
    if sha256_path(path) != record.sha256:
        return None, f"export file {path.name} does not match its recorded sha256"
    return path, "ok"


def _export(manifest: ModelManifest, backend: str) -> ExportRecord | None:
    matches = [e for e in manifest.exports if (e.format, e.int8) == _FORMAT_OF[backend]]
    return matches[-1] if matches else None


def choose_backend(
    manifest: ModelManifest, weights_path: Path, manifest_dir: Path, *, device: str = "cpu", requested: Backend = "auto",
    log_choice: bool = True,
) -> BackendChoice:
    if requested not in BACKENDS:
        raise ManifestError(f"model {manifest.name}: unknown backend {requested!r}; choose from {', '.join(BACKENDS)}")
    if requested == "pytorch":
        return BackendChoice("pytorch", weights_path, "requested")
    if requested in _FORMAT_OF:
        path, why = _usable(_export(manifest, requested), requested, device, manifest_dir)
        if path is None:
            raise ManifestError(f"model {manifest.name}: backend {requested} was requested but cannot run: {why}")
        return BackendChoice(requested, path, "requested")

    # INT8 only when asked for: its parity check is looser (quantisation moves boxes and scores),
    # so whether its accuracy is good enough for a site is the engineer's call, made with the
    # accuracy table (benchmarks/int8_accuracy.py), never a silent trade of auto's.
    skipped = ["openvino-int8: only when asked for (backend: openvino-int8)"] if _export(manifest, "openvino-int8") else []
    best: tuple[float, str, Path] | None = None
    for backend in ("tensorrt", "openvino", "onnx"):
        record = _export(manifest, backend)
        path, why = _usable(record, backend, device, manifest_dir)
        if path is None:
            skipped.append(f"{backend}: {why}")
            continue
        ours, theirs = record.latency_ms.get("export"), record.latency_ms.get("pytorch")
        if ours is None or theirs is None or ours >= theirs:
            skipped.append(f"{backend}: not faster than pytorch when exported ({ours} vs {theirs} ms)")
            continue
        if best is None or ours < best[0]:
            best = (ours, backend, path)
    if best is not None:
        ms, backend, path = best
        choice = BackendChoice(backend, path, f"fastest verified export ({ms:.1f} ms/frame when exported)")
    else:
        choice = BackendChoice("pytorch", weights_path, "fallback: " + ("; ".join(skipped) or "no exports"))
    if log_choice:
        log.info("model %s: running on %s (%s)", manifest.name, choice.backend, choice.reason)
    return choice
