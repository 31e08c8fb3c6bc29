"""``python -m gridsight.synth.scenarios --out DIR [--set ci|long|shifted] [--only NAME ...]``:
(re)render scenario clips deterministically (same code, same bytes)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gridsight.synth.scenarios import CI_DIR, ci_cases, long_cases, shifted_cases
from gridsight.synth.scenarios.generate import render_case


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gridsight.synth.scenarios", description=__doc__)
    parser.add_argument("--out", default=CI_DIR, help=f"directory for <name>.mp4 + <name>.json (default {CI_DIR})")
    parser.add_argument("--set", choices=["ci", "long", "shifted"], default="ci")
    parser.add_argument("--domain", default="night_sodium", help="shifted set: the family, name[:strength] (default night_sodium)")
    parser.add_argument("--factor", type=float, default=4.0, help="long set: how many times slower than the CI clips")
    parser.add_argument("--only", nargs="*", help="render only these scenario names")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    args = parser.parse_args(argv)
    if args.set == "shifted":
        try:
            cases = shifted_cases(args.domain)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    else:
        cases = ci_cases() if args.set == "ci" else long_cases(args.factor)
    if args.only:
        cases = [c for c in cases if c.name in set(args.only)]
    for case in cases:
        kind = "negative" if case.negative else f"{len(case.events)} event(s)"
        if args.list:
            print(f"{case.name:<36} {','.join(case.presets):<44} {kind}")
            continue
        video = render_case(case, Path(args.out))
        print(f"{video} ({video.stat().st_size // 1024} KiB, {case.scenario.duration:g} s, {kind})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
