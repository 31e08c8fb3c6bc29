"""Cluster mode against a real (private, loopback) redis-server: lease scripts,
the spool -> XADD publisher, and the API's consumer-group ingest."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.main import create_app
from api.db.models import WorkOrder
from streams.backoff import Backoff
from streams.delivery.bus import RedisPublisher, encode_message, make_redis
from streams.cluster.store import ClusterStore
from tests.support.loadgen import synthetic_order
from streams.delivery.outbox import DurableOutbox, OutboxPusher
from tests.support.redis_server import RedisServer, requires_redis_server
from tests.support.orders import JPEG, make_settings

pytestmark = requires_redis_server
JPEG_B64 = base64.b64encode(JPEG).decode()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    with RedisServer(workdir=tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def r(redis_server):
    client = redis_server.client()
    client.flushall()
    return client


def test_lease_scripts_are_exclusive_and_renew_only_their_own(r):
    store = ClusterStore(r, "t", lease_ttl_s=2.0)
    assert store.acquire("w1", ["c1", "c2"]) == ["c1", "c2"]
    assert store.acquire("w2", ["c1", "c3"]) == ["c3"], "SET NX: one owner per camera"
    assert store.owners(["c1", "c2", "c3", "c4"]) == {"c1": "w1", "c2": "w1", "c3": "w2", "c4": None}
    assert store.renew("w1", ["c1", "c3"]) == {"c1": 1, "c3": 0}
    r.delete("t:lease:c2")  # expired while w1 could not renew
    assert store.renew("w1", ["c2"]) == {"c2": 2}, "a free lease is taken again"
    assert store.release("w2", ["c1", "c3"]) == 1, "release deletes only leases the caller holds"
    assert store.owners(["c1", "c3"]) == {"c1": "w1", "c3": None}
    ttl = r.pttl("t:lease:c1")
    assert 0 < ttl <= 2000


def test_heartbeat_lists_live_workers_and_forgets_dead_ones(r):
    store = ClusterStore(r, "t", lease_ttl_s=1.0)
    live = store.heartbeat("w1", {"capacity": 3})
    assert live == {"w1": {"capacity": 3}}
    assert set(store.heartbeat("w2", {"capacity": 5})) == {"w1", "w2"}
    time.sleep(1.1)
    assert store.heartbeat("w2", {"capacity": 5}) == {"w2": {"capacity": 5}}
    assert r.hkeys("t:workers:info") == ["w2"]
    store.leave("w2")
    assert r.zcard("t:workers") == 0


def test_camera_config_versions(r):
    store = ClusterStore(r, "t", lease_ttl_s=1.0)
    assert store.config_version() is None
    v1 = store.put_cameras({"cam-a": {"url": "rtsp://x/a"}})
    v2 = store.delete_cameras(["cam-a"])
    assert v2 == v1 + 1 and store.cameras() == {}


def test_outbox_publishes_in_order_and_keeps_records_while_redis_is_away(tmp_path, redis_server):
    outbox = DurableOutbox(tmp_path / "spool")
    client = make_redis(redis_server.url, socket_timeout_s=0.5)
    client.flushall()
    down = make_redis("redis://127.0.0.1:1/0", socket_timeout_s=0.2)  # nothing listens on port 1
    for i in range(5):
        outbox.put(f"key-{i:04d}", {"n": i})
    pusher = OutboxPusher(outbox, RedisPublisher(down, "s", "w"), Backoff(0.01, 0.02, 2, 0, None))
    assert pusher.drain_once() > 0 and outbox.pending_count() == 5, "nothing is lost while Redis is unreachable"
    pusher = OutboxPusher(outbox, RedisPublisher(client, "s", "w"), Backoff(0.01, 0.02, 2, 0, None))
    pusher.drain_once()
    assert outbox.pending_count() == 0
    entries = client.xrange("s")
    assert [e[1]["key"] for e in entries] == [f"key-{i:04d}" for i in range(5)], "drained in order"
    assert {e[1]["kind"] for e in entries} == {"work_order"} and json.loads(entries[3][1]["payload"]) == {"n": 3}


def count_orders(app) -> int:
    with Session(app.state.engine) as session:
        return session.scalar(select(func.count()).select_from(WorkOrder)) or 0


def wait_for(predicate, timeout_s: float = 15.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.mark.slow  # waits out the ingest's claim-idle time: ~4 s
def test_ingest_stores_each_key_once_claims_dead_consumers_and_dead_letters_bad_messages(tmp_path: Path, redis_server):
    r = redis_server.client()
    r.flushall()
    stream, group = "gs:orders", "gridsight-api"
    # A consumer that died holding two messages: read but never acked.
    r.xgroup_create(stream, group, id="0", mkstream=True)
    for seq in (0, 1):
        key, payload = synthetic_order("unit", seq, JPEG_B64)
        r.xadd(stream, encode_message("work_order", key, payload, "w"))
    assert len(r.xreadgroup(group, "dead-consumer", {stream: ">"}, count=10)[0][1]) == 2
    time.sleep(1.1)
    sent = {}
    for seq in range(2, 6):
        key, payload = sent[seq] = synthetic_order("unit", seq, JPEG_B64)
        r.xadd(stream, encode_message("work_order", key, payload, "w"))
    key, payload = sent[3]
    r.xadd(stream, encode_message("work_order", key, payload, "w"))  # published twice (lost XADD reply)
    r.xadd(stream, {"v": "1", "kind": "work_order", "key": "broken-0001", "payload": "{not json"})
    r.xadd(stream, encode_message("work_order", "unit-badschema", {"camera_id": "x"}, "w"))
    r.xadd(stream, encode_message("no_such_kind", "unit-kind-0001", {}, "w"))
    other = dict(sent[4][1], confidence=0.1)
    r.xadd(stream, encode_message("work_order", "unit-00000004", other, "w"))  # key reuse, other payload

    app = create_app(make_settings(tmp_path, redis_url=redis_server.url, redis_stream=stream, redis_group=group,
                                   ingest_claim_idle_s=1, ingest_block_ms=100))
    with TestClient(app) as client:
        wait_for(lambda: count_orders(app) == 6 and r.xlen(f"{stream}:dead") == 4)
        wait_for(lambda: int(r.xinfo_groups(stream)[0]["pending"]) == 0)
        time.sleep(0.3)
        assert count_orders(app) == 6, "six keys, six orders: the duplicate was replayed"
        reasons = sorted(e[1]["dead_reason"].split(":")[0].split(" (")[0] for e in r.xrange(f"{stream}:dead"))
        assert reasons == ["idempotency key reused for a different payload", "invalid work order",
                           "payload is not JSON", "unknown message kind 'no_such_kind'"], reasons
        assert r.xlen(stream) == 0, "acked entries are deleted"
        metrics = client.get("/metrics").text
        assert 'gridsight_api_work_orders_total{result="created",source="stream"} 6.0' in metrics
        assert 'gridsight_api_work_orders_total{result="replayed",source="stream"} 1.0' in metrics
        assert "gridsight_api_ingest_claimed_total 2.0" in metrics
        assert "gridsight_api_ingest_latency_seconds_count 7.0" in metrics
        wait_for(lambda: client.get("/health").json()["components"]["ingest"]["lag"] == 0)  # refreshed every 2 s
        health = client.get("/health").json()
        assert health["status"] == "ok" and health["components"]["ingest"]["pending"] == 0, health


def test_health_reports_redis_down_as_degraded_not_down(tmp_path: Path):
    app = create_app(make_settings(tmp_path, redis_url="redis://127.0.0.1:1/0", ingest_block_ms=100))
    with TestClient(app) as client:
        wait_for(lambda: app.state.ingest.status.redis_ok is False)
        response = client.get("/health")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "degraded" and body["database"] == "ok"
        assert body["components"]["redis"]["status"] == "degraded" and "redis" in body["detail"]


def test_cluster_cli_push_status_remove(tmp_path, redis_server, capsys):
    import yaml

    from gridsight.cli import main

    r = redis_server.client()
    r.flushall()
    demo = yaml.safe_load((Path(__file__).resolve().parents[2] / "configs" / "demo.yaml").read_text())
    camera = demo["cameras"]["street-01"]
    camera["rules"] = {k: {**v, "labels": ["litter"]} for k, v in camera["rules"].items()}
    config = {
        "models": {"coco": {"manifest": str(Path(__file__).resolve().parents[2] / "weights" / "coco-yolo11n.yaml")}},
        "cameras": {"cam-a": {**camera, "model": "coco"}, "cam-b": {**camera, "model": "coco"}},
    }
    path = tmp_path / "cameras.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["cluster", "push", "--config", str(path), "--redis-url", redis_server.url]) == 0
    assert sorted(r.hkeys("gridsight:cameras")) == ["cam-a", "cam-b"] and r.get("gridsight:config-version") == "1"
    stored = json.loads(r.hget("gridsight:cameras", "cam-a"))
    assert stored["zones"]["west-kerb"]["polygon"][0] == [0.05, 0.7]
    r.set("gridsight:lease:cam-a", "w-1")
    capsys.readouterr()
    assert main(["cluster", "status", "--json", "--redis-url", redis_server.url]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["leases"]["cam-a"]["worker"] == "w-1" and report["redis_cameras"] == ["cam-a", "cam-b"]
    assert main(["cluster", "remove", "cam-b", "cam-x", "--redis-url", redis_server.url]) == 0
    assert r.hkeys("gridsight:cameras") == ["cam-a"] and r.get("gridsight:config-version") == "2"
    bad = dict(config, cameras={"cam-c": {**camera, "model": "coco", "analysis_fps": 0}})
    path.write_text(yaml.safe_dump(bad))
    assert main(["cluster", "push", "--config", str(path), "--redis-url", redis_server.url]) == 2, "validated first"
    assert r.get("gridsight:config-version") == "2"
