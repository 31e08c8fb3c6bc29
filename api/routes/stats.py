"""JSON statistics for dashboards and charts: a summary, counts per period,
and the baseline warnings (a unit's count against its own trailing mean)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from api.crud import stats
from api.crud.work_orders import overdue_clause
from api.deps import ClockDep, ReaderDep, SessionDep, SettingsDep
from api.schemas import InputDatetime
from api.schemas_workflow import BaselineReport, BaselineUnit, CountBucket, Period, SummaryStats, TimeSeries

router = APIRouter(prefix="/stats", tags=["stats"])
SCOPE = " Operators get only their grid cells. Role: operator+."


def baseline_query(settings, reader, unit: BaselineUnit, period: Period, history: int, at) -> stats.BaselineQuery:
    """A baseline over the reader's grid cells with the site's warning and alert ratios (stats and the map)."""
    return stats.BaselineQuery(unit=unit, period=period, history=history, at=at,
                               warn_ratio=settings.baseline_warn_ratio, alert_ratio=settings.baseline_alert_ratio,
                               grids=reader.grids)


@contextmanager
def date_range_checked():
    """A baseline whose ``at`` and history reach past the calendar's dates is a one-line 422."""
    try:
        yield
    except (OverflowError, ValueError):
        raise HTTPException(422, "'at' with this history reaches outside the supported date range") from None


@router.get("/summary", response_model=SummaryStats, summary="Order counts by status, category and priority",
            description="Also how many are overdue and open." + SCOPE)
def get_summary(session: SessionDep, reader: ReaderDep, clock: ClockDep) -> SummaryStats:
    return SummaryStats(**stats.summary(session, reader.grids, overdue_clause(clock())))


@router.get(
    "/baselines",
    response_model=BaselineReport,
    summary="Baseline warnings: this period's count per unit against its trailing mean",
    description=(
        "For each zone (`camera/zone`), grid cell or category: orders in the period containing `at` (local "
        "calendar) against the mean of the previous `history` periods (or of the periods since the unit's first "
        "order, if fewer). `warning` when count >= mean x GRIDSIGHT_BASELINE_WARN_RATIO (near the mean), "
        "`alert` when count > mean x GRIDSIGHT_BASELINE_ALERT_RATIO (above it). The seeds' rule is "
        "`period=month&history=36`." + SCOPE
    ),
)
def get_baselines(
    session: SessionDep,
    reader: ReaderDep,
    settings: SettingsDep,
    clock: ClockDep,
    unit: BaselineUnit = BaselineUnit.ZONE,
    period: Period = Period.MONTH,
    history: Annotated[int, Query(ge=1, le=400, description="Past periods in the mean")] = 36,
    at: Annotated[InputDatetime | None, Query(description="Default: now")] = None,
) -> BaselineReport:
    when = at or clock()
    with date_range_checked():
        start, items = stats.baselines(session, stats.Calendar(settings.site_zone),
                                       baseline_query(settings, reader, unit, period, history, when))
    return BaselineReport(unit=unit, period=period, history=history, period_start=start, at=when,
                          warn_ratio=settings.baseline_warn_ratio, alert_ratio=settings.baseline_alert_ratio,
                          items=items)


@router.get("/timeseries", response_model=TimeSeries, summary="Order counts per day, week or month (for charts)",
            description="The last `buckets` periods up to the one containing `at`, oldest first; optionally one "
            "unit (`unit` + `key`)." + SCOPE)
def get_timeseries(
    session: SessionDep,
    reader: ReaderDep,
    settings: SettingsDep,
    clock: ClockDep,
    period: Period = Period.DAY,
    buckets: Annotated[int, Query(ge=1, le=400)] = 30,
    unit: BaselineUnit | None = None,
    key: Annotated[str | None, Query(max_length=130)] = None,
    at: Annotated[InputDatetime | None, Query(description="Default: now")] = None,
) -> TimeSeries:
    if (unit is None) != (key is None):
        raise HTTPException(422, "give both 'unit' and 'key', or neither")
    try:
        series = stats.timeseries(session, stats.Calendar(settings.site_zone), period, buckets,
                                  at or clock(), unit, key, reader.grids)
    except (OverflowError, ValueError):
        raise HTTPException(422, "'at' with this many buckets reaches outside the supported date range") from None
    return TimeSeries(period=period, unit=unit, key=key,
                      buckets=[CountBucket(start=s, count=c) for s, c in series])
