"""Cluster mode: many workers share the cameras through Redis.

:func:`build_cluster_worker` wires a worker whose orders go to the Redis Stream
(:class:`streams.delivery.bus.RedisPublisher`) and whose cameras are leased
(:class:`streams.cluster.leased.LeasedCameras`: what a tick does, what happens
on SIGTERM, kill -9 or a Redis outage). The keys are
:mod:`streams.cluster.store`'s; who should run which camera,
:mod:`streams.cluster.assignment`.
"""

from __future__ import annotations

import uuid

import redis

from streams.cluster.catalog import CameraCatalog
from streams.cluster.leased import LeasedCameras, RedisLink
from streams.cluster.slots import Slots
from streams.cluster.store import ClusterStore
from streams.config import GridSightConfig
from streams.delivery.api_client import ApiClient
from streams.delivery.bus import RedisPublisher, make_redis
from streams.delivery.status import StatusReporter
from streams.metrics import WorkerMetrics
from streams.pipeline_factory import PipelineFactory, load_detectors
from streams.runtime import REDIS, Worker, build_runtime, dashboard_services, model_sync_service, worker_metrics
from streams.sync.zones import ZoneSync


def build_cluster_worker(config: GridSightConfig) -> Worker:
    rc = config.redis
    assert rc is not None
    metrics = worker_metrics(config)
    client = make_redis(rc.url, socket_timeout_s=rc.socket_timeout_s)
    # Pub/sub blocks on reads: its own client, without the command timeout.
    pubsub_client = redis.Redis.from_url(rc.url, decode_responses=True, socket_connect_timeout=rc.socket_timeout_s)
    store = ClusterStore(client, rc.key_prefix, rc.lease_ttl_s)
    api = ApiClient(config.api.url, token=config.api.token, timeout_s=config.api.timeout_s)
    reporter = StatusReporter(api)
    worker_id = f"{config.worker.name}-{uuid.uuid4().hex[:8]}"
    publisher = RedisPublisher(client, rc.stream, worker_id, observe=_publish_metrics(metrics))
    link = RedisLink(metrics)
    runtime = build_runtime(config, publisher, reporter, transport=REDIS, metrics=metrics, sender_down=link.down)
    factory = PipelineFactory(config, load_detectors(config, set(config.models)), reporter, runtime.submit_order,
                              metrics, submit_event_end=runtime.submit_event_end,
                              submit_evidence_follow_up=runtime.submit_evidence_follow_up, actions=runtime.actions)
    slots = Slots(factory, reporter, worker_id)
    # Dashboard support, as in embedded mode, for whichever cameras this worker holds at the moment.
    services = [*dashboard_services(config, api, slots.pipelines),
                *model_sync_service(config, slots.pipelines, factory.detectors, metrics),
                *([factory.harvest] if factory.harvest is not None else [])]  # stopped after the cameras: a last flush
    zone_sync = next((s for s in services if isinstance(s, ZoneSync)), None)
    cameras = LeasedCameras(config, store, slots, CameraCatalog(config, store), link, metrics=metrics,
                            zone_sync=zone_sync, pubsub_client=pubsub_client)
    return Worker(runtime, cameras, services=services, stats_interval_s=config.worker.stats_interval_s)


def _publish_metrics(metrics: WorkerMetrics | None):
    def observe(seconds: float, ok: bool) -> None:
        if metrics is not None:
            metrics.publish_seconds.labels("redis").observe(seconds)
            if not ok:
                metrics.publish_failures.labels("redis").inc()

    return observe
