"""Prometheus metrics of the API: ``GET /metrics``.

Each app has its own registry (tests build several apps in one process).
Requests are counted and timed by a plain ASGI middleware (it never buffers
a response, so the SSE feed streams through untouched). Work-order submissions,
over HTTP or the Redis Stream, are counted by the outcome the filing service
returns (created, merged, replayed, conflict, rejected). Metric names start
with ``gridsight_api_``.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "gridsight_api_http_requests", "HTTP requests by route template and status", ["method", "route", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "gridsight_api_http_request_seconds", "HTTP request duration", ["method", "route"], registry=r,
        )
        self.orders = Counter(
            "gridsight_api_work_orders",
            "Work-order submissions by transport (http, stream) and outcome "
            "(created, merged into an open order, replayed duplicate, conflict, rejected)",
            ["source", "result"], registry=r,
        )
        self.ingest_messages = Counter(
            "gridsight_api_ingest_messages", "Stream messages handled by kind and result (acked, dead_letter, retry)",
            ["kind", "result"], registry=r,
        )
        self.ingest_latency = Histogram(
            "gridsight_api_ingest_latency_seconds", "From the worker's XADD to the committed order",
            buckets=LATENCY_BUCKETS, registry=r,
        )
        self.ingest_claimed = Counter(
            "gridsight_api_ingest_claimed", "Pending messages claimed from a dead or stuck consumer (XAUTOCLAIM)",
            registry=r,
        )
        self.ingest_lag = Gauge(
            "gridsight_api_ingest_lag", "Stream entries not yet delivered to the consumer group", registry=r
        )
        self.ingest_pending = Gauge(
            "gridsight_api_ingest_pending", "Entries delivered but not yet acknowledged", registry=r
        )
        self.redis_up = Gauge("gridsight_api_redis_up", "1 when the ingest's last Redis call succeeded", registry=r)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def route_template(scope) -> str:
    """The matched route's template with its router prefix ("/api/v1/work-orders/{order_id}"),
    so ids never become label values; "unmatched" for 404s."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not template:
        return "unmatched"
    path = scope.get("path", "")
    try:
        rendered = template.format(**scope.get("path_params", {}))
    except (KeyError, IndexError, ValueError):
        return template
    # Included routers may report their routes without the prefix: take it from the path.
    if path.endswith(rendered) and len(path) > len(rendered):
        return path[: len(path) - len(rendered)] + template
    return template


class MetricsMiddleware:
    """Counts and times every request. (Work-order submissions are counted by their outcome
    where it is decided: :class:`api.services.filing.FilingService`.)"""

    def __init__(self, app, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        seen: dict = {"status": 500}

        async def capture(message):
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            template = route_template(scope)
            method = scope.get("method", "")
            self.metrics.requests.labels(method, template, str(seen["status"])).inc()
            if template != "/api/v1/events/stream":  # a live feed lasts as long as the client stays
                self.metrics.request_seconds.labels(method, template).observe(time.perf_counter() - started)


router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"description": "Prometheus text exposition", "content": {CONTENT_TYPE_LATEST: {}}}},
)
def metrics_endpoint(request: Request) -> Response:
    return Response(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


def install(app: FastAPI) -> ApiMetrics:
    metrics = ApiMetrics()
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.include_router(router)
    return metrics
