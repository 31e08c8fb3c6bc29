"""benchmarks/throughput.py: the computed limit, the "sustained" criterion and the camera-count
search with hand numbers, and a --smoke run end to end (every target row written)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "throughput.py"
COMPARISONS = {"main_stream_5fps_1080p", "slow_rules_keyframes_1080p_gop2s", "detect_substream_360p_5fps",
               "condition_to_order_stored_main_1080p", "condition_to_order_stored_keyframes",
               "condition_to_order_stored_substream"}


def part(module: str):
    """A module of benchmarks/throughput_parts (benchmarks/ is a scripts folder, not an installed package)."""
    if str(REPO / "benchmarks") not in sys.path:
        sys.path.insert(0, str(REPO / "benchmarks"))
    return importlib.import_module(f"throughput_parts.{module}")


def test_limit_is_cores_over_decode_plus_inference_per_camera():
    limit = part("ceilings").computed_limit(0.1, images_per_s=40.0, inference_cores=2.0, fps=5.0, cpu_count=2)
    # 0.1 core of decode + 5 images/s x (2 cores / 40 images/s) = 0.35 core per camera; 2 cores / 0.35
    assert limit["cores_per_camera"] == pytest.approx(0.35)
    assert limit["limit_cameras"] == pytest.approx(5.7)
    assert "cpu_count" in limit["formula"]
    # A backend that kept under one core busy still costs at least one core's share per image.
    low = part("ceilings").computed_limit(0.1, images_per_s=40.0, inference_cores=0.4, fps=5.0, cpu_count=2)
    assert low["inference_cores"] == 1.0 and low["limit_cameras"] == pytest.approx(2 / (0.1 + 5 / 40), abs=0.05)
    # Key-frame rate: decode 0.01 core, 0.5 fps of inference.
    slow = part("ceilings").computed_limit(0.01, images_per_s=40.0, inference_cores=2.0, fps=0.5, cpu_count=2)
    assert slow["limit_cameras"] == pytest.approx(2 / (0.01 + 0.5 * 2 / 40), abs=0.05)


def test_sustained_needs_95_percent_of_the_rate_and_lag_growth_under_half_a_second():
    common = part("common")
    assert common.is_sustained([4.8, 5.0], [0.1, 0.0], 5.0)
    assert not common.is_sustained([4.7, 5.0], [0.1, 0.0], 5.0)  # one camera under 4.75 fps
    assert not common.is_sustained([5.0, 5.0], [0.5, 0.0], 5.0)  # lag grew by 0.5 s
    assert not common.is_sustained([5.0], [float("inf")], 5.0)  # a third of the window without frames
    assert common.is_sustained([0.48], [0.2], 0.5) and not common.is_sustained([0.47], [0.2], 0.5)
    assert not common.is_sustained([], [], 5.0)


def test_rate_counts_intervals_between_completions_not_the_window_edges():
    rate = part("common").analysed_rate
    assert rate([10.0 + 0.2 * i for i in range(50)]) == pytest.approx(5.0)
    assert rate([3.0 + 2.0 * i for i in range(8)]) == pytest.approx(0.5)  # 8 key frames in a 16 s window
    assert rate([1.0]) == 0.0 and rate([]) == 0.0


def test_target_rows_say_what_was_measured_and_by_how_much_it_missed():
    targets = part("targets")
    limit = part("ceilings").computed_limit(0.1, images_per_s=40.0, inference_cores=2.0, fps=5.0, cpu_count=2)
    met = targets.main_stream_row("1080p", {}, ours=5, naive=2, limit=limit, capped=False)
    assert met["met"] and met["ratio_vs_baseline"] == 2.5 and met["limit_cameras"] == pytest.approx(5.7)
    missed = targets.main_stream_row("1080p", {}, ours=4, naive=3, limit=limit, capped=False)
    fraction, ratio = missed["checks"]
    assert not missed["met"] and not fraction["met"] and fraction["missed_by"] == pytest.approx(0.85 - 4 / 5.714, abs=2e-3)
    assert not ratio["met"] and ratio["missed_by"] == pytest.approx(1.8 - 4 / 3, abs=1e-3)
    assert targets.keyframe_row({}, ours=48, naive=12, limit=None, capped=False)["met"]
    assert not targets.keyframe_row({}, ours=48, naive=17, limit=None, capped=False)["met"]  # 2.8x
    assert targets.main_stream_row("720p", {}, ours=3, naive=0, limit=limit, capped=False)["ratio_vs_baseline"] is None
    fast = {"condition_to_stored_s_p95": 0.4, "orders_left_in_outbox": 0, "cameras": 8}
    assert targets.latency_row("main_1080p", fast, "")["met"]
    # Orders still in the outbox after the run are later than every stored one: the p95 alone would flatter.
    assert not targets.latency_row("main_1080p", {**fast, "orders_left_in_outbox": 3}, "")["met"]
    assert not targets.latency_row("main_1080p", None, "not run")["met"]


def test_naive_counts_that_would_not_fit_in_memory_are_not_started():
    naive = part("naive")
    assert naive.memory_bound(8, available_mb=20_000) is None
    why = naive.memory_bound(20, available_mb=20_000)  # 20 GB of processes in 17 GB of headroom
    assert why.startswith("not run: 20 naive processes") and "memory-bound" in why


def fake(capacity: int):
    calls: list[int] = []

    def point(n: int) -> dict:
        calls.append(n)
        return {"sustained": n <= capacity, "fps_per_camera_min": 0.0, "lag_growth_s_max": 0.0}

    return point, calls


@pytest.mark.parametrize(("capacity", "start", "expected_calls"), [
    (5, None, [1, 2, 3, 4, 5, 6, 6]),  # from the first step: grow until a count fails twice
    (5, 8, [8, 6, 5, 6]),  # down from a start over capacity; the failure next to the answer is tried twice
    (12, 8, [8, 10, 12, 16, 14, 13, 13]),  # bracketed by 12 and 16: the counts between are bisected
    (14, 12, [12, 16, 14, 15, 15]),
    (15, 12, [12, 16, 14, 15, 16]),  # 16's second try comes once 15 stands next to it
    (9, 8, [8, 10, 9, 10]),
    (0, 2, [2, 1, 1]),
])
def test_sweep_walks_from_its_start_and_retries_the_deciding_failure(capacity, start, expected_calls):
    point, calls = fake(capacity)
    rows = part("sweep").sweep({"x": point}, 32, starts={"x": start} if start else None)
    assert calls == expected_calls
    assert rows[0]["max_cameras_sustained"] == capacity and len(rows[0]["points"]) == len(expected_calls)


@pytest.mark.slow
def test_smoke_run_writes_every_comparison(tmp_path):
    env = {**os.environ, "YOLO_OFFLINE": "1"}
    done = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--out", str(tmp_path / "out"), "--cache",
                           str(tmp_path / "cache")], capture_output=True, text=True, timeout=600, env=env, cwd=REPO)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((tmp_path / "out" / "throughput.json").read_text())
    rows = {row["name"]: row for row in results["comparisons"]}
    assert set(rows) == COMPARISONS
    for row in rows.values():
        assert {"ratio_vs_baseline", "limit_cameras", "target", "configuration"} <= set(row)
        assert isinstance(row["met"], bool) and row["checks"]
    for name in ("main_stream_5fps_1080p", "slow_rules_keyframes_1080p_gop2s", "detect_substream_360p_5fps"):
        row = rows[name]
        assert row["limit_cameras"] > 0
        assert row["ratio_vs_baseline"] is not None or row["naive_cameras_sustained"] == 0
    assert rows["detect_substream_360p_5fps"]["configuration"]["record_stream"]
    assert {p["phase"] for p in results["phases"]} >= {"inputs", "ceilings", "main_1080p", "keyframes", "substream"}
    assert all(p["load_before"]["loadavg_1_5_15"] and p["load_after"]["loadavg_1_5_15"] for p in results["phases"])
    keyframe_points = [p for cfg in results["end_to_end"]["keyframes"] for p in cfg["points"] if "decode_seen" in p]
    assert keyframe_points and all(p["decode_seen"] == ["keyframes"] for p in keyframe_points)
    for name in COMPARISONS:  # each target line printed with its verdict
        assert any(line.startswith(name) and ("met" in line or "MISSED" in line) for line in done.stdout.splitlines())


def test_results_of_an_avx2_only_host_go_to_their_own_folder():
    slug = part("media").hardware_slug
    base = {"cpu": "AMD EPYC", "logical_cpus": 2, "gpu": "none"}
    assert slug(base) == "amd-epyc-2cpu"  # older results recorded no features
    assert slug({**base, "cpu_features": {"vector_flags": ["avx2", "fma"]}}) == "amd-epyc-2cpu-avx2"
    assert slug({**base, "cpu_features": {"vector_flags": ["avx2", "fma", "avx512f"]}}) == "amd-epyc-2cpu"
    assert slug({**base, "cpu_features": {"vector_flags": []}}) == "amd-epyc-2cpu"  # not an x86 host


def test_the_inference_ceiling_times_every_copy_at_once_after_a_warm_up_batch_each():
    import numpy as np

    class Copy:
        def __init__(self):
            self.batches = []

        def detect(self, images):
            self.batches.append(len(images))
            return [None] * len(images)

    copies = [Copy(), Copy()]
    row = part("ceilings")._timed(copies, [np.zeros((4, 4, 3), np.uint8)] * 3, seconds=0.05)
    assert row["streams"] == 2 and row["batch"] == 3 and row["images_per_s"] > 0
    for copy in copies:
        assert len(copy.batches) >= 3 and set(copy.batches) == {3}, "one warm-up and at least two timed batches"
