"""Camera assignment: the pure logic the cluster runs on (fake clock, no Redis)."""

from __future__ import annotations

from collections import Counter

from inference.clock import FakeClock
from streams.cluster.assignment import Reconciler, WorkerInfo, desired_assignment

CAMS = [f"cam-{i:03d}" for i in range(60)]


def test_desired_assignment_is_deterministic_and_respects_capacity():
    workers = [WorkerInfo("a", 30), WorkerInfo("b", 30), WorkerInfo("c", 5)]
    first = desired_assignment(CAMS, workers)
    assert first == desired_assignment(reversed(CAMS), list(reversed(workers)))
    load = Counter(first.values())
    assert load["c"] <= 5 and load["a"] <= 30 and load["b"] <= 30
    assert sum(load.values()) == 60 and None not in load


def test_no_room_leaves_cameras_unassigned():
    out = desired_assignment(CAMS[:10], [WorkerInfo("a", 3), WorkerInfo("b", 4)])
    assert Counter(out.values()) == {"a": 3, "b": 4, None: 3}


def test_joining_worker_moves_about_its_share_only():
    two = desired_assignment(CAMS, [WorkerInfo("a", 100), WorkerInfo("b", 100)])
    three = desired_assignment(CAMS, [WorkerInfo("a", 100), WorkerInfo("b", 100), WorkerInfo("c", 100)])
    moved = [c for c in CAMS if two[c] != three[c]]
    assert all(three[c] == "c" for c in moved), "only cameras going to the newcomer move"
    assert 10 <= len(moved) <= 30  # ~1/3 of 60


def simulate(workers: dict[str, int], clock: FakeClock, owners: dict, reconcilers: dict, rounds: int = 1, step_s: float = 1.0):
    """Every live worker plans against the shared lease table and applies its plan."""
    live = [WorkerInfo(w, cap) for w, cap in workers.items()]
    for _ in range(rounds):
        for wid in workers:
            plan = reconcilers[wid].plan(CAMS, live, dict(owners))
            for cam in plan.release:
                assert owners[cam] == wid
                owners[cam] = None
            for cam in plan.acquire:
                if owners.get(cam) is None:  # SET NX
                    owners[cam] = wid
        clock.advance(step_s)
    return owners


def make(wid, cap, clock, settle_s=4.0):
    return Reconciler(wid, cap, settle_s=settle_s, orphan_grace_s=2.0, clock=clock)


def test_cluster_converges_takes_over_dead_worker_and_rebalances_on_join():
    clock = FakeClock(0)
    workers = {"a": 40, "b": 40}
    recs = {w: make(w, c, clock) for w, c in workers.items()}
    owners = simulate(workers, clock, {c: None for c in CAMS}, recs, rounds=6)
    assert None not in owners.values() and Counter(owners.values())["a"] <= 40
    # b dies: its leases expire (owners -> None), a alone takes everything it can hold.
    for cam, w in owners.items():
        if w == "b":
            owners[cam] = None
    del workers["b"]
    owners = simulate(workers, clock, owners, recs, rounds=4)
    assert Counter(owners.values()) == {"a": 40, None: 20}, "capacity is never exceeded"
    # c joins: after settling, it receives cameras; nothing is ever held twice.
    workers["c"] = 40
    recs["c"] = make("c", 40, clock)
    owners = simulate(workers, clock, owners, recs, rounds=4)
    assert Counter(owners.values()) == {"a": 40, "c": 20}, "the unassigned cameras go to c within the orphan grace"
    owners = simulate(workers, clock, owners, recs, rounds=80)  # past settle and the adoption hold
    final = Counter(owners.values())
    assert None not in final and final["a"] <= 40 and final["c"] <= 40
    assert owners == simulate(workers, clock, dict(owners), recs, rounds=3), "stable: no moves once converged"


def test_new_worker_gets_nothing_before_it_settles():
    clock = FakeClock(0)
    a = make("a", 100, clock, settle_s=10)
    owners = {c: "a" for c in CAMS}
    plan = a.plan(CAMS, [WorkerInfo("a", 100), WorkerInfo("b", 100)], owners)
    assert plan.release == []
    clock.advance(10)
    plan = a.plan(CAMS, [WorkerInfo("a", 100), WorkerInfo("b", 100)], owners)
    assert 15 <= len(plan.release) <= 45 and all(plan.desired[c] == "b" for c in plan.release)


def test_orphan_is_adopted_after_grace_and_kept_for_the_hold_time():
    clock = FakeClock(0)
    a = Reconciler("a", 10, settle_s=0, orphan_grace_s=2.0, orphan_hold_s=60, clock=clock)
    live = [WorkerInfo("a", 10), WorkerInfo("b", 10)]
    cams = ["x", "y", "z", "w"]
    owners = {c: None for c in cams}
    desired = desired_assignment(cams, live)
    theirs = [c for c in cams if desired[c] == "b"]
    assert theirs, "pick cameras so that some belong to b"
    plan = a.plan(cams, live, owners)
    assert set(plan.acquire) == {c for c in cams if desired[c] == "a"}
    clock.advance(2.5)  # b never took its cameras: a adopts them
    plan = a.plan(cams, live, owners)
    assert set(theirs) <= set(plan.acquire)
    owners = {c: "a" for c in cams}
    clock.advance(5)
    assert a.plan(cams, live, owners).release == [], "adopted orphans are not handed back at once"
    clock.advance(60)
    assert sorted(a.plan(cams, live, owners).release) == sorted(theirs)


def test_lowered_capacity_gives_back_the_surplus():
    clock = FakeClock(0)
    a = make("a", 5, clock)
    plan = a.plan(CAMS[:8], [WorkerInfo("a", 5)], {c: "a" for c in CAMS[:8]})
    assert len(plan.release) == 3 and plan.acquire == []
