"""The site's one time zone (issue 17 point 5, docs/time.md): inference.site_time's
conversions, Asia/Shanghai and a zone with daylight saving (Europe/Berlin, which
went to CEST at 02:00 on 29 March 2026 and back at 03:00 on 25 October 2026),
and what the API and the worker config make of the name."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.crud.stats import Calendar, period_start, shift
from api.crud.work_orders import order_number
from api.deadlines import add_working_time
from api.main import create_app
from api.schemas_workflow import Period
from api.settings import SettingsInvalid, load_settings
from inference import site_time
from streams.config import ConfigError, parse_config
from tests.support.orders import make_settings, order_body, post_order

UTC = dt.timezone.utc
SHANGHAI = site_time.site_zone("Asia/Shanghai")
BERLIN = site_time.site_zone("Europe/Berlin")


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


def test_default_zone_is_shanghai_and_stamps_carry_the_offset_of_the_moment() -> None:
    assert site_time.DEFAULT_SITE_TIMEZONE == "Asia/Shanghai" and site_time.site_zone().key == "Asia/Shanghai"
    assert site_time.stamp_text(utc(2026, 12, 2, 0, 52, 1), SHANGHAI) == "2026-12-02 08:52:01 UTC+08:00"
    assert site_time.stamp_text(utc(2026, 12, 2, 0, 52, 1).timestamp(), SHANGHAI) == "2026-12-02 08:52:01 UTC+08:00"
    # The same zone's two offsets either side of the spring change, an hour of UTC apart.
    assert site_time.stamp_text(utc(2026, 3, 29, 0, 59, 59), BERLIN) == "2026-03-29 01:59:59 UTC+01:00"
    assert site_time.stamp_text(utc(2026, 3, 29, 1, 0, 0), BERLIN) == "2026-03-29 03:00:00 UTC+02:00"
    assert site_time.stamp_text(utc(2026, 10, 25, 1, 0, 0), BERLIN) == "2026-10-25 02:00:00 UTC+01:00"
    assert site_time.offset_text(dt.datetime(2026, 1, 1, tzinfo=site_time.site_zone("America/St_Johns"))) == "UTC-03:30"


def test_local_readings_convert_back_per_date_not_by_one_fixed_offset() -> None:
    assert site_time.from_local(dt.datetime(2026, 1, 15, 9, 0), BERLIN) == utc(2026, 1, 15, 8, 0)
    assert site_time.from_local(dt.datetime(2026, 7, 15, 9, 0), BERLIN) == utc(2026, 7, 15, 7, 0)
    assert site_time.from_local(dt.datetime(2026, 7, 15, 9, 0), SHANGHAI) == utc(2026, 7, 15, 1, 0)
    # 02:30 on 25 Oct happens twice: the first (still CEST); 02:30 on 29 Mar never: read as CET, after the gap.
    assert site_time.from_local(dt.datetime(2026, 10, 25, 2, 30), BERLIN) == utc(2026, 10, 25, 0, 30)
    assert site_time.from_local(dt.datetime(2026, 3, 29, 2, 30), BERLIN) == utc(2026, 3, 29, 1, 30)
    assert site_time.local_naive(utc(2026, 7, 15, 7, 0), BERLIN) == dt.datetime(2026, 7, 15, 9, 0)
    naive_utc = dt.datetime(2026, 12, 1, 16, 30)  # as SQLite hands a stored time back
    assert site_time.local_day(naive_utc, SHANGHAI) == dt.date(2026, 12, 2)
    assert site_time.clock_text("2026-12-01T16:30:05Z", SHANGHAI) == "00:30:05"
    assert site_time.clock_text("2026-12-01T16:30:05+00:00", SHANGHAI, date=True) == "2026-12-02 00:30:05"


@pytest.mark.parametrize(("name", "expected"), [
    ("Asia/Shangai", "unknown time zone 'Asia/Shangai' (did you mean 'Asia/Shanghai'?)"),
    ("europe/berlin", "unknown time zone 'europe/berlin' (did you mean 'Europe/Berlin'?)"),
    ("Mars/Olympus", "unknown time zone 'Mars/Olympus' (give an IANA name such as Asia/Shanghai"),
    ("../../etc/passwd", "unknown time zone '../../etc/passwd'"),
    ("", "must be an IANA name such as Asia/Shanghai"),
])
def test_an_unknown_zone_is_one_line_with_a_close_match(name: str, expected: str) -> None:
    with pytest.raises(ValueError) as caught:
        site_time.site_zone(name)
    assert str(caught.value).startswith(expected) and "\n" not in str(caught.value)


def test_every_zone_loads_offline() -> None:
    # The system database (Debian /usr/share/zoneinfo) or the tzdata package: no network either way.
    assert "Europe/Berlin" in site_time.available_timezones() and len(site_time.available_timezones()) > 400


def test_day_buckets_follow_dst_23_and_25_hour_days() -> None:
    calendar = Calendar(BERLIN)
    for day, hours in ((dt.datetime(2026, 3, 29), 23), (dt.datetime(2026, 10, 25), 25), (dt.datetime(2026, 7, 1), 24)):
        start = period_start(day, Period.DAY)
        assert calendar.to_utc(shift(start, Period.DAY, 1)) - calendar.to_utc(start) == dt.timedelta(hours=hours)
    # 00:30 CEST on 30 March is 29 March 22:30 UTC: a fixed +01:00 would put it on the 29th.
    assert period_start(calendar.local(utc(2026, 3, 29, 22, 30)), Period.DAY) == dt.datetime(2026, 3, 30)
    assert Calendar(SHANGHAI).to_utc(dt.datetime(2026, 12, 2)) == utc(2026, 12, 1, 16, 0)


def test_working_hours_deadline_lands_on_the_right_offset_after_the_change(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, site_timezone="Europe/Berlin", working_hours=("09:00", "18:00"))
    # Friday 27 March 17:00 CET plus 2 working hours: 1 h on Friday, 1 h on Monday 30 March, now CEST.
    assert add_working_time(utc(2026, 3, 27, 16, 0), dt.timedelta(hours=2), settings) == utc(2026, 3, 30, 8, 0)
    # Shanghai: Friday 4 Dec 17:00 + 2 h -> Monday 7 Dec 10:00 (02:00 UTC).
    shanghai = make_settings(tmp_path, working_hours=("09:00", "18:00"))
    assert add_working_time(utc(2026, 12, 4, 9, 0), dt.timedelta(hours=2), shanghai) == utc(2026, 12, 7, 2, 0)


def test_working_time_on_the_day_of_the_change_is_counted_in_real_hours(tmp_path: Path) -> None:
    # Sundays 01:00-05:00: on 29 March that is 3 real hours (02:00-03:00 does not exist).
    settings = make_settings(tmp_path, site_timezone="Europe/Berlin", working_hours=("01:00", "05:00"),
                             working_days=[7])
    start = site_time.from_local(dt.datetime(2026, 3, 29, 0, 0), BERLIN)
    due = add_working_time(start, dt.timedelta(hours=3, minutes=30), settings)
    assert due == site_time.from_local(dt.datetime(2026, 4, 5, 1, 30), BERLIN) == utc(2026, 4, 4, 23, 30)


def test_order_numbers_carry_the_site_date(tmp_path: Path) -> None:
    at = utc(2026, 12, 1, 16, 30)  # 00:30 on 2 December in Shanghai, still 1 December in Berlin
    assert order_number(make_settings(tmp_path), 7, at) == "GS-20261202-000007"
    assert order_number(make_settings(tmp_path, site_timezone="Europe/Berlin"), 7, at) == "GS-20261201-000007"


def test_the_api_counts_days_in_the_site_zone(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, site_timezone="Europe/Berlin")
    with TestClient(create_app(settings)) as client:
        for n, at in enumerate(("2026-03-29T21:30:00Z", "2026-03-29T22:30:00Z", "2026-03-30T21:00:00Z")):
            body = order_body(event_id=f"dst-{n}", detected_at=at)
            assert post_order(client, body, f"key-dst-{n}").status_code == 201
        series = client.get("/api/v1/stats/timeseries",
                            params={"period": "day", "buckets": 3, "at": "2026-03-30T12:00:00Z"}).json()
    # 23:30 CEST on the 29th, then 00:30 and 23:00 CEST on the 30th.
    assert [(b["start"], b["count"]) for b in series["buckets"]] == [
        ("2026-03-27T23:00:00+00:00", 0), ("2026-03-28T23:00:00+00:00", 1), ("2026-03-29T22:00:00+00:00", 2)]


def test_api_settings_refuse_an_unknown_zone_and_the_removed_offset_in_one_line(monkeypatch) -> None:
    monkeypatch.setenv("GRIDSIGHT_SITE_TIMEZONE", "Asia/Shangai")
    with pytest.raises(SettingsInvalid) as caught:
        load_settings()
    assert caught.value.problems == [
        "GRIDSIGHT_SITE_TIMEZONE: unknown time zone 'Asia/Shangai' (did you mean 'Asia/Shanghai'?)"]
    monkeypatch.setenv("GRIDSIGHT_SITE_TIMEZONE", " Europe/Berlin ")
    assert load_settings().site_zone.key == "Europe/Berlin"
    monkeypatch.setenv("GRIDSIGHT_SITE_TIMEZONE", "")
    assert load_settings().site_timezone == "Asia/Shanghai"
    monkeypatch.setenv("GRIDSIGHT_LOCAL_UTC_OFFSET", "PT8H")
    with pytest.raises(SettingsInvalid) as caught:
        load_settings()
    [line] = caught.value.problems
    assert line.startswith("GRIDSIGHT_LOCAL_UTC_OFFSET: is no longer read") and "GRIDSIGHT_SITE_TIMEZONE" in line


def _worker_config(**worker) -> dict:
    camera = {"url": "rtsp://cam/1", "model": "m", "zones": {"z": {"polygon": [[0, 0], [1, 0], [1, 1]]}},
              "rules": {"r": {"preset": "exposed_garbage", "zone": "z"}}}
    return {"worker": worker, "models": {"m": {"manifest": "m.yaml"}},
            "cameras": {"c1": camera, "c2": {**camera, "timezone": "Asia/Tokyo"}}}


def test_worker_config_site_timezone_default_validation_and_cameras() -> None:
    config = parse_config(_worker_config(), Path("site.yaml"))
    assert config.worker.site_timezone == "Asia/Shanghai" and config.worker.zone.key == "Asia/Shanghai"
    berlin = parse_config(_worker_config(site_timezone="Europe/Berlin"), Path("site.yaml"))
    assert berlin.worker.zone.key == "Europe/Berlin"
    # A camera without its own timezone reads its schedules on the site's clock; one that names its own keeps it.
    assert (berlin.cameras["c1"].timezone, berlin.cameras["c2"].timezone) == ("Europe/Berlin", "Asia/Tokyo")
    with pytest.raises(ConfigError) as caught:
        parse_config(_worker_config(site_timezone="Europe/Berln"), Path("site.yaml"))
    assert str(caught.value).splitlines() == [
        "config site.yaml is invalid:",
        "  - worker.site_timezone: unknown time zone 'Europe/Berln' (did you mean 'Europe/Berlin'?)"]
