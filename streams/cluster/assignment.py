"""Which worker should run which camera: pure logic, no Redis, no threads.

Every worker computes the same *desired* assignment from the same inputs (the
live workers with their capacities, the camera ids), so they agree without
talking to each other; Redis leases then make the outcome exclusive. The
assignment is bounded-load rendezvous hashing: each camera ranks the workers
by a hash of (camera, worker) and goes to the best-ranked one with room left.
A worker joining or leaving therefore moves only about 1/N of the cameras.

:class:`Reconciler` turns "desired" and "who holds which lease now" into the
few actions one worker should take this tick (acquire, release), with the
timing rules that keep the cluster calm:

* a newly seen worker only receives cameras after it has stayed alive
  ``settle_s`` (a worker that crash-loops does not drag cameras back and forth);
* a camera nobody holds is taken by its desired owner at once, and by *any*
  worker with room once it has been free for ``orphan_grace_s`` (so a camera
  can never stay orphaned because two workers disagree about the membership);
* a worker never holds more than its capacity.

Time comes from an injected clock, so tests run it on a fake one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class WorkerInfo:
    worker_id: str
    capacity: int


def _rank(camera_id: str, worker_id: str) -> int:
    digest = hashlib.blake2b(f"{camera_id}\x00{worker_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def desired_assignment(cameras: Iterable[str], workers: Iterable[WorkerInfo]) -> dict[str, str | None]:
    """camera id -> worker id (None when every live worker is full).

    Deterministic in its inputs (cameras are visited in sorted order, ties broken by
    worker id), so every worker with the same view computes the same map."""
    pool = sorted(workers, key=lambda w: w.worker_id)
    room = {w.worker_id: max(0, w.capacity) for w in pool}
    out: dict[str, str | None] = {}
    for camera_id in sorted(set(cameras)):
        ranked = sorted(pool, key=lambda w: (_rank(camera_id, w.worker_id), w.worker_id), reverse=True)
        owner = next((w.worker_id for w in ranked if room[w.worker_id] > 0), None)
        if owner is not None:
            room[owner] -= 1
        out[camera_id] = owner
    return out


@dataclass
class Plan:
    acquire: list[str] = field(default_factory=list)  # free cameras to take now
    release: list[str] = field(default_factory=list)  # held cameras to hand over (stop, then release)
    desired: dict[str, str | None] = field(default_factory=dict)
    unassigned: list[str] = field(default_factory=list)  # no worker has room for these


class Reconciler:
    def __init__(
        self, worker_id: str, capacity: int, *, settle_s: float, orphan_grace_s: float, clock, orphan_hold_s: float = 60.0
    ) -> None:
        self.worker_id = worker_id
        self.capacity = capacity
        self.settle_s = settle_s
        self.orphan_grace_s = orphan_grace_s
        # An orphan taken over the desired owner's head is kept this long before it is
        # handed back, so a desired owner that never takes it cannot cause ping-pong.
        self.orphan_hold_s = orphan_hold_s
        self._clock = clock  # .now() -> seconds
        self._adopted_at: dict[str, float] = {}
        self._first_seen: dict[str, float] = {}  # worker id -> when this worker first saw it alive
        self._free_since: dict[str, float] = {}  # camera id -> when it was first seen without a lease

    def plan(self, cameras: Iterable[str], live: Iterable[WorkerInfo], owners: Mapping[str, str | None]) -> Plan:
        """``owners``: camera id -> worker holding its lease now (None: free).

        ``live`` should include this worker (its heartbeat was just written)."""
        now = self._clock.now()
        cameras = sorted(set(cameras))
        live = {w.worker_id: w for w in live}
        live.setdefault(self.worker_id, WorkerInfo(self.worker_id, self.capacity))
        self._note_members(live, now)
        held_by: dict[str, int] = {}
        for owner in owners.values():
            if owner is not None:
                held_by[owner] = held_by.get(owner, 0) + 1
        desired = desired_assignment(cameras, self._pool(live, held_by, now))
        plan = Plan(desired=desired, unassigned=[c for c, w in desired.items() if w is None])
        mine = [c for c in cameras if owners.get(c) == self.worker_id]
        plan.release = self._releases(mine, desired, live, held_by, owners, now)
        room = self.capacity - (len(mine) - len(plan.release))
        plan.acquire = self._acquisitions([c for c in cameras if owners.get(c) is None], desired, room, now)
        return plan

    def _note_members(self, live: Mapping[str, WorkerInfo], now: float) -> None:
        for wid in list(self._first_seen):
            if wid not in live:
                del self._first_seen[wid]  # a worker that comes back settles again
        for wid in live:
            self._first_seen.setdefault(wid, now)

    def _pool(self, live: Mapping[str, WorkerInfo], held_by: Mapping[str, int], now: float) -> list[WorkerInfo]:
        """Settled workers get cameras; an unsettled one keeps only what it already holds
        (modelled as capacity = its current count), so the others don't shed to it yet."""
        pool = []
        for wid, info in live.items():
            settled = wid == self.worker_id or now - self._first_seen[wid] >= self.settle_s
            pool.append(info if settled else WorkerInfo(wid, min(info.capacity, held_by.get(wid, 0))))
        return pool

    def _releases(self, mine: list[str], desired: Mapping[str, str | None], live: Mapping[str, WorkerInfo],
                  held_by: Mapping[str, int], owners: Mapping[str, str | None], now: float) -> list[str]:
        """Held cameras to hand over to their desired owner, then any surplus over our capacity."""
        room_of = {wid: live[wid].capacity - held_by.get(wid, 0) for wid in live}
        for camera_id in list(self._adopted_at):
            if owners.get(camera_id) not in (None, self.worker_id):
                del self._adopted_at[camera_id]  # someone else holds it now: the adoption is over
        release = []
        for camera_id in mine:
            target = desired.get(camera_id)
            if now - self._adopted_at.get(camera_id, float("-inf")) < self.orphan_hold_s:
                continue
            if target is None or target == self.worker_id or target not in live:
                continue
            if now - self._first_seen[target] < self.settle_s:
                continue  # never hand over to a worker still settling
            if room_of.get(target, 0) <= 0:
                continue  # it is full right now: a release would only leave the camera dark
            room_of[target] -= 1
            release.append(camera_id)
        if len(mine) - len(release) > self.capacity:  # capacity lowered: give back the surplus
            release.extend([c for c in mine if c not in release][self.capacity:])
        return release

    def _acquisitions(self, free: list[str], desired: Mapping[str, str | None], room: int, now: float) -> list[str]:
        """Free cameras to take: desired ones first, then orphans that waited out the grace period."""
        for camera_id in list(self._free_since):
            if camera_id not in free:
                del self._free_since[camera_id]
        for camera_id in free:
            self._free_since.setdefault(camera_id, now)
        acquire = [c for c in free if desired.get(c) == self.worker_id][:max(0, room)]
        room -= len(acquire)
        for camera_id in free:
            if room <= 0:
                break
            if camera_id in acquire:
                continue
            if now - self._free_since[camera_id] >= self.orphan_grace_s:
                acquire.append(camera_id)
                self._adopted_at[camera_id] = now
                room -= 1
        return acquire
