"""Prometheus metrics: the API's /metrics (work orders by outcome, requests) and
the worker's collector and HTTP server."""

from __future__ import annotations

import datetime as dt
import threading

import httpx
from fastapi.testclient import TestClient

from api.main import create_app
from streams.metrics import MetricsServer, WorkerMetrics, pipeline_families
from streams.shedding import FpsGovernor
from tests.support.orders import make_settings, order_body, post_order


def test_api_metrics_count_orders_by_outcome(tmp_path):
    app = create_app(make_settings(tmp_path, merge_window=dt.timedelta(hours=24)))
    with TestClient(app) as client:
        assert post_order(client, order_body(), "key-metrics-0001").status_code == 201
        assert post_order(client, order_body(), "key-metrics-0001").status_code == 200  # replay
        assert post_order(client, order_body(event_id="evt-2"), "key-metrics-0002").status_code == 200  # merged
        assert post_order(client, order_body(confidence=0.1), "key-metrics-0001").status_code == 409
        client.get("/health")
        order_id = client.get("/api/v1/work-orders").json()["items"][0]["id"]
        client.get(f"/api/v1/work-orders/{order_id}")
        text = client.get("/metrics").text
    for result, n in (("created", 1), ("replayed", 1), ("merged", 1), ("conflict", 1)):
        assert f'gridsight_api_work_orders_total{{result="{result}",source="http"}} {n}.0' in text, result
    assert 'gridsight_api_http_requests_total{method="POST",route="/api/v1/work-orders",status="201"} 1.0' in text
    assert 'gridsight_api_http_requests_total{method="GET",route="/health",status="200"} 1.0' in text
    assert 'route="/api/v1/work-orders/{order_id}",status="200"} 1.0' in text, "ids never become label values"


class FakeSource:
    def __init__(self):
        self.state = "online"

    def stats(self):
        return {"frames_decoded": 150, "frames_sampled": 10, "frames_dropped": 3, "policy": "latest", "reconnects": 2,
                "decode_errors": 0, "fps_in": 15.0, "queue_depth": 1, "queue_capacity": 1, "state": self.state}


class FakePipeline:
    camera_id = "cam-7"
    last_captured_at = None
    fps_analysed = 2.5

    def __init__(self):
        self.source = FakeSource()
        self.governor = FpsGovernor(5, 0.5)

    def stats(self):
        return {**self.source.stats(), "frames_analysed": 9, "events_started": 1, "record_captures": 4,
                "record_failures": 1}


def test_worker_metrics_server_serves_metrics_and_health():
    metrics = WorkerMetrics("w")
    pipeline = FakePipeline()
    metrics.add_collector(lambda: pipeline_families([pipeline]))
    metrics.inference_seconds.labels("cam-7").observe(0.04)
    metrics.lease_moves.labels("acquired").inc()
    health = {"status": "ok"}
    server = MetricsServer("127.0.0.1", 0, metrics, lambda: health).start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        text = httpx.get(f"{base}/metrics", timeout=5).text
        for line in (
            'gridsight_worker_frames_analysed_total{camera="cam-7"} 9.0',
            'gridsight_worker_frames_dropped_total{camera="cam-7",policy="latest"} 3.0',
            'gridsight_worker_fps_in{camera="cam-7"} 15.0',
            'gridsight_worker_fps_analysed{camera="cam-7"} 2.5',
            'gridsight_worker_analysis_fps{camera="cam-7"} 5.0',
            'gridsight_worker_queue_depth{camera="cam-7",stage="decode_to_analysis"} 1.0',
            'gridsight_worker_reconnects_total{camera="cam-7"} 2.0',
            'gridsight_worker_camera_state{camera="cam-7",state="online"} 1.0',
            'gridsight_worker_inference_seconds_count{camera="cam-7"} 1.0',
            'gridsight_worker_lease_moves_total{direction="acquired"} 1.0',
            'gridsight_worker_record_captures_total{camera="cam-7"} 4.0',
            'gridsight_worker_record_failures_total{camera="cam-7"} 1.0',
        ):
            assert line in text, line
        assert httpx.get(f"{base}/health", timeout=5).json() == {"status": "ok"}
        health["status"] = "unhealthy"
        assert httpx.get(f"{base}/health", timeout=5).status_code == 503
        assert httpx.get(f"{base}/nope", timeout=5).status_code == 404
    finally:
        server.stop()
    assert not any(t.name == "metrics-http" and t.is_alive() for t in threading.enumerate())
