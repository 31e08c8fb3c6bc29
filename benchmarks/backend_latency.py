"""Batch-1 latency of one model on each CPU backend, side by side in one process (issue 16):
PyTorch, ONNX Runtime, OpenVINO FP32 and OpenVINO INT8, at 320 and 640 px.

    .venv/bin/python benchmarks/backend_latency.py [--model weights/gridsight-demo-v4.yaml]
        [--sizes 320 640] [--rounds 15] [--frames 6] [--out PATH]

Each round times every backend on the same rendered 640x360 frames in turn (interleaved, so a
change of machine load hits all of them alike); the result is the median over all rounds and
frames of one ``predict`` call (letterbox, normalise, forward, NMS: what the detector pays) and of
ultralytics' own "inference" share (the forward alone). The OpenVINO exports are the manifest's
(verified: choose_backend); ONNX is built into a temporary directory when the manifest has none.
The dynamic-shape exports run at both sizes; where OpenVINO INT8 runs with static shapes (CPUs with
AMX) an INT8 IR is built at each other size (``--calibration-images``). Threads: each runtime's default (all cores).
Writes ``benchmarks/results/<machine>/backend_latency.json`` with the load average per round;
ratios are against PyTorch in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("YOLO_OFFLINE", "1")

from benchmarks.scenario_eval import machine, results_dir  # noqa: E402
from gridsight.ml.export import _build, synthetic_frames  # noqa: E402
from inference.models.backend import choose_backend  # noqa: E402
from inference.models.detector import open_yolo  # noqa: E402
from inference.models.manifest import ManifestError, load_manifest  # noqa: E402

BACKENDS = ("pytorch", "onnx", "openvino", "openvino-int8")


def model_paths(manifest_path: Path, tmp: Path) -> dict[str, Path]:
    manifest, weights = load_manifest(manifest_path)
    paths = {}
    for backend in BACKENDS:
        try:
            paths[backend] = choose_backend(manifest, weights, manifest_path.parent, requested=backend, log_choice=False).path
        except ManifestError as exc:
            if backend != "onnx":
                raise SystemExit(f"error: {exc} (run `gridsight export {manifest_path} --format openvino [--int8]`)") from None
            copy = tmp / weights.name
            copy.write_bytes(weights.read_bytes())
            paths[backend] = _build(copy, "onnx", manifest.input_size, False, "cpu")
    return paths


def int8_at(manifest_path: Path, size: int, tmp: Path, calibration_images: int) -> Path:
    """An INT8 IR built at ``size``: where OpenVINO runs INT8 with static shapes (ultralytics does on CPUs
    with AMX, see docs/models.md) an IR only runs at the size it was exported at."""
    from gridsight.ml.export import calibration_data

    manifest, weights = load_manifest(manifest_path)
    d = tmp / f"int8-{size}"
    d.mkdir()
    copy = d / weights.name
    copy.write_bytes(weights.read_bytes())
    return _build(copy, "openvino", size, False, "cpu", calibration_data(d / "calib", calibration_images))


def _input(model, frame, size: int) -> list[int]:
    """The input shape the backend was fed (ultralytics letterboxes to a rectangle for dynamic models)."""
    model.predict([frame], imgsz=size, device="cpu", verbose=False)
    p = model.predictor
    rect = p.model.format == "pt" or getattr(p.model, "dynamic", False)
    return [int(x) for x in (p.pre_transform([frame])[0].shape[:2] if rect else p.imgsz)]


def measure(models: dict, frames, rounds: int) -> tuple[dict, list]:
    """``models``: (backend, size) -> YOLO; interleaved rounds over all of them."""
    total = {k: [] for k in models}
    forward = {k: [] for k in models}
    inputs = {k: _input(m, frames[0], k[1]) for k, m in models.items()}  # also the warm-up
    loads = []
    for _ in range(rounds):
        loads.append(round(os.getloadavg()[0], 2))
        for (backend, size), model in models.items():
            for frame in frames:
                t0 = time.perf_counter()
                result = model.predict([frame], imgsz=size, device="cpu", verbose=False)[0]
                total[(backend, size)].append((time.perf_counter() - t0) * 1000)
                forward[(backend, size)].append(result.speed["inference"])
    out: dict = {}
    for (backend, size) in models:
        base = statistics.median(total[("pytorch", size)])
        out.setdefault(str(size), {})[backend] = {
            "predict_ms": round(statistics.median(total[(backend, size)]), 2),
            "inference_ms": round(statistics.median(forward[(backend, size)]), 2),
            "ratio_vs_pytorch": round(statistics.median(total[(backend, size)]) / base, 3),
            "input_hw": inputs[(backend, size)], "n": len(total[(backend, size)])}
    return out, loads


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="weights/gridsight-demo-v4.yaml")
    ap.add_argument("--sizes", type=int, nargs="+", default=[320, 640])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--frames", type=int, default=6)
    ap.add_argument("--calibration-images", type=int, default=100, help="for INT8 IRs built at another size")
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    import torch

    manifest_path = (REPO / args.model).resolve()
    info = machine("cpu")
    info["torch_threads"] = torch.get_num_threads()
    with tempfile.TemporaryDirectory(prefix="gridsight-latency-") as tmp:
        paths = model_paths(manifest_path, Path(tmp))
        exported_at = load_manifest(manifest_path)[0].input_size
        models, files = {}, {}
        for size in args.sizes:
            for backend, path in paths.items():
                if backend == "openvino-int8" and size != exported_at:
                    path = int8_at(manifest_path, size, Path(tmp), args.calibration_images)
                models[(backend, size)] = open_yolo(path, backend)
                files[f"{backend}@{size}"] = path.name
        frames = synthetic_frames(args.frames)
        started = time.perf_counter()
        results, loads = measure(models, frames, args.rounds)
    info["load_average_at_end"] = os.getloadavg()
    out = {"machine": info, "model": args.model, "batch": 1, "frames": "gridsight.ml.export.synthetic_frames (640x360)",
           "rounds": args.rounds, "wall_s": round(time.perf_counter() - started, 1), "load_1min_per_round": loads,
           "models": files, "results": results}
    path = Path(args.out) if args.out else results_dir(info) / "backend_latency.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"{'px':>4} {'backend':<15}{'input':>10}{'predict ms':>11}{'forward ms':>11}{'x pytorch':>10}")
    for size, rows in results.items():
        for b, r in rows.items():
            hw = "x".join(map(str, r["input_hw"]))
            print(f"{size:>4} {b:<15}{hw:>10}{r['predict_ms']:>11}{r['inference_ms']:>11}{r['ratio_vs_pytorch']:>10}")
    print(f"load (1-min) per round: {loads}; results written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
