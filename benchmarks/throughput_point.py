"""One end-to-end point of the throughput benchmark, alone: for profiling where a camera's time goes.

    .venv/bin/python benchmarks/throughput_point.py --cameras 12 --clip 1080p --backend openvino
    py-spy record -r 40 -f raw -o /tmp/point.txt --threads -- .venv/bin/python benchmarks/throughput_point.py ...

Runs throughput_parts.ours.run_ours once (the same sources, shared batched model, tracker and
rules as benchmarks/throughput.py's sweeps, on its cached clips and scratch model copy) and prints
the point's summary as JSON: analysed rate, lag growth, cores used, batching, sustained. Writes nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path

from throughput_parts.common import KEYFRAME_FPS, TARGET_FPS
from throughput_parts.media import KEYFRAME_CLIP, make_clips
from throughput_parts.models import export_onnx, ours_detector
from throughput_parts.ours import run_ours

SUMMARY = ("cameras", "fps_per_camera_min", "lag_growth_s_max", "lag_s_p95", "cpu_cores_used", "batching",
           "events", "evidence_pool", "sustained")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cameras", type=int, default=8)
    ap.add_argument("--clip", default="1080p", choices=["720p", "1080p", "360p", KEYFRAME_CLIP])
    ap.add_argument("--backend", default="openvino", choices=["pytorch", "onnx", "openvino", "openvino-int8"])
    ap.add_argument("--max-batch", type=int, default=8)
    ap.add_argument("--deadline-ms", type=float, default=30.0)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--evidence", action="store_true", help="keep the evidence pre-roll, as the production worker does")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    clip = make_clips([args.clip])[args.clip]
    keyframes = args.clip == KEYFRAME_CLIP
    with tempfile.TemporaryDirectory(prefix="gridsight-point-") as tmp:
        detector, close = ours_detector(export_onnx(Path(tmp)), args.backend, args.max_batch, args.deadline_ms)
        try:
            point = run_ours(clip, args.cameras, detector, args.seconds, 3.0, args.evidence,
                             analysis_fps=KEYFRAME_FPS if keyframes else TARGET_FPS,
                             decode="keyframes" if keyframes else "auto", rules="slow" if keyframes else "demo")
        finally:
            close()
    print(json.dumps({k: point.get(k) for k in SUMMARY}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
