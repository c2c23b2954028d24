"""The funnel after the scan (added, joined, left, deleted, stayed 7 days) in statistics rows (pure)."""

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from siyu.live_codes.admin import CodeAdmin
from siyu.live_codes.model import ACTIVE, LiveCode
from siyu.statistics.admin import StatsAdmin
from siyu.statistics.rules import (
    COLUMNS,
    FUNNEL_METRICS,
    funnel_dims,
    funnel_increments,
    leave_increments,
    left_within_7d,
    report_rows,
    to_csv,
    totals,
)
from tests.fakes.live_codes import FakeCodeStore, FakeStatsStore

NOW = datetime(2026, 11, 25, tzinfo=UTC)
CODE = LiveCode("c1", "双11", "t", "g", 180, "f", ACTIVE, NOW, NOW, 1)
SHANGHAI = replace(CODE, time_zone="Asia/Shanghai")
UTC_CODE = replace(CODE, id="utczone", time_zone="UTC")


# --- what one WeCom event adds -----------------------------------------------------------------


def test_dims_are_the_code_the_channel_or_direct_the_option_and_the_target():
    assert funnel_dims(None, "a", None) == ["code", "ch:-", "t:a"]
    assert funnel_dims("p1", "a", "o1") == ["code", "ch:p1", "o:o1", "t:a"]
    assert funnel_dims("p1", None, None) == ["code", "ch:p1"]


@pytest.mark.parametrize(
    ("metric", "short"),
    [("added", "ad"), ("joined", "j"), ("left", "l"), ("deleted", "d"), ("left_within_7d", "l7")],
)
def test_each_funnel_event_adds_one_to_each_dimension_under_its_short_name(metric, short):
    assert funnel_increments(metric, ["code", "ch:-", "t:a"]) == {
        f"{short}|code": 1,
        f"{short}|ch:-": 1,
        f"{short}|t:a": 1,
    }
    assert metric in FUNNEL_METRICS


def test_an_unknown_funnel_metric_is_refused():
    with pytest.raises(ValueError, match="views"):
        funnel_increments("views", ["code"])


def test_within_7_days_is_the_join_day_and_the_6_local_days_after_it():
    assert left_within_7d("2026-11-25", "2026-11-25")
    assert left_within_7d("2026-11-25", "2026-12-01")
    assert not left_within_7d("2026-11-25", "2026-12-02")
    assert not left_within_7d("2026-11-25", "2026-11-24")  # out of order: never counted


def test_a_leave_counts_on_its_own_day_and_within_7d_on_the_join_days_row_in_the_codes_time_zone():
    dims = ["code", "t:a"]
    joined = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)  # 25 Nov 01:00 in Shanghai
    left = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # 1 Dec 23:30 in Shanghai: the 7th local day
    assert leave_increments(SHANGHAI, dims, left, joined) == {
        "2026-12-01": {"l|code": 1, "l|t:a": 1},
        "2026-11-25": {"l7|code": 1, "l7|t:a": 1},
    }
    later = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)  # 2 Dec 00:30 in Shanghai: the 8th day
    assert leave_increments(SHANGHAI, dims, later, joined) == {"2026-12-02": {"l|code": 1, "l|t:a": 1}}
    assert leave_increments(SHANGHAI, dims, left, None) == {"2026-12-01": {"l|code": 1, "l|t:a": 1}}


# --- report rows ---------------------------------------------------------------------------------


def row_of(rows, day, dimension="code"):
    return next(r for r in rows if r["date"] == day and r["dimension"] == dimension)


def test_rows_have_the_funnel_columns_after_the_scan_ones_and_csv_in_the_same_order():
    stored = {"2026-11-10": {"u|code": 3, "ad|code": 2, "j|code": 3, "l|code": 1, "d|code": 1, "l7|code": 1}}
    rows = report_rows(CODE, ["2026-11-10"], stored, today="2026-11-25")
    assert tuple(rows[0]) == COLUMNS
    assert COLUMNS[-8:] == ("added", "joined", "left", "deleted", "stayed_7d", "add_rate", "join_rate", "retention_7d")
    row = rows[0]
    assert (row["added"], row["joined"], row["left"], row["deleted"], row["stayed_7d"]) == (2, 3, 1, 1, 2)
    assert (row["add_rate"], row["join_rate"], row["retention_7d"]) == (0.6667, 1.0, 0.6667)
    assert "left_within_7d" not in row
    header = next(csv.reader(io.StringIO(to_csv(rows).lstrip("\ufeff"))))
    assert tuple(header) == COLUMNS


def test_rates_are_null_without_a_denominator_and_not_capped_above_1():
    stored = {"2026-11-10": {"ad|code": 2, "j|code": 0}, "2026-11-11": {"u|code": 1, "ad|code": 3}}
    rows = report_rows(CODE, ["2026-11-10", "2026-11-11"], stored, today="2026-11-25")
    first, second = rows
    assert (first["add_rate"], first["join_rate"], first["retention_7d"]) == (None, None, None)
    assert first["stayed_7d"] == 0  # complete, nobody joined
    assert second["add_rate"] == 3.0  # more adds than visitors (a shared QR): a ratio, not capped


def test_stayed_7d_waits_until_the_join_day_is_7_days_before_today():
    days = ["2026-11-17", "2026-11-18", "2026-11-19"]
    stored = {day: {"j|code": 4, "l7|code": 1} for day in days}
    rows = report_rows(CODE, days, stored, today="2026-11-25")
    assert [r["stayed_7d"] for r in rows] == [3, 3, None]
    assert [r["retention_7d"] for r in rows] == [0.75, 0.75, None]


def test_stayed_7d_never_goes_below_zero_when_a_join_was_missed():
    rows = report_rows(CODE, ["2026-11-01"], {"2026-11-01": {"j|code": 1, "l7|code": 2}}, today="2026-11-25")
    assert rows[0]["stayed_7d"] == 0 and rows[0]["retention_7d"] == 0.0


def test_a_dimension_with_only_funnel_events_gets_its_row():
    stored = {"2026-11-25": {"ad|t:a": 1, "ad|code": 1, "ad|ch:-": 1}}
    rows = report_rows(CODE, ["2026-11-25"], stored, today="2026-11-25")
    assert [(r["dimension"], r["added"], r["add_rate"]) for r in rows] == [
        ("code", 1, None),
        ("channel", 1, None),
        ("target", 1, None),
    ]


def test_totals_sum_the_funnel_and_use_new_visitors_for_range_rates():
    stored = {
        "2026-11-10": {"u|code": 4, "n|code": 4, "ad|code": 2, "j|code": 2, "l|code": 1, "l7|code": 1},
        "2026-11-11": {"u|code": 3, "n|code": 1, "ad|code": 1, "j|code": 2, "d|code": 1},
    }
    rows = report_rows(CODE, ["2026-11-10", "2026-11-11"], stored, today="2026-11-25")
    (total,) = totals(rows)
    assert (total["added"], total["joined"], total["left"], total["deleted"], total["stayed_7d"]) == (3, 4, 1, 1, 3)
    assert (total["add_rate"], total["join_rate"], total["retention_7d"]) == (0.6, 0.8, 0.75)
    assert "unique_visitors" not in total


def test_totals_leave_stayed_7d_null_while_any_day_of_the_range_is_incomplete():
    stored = {"2026-11-10": {"j|code": 2}, "2026-11-24": {"j|code": 2}}
    rows = report_rows(CODE, ["2026-11-10", "2026-11-24"], stored, today="2026-11-25")
    (total,) = totals(rows)
    assert (total["joined"], total["stayed_7d"], total["retention_7d"]) == (4, None, None)


def test_the_report_completes_cohorts_by_the_codes_own_today():
    # 17 Nov 18:00 UTC is already 18 Nov in Shanghai: the 11th's cohort is complete there, not in UTC
    at = datetime(2026, 11, 17, 18, 0, tzinfo=UTC)
    for code, expected in ((replace(SHANGHAI, id="shanghai"), 2), (UTC_CODE, None)):
        store, stats = FakeCodeStore(), FakeStatsStore()
        store.codes[code.id] = code
        stats.add(code.id, "2026-11-11", {"j|code": 2})
        report = StatsAdmin(CodeAdmin(store, clock=lambda: at), stats, clock=lambda: at).report(
            code.id, "2026-11-11", "2026-11-11"
        )
        assert report.rows[0]["stayed_7d"] == expected, code.time_zone


def test_the_contract_names_the_rows_and_totals_columns_in_their_order():
    from siyu.statistics.admin import StatsReport
    from siyu.statistics.api import StatsRowView, StatsTotalView, stats_view

    rows = report_rows(CODE, ["2026-11-10"], {"2026-11-10": {"u|code": 2, "j|code": 3}}, today="2026-11-25")
    assert tuple(StatsRowView.model_fields) == COLUMNS
    assert tuple(StatsTotalView.model_fields) == tuple(totals(rows)[0])
    view = stats_view(StatsReport(CODE, "2026-11-10", "2026-11-10", rows)).model_dump(by_alias=True)
    assert view["rows"] == rows and view["totals"] == totals(rows)
    assert view["metrics"] == list(COLUMNS[4:])
    schema = StatsRowView.model_json_schema()["properties"]
    assert schema["added"]["minimum"] == 0 and "not capped" in schema["add_rate"]["description"]
