"""The model side of ours: a scratch copy of the demo manifest with a verified ONNX export
added (never written into weights/), the detector per backend, and what ``backend: auto`` picks."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from throughput_parts.common import CACHE, CONFIDENCE, IOU, MANIFEST, log


def _model_files(manifest: Path) -> list[Path]:
    """The manifest, its weights and every export it records that is there (OpenVINO IR folders)."""
    from inference.models.manifest import load_manifest

    mf, weights = load_manifest(manifest)
    files = [manifest, weights]
    for export in mf.exports:
        path = manifest.parent / export.file
        if path.exists():
            files.append(path)
    return files


def _copy(src: Path, dst_dir: Path) -> None:
    dst = dst_dir / src.name
    if src.is_dir():
        shutil.copytree(src, dst, dirs_exist_ok=True)
    else:
        shutil.copyfile(src, dst)


def export_onnx(workdir: Path, manifest: Path = MANIFEST, onnx: bool = True) -> Path:
    """A copy of ``manifest`` in ``workdir`` with its files and exports, plus (``onnx``) a verified
    ONNX export recorded in it (exported once, cached under var/bench/weights-<name>/)."""
    from gridsight.ml.export import export_model

    cached = CACHE / f"weights-{manifest.stem}"
    copy = cached / manifest.name
    if not copy.exists() or (onnx and "format: onnx" not in copy.read_text()):
        cached.mkdir(parents=True, exist_ok=True)
        for f in _model_files(manifest):
            _copy(f, cached)
        if onnx:
            log.info("exporting %s to ONNX (parity-checked against PyTorch)", manifest.stem)
            export_model(copy, "onnx")
    for f in cached.iterdir():
        _copy(f, workdir)
    return workdir / manifest.name


def auto_backend(manifest: Path) -> dict:
    """What ``backend: auto`` picks for this manifest on this machine, and why."""
    from inference.models.backend import choose_backend
    from inference.models.manifest import load_manifest

    mf, weights = load_manifest(manifest)
    choice = choose_backend(mf, weights, manifest.resolve().parent, device="cpu", requested="auto", log_choice=False)
    return {"backend": choice.backend, "reason": choice.reason}


def load_detector(manifest: Path, backend: str, device: str = "cpu", cpu_threads: int | None = None):
    from inference.models.detector import YoloDetector

    det = YoloDetector.from_manifest(manifest, backend=backend, confidence=CONFIDENCE, iou=IOU, device=device,
                                     cpu_threads=cpu_threads)
    det.detect([np.zeros((360, 640, 3), np.uint8)])
    return det


def ours_detector(manifest: Path, backend: str, max_batch: int, deadline_ms: float, device: str = "cpu",
                  inference_streams: int | str = "auto"):
    """The shared model as the worker wires it (streams.shared_detector.load_shared): a BatchingDetector
    over one copy of the model per inference stream, or the plain lock for max_batch 1."""
    from types import SimpleNamespace

    from streams.shared_detector import load_shared

    model = SimpleNamespace(max_batch=max_batch, batch_deadline_ms=deadline_ms, inference_streams=inference_streams)
    shared = load_shared(lambda threads: load_detector(manifest, backend, device, threads), model, f"bench-{backend}",
                         backend)
    return shared, shared.close


def fresh_metrics(detector) -> None:
    """Reset a BatchingDetector's histograms between points (same model, new counts)."""
    if hasattr(detector, "batch_sizes"):
        detector.batch_sizes.clear()
        detector.triggers.clear()
        detector._waits_ms.clear()
        detector._inference_ms.clear()
        detector.batches = detector.images = 0
