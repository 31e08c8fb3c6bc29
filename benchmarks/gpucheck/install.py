"""Step 1: what the project needs, installed from wheels carried with it (no network).

The requirements are pyproject.toml's dependencies, plus on a CUDA host the TensorRT wheel
ultralytics' engine export asks for (``tensorrt-cu<CUDA major>``, see
ultralytics.utils.checks.check_tensorrt) and, for TensorRT >= 11 (strongly typed: FP16 is
baked into the ONNX graph first), NVIDIA ModelOpt (ultralytics.utils.export.engine). Each one
already satisfied is left alone; the others are installed with ``pip install --no-index
--find-links <wheelhouse>``. What the wheelhouse lacks is said in one line and the run carries
on: the steps that need it fall back.
"""

from __future__ import annotations

import importlib.metadata
import logging
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from gpucheck.budget import Outcome, StepFailed, fallback, ok

ROOT = Path(__file__).resolve().parents[2]
log = logging.getLogger("gpu_check")
TENSORRT_SPEC = ">=7.0.0,!=10.2.0"  # ultralytics' check_tensorrt floor and its known-bad release
MODELOPT = "nvidia-modelopt[onnx]>=0.44"  # ultralytics' modelopt_quantize_onnx, TensorRT >= 11 only

try:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
except ImportError:  # a bare interpreter: pip carries its own copy
    from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef]
    from pip._vendor.packaging.utils import canonicalize_name  # type: ignore[no-redef]


def project_requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    return list(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"])


def gpu_requirements() -> list[str]:
    """The TensorRT wheel for the installed torch's CUDA, and ModelOpt when that TensorRT is >= 11."""
    try:
        import torch  # installed by the first pass
    except ImportError:  # the wheelhouse lacked it too: already said
        return []
    if not torch.version.cuda:
        return []
    tensorrt = f"tensorrt-cu{torch.version.cuda.split('.')[0]}"
    wanted = [tensorrt + TENSORRT_SPEC]
    try:
        if int(importlib.metadata.version(tensorrt).split(".")[0]) >= 11:
            wanted.append(MODELOPT)
    except importlib.metadata.PackageNotFoundError:
        pass
    return wanted


def satisfied(requirement: str) -> bool:
    req = Requirement(requirement)
    if req.marker is not None and not req.marker.evaluate():
        return True
    try:
        version = importlib.metadata.version(req.name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return req.specifier.contains(version, prereleases=True)


def wheelhouse_index(wheelhouse: Path) -> dict[str, list[str]]:
    """Canonical project name -> versions of the wheels (and sdists) in the folder."""
    index: dict[str, list[str]] = {}
    if not wheelhouse.is_dir():
        return index
    for path in wheelhouse.iterdir():
        if path.name.endswith(".whl"):
            name, version = path.name.split("-")[:2]
        elif path.name.endswith((".tar.gz", ".zip")):
            match = re.match(r"(.+)-([0-9][^-]*)\.(tar\.gz|zip)$", path.name)
            if not match:
                continue
            name, version = match.group(1), match.group(2)
        else:
            continue
        index.setdefault(canonicalize_name(name), []).append(version)
    return index


@dataclass
class Plan:
    present: list[str] = field(default_factory=list)
    to_install: list[str] = field(default_factory=list)  # missing here, a matching wheel in the wheelhouse
    lacking: list[str] = field(default_factory=list)  # missing here and in the wheelhouse


def plan(requirements: list[str], wheelhouse: Path) -> Plan:
    index, result = wheelhouse_index(wheelhouse), Plan()
    for requirement in requirements:
        if satisfied(requirement):
            result.present.append(requirement)
            continue
        req = Requirement(requirement)
        versions = index.get(canonicalize_name(req.name), [])
        covered = any(req.specifier.contains(v, prereleases=True) for v in versions)
        (result.to_install if covered else result.lacking).append(requirement)
    return result


def pip_install(requirements: list[str], wheelhouse: Path, timeout_s: float, python: str = sys.executable) -> list[str]:
    """Install into ``python``'s environment from the wheelhouse only; the requirements pip could not
    install, each with pip's last line."""
    def attempt(reqs: list[str]) -> str | None:
        cmd = [python, "-m", "pip", "install", "--no-index", "--find-links", str(wheelhouse),
               "--disable-pip-version-check", "--quiet", *reqs]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=max(timeout_s, 1))
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        return None if done.returncode == 0 else (lines[-1] if lines else f"pip exited {done.returncode}")

    if not requirements or attempt(requirements) is None:
        return []
    failures = []  # one failing wheel fails the whole batch: find which
    for requirement in requirements:
        why = attempt([requirement])
        if why:
            failures.append(f"{requirement} ({why.strip()[:160]})")
    return failures


def install_step(*, wheelhouse: Path, gpu: bool, dry: bool, timeout_s: float) -> Outcome:
    wanted = project_requirements()
    first = plan(wanted, wheelhouse)
    failures = [] if dry or not first.to_install else pip_install(first.to_install, wheelhouse, timeout_s)
    extra, installed = Plan(), list(first.to_install)
    if gpu and not dry:
        for _ in range(2):  # the second pass sees the TensorRT the first installed (>= 11 also needs ModelOpt)
            extra = plan(gpu_requirements(), wheelhouse)
            failures += pip_install(extra.to_install, wheelhouse, timeout_s)
            installed += extra.to_install
            if not extra.to_install or failures:
                break
    lacking = first.lacking + extra.lacking
    details = {"wheelhouse": str(wheelhouse), "wheelhouse_found": wheelhouse.is_dir(),
               "requirements": len(wanted) + len(extra.present + extra.to_install + extra.lacking),
               "installed" if not dry else "would_install": installed,
               "lacking": lacking}
    if lacking:
        log.warning("the wheelhouse %s lacks %s; carrying on without them", wheelhouse, ", ".join(lacking))
    if failures:
        raise StepFailed(f"pip could not install from {wheelhouse}: {'; '.join(failures)}")
    if dry and first.to_install:
        return fallback(f"dry run: would install {len(first.to_install)} from the wheelhouse"
                        + (f"; it lacks {len(lacking)}" if lacking else ""), **details)
    if lacking:
        return fallback(f"the wheelhouse lacks {', '.join(lacking)}; the steps needing them fall back", **details)
    return ok(**details)
