"""Finding the most cameras each config sustains.

Each config walks a list of camera counts from a start: up while sustained, down while not. At
each round every config still searching runs one point, in rotating order (the CPU may be
shared with other work: all configs meet the same background load). Once the steps bracket the
answer (sustained at one step, not at the next), the counts between are bisected, so the answer
is the exact count rather than the step below it (12 of 13.5 would read as 12 of 16's bracket).
A failure next to the highest sustained count is tried once more before it stands, so one
unlucky window does not decide the answer. From the first step, below the steps' gaps, this is
the old sweep: grow until a count fails twice."""

from __future__ import annotations

import math
import os

from throughput_parts.common import CAMERA_STEPS, log


class _Search:
    def __init__(self, steps: list[int], start: int | None) -> None:
        self.steps = steps
        self.lo, self.hi, self.hi_tries = 0, math.inf, 0
        self.next: int | None = min(steps, key=lambda s: abs(s - start)) if start else steps[0]

    def record(self, n: int, sustained: bool) -> None:
        if sustained:
            self.lo = max(self.lo, n)
            if n >= self.hi:
                self.hi, self.hi_tries = math.inf, 0
        elif n == self.hi:
            self.hi_tries += 1
        else:
            self.hi, self.hi_tries = n, 1
        between = [s for s in self.steps if self.lo < s < self.hi]
        if not between and self.hi != math.inf and self.hi - self.lo > 1:
            between = [(self.lo + self.hi) // 2]  # bracketed between two steps: bisect the counts
        if between:
            self.next = between[0] if sustained else between[-1]
        elif self.hi != math.inf and self.hi_tries < 2:
            self.next = self.hi  # the answer would stand on one failed window: once more
        else:
            self.next = None


def sweep(configs: dict, max_cameras: int, steps: list[int] | None = None,
          starts: dict[str, int] | None = None) -> list[dict]:
    """``configs``: name -> callable(cameras) -> point dict with "sustained". Returns per config its
    points and ``max_cameras_sustained``."""
    steps = [c for c in (steps or CAMERA_STEPS) if c <= max_cameras]
    searches = {name: _Search(steps, (starts or {}).get(name)) for name in configs}
    state = {name: {"config": name, "max_cameras_sustained": 0, "points": []} for name in configs}
    k = 0
    while True:
        alive = [name for name in configs if searches[name].next is not None]
        if not alive:
            break
        order = alive[k % len(alive):] + alive[:k % len(alive)]
        k += 1
        for name in order:
            n = searches[name].next
            point = configs[name](n)
            point["load_1min"] = round(os.getloadavg()[0], 2)
            state[name]["points"].append(point)
            log.info("%-30s %2d cameras: min %.2f fps/camera, lag growth %.2f s, %s, load %.1f", name, n,
                     point["fps_per_camera_min"], point["lag_growth_s_max"],
                     "sustained" if point["sustained"] else "NOT sustained", point["load_1min"])
            searches[name].record(n, point["sustained"])
            state[name]["max_cameras_sustained"] = searches[name].lo
    return list(state.values())
