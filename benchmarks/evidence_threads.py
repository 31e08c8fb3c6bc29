"""How many threads the worker's evidence pool needs (``worker.evidence_threads``): deciding frame ->
work order stored, p50/p95, at a sustained camera count, per pool size, interleaved repeats.

    .venv/bin/python benchmarks/evidence_threads.py                       # ~8 min on 2 quiet CPU cores
    .venv/bin/python benchmarks/evidence_threads.py --threads 0 1 2 --clip 1080p --cameras 8

The throughput benchmark's latency phase (throughput_parts.latency: a real API on SQLite, the
worker's durable outbox and pusher, the "latency" rules at emergency tier so each order goes on its
deciding frame with its key frame, before frame and pre-roll clip), with the pool size varied and
everything else fixed. 0 is the old way: evidence made on each camera's own analysis thread.
Writes ``evidence_threads.json`` (machine, load per point, every point) under
benchmarks/results/<hardware>/ unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput_parts.common import MANIFEST, ROOT  # noqa: E402
from throughput_parts.latency import measure_latency  # noqa: E402
from throughput_parts.media import cpu_load, hardware_slug, machine, make_clips  # noqa: E402
from throughput_parts.models import export_onnx, ours_detector  # noqa: E402
from throughput_parts.scenarios import Ours, Plan, latency_runner  # noqa: E402

KEYS = ("condition_to_stored_s_p50", "condition_to_stored_s_p95", "condition_to_spooled_s_p95", "orders_stored")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, nargs="+", default=[0, 1, 2, 4])
    ap.add_argument("--clip", default="1080p", choices=["720p", "1080p"])
    ap.add_argument("--cameras", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--backend", default="openvino")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    results = {"machine": machine(), "load_before": cpu_load(), "settings": vars(args) | {"out": str(args.out)},
               "date": time.strftime("%Y-%m-%d %H:%M"), "points": []}
    clip = make_clips([args.clip])[args.clip]
    plan = Plan(seconds=10.0, warmup=2.0, keyframe_seconds=16.0, keyframe_warmup=4.0,
                latency_seconds=args.seconds, max_cameras=args.cameras)
    with tempfile.TemporaryDirectory(prefix="gridsight-evidence-") as tmp:
        detector, close = ours_detector(export_onnx(Path(tmp), MANIFEST), args.backend, 8, 30.0)
        ours = Ours(detector, args.backend, 8)
        try:
            for repeat in range(args.repeats):
                for threads in args.threads:  # interleaved: each pool size meets the same background
                    load = cpu_load()
                    point = measure_latency(latency_runner(ours, clip, plan, False, evidence_threads=threads),
                                            args.cameras, args.seconds)
                    row = {"threads": threads, "repeat": repeat, "load_before": load, **point}
                    results["points"].append(row)
                    print(f"threads {threads} repeat {repeat}: " + ", ".join(f"{k} {point[k]}" for k in KEYS)
                          + f", sustained {point['point']['sustained']}, load {load['loadavg_1_5_15'][0]}", flush=True)
        finally:
            close()
    results["load_after"] = cpu_load()
    print(f"\n{'threads':>7} {'p50 s':>7} {'p95 s':>7} {'orders':>7}   ({args.clip}, {args.cameras} cameras)")
    for threads in args.threads:
        rows = [r for r in results["points"] if r["threads"] == threads]
        p50 = sorted(r["condition_to_stored_s_p50"] or 0 for r in rows)
        p95 = sorted(r["condition_to_stored_s_p95"] or 0 for r in rows)
        print(f"{threads:>7} {'/'.join(map(str, p50)):>7} {'/'.join(map(str, p95)):>7} "
              f"{sum(r['orders_stored'] for r in rows):>7}")
    out = args.out or ROOT / "benchmarks" / "results" / hardware_slug(results["machine"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "evidence_threads.json").write_text(json.dumps(results, indent=1))
    print(f"wrote {out / 'evidence_threads.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
