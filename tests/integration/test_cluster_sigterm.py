"""Fault test 5: SIGTERM a cluster worker. Its leases are released at once (not
left to expire), its spool is flushed to the stream before it exits, and the
other worker runs its cameras - none is orphaned."""

from __future__ import annotations

import signal
import time

import pytest

from streams.delivery.outbox import DurableOutbox
from tests.support.api import ApiServer
from tests.support.cluster import camera_config, start_cluster_worker
from tests.support.loadgen import synthetic_order, tiny_jpeg
from tests.support.media import make_test_clip
from tests.support.procs import wait_until
from tests.support.redis_server import RedisServer, requires_redis_server
from tests.support.rtsp import RtspServer, requires_rtsp_server

pytestmark = [pytest.mark.integration, requires_rtsp_server, requires_redis_server, pytest.mark.timeout(240)]

CAMERAS = ["gate-1", "gate-2", "gate-3"]
SEEDED = 300  # written just before the signal: some are still on disk when it arrives


def owners(r) -> dict[str, str | None]:
    return dict(zip(CAMERAS, r.mget([f"gridsight:lease:{c}" for c in CAMERAS])))


def test_sigterm_releases_leases_at_once_flushes_spool_and_orphans_nothing(tmp_path):
    import base64

    clip = make_test_clip(None, seconds=20, fps=15, size=(320, 240))
    with RedisServer(workdir=tmp_path / "redis") as redis_server, \
            RtspServer({f"/{c}": clip for c in CAMERAS}, loop=True) as rtsp:
        r = redis_server.client()
        api = ApiServer(tmp_path / "api", redis_url=redis_server.url).start()
        cameras = {c: camera_config(rtsp.url(f"/{c}")) for c in CAMERAS}
        common = dict(api_url=api.url, redis_url=redis_server.url, cameras=cameras, max_cameras=3)
        # The leaving worker starts alone and takes every camera; the other joins afterwards.
        leaving = start_cluster_worker(tmp_path, "worker-leaving", **common)
        staying = None
        try:
            logs = lambda: "\n".join(f"--- {w.name}\n{w.log_text()[-3000:]}" for w in (leaving, staying) if w)  # noqa: E731
            wait_until(lambda: leaving.worker_id and set(owners(r).values()) == {leaving.worker_id}
                       and len(leaving.analysed()) == 3, 120, "first worker running all cameras", on_timeout=logs)
            staying = start_cluster_worker(tmp_path, "worker-staying", **{**common, "max_cameras": 3})
            wait_until(lambda: staying.worker_id and r.zscore("gridsight:workers", staying.worker_id), 90,
                       "second worker registered", on_timeout=logs)
            # Orders the leaving worker has filed but not yet handed on: spooled while it runs.
            jpeg = base64.b64encode(tiny_jpeg()).decode()
            spool = DurableOutbox(leaving.spool_dir)
            keys = []
            for seq in range(SEEDED):
                key, payload = synthetic_order("sigterm", seq, jpeg)
                spool.put(key, payload)
                keys.append(key)

            held_before = {c: o for c, o in owners(r).items() if o == leaving.worker_id}
            in_spool = leaving.pending_spool()
            sent_at = time.monotonic()
            leaving.proc.send_signal(signal.SIGTERM)
            print(f"injected: SIGTERM to {leaving.worker_id} holding {sorted(held_before)}, "
                  f"{in_spool} of {SEEDED} seeded orders still in its spool")
            released = wait_until(lambda: all(o != leaving.worker_id for o in owners(r).values())
                                  and time.monotonic() - sent_at, 10, "leases released", poll_s=0.05, on_timeout=logs)
            taken: dict[str, float] = {}

            def all_running_on_staying():
                analysed = staying.analysed()
                for c in CAMERAS:
                    if c not in taken and owners(r)[c] == staying.worker_id and analysed.get(c, 0) > 0:
                        taken[c] = time.monotonic() - sent_at
                return len(taken) == len(CAMERAS)

            wait_until(all_running_on_staying, 30, "every camera running on the remaining worker", on_timeout=logs)
            code = leaving.proc.wait(30)
            exited = time.monotonic() - sent_at
            print(f"checked: leases released after {released:.2f}s (lease ttl 8 s), exit code {code} after {exited:.1f}s")
            assert released < 5.0, "released at shutdown, not left to expire"
            assert code == 0
            assert r.zscore("gridsight:workers", leaving.worker_id) is None, "left the worker set"
            assert leaving.pending_spool() == 0, "spool flushed before exit"
            assert "released 3 lease(s) and left the cluster" in leaving.log_text()

            stored = wait_until(lambda: (set(keys) <= set(api.stored_keys())) and api.stored_keys(), 30,
                                "spooled orders stored", on_timeout=lambda: api.proc.log_text()[-3000:])
            time.sleep(1)
            stored = api.stored_keys()
            print(f"checked: cameras analysed on {staying.worker_id} after "
                  + ", ".join(f"{c} {t:.1f}s" for c, t in sorted(taken.items()))
                  + f"; {SEEDED} spooled orders -> {sum(1 for k in stored if k in keys)} stored, "
                  f"{len(stored) - len(set(stored))} duplicate(s)")
            assert max(taken.values()) < 8.0, "taken over well before the lease TTL would have expired"
            assert sorted(k for k in stored if k in keys) == sorted(keys) and len(stored) == len(set(stored))
            assert staying.alive
        finally:
            for w in (leaving, staying):
                if w is not None:
                    w.stop(signal.SIGTERM, timeout_s=20)
            api.stop()
