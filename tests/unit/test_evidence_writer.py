"""streams.evidence_writer: jobs built in a shared pool, delivered per camera in submission order,
bounded with a blocking policy that is counted, and nothing lost to a job that raises."""

from __future__ import annotations

import threading

import pytest

from streams.evidence_writer import EvidenceLane, EvidencePool
from tests.support.procs import wait_until

WAIT_S = 10.0


def until(predicate) -> bool:
    """Wait for observable state (the pool's own counters)."""
    return bool(wait_until(predicate, WAIT_S, "the evidence pool's state", poll_s=0.01))


def job(delivered: list, name, gate: threading.Event | None = None, *, built_on: list | None = None):
    def build():
        if gate is not None:
            assert gate.wait(WAIT_S), "the test never opened the gate"
        if built_on is not None:
            built_on.append(threading.current_thread().name)
        return lambda: delivered.append(name)
    return build


def test_without_a_pool_a_job_is_built_and_delivered_at_once_on_the_callers_thread() -> None:
    delivered, built_on = [], []
    lane = EvidenceLane(None, "cam-1")
    lane.submit(job(delivered, "a", built_on=built_on))
    assert delivered == ["a"] and built_on == [threading.current_thread().name] and lane.pending == 0


def test_inline_errors_reach_the_caller_as_before() -> None:
    lane = EvidenceLane(None, "cam-1")
    with pytest.raises(RuntimeError):
        lane.submit(lambda: (_ for _ in ()).throw(RuntimeError("boom")))


def test_a_lane_delivers_in_submission_order_when_jobs_finish_out_of_order() -> None:
    pool = EvidencePool(threads=2)
    delivered, gate = [], threading.Event()
    lane = EvidenceLane(pool, "cam-1")
    lane.submit(job(delivered, "start's order", gate))  # slow: waits for the gate
    lane.submit(job(delivered, "its END"))  # fast: done first, on the other thread
    assert until(lambda: pool.submitted == 2 and pool.queued == 1), "the END's job finished"
    assert delivered == [], "the END must not overtake the order it refers to"
    gate.set()
    assert lane.wait_idle(WAIT_S)
    assert delivered == ["start's order", "its END"]
    pool.shutdown()


def test_jobs_run_on_the_pools_threads_and_lanes_do_not_wait_for_each_other() -> None:
    pool = EvidencePool(threads=2)
    delivered, built_on, gate = [], [], threading.Event()
    slow, fast = EvidenceLane(pool, "cam-slow"), EvidenceLane(pool, "cam-fast")
    slow.submit(job(delivered, "slow", gate))
    fast.submit(job(delivered, "fast", built_on=built_on))
    assert fast.wait_idle(WAIT_S) and delivered == ["fast"], "another camera's slow job does not hold this one"
    assert built_on and built_on[0].startswith("evidence")
    gate.set()
    assert slow.wait_idle(WAIT_S) and delivered == ["fast", "slow"]
    pool.shutdown()


def test_a_full_pool_blocks_the_submitting_camera_counts_it_and_drops_nothing() -> None:
    pool = EvidencePool(threads=1, max_queued=1)
    delivered, gate = [], threading.Event()
    lane = EvidenceLane(pool, "cam-1")
    lane.submit(job(delivered, 1, gate))
    second = threading.Thread(target=lane.submit, args=(job(delivered, 2),))
    second.start()
    assert until(lambda: pool.waits == 1), "the second submission waits for room"
    assert second.is_alive() and pool.submitted == 1
    gate.set()
    second.join(WAIT_S)
    assert lane.wait_idle(WAIT_S) and delivered == [1, 2] and pool.stats()["evidence_waits"] == 1
    pool.shutdown()


def test_a_job_that_raises_is_counted_and_the_lane_goes_on(caplog) -> None:
    pool = EvidencePool(threads=1)
    delivered = []
    lane = EvidenceLane(pool, "cam-1")

    def broken():
        raise ValueError("a bug in making the files")

    lane.submit(broken)
    lane.submit(job(delivered, "next"))
    assert lane.wait_idle(WAIT_S) and delivered == ["next"]
    assert lane.failures == 1 and pool.failures == 1
    assert "cam-1: building an event's evidence failed" in caplog.text
    pool.shutdown()


def test_wait_idle_gives_up_after_its_timeout_and_says_so(caplog) -> None:
    pool = EvidencePool(threads=1)
    gate = threading.Event()
    lane = EvidenceLane(pool, "cam-1")
    lane.submit(job([], "stuck", gate))
    assert lane.wait_idle(0.05) is False and lane.pending == 1
    assert "1 event(s) still building evidence" in caplog.text
    gate.set()
    assert lane.wait_idle(WAIT_S)
    pool.shutdown()


@pytest.mark.parametrize("threads, max_queued", [(0, 1), (1, 0)])
def test_a_pool_needs_a_thread_and_room(threads, max_queued) -> None:
    with pytest.raises(ValueError):
        EvidencePool(threads, max_queued=max_queued)


def test_health_reports_the_shared_pool_once_and_each_cameras_pending_events() -> None:
    from types import SimpleNamespace

    from streams.runtime import evidence_stats

    pool = EvidencePool(threads=2)
    gate = threading.Event()
    cameras = [SimpleNamespace(evidence_lane=EvidenceLane(pool, name)) for name in ("cam-1", "cam-2")]
    cameras[0].evidence_lane.submit(job([], "slow", gate))
    report = evidence_stats(cameras)
    assert report["evidence_threads"] == 2 and report["evidence_jobs"] == 1
    assert report["pending"] == {"cam-1": 1, "cam-2": 0}
    gate.set()
    assert cameras[0].evidence_lane.wait_idle(WAIT_S)
    assert evidence_stats(cameras)["pending"] == {"cam-1": 0, "cam-2": 0}
    assert evidence_stats([SimpleNamespace(evidence_lane=EvidenceLane(None, "cam-3"))]) is None, "inline: no pool"
    pool.shutdown()


def test_orders_never_wait_behind_a_follow_up_which_runs_on_a_niced_thread_of_its_own() -> None:
    from streams.thread_priority import current_thread_nice

    pool = EvidencePool(threads=1, follow_up_nice=7)
    delivered, gate, nice = [], threading.Event(), []
    cam_a, cam_b = EvidenceLane(pool, "cam-a"), EvidenceLane(pool, "cam-b")

    def clip():
        nice.append(current_thread_nice())
        assert gate.wait(WAIT_S), "the test never opened the gate"
        return lambda: delivered.append("a's clip")

    cam_a.submit_follow_up(clip)
    assert until(lambda: nice), "the clip is being made"
    cam_b.submit(job(delivered, "b's order"))
    cam_a.submit(job(delivered, "a's next order"))
    assert until(lambda: len(delivered) == 2), "orders go while the one evidence thread's clip is still encoding"
    gate.set()
    assert cam_a.wait_idle(WAIT_S) and delivered[-1] == "a's clip"
    base = current_thread_nice()
    if base is not None:  # Linux: the follow-up thread's own nice value
        assert nice[0] == min(19, base + 7)
    assert pool.stats()["evidence_follow_ups"] == 1
    pool.shutdown()


def test_a_follow_up_is_delivered_after_its_order_and_holds_back_no_later_order() -> None:
    pool = EvidencePool(threads=2)
    delivered, order_gate, clip_gate = [], threading.Event(), threading.Event()
    lane = EvidenceLane(pool, "cam-1")
    lane.submit(job(delivered, "order", order_gate))
    lane.submit_follow_up(job(delivered, "its clip"))  # built at once on the second thread
    assert until(lambda: pool.queued == 1), "the clip is built"
    assert delivered == [], "the clip waits for its order"
    order_gate.set()
    assert until(lambda: delivered == ["order", "its clip"])
    lane.submit_follow_up(job(delivered, "slow clip", clip_gate))
    lane.submit(job(delivered, "the next event's order"))
    assert until(lambda: "the next event's order" in delivered), "a later order does not wait for a clip"
    assert lane.pending == 1 and not lane.wait_idle(0.05), "the clip still counts as pending"
    clip_gate.set()
    assert lane.wait_idle(WAIT_S) and delivered[-1] == "slow clip"
    pool.shutdown()


def test_without_a_pool_a_follow_up_is_made_and_delivered_inline() -> None:
    delivered = []
    lane = EvidenceLane(None, "cam-1")
    lane.submit(job(delivered, "order"))
    lane.submit_follow_up(job(delivered, "clip"))
    assert delivered == ["order", "clip"] and lane.pending == 0
