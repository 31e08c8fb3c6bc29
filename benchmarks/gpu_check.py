"""GPU readiness in one command: install, TensorRT FP16 export, NVDEC ceiling, cameras at 5 fps.

    bash benchmarks/gpu_check.sh [--dry] [--out DIR] [--wheelhouse DIR] [--budget-s 480]

On a CUDA host it (1) installs what the project needs from a wheelhouse carried with it
(``--wheelhouse``, else $GRIDSIGHT_WHEELHOUSE, else var/wheelhouse; no network), (2) exports
the demo model to TensorRT FP16 with the project's parity check, into a scratch copy of its
manifest, (3) measures the NVDEC decode ceiling on a rendered 1080p25 clip, (4) sweeps
cameras end to end at 5 fps, and (5) writes benchmarks/results/<hardware>/gpu_check.json --
all within the global budget (8 minutes), each step skipped with its reason when the time left
does not cover it. Without CUDA, or with ``--dry``, every step takes its CPU fallback (wheelhouse
checked, nothing installed; ONNX export; software decode for 2 s; 1-2 cameras for a few seconds)
and the results are gpu_check-dry.json. Each step's outcome is ok, fallback (reason), failed
(one-line reason) or skipped (reason). Exit 0 when every step ran or fell back cleanly, 1 with
one line otherwise; tracebacks go to the log file (gpu_check.log beside the results).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for entry in (ROOT, ROOT / "benchmarks"):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")  # ultralytics must not try pip for a missing TensorRT/ModelOpt

from gpucheck.budget import StepFailed, StepRunner, ok, one_line  # noqa: E402

CACHE = ROOT / "var" / "bench"
TOTAL_BUDGET_S = 480.0
WRITE_RESERVE_S = 10.0  # machine description and the JSON, after the last step
# (budget_s, min_s) per step: a step starts only with min_s left and gets at most budget_s.
BUDGETS = {"install": (120, 5), "clip": (90, 10), "export": (180, 30), "decode": (60, 10), "end_to_end": (150, 20)}
CLIP_SECONDS = {"gpu": 20.0, "dry": 4.0}

log = logging.getLogger("gpu_check")


def gpu_visible() -> bool:
    """An NVIDIA device node or a working nvidia-smi, asked before torch may even be installed."""
    if Path("/dev/nvidia0").exists():
        return True
    smi = shutil.which("nvidia-smi")
    return bool(smi) and subprocess.run([smi, "-L"], capture_output=True).returncode == 0


def torch_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def describe_machine() -> tuple[dict, str]:
    """throughput.machine()'s description and hardware_slug; a minimal one when torch or ffmpeg is missing."""
    try:
        from throughput import hardware_slug, machine

        info = machine()
        return info, hardware_slug(info)
    except Exception as exc:  # noqa: BLE001 -- the results are still written
        import platform

        return {"error": one_line(exc), "os": platform.platform(), "logical_cpus": os.cpu_count()}, "unknown-host"


def load() -> dict:
    try:
        from throughput import cpu_load

        return cpu_load()
    except Exception as exc:  # noqa: BLE001
        return {"error": one_line(exc)}


def setup_logging(log_file: Path) -> None:
    """The run's own lines to the terminal; everything else to ``log_file``: library logs and warnings,
    and -- file descriptors 1 and 2 moved onto the log -- whatever the steps print (ultralytics'
    banners, the TensorRT builder, ffmpeg, a thread's traceback)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.write_text("", encoding="utf-8")
    terminal = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    console = logging.StreamHandler(terminal)
    console.setLevel(logging.INFO)
    console.setFormatter(logging.Formatter("gpu_check %(message)s"))
    log.addHandler(console)
    to_file = logging.FileHandler(log_file, mode="a", encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    root.addHandler(to_file)
    logging.captureWarnings(True)
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(log_file, os.O_WRONLY | os.O_APPEND)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dry", action="store_true", help="CPU fallbacks only (automatic without CUDA)")
    ap.add_argument("--out", type=Path, help="results folder (default benchmarks/results/<hardware>)")
    ap.add_argument("--wheelhouse", type=Path,
                    default=Path(os.environ.get("GRIDSIGHT_WHEELHOUSE") or ROOT / "var" / "wheelhouse"),
                    help="folder of wheels to install from (default $GRIDSIGHT_WHEELHOUSE, else var/wheelhouse)")
    ap.add_argument("--budget-s", type=float, default=TOTAL_BUDGET_S, help="global time budget in seconds")
    args = ap.parse_args(argv)
    if not 30 <= args.budget_s <= 3600:
        ap.error("--budget-s must be between 30 and 3600")
    return args


def run_steps(args, runner: StepRunner, workdir: Path) -> dict:
    """The five steps in order; returns what the results JSON says about the run."""
    from gpucheck.install import install_step

    dry = args.dry or not gpu_visible()
    cpu_reason = "--dry" if args.dry else "no CUDA"
    runner.run("install", lambda budget: install_step(wheelhouse=args.wheelhouse, gpu=not dry, dry=dry,
                                                      timeout_s=budget), budget_s=BUDGETS["install"][0],
               min_s=BUDGETS["install"][1])
    cuda = not dry and torch_cuda()
    if not dry and not cuda:
        cpu_reason = "no CUDA (a GPU is visible but torch cannot use it)"
    mode = "gpu" if cuda else "dry"
    state: dict = {}

    def clip_step(budget: float):
        from gpucheck.decode_step import make_clip

        state["clip"] = make_clip(CACHE, CLIP_SECONDS[mode])
        return ok(clip=state["clip"].name)

    def export(budget: float):
        from gpucheck.export_step import ExportedModel, export_step_bounded, scratch_manifest

        state["model"] = ExportedModel(scratch_manifest(workdir), device="cuda:0" if cuda else "cpu")
        return export_step_bounded(state["model"], cuda=cuda, cpu_reason=cpu_reason, timeout_s=budget)

    def decode(budget: float):
        from gpucheck.decode_step import decode_step

        return decode_step(needs(state, "clip"), cuda=cuda, cpu_reason=cpu_reason, budget_s=budget)

    def end_to_end(budget: float):
        from gpucheck.e2e_step import e2e_step

        return e2e_step(needs(state, "clip"), needs(state, "model"), cuda=cuda, cpu_reason=cpu_reason,
                        budget_s=budget)

    for name, fn in (("clip", clip_step), ("export", export), ("decode", decode), ("end_to_end", end_to_end)):
        runner.run(name, fn, budget_s=BUDGETS[name][0], min_s=BUDGETS[name][1])
    return {"mode": mode, "cuda": cuda, "cpu_reason": None if cuda else cpu_reason}


def needs(state: dict, key: str):
    if key not in state:
        raise StepFailed(f"no {key}: its step did not finish")
    return state[key]


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging((args.out or CACHE) / "gpu_check.log")
    started, load_before = time.time(), load()
    runner = StepRunner(args.budget_s - WRITE_RESERVE_S)
    with tempfile.TemporaryDirectory(prefix="gridsight-gpu-check-") as tmp:
        run = run_steps(args, runner, Path(tmp))
    info, slug = describe_machine()
    out = args.out or ROOT / "benchmarks" / "results" / slug
    out.mkdir(parents=True, exist_ok=True)
    results = {"tool": "benchmarks/gpu_check.sh", **run, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "budget_s": args.budget_s, "duration_s": round(time.time() - started, 1), "machine": info,
               "load_before": load_before, "load_after": load(), "steps": runner.records, "clean": runner.clean()}
    path = out / ("gpu_check.json" if run["mode"] == "gpu" else "gpu_check-dry.json")
    path.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    log.info("wrote %s in %.0f s", path, results["duration_s"])
    if not runner.clean():
        log.error("not ready: %s (details: %s)", runner.summary(), path)
        return 1
    return 0


def say_error(line: str) -> None:
    """One line on the terminal, whether or not logging got set up."""
    if log.handlers:
        log.error("%s", line)
    else:
        print(f"gpu_check {line}", file=sys.stderr)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        say_error("interrupted")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 -- one line to the user; the log has the traceback
        log.debug("crashed", exc_info=True)
        say_error(f"crashed: {one_line(exc)}")
        sys.exit(2)
