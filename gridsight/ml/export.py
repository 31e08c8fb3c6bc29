"""``gridsight export``: ONNX or OpenVINO (CPU; OpenVINO also INT8) or TensorRT (GPU) copies of a model,
each checked against PyTorch.

An export is only recorded in the manifest with its parity result: the same
frames go through the PyTorch weights and the export, and every confident box
of one must have a same-class partner in the other (IoU and confidence within
tolerance). The manifest also records a batch-1 latency for both, measured
back to back on the same machine, which is what ``inference.models.backend`` uses to
pick the fastest verified copy at start-up.

OpenVINO INT8 (``--int8``) is NNCF post-training quantisation, through
ultralytics' exporter (``quantize=8``: ``nncf.quantize`` with the MIXED preset
and the detection head -- its Sigmoid and DFL ops -- kept in floating point),
calibrated on images rendered by ``gridsight.synth`` (seed CALIBRATION_SEED,
used by neither training, validation nor the held-out test set). Quantising
activations moves confidences by a few hundredths and boxes by a pixel or two,
so INT8 is checked against INT8_TOLERANCE, looser than FP32's and recorded
with the result.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inference.geometry import box_iou
from inference.models.manifest import ExportRecord, ManifestError, load_manifest, sha256_path, update_manifest, verify_weights

FORMATS = {"onnx": "onnx", "tensorrt": "engine", "openvino": "openvino"}
CALIBRATION_SEED = 3000  # training/validation use seed 0, the held-out test set 1000
CALIBRATION_IMAGES = 300  # ultralytics warns below 300 calibration images


@dataclass(frozen=True)
class ParityTolerance:
    min_iou: float = 0.9
    max_conf_diff: float = 0.05
    # Boxes this close to the confidence threshold may legitimately be kept by one side only.
    margin: float = 0.05
    # Share of confident boxes allowed without a partner (0 for FP32: every box must match).
    max_unmatched_fraction: float = 0.0


# INT8 activations move confidences and box edges more than FP32 rounding does (see the module docstring).
INT8_TOLERANCE = ParityTolerance(min_iou=0.7, max_conf_diff=0.15, margin=0.1, max_unmatched_fraction=0.1)


def _boxes(result) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    b = result.boxes
    if b is None or len(b) == 0:
        return np.zeros((0, 4)), np.zeros(0), np.zeros(0, int)
    return b.xyxy.cpu().numpy(), b.conf.cpu().numpy(), b.cls.cpu().numpy().astype(int)


def _unmatched(src, dst, conf: float, tol: ParityTolerance) -> tuple[int, int, float, float]:
    """(confident boxes in src, how many have no partner in dst, worst conf diff, worst IoU of the matched)."""
    (bs, cs, ks), (bd, cd, kd) = src, dst
    confident = cs >= conf + tol.margin
    missing, worst_diff, worst_iou = 0, 0.0, 1.0
    ious = box_iou(bs, bd)
    for i in np.flatnonzero(confident):
        same = np.flatnonzero(kd == ks[i])
        if len(same) == 0:
            missing += 1
            continue
        j = same[np.argmax(ious[i, same])]
        if ious[i, j] < tol.min_iou or abs(cs[i] - cd[j]) > tol.max_conf_diff:
            missing += 1
        else:
            worst_diff = max(worst_diff, float(abs(cs[i] - cd[j])))
            worst_iou = min(worst_iou, float(ious[i, j]))
    return int(confident.sum()), missing, worst_diff, worst_iou


def parity_check(reference, candidate, images: list[np.ndarray], *, imgsz: int, conf: float = 0.25,
                 device: str = "cpu", tol: ParityTolerance = ParityTolerance()) -> dict[str, Any]:
    """Compare two ultralytics models box by box on the same frames, both ways."""
    boxes = unmatched = 0
    worst_diff, worst_iou = 0.0, 1.0
    for image in images:
        ref = _boxes(reference.predict([image], imgsz=imgsz, conf=conf, device=device, verbose=False)[0])
        cand = _boxes(candidate.predict([image], imgsz=imgsz, conf=conf, device=device, verbose=False)[0])
        for a, b in ((ref, cand), (cand, ref)):
            n, miss, diff, iou = _unmatched(a, b, conf, tol)
            boxes, unmatched = boxes + n, unmatched + miss
            worst_diff, worst_iou = max(worst_diff, diff), min(worst_iou, iou)
    return {
        "frames": len(images),
        "boxes_compared": boxes,
        "unmatched": unmatched,
        "max_conf_diff": round(worst_diff, 5),
        "min_iou": round(worst_iou, 5),
        "tolerance": {"min_iou": tol.min_iou, "max_conf_diff": tol.max_conf_diff, "conf": conf, "margin": tol.margin,
                      "max_unmatched_fraction": tol.max_unmatched_fraction},
        "passed": boxes > 0 and unmatched <= tol.max_unmatched_fraction * boxes,
    }


def batch1_latency_ms(model, images: list[np.ndarray], *, imgsz: int, device: str, repeats: int = 3) -> float:
    model.predict(images[:1], imgsz=imgsz, device=device, verbose=False)  # warm-up (graph build, allocations)
    times = []
    for _ in range(repeats):
        for image in images:
            t0 = time.perf_counter()
            model.predict([image], imgsz=imgsz, device=device, verbose=False)
            times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 2)


def synthetic_frames(n: int = 12, seed: int = 7, size=(640, 360)) -> list[np.ndarray]:
    """Frames with objects of the demo classes in them, from the project's own generator."""
    from gridsight.synth.dataset import render_dataset_image

    return [render_dataset_image(seed, "val", i, size)[0] for i in range(n)]


def _device_and_half(fmt: str, device: str | None, half: bool | None, int8: bool = False) -> tuple[str, bool]:
    """Defaults per format: ONNX and OpenVINO on the CPU in fp32, TensorRT on cuda:0 in fp16 (each refused
    without its runtime)."""
    from inference.models.backend import _runtime_missing

    if int8 and fmt != "openvino":
        raise ManifestError(f"--int8 is an OpenVINO export option, not {fmt}")
    if fmt == "tensorrt":
        device = device or "cuda:0"
        missing = _runtime_missing("tensorrt", device)
        if missing:
            raise ManifestError(f"cannot build a TensorRT engine here: {missing}")
        half = True if half is None else half
    if fmt == "openvino":
        device = device or "cpu"
        missing = _runtime_missing("openvino", device)
        if missing is None and int8 and importlib.util.find_spec("nncf") is None:
            missing = "the nncf package is not installed (pip install nncf)"
        if missing:
            raise ManifestError(f"cannot build an OpenVINO {'INT8 ' if int8 else ''}export here: {missing}")
        if half:
            raise ManifestError("the OpenVINO export is FP32 or INT8 (--int8); there is no FP16 option")
    return device or "cpu", bool(half)


def calibration_data(out_dir: Path, n: int = CALIBRATION_IMAGES, seed: int = CALIBRATION_SEED) -> Path:
    """A YOLO dataset (data.yaml) of ``n`` rendered validation-split images for INT8 calibration."""
    from gridsight.synth.dataset import generate_dataset

    return generate_dataset(out_dir, n_train=0, n_val=n, seed=seed, workers=min(2, os.cpu_count() or 1))


def _build(weights: Path, fmt: str, imgsz: int, half: bool, device: str, calibration: Path | None = None) -> Path:
    """Export ``weights`` with ultralytics; the result (a file, or an OpenVINO IR directory
    ``<stem>[_int8]_openvino_model``) is written beside them."""
    from ultralytics import YOLO

    with tempfile.TemporaryDirectory(prefix="gridsight-export-") as tmp:
        # Export from a copy: ultralytics writes next to its input, and the manifest
        # directory may be read-only or shared.
        src = Path(tmp) / weights.name
        shutil.copyfile(weights, src)
        options: dict[str, Any] = {"simplify": True, "half": half}
        if fmt == "openvino":  # dynamic input: rectangular letterbox and batches, as for ONNX
            options = {"quantize": 8, "data": str(calibration)} if calibration is not None else {}
        built = Path(YOLO(str(src), task="detect").export(
            format=FORMATS[fmt], imgsz=imgsz, dynamic=fmt in ("onnx", "openvino"), device=device, **options,
        ))
        if built.is_dir():
            target = weights.parent / built.name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(built, target)
        else:
            target = weights.with_suffix(built.suffix)
            shutil.copyfile(built, target)
    return target


def _remove(target: Path) -> None:
    if target.is_dir():
        shutil.rmtree(target, ignore_errors=True)
    else:
        target.unlink(missing_ok=True)


def _checked(reference, target: Path, frames, *, fmt: str, name: str, imgsz: int, device: str,
             tol: ParityTolerance) -> dict[str, Any]:
    """Parity of the built export against PyTorch; a failed export is deleted and refused."""
    from inference.models.detector import open_yolo

    parity = parity_check(reference, open_yolo(target), frames, imgsz=imgsz, device=device, tol=tol)
    if not parity["passed"]:
        _remove(target)
        raise ManifestError(
            f"{fmt} export of {name} disagrees with PyTorch: {parity['unmatched']} of "
            f"{parity['boxes_compared']} confident boxes unmatched (max conf diff {parity['max_conf_diff']}, "
            f"min IoU {parity['min_iou']}); not recorded"
        )
    return parity


def export_model(manifest_path: str | Path, fmt: str = "onnx", *, images: list[np.ndarray] | None = None,
                 device: str | None = None, imgsz: int | None = None, half: bool | None = None, int8: bool = False,
                 tol: ParityTolerance | None = None, calibration_images: int = CALIBRATION_IMAGES) -> ExportRecord:
    """Export the manifest's weights, check parity, time both, and record the export in the manifest
    (replacing an earlier export of the same format and precision).

    Raises ManifestError when the format cannot be built here (TensorRT without a GPU, OpenVINO
    without its package) or when the export disagrees with PyTorch; nothing is recorded in either case."""
    os.environ["YOLO_OFFLINE"] = "1"
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose from {sorted(FORMATS)}")
    manifest_path = Path(manifest_path)
    manifest, weights = load_manifest(manifest_path)
    verify_weights(manifest, weights, manifest_path)
    imgsz = imgsz or manifest.input_size
    device, half = _device_and_half(fmt, device, half, int8)
    tol = tol or (INT8_TOLERANCE if int8 else ParityTolerance())

    from ultralytics import YOLO

    from gridsight.ml.trainer import hardware_summary
    from inference.models.detector import open_yolo

    calibration = None
    with tempfile.TemporaryDirectory(prefix="gridsight-calib-") as calib_dir:
        if int8:
            data = calibration_data(Path(calib_dir), calibration_images)
            calibration = {"generator": "gridsight.synth.dataset.generate_dataset", "split": "val",
                           "seed": CALIBRATION_SEED, "images": calibration_images, "size": [640, 360]}
        target = _build(weights, fmt, imgsz, half, device, data if int8 else None)
    reference = YOLO(str(weights), task="detect")
    frames = images if images is not None else synthetic_frames()
    parity = _checked(reference, target, frames, fmt=fmt, name=manifest.name, imgsz=imgsz, device=device, tol=tol)
    latency = {
        "pytorch": batch1_latency_ms(reference, frames[:6], imgsz=imgsz, device=device),
        "export": batch1_latency_ms(open_yolo(target), frames[:6], imgsz=imgsz, device=device),
    }
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()) if target.is_dir() else []
    record = ExportRecord(
        format=FORMATS[fmt], file=target.name, files=files, sha256=sha256_path(target), imgsz=imgsz, half=half,
        int8=int8, calibration=calibration, parity=parity, latency_ms=latency, hardware=hardware_summary(device),
        created=time.strftime("%Y-%m-%d"),
    )
    kept = [e.model_dump(exclude_defaults=True) for e in manifest.exports if (e.format, e.int8) != (record.format, record.int8)]
    update_manifest(manifest_path, exports=kept + [record.model_dump(exclude_defaults=True)])
    return record
