"""What machine a figure was measured on, for training records and benchmark results."""

from __future__ import annotations

import platform
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
# The vector extensions the inference runtimes pick their kernels by. Two 2-vCPU hosts that both call
# themselves "AMD EPYC" ran the same benchmark points about 2x apart (2026-12-04 and 2026-12-07; the
# second is a Zen 3 with AVX2 only, the first recorded nothing more than its name), so a result
# without these cannot be compared with another.
VECTOR_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni", "amx_int8", "amx_bf16")


def _first_cpu(text: str) -> dict[str, str]:
    """The first processor's ``key: value`` lines of /proc/cpuinfo."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip(), value.strip())
    return fields


def _read_cpuinfo() -> dict[str, str]:
    try:
        return _first_cpu(CPUINFO.read_text())
    except OSError:
        return {}


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo, else what platform knows."""
    return _read_cpuinfo().get("model name") or platform.processor() or platform.machine() or "unknown"


def cpu_features(cpuinfo: str | None = None) -> dict:
    """Family / model / stepping, the vector extensions of :data:`VECTOR_FLAGS` it has, and its bogomips
    (``cpuinfo``: /proc/cpuinfo's text; read from the machine when None). Empty where there is no /proc."""
    fields = _first_cpu(cpuinfo) if cpuinfo is not None else _read_cpuinfo()
    if not fields:
        return {}
    flags = set(fields.get("flags", "").split())
    out: dict = {key: fields[key] for key in ("vendor_id", "cpu family", "model", "stepping") if key in fields}
    out["vector_flags"] = [flag for flag in VECTOR_FLAGS if flag in flags]
    try:
        out["bogomips"] = float(fields["bogomips"])
    except (KeyError, ValueError):
        pass
    return out
