"""Statistics rows and CSV from stored counters (pure)."""

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime

from siyu.live_codes.model import ACTIVE, Channel, LiveCode
from siyu.statistics.rules import increments, report_rows, to_csv, totals

NOW = datetime(2026, 11, 25, tzinfo=UTC)
CODE = replace(
    LiveCode("c1", "双11", "t", "g", 180, "f", ACTIVE, NOW, NOW, 1),
    channels=(Channel("p1", '=HYPERLINK("x")', NOW),),
)


def test_one_visit_adds_views_wechat_uniques_and_assignment_to_each_dimension():
    added = increments(["code", "ch:p1", "t:a"], True, new_today=["code", "t:a"], new_ever=["t:a"], assigned=True)
    assert added == {
        "v|code": 1, "v|ch:p1": 1, "v|t:a": 1, "w|code": 1, "w|ch:p1": 1, "w|t:a": 1,
        "u|code": 1, "u|t:a": 1, "n|t:a": 1, "a|code": 1, "a|ch:p1": 1, "a|t:a": 1,
    }  # fmt: skip
    assert "w|code" not in increments(["code"], in_wechat=False)


def test_rows_have_the_code_every_day_and_other_dimensions_when_active():
    stored = {"2026-11-25": {"v|code": 3, "w|code": 2, "u|code": 2, "v|ch:p1": 1}}
    rows = report_rows(CODE, ["2026-11-24", "2026-11-25"], stored, today="2026-11-25")
    assert [(r["date"], r["dimension"], r["views"]) for r in rows] == [
        ("2026-11-24", "code", 0),
        ("2026-11-25", "code", 3),
        ("2026-11-25", "channel", 1),
    ]
    assert rows[1]["other_browsers"] == 1
    assert totals(rows)[0]["views"] == 3 and "unique_visitors" not in totals(rows)[0]


def test_csv_keeps_chinese_and_never_lets_a_name_run_as_a_formula():
    rows = report_rows(CODE, ["2026-11-25"], {"2026-11-25": {"v|ch:p1": 1}}, today="2026-11-25")
    text = to_csv(rows)
    assert text.startswith("\ufeff")
    parsed = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert parsed[0]["name"] == "双11" and parsed[1]["name"].startswith("'=")
