"""Per-batch latency of YoloDetector.detect on the ONNX and OpenVINO exports: through ultralytics'
predict (``via_ultralytics=True``) vs inference.models.direct (issue 16 point 4), side by side in one process.

    .venv/bin/python benchmarks/direct_latency.py [--model weights/gridsight-demo-v4.yaml]
        [--batches 1 8] [--rounds 10] [--size 1920 1080]

Each round runs every (backend, path, batch) on the same rendered frames, interleaved so a change of machine
load hits all alike, in reverse order every other round: one untimed call first (the runtime that ran before may still have its threads spinning),
then ``--repeats`` timed ones. Printed: the median and the minimum ms per batch (the minimum is the least
disturbed by other processes on a shared machine), direct / predict on medians, the preprocessing alone
(ultralytics' ``predictor.preprocess`` vs ``InputBuffer.fill``), and the 1-minute load average per round.
The frames are gridsight.synth scenes rendered at ``--size`` (1080p by default: what a camera hands the
detector), the model runs at its manifest's input size. Prints only; the OpenVINO IR is the manifest's, the
ONNX export is built into a temporary directory. Threads: each runtime's default (all cores).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("YOLO_OFFLINE", "1")

from gridsight.ml.export import _build, synthetic_frames  # noqa: E402
from inference.models.backend import choose_backend  # noqa: E402
from inference.models.detector import YoloDetector  # noqa: E402
from inference.models.manifest import load_manifest  # noqa: E402


def detectors(manifest_path: Path, tmp: Path) -> dict[tuple[str, str], YoloDetector]:
    """(backend, "predict" | "direct") -> detector on the same export file."""
    manifest, weights = load_manifest(manifest_path)
    copy = tmp / weights.name
    copy.write_bytes(weights.read_bytes())
    paths = {"onnx": _build(copy, "onnx", manifest.input_size, False, "cpu"),
             "openvino": choose_backend(manifest, weights, manifest_path.parent, requested="openvino",
                                        log_choice=False).path}
    out = {}
    for backend, path in paths.items():
        for way in ("predict", "direct"):
            out[(backend, way)] = YoloDetector(manifest, path, backend=backend, via_ultralytics=way == "predict")
    return out


def timed(call, repeats: int) -> list[float]:
    """ms of ``repeats`` calls after one untimed one."""
    call()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def preprocessing(predict: YoloDetector, frames, batches: list[int], repeats: int) -> dict[int, tuple[float, float]]:
    """batch -> (ultralytics' predictor.preprocess, InputBuffer.fill) median ms on the same frames."""
    from inference.models.direct import InputBuffer

    predictor = predict._model.predictor  # the predictor predict() built (a benchmark may look inside)
    buffer, stride = InputBuffer(), int(predictor.model.stride)
    return {n: tuple(statistics.median(timed(call, repeats)) for call in (
        lambda: predictor.preprocess(frames[:n]), lambda: buffer.fill(frames[:n], 320, stride, rect=True)))
        for n in batches}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="weights/gridsight-demo-v4.yaml")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--size", type=int, nargs=2, default=[1920, 1080], metavar=("W", "H"))
    args = ap.parse_args(argv)
    frames = synthetic_frames(max(args.batches), size=tuple(args.size))
    with tempfile.TemporaryDirectory(prefix="gridsight-direct-") as tmp:
        dets = detectors((REPO / args.model).resolve(), Path(tmp))
        times: dict[tuple[str, str, int], list[float]] = {}
        for (backend, way), det in dets.items():  # warm-up: graph build, allocations, the buffer
            for n in args.batches:
                det.detect(frames[:n])
        loads = []
        runs = [(backend, way, n) for n in args.batches for backend, way in dets]
        for i in range(args.rounds):
            loads.append(round(os.getloadavg()[0], 2))
            for backend, way, n in runs if i % 2 == 0 else runs[::-1]:  # nobody always follows the same run
                det = dets[(backend, way)]
                times.setdefault((backend, way, n), []).extend(timed(lambda: det.detect(frames[:n]), args.repeats))
        prep = preprocessing(dets[("onnx", "predict")], frames, args.batches, args.rounds * args.repeats)
    print(f"input {args.size[0]}x{args.size[1]}, model {args.model}, {args.rounds} rounds x {args.repeats}")
    print(f"{'backend':<10}{'batch':>6}{'predict ms (min)':>18}{'direct ms (min)':>17}{'direct/predict':>16}")
    for backend in ("onnx", "openvino"):
        for n in args.batches:
            p, d = (times[(backend, way, n)] for way in ("predict", "direct"))
            cell = lambda x: f"{statistics.median(x):.1f} ({min(x):.1f})"  # noqa: E731
            print(f"{backend:<10}{n:>6}{cell(p):>18}{cell(d):>17}{statistics.median(d) / statistics.median(p):>16.2f}")
    for n, (p, d) in prep.items():
        print(f"preprocess batch {n}: predictor.preprocess {p:.2f} ms, InputBuffer.fill {d:.2f} ms (medians)")
    print(f"load (1-min) per round: {loads}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
