"""The filters every template has: the same text as Django's own, for less."""

import datetime
import zoneinfo

import pytest
from django.template import Context, Template
from django.utils import timezone, translation


def _render(source: str, value) -> str:
    return Template(source).render(Context({"value": value}))


@pytest.mark.parametrize(
    ("ours", "djangos", "value"),
    [
        ("short_date", "j.n.Y", datetime.date(2026, 3, 1)),
        ("short_date", "j.n.Y", datetime.date(2026, 12, 31)),
        # 22:30 UTC on 31 December is already 0:30 on 1 January in Helsinki: local time is shown.
        ("short_date", "j.n.Y", datetime.datetime(2025, 12, 31, 22, 30, tzinfo=datetime.UTC)),
        ("short_date", "j.n.Y", datetime.datetime(2026, 6, 9, 8, 5, tzinfo=zoneinfo.ZoneInfo("Europe/Helsinki"))),
        ("short_datetime", "j.n.Y H:i", datetime.datetime(2026, 3, 1, 9, 5, tzinfo=datetime.UTC)),
        ("short_datetime", "j.n.Y H:i", datetime.datetime(2025, 12, 31, 22, 30, tzinfo=datetime.UTC)),
        (
            "short_datetime",
            "j.n.Y H:i",
            datetime.datetime(2026, 6, 9, 23, 59, tzinfo=zoneinfo.ZoneInfo("Europe/Helsinki")),
        ),
    ],
)
@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_the_filters_write_what_djangos_date_filter_writes(ours, djangos, value, language):
    with translation.override(language), timezone.override("Europe/Helsinki"):
        assert _render(f"{{{{ value|{ours} }}}}", value) == _render(f'{{{{ value|date:"{djangos}" }}}}', value)


def test_short_date_shows_the_local_day_of_a_moment():
    with timezone.override("Europe/Helsinki"):
        assert (
            _render("{{ value|short_date }}", datetime.datetime(2025, 12, 31, 22, 30, tzinfo=datetime.UTC))
            == "1.1.2026"
        )


@pytest.mark.parametrize("value", [None, "", "2026-03-01", 17])
def test_short_date_of_something_else_is_empty(value):
    assert _render("{{ value|short_date }}", value) == ""


def test_short_datetime_shows_local_time():
    with timezone.override("Europe/Helsinki"):
        moment = datetime.datetime(2025, 12, 31, 22, 30, tzinfo=datetime.UTC)
        assert _render("{{ value|short_datetime }}", moment) == "1.1.2026 00:30"


@pytest.mark.parametrize("value", [None, "", datetime.date(2026, 3, 1), "2026-03-01 10:00"])
def test_short_datetime_of_something_else_is_empty(value):
    assert _render("{{ value|short_datetime }}", value) == ""
