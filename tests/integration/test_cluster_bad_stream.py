"""Fault test 4: cameras that send garbage bytes or a truncated stream are
marked error with a reason, and the other cameras on the same worker keep
being analysed. Then: config changes reach that running worker through Redis
without a restart (a new camera, an edited zone).

One cluster worker serves both tests (module fixture) to save a model load."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import pytest
import yaml

from tests.support.api import ApiServer
from tests.support.bad_rtsp import BadRtspServer
from tests.support.cluster import camera_config, start_cluster_worker
from tests.support.media import make_test_clip
from tests.support.procs import wait_until
from tests.support.redis_server import RedisServer, requires_redis_server
from tests.support.rtsp import RtspServer, requires_rtsp_server

pytestmark = [pytest.mark.integration, requires_rtsp_server, requires_redis_server, pytest.mark.timeout(240)]

GOOD = ["good-1", "good-2"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    base = tmp_path_factory.mktemp("cluster-bad")
    clip = make_test_clip(None, seconds=20, fps=15, size=(320, 240))
    with RedisServer(workdir=base / "redis") as redis_server, \
            RtspServer({"/good-1": clip, "/good-2": clip, "/good-3": clip}, loop=True) as rtsp, \
            BadRtspServer("garbage") as garbage, BadRtspServer("truncated") as truncated:
        api = ApiServer(base / "api", redis_url=redis_server.url).start()
        cameras = {c: camera_config(rtsp.url(f"/{c}")) for c in GOOD}
        cameras["garbage"] = camera_config(garbage.url())
        cameras["truncated"] = camera_config(truncated.url())
        worker = start_cluster_worker(base, "worker-1", api_url=api.url, redis_url=redis_server.url, cameras=cameras,
                                      max_cameras=8)
        try:
            yield {"api": api, "worker": worker, "redis": redis_server, "rtsp": rtsp, "base": base,
                   "bad": {"garbage": garbage, "truncated": truncated}}
        finally:
            worker.stop(signal.SIGTERM, timeout_s=20)
            api.stop()


def test_garbage_and_truncated_streams_are_errors_and_other_cameras_unaffected(cluster):
    api, worker = cluster["api"], cluster["worker"]
    wait_until(lambda: all(worker.analysed().get(c, 0) > 0 for c in GOOD), 120, "good cameras analysed",
               on_timeout=lambda: worker.log_text()[-3000:])
    for name, server in cluster["bad"].items():
        detail = wait_until(lambda: (d := api.camera(name)) and d["state"] == "error" and d, 60, f"{name} in error",
                            on_timeout=lambda: worker.log_text()[-3000:])
        print(f"injected: camera '{name}' at {server.url()} ({server.mode} server, {server.connections} connection(s)); "
              f"status {detail['state']}: {detail['reason']!r} reported by {detail['details'].get('worker')}")
        assert detail["reason"] and "invalid data" in detail["reason"]
        assert detail["details"].get("worker") == worker.worker_id
    before = worker.analysed()
    time.sleep(6)
    after = worker.analysed()
    health = worker.health()
    print(f"checked: good cameras analysed {before} -> {after}; worker health {health.get('status')}: "
          f"{health.get('degraded')}")
    for c in GOOD:
        assert after[c] > before[c], f"{c} stopped being analysed"
        assert (api.camera(c) or {}).get("state") == "online"
    assert health["status"] == "degraded" and "garbage" in health["degraded"]["cameras"]
    metrics = worker.metrics()
    assert 'gridsight_worker_camera_state{camera="garbage",state="error"} 1.0' in metrics
    assert worker.alive


def test_config_changes_reach_the_running_worker_without_restart(cluster):
    worker, redis_server, rtsp, base = cluster["worker"], cluster["redis"], cluster["rtsp"], cluster["base"]
    pid = worker.proc.pid
    # An edited zone for good-1 and a new camera good-3, pushed the way operators do it.
    edited = camera_config(rtsp.url("/good-1"))
    edited["zones"]["west-kerb"]["polygon"] = [[0.0, 0.6], [0.5, 0.6], [0.5, 1.0], [0.0, 1.0]]
    push = {"models": {"demo": yaml.safe_load((worker.workdir / "worker.yaml").read_text())["models"]["demo"]},
            "cameras": {"good-1": edited, "good-3": camera_config(rtsp.url("/good-3"))}}
    push_file = base / "push.yaml"
    push_file.write_text(yaml.safe_dump(push), encoding="utf-8")
    restarts_before = worker.log_text().count("camera good-1: started on")
    result = subprocess.run(
        [sys.executable, "-m", "gridsight.cli", "cluster", "push", "--config", str(push_file), "--redis-url",
         redis_server.url], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    print(f"injected: {result.stdout.strip()}")
    pushed_at = time.monotonic()
    wait_until(lambda: worker.analysed().get("good-3", 0) > 0, 30, "new camera analysed",
               on_timeout=lambda: worker.log_text()[-3000:])
    new_camera_s = time.monotonic() - pushed_at
    assert "camera good-1: zones/rules reloaded without restarting the stream" in worker.log_text()
    assert worker.log_text().count("camera good-1: started on") == restarts_before, "good-1's stream was not restarted"
    assert worker.proc.pid == pid and worker.alive
    time.sleep(6)  # one zone-sync round (5 s): the API holds no zones, so the pushed polygon must stay
    assert "zone west-kerb updated back to the config file's polygon" not in worker.log_text(), \
        "zone sync must not revert a zone pushed through Redis"
    reloads = re.findall(r'gridsight_worker_config_reloads_total\{kind="(\w+)"\} (\S+)', worker.metrics())
    print(f"checked: new camera analysed {new_camera_s:.1f}s after the push; zone edit reloaded in place; "
          f"reload counters {reloads}; same worker pid {pid}")
