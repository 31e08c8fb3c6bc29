"""Filing work orders, event ends and evidence follow-ups: the one path both transports take.

The HTTP routes (``POST /work-orders``, ``POST /events/end``, ``POST /events/evidence``) and the Redis ingest
(:mod:`api.ingest`) hand the same body and key to :class:`FilingService`. It resolves the
idempotency key (:func:`idempotency_key`, the only validator of one), decodes the
evidence, files the order (:func:`api.crud.work_orders.create_work_order`) and says what
happened as an :class:`Outcome`, which it counts in ``gridsight_api_work_orders``. A
refusal is a :class:`FilingRefused` with its outcome, HTTP status and a one-line reason:
the route answers it, the ingest dead-letters it.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from api.contract.wire import (EVENT_END_VERSION, EVIDENCE_FOLLOW_UP_VERSION, WORK_ORDER_VERSION, ContractError,
                               version_of)
from api.crud import handling
from api.crud import work_orders as crud
from api.evidence import DecodedEvidence, EvidenceError, EvidenceStore, decode_evidence
from api.metrics import ApiMetrics
from api.schemas import EvidenceIn, WorkOrderCreate
from api.schemas_workflow import EventEndIn, EventEndResult, EvidenceFollowUpIn, EvidenceFollowUpResult
from api.settings import Settings

ORDER_ROUTE = "/api/v1/work-orders"
_KEY = re.compile(r"^[!-~]{8,128}$")  # visible ASCII, no spaces: a header value must survive proxies intact


class Outcome(str, enum.Enum):
    """What became of one work-order submission (the ``result`` label of the metric)."""

    CREATED = "created"
    MERGED = "merged"  # into an open order for the same problem
    REPLAYED = "replayed"  # a retry of a key already stored: nothing changed
    CONFLICT = "conflict"  # the key was used for another payload
    REJECTED = "rejected"  # the body, key or evidence does not pass


class FilingRefused(Exception):
    """The submission cannot be filed; ``message`` is one line, never a value of the body."""

    def __init__(self, outcome: Outcome, status_code: int, message: str) -> None:
        super().__init__(message)
        self.outcome, self.status_code, self.message = outcome, status_code, message


@dataclass(frozen=True)
class Filed:
    outcome: Outcome
    result: crud.CreateResult


def idempotency_key(given: str | None, in_body: str | None, *, given_as: str = "the Idempotency-Key header") -> str:
    """The request's one idempotency key: sent beside the body (``given``: the header, the bus
    message's key) or inside it (``idempotency_key``), or both with the same value."""
    given = given or None
    if given is None and in_body is None:
        raise FilingRefused(Outcome.REJECTED, 422, f"an idempotency key is required: send {given_as} "
                                                   "or the idempotency_key field")
    if given is not None and in_body is not None and given != in_body:
        raise FilingRefused(Outcome.REJECTED, 422, f"{given_as} and the idempotency_key field differ; send one, "
                                                   "or the same value in both")
    key = given if given is not None else in_body
    assert key is not None
    if not _KEY.match(key):
        raise FilingRefused(Outcome.REJECTED, 422, "the idempotency key must be 8-128 visible ASCII characters")
    return key


Body = TypeVar("Body", bound=BaseModel)


def _read(model: type[Body], payload: Mapping, shape: str, newest: int) -> Body:
    """A received JSON object as ``model``, its contract version checked first (one clear line)."""
    try:
        version_of(payload, shape, newest)
        return model.model_validate(payload)
    except ContractError as exc:
        raise FilingRefused(Outcome.REJECTED, 422, str(exc)) from None
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise FilingRefused(Outcome.REJECTED, 422, f"invalid {shape}: {exc.error_count()} error(s): "
                                                   f"{where + ': ' if where else ''}{first['msg']}") from None


def read_work_order(payload: Mapping) -> WorkOrderCreate:
    return _read(WorkOrderCreate, payload, "work order", WORK_ORDER_VERSION)


def read_event_end(payload: Mapping) -> EventEndIn:
    return _read(EventEndIn, payload, "event end", EVENT_END_VERSION)


def read_evidence_follow_up(payload: Mapping) -> EvidenceFollowUpIn:
    return _read(EvidenceFollowUpIn, payload, "evidence follow-up", EVIDENCE_FOLLOW_UP_VERSION)


class FilingService:
    def __init__(self, store: EvidenceStore, settings: Settings, clock: Callable[[], dt.datetime],
                 metrics: ApiMetrics | None = None) -> None:
        self.store, self.settings, self.clock, self.metrics = store, settings, clock, metrics

    def count(self, source: str, outcome: Outcome) -> None:
        """One submission by ``source`` ('http' or 'stream') in the work-order metric."""
        if self.metrics is not None:
            self.metrics.orders.labels(source, outcome.value).inc()

    def _evidence(self, items: list[EvidenceIn]) -> list[DecodedEvidence]:
        try:
            return decode_evidence(items, self.settings.max_evidence_bytes, self.settings.max_image_pixels)
        except EvidenceError as exc:
            raise FilingRefused(Outcome.REJECTED, exc.status_code, str(exc)) from None

    def file_work_order(self, session: Session, body: WorkOrderCreate, given_key: str | None, *, source: str,
                        given_as: str = "the Idempotency-Key header") -> Filed:
        """File ``body``; counted under ``source`` whatever the outcome."""
        try:
            filed = self._file(session, body, given_key, given_as)
        except FilingRefused as refused:
            self.count(source, refused.outcome)
            raise
        self.count(source, filed.outcome)
        return filed

    def file_payload(self, session: Session, payload: Mapping, given_key: str | None, *, source: str,
                     given_as: str) -> Filed:
        """A work order as received JSON (a bus message): read by its contract version, then filed."""
        try:
            body = read_work_order(payload)
        except FilingRefused as refused:
            self.count(source, refused.outcome)
            raise
        return self.file_work_order(session, body, given_key, source=source, given_as=given_as)

    def _file(self, session: Session, body: WorkOrderCreate, given_key: str | None, given_as: str) -> Filed:
        key = idempotency_key(given_key, body.idempotency_key, given_as=given_as)
        evidence = self._evidence(body.evidence)
        try:
            result = crud.create_work_order(session, self.store, self.settings, body, key, evidence, now=self.clock())
        except crud.IdempotencyConflict as exc:
            raise FilingRefused(Outcome.CONFLICT, 409, "idempotency key reused for a different payload "
                                f"(work order {exc.order.order_no}); use a new key for a new event") from None
        if result.created:
            return Filed(Outcome.CREATED, result)
        return Filed(Outcome.MERGED if result.merged and not result.replayed else Outcome.REPLAYED, result)

    def end_event(self, session: Session, body: EventEndIn, given_key: str | None, *,
                  given_as: str = "the Idempotency-Key header") -> EventEndResult:
        key = idempotency_key(given_key, body.idempotency_key, given_as=given_as)
        evidence = self._evidence(body.evidence)
        with _event_key_conflict():
            return handling.event_end(session, self.store, self.settings, body, key, evidence, self.clock())

    def add_follow_up(self, session: Session, body: EvidenceFollowUpIn, given_key: str | None, *,
                      given_as: str = "the Idempotency-Key header") -> EvidenceFollowUpResult:
        """Attach an evidence follow-up's files to the order filed for its event (any state)."""
        key = idempotency_key(given_key, body.idempotency_key, given_as=given_as)
        evidence = self._evidence(body.evidence)
        with _event_key_conflict():
            return handling.evidence_follow_up(session, self.store, body, key, evidence, self.clock())


@contextmanager
def _event_key_conflict() -> Iterator[None]:
    try:
        yield
    except handling.EventKeyConflict:
        raise FilingRefused(Outcome.CONFLICT, 409, "idempotency key already used for a different message; "
                                                   "use a new key") from None


def count_refused_before_filing(app, method: str, path: str) -> None:  # noqa: ANN001 (a FastAPI/Starlette app)
    """A work-order POST refused before it reached the service (its body does not parse, it is
    too large): still a rejected submission."""
    if method == "POST" and (path.rstrip("/") or "/") == ORDER_ROUTE:
        filing = getattr(app.state, "filing", None)
        if filing is not None:
            filing.count("http", Outcome.REJECTED)
