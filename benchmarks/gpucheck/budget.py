"""Steps under one global time budget: each outcome recorded, none allowed to end the run.

A step is a function ``fn(budget_s) -> Outcome``. It runs only if the time left of the global
budget covers its minimum; it is then given the smaller of its own budget and the time left,
and is expected to bound its own work by it (a step that overruns is recorded as having done
so, since a running step cannot be stopped safely from outside). An exception becomes
``failed`` with a one-line reason; its traceback goes to the log, never to the console.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

log = logging.getLogger("gpu_check")

OK, FALLBACK, FAILED, SKIPPED = "ok", "fallback", "failed", "skipped"


@dataclass
class Outcome:
    outcome: str
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def ok(**details: Any) -> Outcome:
    return Outcome(OK, None, details)


def fallback(reason: str, **details: Any) -> Outcome:
    return Outcome(FALLBACK, reason, details)


class StepFailed(Exception):
    """A step that cannot do its work; the message is the one-line reason."""


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}"[:300] if not isinstance(exc, StepFailed) else first[:300]


class StepRunner:
    """Runs steps in order under ``total_s`` seconds of ``clock`` (injectable for tests)."""

    def __init__(self, total_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.total_s = total_s
        self.clock = clock
        self.started = clock()
        self.records: list[dict[str, Any]] = []

    def left_s(self) -> float:
        return self.total_s - (self.clock() - self.started)

    def run(self, name: str, fn: Callable[[float], Outcome], *, budget_s: float, min_s: float) -> Outcome:
        left = self.left_s()
        if left < min_s:
            result = Outcome(SKIPPED, f"over budget: needs at least {min_s:.0f} s, {max(left, 0):.0f} s left "
                                      f"of the {self.total_s:.0f} s total")
            self._record(name, result, budget_s=0.0, seconds=0.0)
            return result
        budget = min(budget_s, left)
        t0 = self.clock()
        try:
            result = fn(budget)
        except Exception as exc:  # noqa: BLE001 -- every step's failure is recorded, none ends the run
            log.debug("step %s failed", name, exc_info=True)
            result = Outcome(FAILED, one_line(exc))
        self._record(name, result, budget_s=budget, seconds=self.clock() - t0)
        return result

    def _record(self, name: str, result: Outcome, *, budget_s: float, seconds: float) -> None:
        record = {"step": name, "outcome": result.outcome, "reason": result.reason, "seconds": round(seconds, 1),
                  "budget_s": round(budget_s, 1), **result.details}
        if budget_s and seconds > budget_s:
            record["overran_s"] = round(seconds - budget_s, 1)
        self.records.append(record)
        log.info("[%s] %s (%.1f s)%s", name, result.outcome, seconds, f": {result.reason}" if result.reason else "")

    def clean(self) -> bool:
        """Every step ran or fell back cleanly."""
        return all(r["outcome"] in (OK, FALLBACK) for r in self.records)

    def summary(self) -> str:
        """The steps that neither ran nor fell back, each with its reason, in one line."""
        bad = [r for r in self.records if r["outcome"] not in (OK, FALLBACK)]
        return "; ".join(f"{r['step']} {r['outcome']} ({r['reason']})" for r in bad)
