"""The statistics figures: each a ``Table`` from a fixed few aggregate queries, suppressed already.

Every function takes a ``scope`` (``cards.access.StatsScope``; None is the public, national
view) and a ``StatsFilter`` and never reads a row outside the scope:

- national: everything;
- region: the cards whose responsible site is in the region and the uses of those cards
  (the cross-region matrix also shows uses at the region's venues by other regions' cards);
- site: the site's cards and the uses of those cards;
- venue: the venue's uses and how many distinct cards visited (no card or holder figures).

The filter's region narrows any scope the same way a region scope does; its category narrows
use figures (card and holder counts have no category). Cancelled uses never count. Counting
uses (not holders × cards) makes a holder's uses count once however many cards they had.
The number of queries depends on the tables, never on the number of rows in the register:
rows are grouped by the database and only the grouped rows are read.

Child tickets are only ever recorded on customer cards and clients under 16 only on
organisation cards (``venues.services`` refuses anything else), so the sums need not join the
holder: organisation cards' clients under 16 are never child uses.
"""

import copy
import datetime
import operator
from collections import defaultdict
from dataclasses import dataclass
from functools import reduce, wraps

from django.db.models import Case, CharField, Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Sum, Value, When
from django.db.models.functions import ExtractYear, TruncMonth
from django.db.models.lookups import GreaterThan
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import Municipality, Region, Site, UseCategory
from cards.access import StatsLevel, StatsScope
from cards.models import Card, CardUse, Holder, ValidityPeriod

from .filters import StatsFilter
from .models import CardActivity, CardValidity, RegistrationDay, UseDay, UseMonth
from .summary import PHYSICAL_MOBILE, month_end, summary_coverage, summary_memo, summary_reading
from .suppression import table_suppress
from .tables import COMPLEMENTARY, ChartSpec, Column, Suppressed, Table

CATEGORIES = [choice.value for choice in UseCategory]


# --- scope and filter ---------------------------------------------------------------------


def _level(scope: StatsScope | None) -> StatsLevel:
    return StatsLevel.NATIONAL if scope is None else scope.level


def _cards_q(scope: StatsScope | None, filters: StatsFilter, prefix: str = "") -> Q:
    """The cards in the scope (``prefix`` reaches the card from another model, e.g. "card__")."""
    q = Q()
    match _level(scope):
        case StatsLevel.REGION:
            q &= Q(**{f"{prefix}site__municipality__region_id": scope.pk})
        case StatsLevel.SITE:
            q &= Q(**{f"{prefix}site_id": scope.pk})
        case StatsLevel.VENUE:
            # A venue sees no card or holder figures: no card is in its scope.
            q &= Q(**{f"{prefix}site_id__isnull": True})
    if filters.region_id is not None:
        q &= Q(**{f"{prefix}site__municipality__region_id": filters.region_id})
    return q


def _uses_q(
    scope: StatsScope | None,
    filters: StatsFilter,
    *,
    start: datetime.date | None,
    end: datetime.date | None,
    venue_side: bool = False,
    summary: bool = False,
) -> Q:
    """The uses in the scope; ``venue_side`` adds, for a region, the uses at its own venues.

    ``summary``: the same uses in ``UseDay`` (cancelled uses are never in it)."""
    card_site = "card_site" if summary else "card__site"
    q = Q() if summary else Q(cancelled_at__isnull=True)
    if start is not None:
        q &= Q(used_on__gte=start)
    if end is not None:
        q &= Q(used_on__lte=end)
    if filters.category:
        q &= Q(category=filters.category)
    match _level(scope):
        case StatsLevel.REGION:
            region = Q(**{f"{card_site}__municipality__region_id": scope.pk})
            if venue_side:
                region |= Q(venue__municipality__region_id=scope.pk)
            q &= region
        case StatsLevel.SITE:
            q &= Q(**{f"{card_site}_id": scope.pk})
        case StatsLevel.VENUE:
            q &= Q(venue_id=scope.pk)
    if filters.region_id is not None:
        region = Q(**{f"{card_site}__municipality__region_id": filters.region_id})
        if venue_side:
            region |= Q(venue__municipality__region_id=filters.region_id)
        q &= region
    return q


def _municipality_region_q(scope: StatsScope | None, filters: StatsFilter, prefix: str) -> Q | None:
    """Participating municipalities are counted within the scope's region; None: no such figure."""
    level = _level(scope)
    if level in (StatsLevel.SITE, StatsLevel.VENUE):
        return None
    q = Q()
    if level == StatsLevel.REGION:
        q &= Q(**{f"{prefix}region_id": scope.pk})
    if filters.region_id is not None:
        q &= Q(**{f"{prefix}region_id": filters.region_id})
    return q


def _covering(day: datetime.date, prefix: str = "") -> Q:
    """Validity periods covering ``day`` (an inactivation ends a period early)."""
    return Q(**{f"{prefix}valid_from__lte": day, f"{prefix}valid_until__gte": day}) & (
        Q(**{f"{prefix}ended_on__isnull": True}) | Q(**{f"{prefix}ended_on__gt": day})
    )


def _overlapping(start: datetime.date, end: datetime.date, prefix: str = "") -> Q:
    """Validity periods during which the card was valid on at least one day of start–end. A
    period ended on its first day (a card inactivated on the day it was registered) was valid on
    none: its last valid day is the day before ``ended_on``."""
    return Q(**{f"{prefix}valid_from__lte": end, f"{prefix}valid_until__gte": start}) & (
        Q(**{f"{prefix}ended_on__isnull": True})
        | (Q(**{f"{prefix}ended_on__gt": start}) & Q(**{f"{prefix}ended_on__gt": F(f"{prefix}valid_from")}))
    )


def _today() -> datetime.date:
    return timezone.localdate()


def _months(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append(month)
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return months


def _month_key(value) -> datetime.date:
    # TruncMonth gives a date on every backend; a datetime only if a driver ever returns one.
    return value.date() if isinstance(value, datetime.datetime) else value


def _label_month(month: datetime.date) -> str:
    return month.strftime("%Y-%m")


def _category_labels() -> dict[str, str]:
    return {choice.value: str(choice.label) for choice in UseCategory}


def _categories(filters: StatsFilter) -> list[str]:
    """The categories whose use columns a table has: with a category chosen only that one, since
    the others' uses are not read at all (a column of zeros would read as measured)."""
    return [filters.category] if filters.category else CATEGORIES


def _day_text(day: datetime.date) -> str:
    """A day as the statistics write it in every language and download: 30.11.2026."""
    return date_format(day, "j.n.Y")


def _once_per_page(function):
    """Compute ``function`` once per ``summary_reading`` (a page) for the same arguments: several
    tables read the same figures (by region, municipality and site all read them per site).
    Callers get a shallow copy, so a lookup that adds a key to a defaultdict stays their own."""

    @wraps(function)
    def wrapper(*args, **kwargs):
        key = (function.__name__, args, *sorted((name, _hashable(value)) for name, value in kwargs.items()))
        return copy.copy(summary_memo(key, lambda: function(*args, **kwargs)))

    return wrapper


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


# --- reading uses: from the summaries where they hold, from the uses where they do not ---------
# (stats/summary.py explains the summaries and when a day or a card is read from the uses.)

# How each key reaches a use: (on ``CardUse``, on ``UseDay``).
_USE_KEYS = {
    "year": (ExtractYear("used_on"), ExtractYear("used_on")),
    "month": (TruncMonth("used_on"), TruncMonth("used_on")),
    "site": (F("card__site_id"), F("card_site_id")),
    "category": (F("category"), F("category")),
    "venue": (F("venue_id"), F("venue_id")),
    "home_region": (F("card__holder__municipality__region_id"), F("home_municipality__region_id")),
    "venue_region": (F("venue__municipality__region_id"), F("venue__municipality__region_id")),
    "venue_municipality": (F("venue__municipality_id"), F("venue__municipality_id")),
}
_USE_SUMS = {
    "uses": (Count("id"), Sum("uses")),
    "child": (Sum("child_tickets"), Sum("child_tickets")),
    "assistant": (Sum("assistant_tickets"), Sum("assistant_tickets")),
    "clients": (Sum("clients_under_16"), Sum("clients_under_16")),
}


def _summed(*, parts: list[tuple[QuerySet, int]], keys: dict, sums: dict) -> dict[tuple, dict[str, int]]:
    """Sums per tuple of ``keys`` over ``parts``: (queryset, 0) of register rows, (queryset, 1)
    of summary rows, together covering each row once. ``keys`` and ``sums`` map each name to its
    expression on the register and on the summary."""
    rows: dict = defaultdict(lambda: defaultdict(int))
    for queryset, source in parts:
        aggregates = {f"s_{name}": pair[source] for name, pair in sums.items()}
        if keys:
            aliases = {f"k_{name}": pair[source] for name, pair in keys.items()}
            found = queryset.values(**aliases).annotate(**aggregates).order_by()
        else:
            found = [queryset.aggregate(**aggregates)]
        for row in found:
            values = rows[tuple(_month_key(row[f"k_{name}"]) for name in keys)]
            for name in sums:
                values[name] += row[f"s_{name}"] or 0
    return rows


def _day_parts(*, raw: QuerySet, summary: QuerySet, day_field: str, dirty_days) -> list[tuple[QuerySet, int]]:
    """The ``summary`` rows except on ``dirty_days`` (of ``day_field``), and the ``raw`` register
    rows on those days; only ``raw`` when ``dirty_days`` is None (no usable summaries)."""
    if dirty_days is None:
        return [(raw, 0)]
    parts = [(summary.exclude(**{f"{day_field}__in": dirty_days}), 1)]
    if dirty_days:
        parts.append((raw.filter(**{f"{day_field}__in": dirty_days}), 0))
    return parts


def _whole_months(start: datetime.date | None, end: datetime.date | None, dirty_days) -> tuple[Q | None, Q | None]:
    """How a period splits between ``UseMonth`` and ``UseDay``: the whole months of start–end
    with no dirty day come from the months, every other day from the days. Returns the filter
    on ``UseMonth`` and the one on ``UseDay``, on ``used_on``, as ranges an index can read; None
    where nothing is read from that table."""
    low = start if start is None or start.day == 1 else month_end(start) + datetime.timedelta(days=1)
    after_end = None if end is None else end + datetime.timedelta(days=1)
    high = after_end if after_end is None or after_end.day == 1 else end.replace(day=1)  # exclusive
    if low is not None and high is not None and low >= high:
        return None, Q()  # no whole month: every day from the days
    months = Q()
    days = []
    if low is not None:
        months &= Q(used_on__gte=low)
        if start < low:
            days.append(Q(used_on__lt=low))
    if high is not None:
        months &= Q(used_on__lt=high)
        if end >= high:
            days.append(Q(used_on__gte=high))
    dirty_months = sorted({day.replace(day=1) for day in dirty_days})
    if dirty_months:
        months &= ~Q(used_on__in=dirty_months)
        days += [Q(used_on__gte=month, used_on__lte=month_end(month)) for month in dirty_months]
    return months, reduce(operator.or_, days) if days else None


def _use_rows(
    *,
    q_raw: Q,
    q_summary: Q,
    start: datetime.date | None,
    end: datetime.date | None,
    keys: list[str],
    sums: list[str],
) -> dict[tuple, dict[str, int]]:
    """Sums of the uses matching ``q_raw`` (``q_summary`` on the summaries) from ``start`` to
    ``end`` (None: open) per tuple of ``keys``.

    From the summaries: whole months from ``UseMonth``, other days from ``UseDay``; from the
    register: dirty days, and the uses changed since the build (and everything, without usable
    summaries)."""
    between = Q()
    if start is not None:
        between &= Q(used_on__gte=start)
    if end is not None:
        between &= Q(used_on__lte=end)
    key_pairs = {name: _USE_KEYS[name] for name in keys}
    sum_pairs = {name: _USE_SUMS[name] for name in sums}
    coverage = summary_coverage()
    if coverage is None:
        return _summed(parts=[(CardUse.objects.filter(q_raw, between), 0)], keys=key_pairs, sums=sum_pairs)
    months_q, days_q = _whole_months(start, end, coverage.dirty_days)
    parts = [] if months_q is None else [(UseMonth.objects.filter(q_summary, between, months_q), 1)]
    if days_q is not None:
        days = UseDay.objects.filter(q_summary, between, days_q)
        parts.append((days.exclude(used_on__in=coverage.dirty_days), 1))
    rows = _summed(parts=parts, keys=key_pairs, sums=sum_pairs)
    for day, found in _register_uses(q_raw, coverage):
        if (start is None or start <= day) and (end is None or day <= end):
            values = rows[tuple(_key_of_day(name, day, found) for name in keys)]
            for name in sums:
                values[name] += found[name]
    return rows


def _key_of_day(name: str, day: datetime.date, found: dict):
    if name == "year":
        return day.year
    if name == "month":
        return day.replace(day=1)
    return found[name]


def _register_uses(q_raw: Q, coverage) -> list[tuple[datetime.date, dict]]:
    """What the register adds to the summaries for the uses matching ``q_raw``, per day and every
    other key: the dirty days whole, and for each use changed since the build (on other days)
    what it is now minus what the build summarised (its history row then). Read once per page
    and summed up for each table's keys."""

    def compute():
        keys = {name: pair[0] for name, pair in _USE_KEYS.items() if name not in ("year", "month")}
        history = CardUse.history.model
        dirty = coverage.dirty_days
        parts = []
        if dirty:
            parts.append((CardUse.objects.filter(q_raw, used_on__in=dirty), 1))
        if coverage.added_uses:
            parts.append((CardUse.objects.filter(q_raw, pk__in=coverage.added_uses).exclude(used_on__in=dirty), 1))
        if coverage.removed_versions:
            # The same filter reads a history row as it reads a use (same fields, same relations).
            # A use deleted before the build ("-" its last row then) was not summarised.
            versions = history.objects.filter(q_raw, history_id__in=coverage.removed_versions)
            parts.append((versions.exclude(used_on__in=dirty).exclude(history_type="-"), -1))
        found = []
        for queryset, sign in parts:
            rows = (
                queryset.values(k_day=F("used_on"), **{f"k_{name}": key for name, key in keys.items()})
                .annotate(**{f"s_{name}": pair[0] for name, pair in _USE_SUMS.items()})
                .order_by()
            )
            for row in rows:
                day = row["k_day"]
                found.append(
                    (
                        day,
                        {name: row[f"k_{name}"] for name in keys}
                        | {name: sign * (row[f"s_{name}"] or 0) for name in _USE_SUMS},
                    )
                )
        return found

    return summary_memo(("register_uses", q_raw), compute)


@_once_per_page
def _scope_use_rows(scope, filters, *, start, end, keys, sums, venue_side=False):
    """``_use_rows`` for the uses in the scope. The period is applied by ``_use_rows``, so every
    period of the same filters shares the uses read from the changed days."""
    return _use_rows(
        q_raw=_uses_q(scope, filters, start=None, end=None, venue_side=venue_side),
        q_summary=_uses_q(scope, filters, start=None, end=None, venue_side=venue_side, summary=True),
        start=start,
        end=end,
        keys=keys,
        sums=sums,
    )


_PERIOD_KEYS = {  # name: (on ``ValidityPeriod``, on ``RegistrationDay``)
    "year": (ExtractYear("valid_from"), ExtractYear("valid_from")),
    "month": (TruncMonth("valid_from"), TruncMonth("valid_from")),
    "site": (F("card__site_id"), F("card_site_id")),
    "cause": (F("cause"), F("cause")),
}


@_once_per_page
def _period_starts(
    scope: StatsScope | None,
    filters: StatsFilter,
    *,
    start: datetime.date | None,
    end: datetime.date | None,
    keys: list[str],
    cause: str | None = None,
) -> dict[tuple, int]:
    """Validity periods (of ``cause``, or any) started in the period in the scope, per tuple of ``keys``."""
    q = Q()
    if start is not None:
        q &= Q(valid_from__gte=start)
    if end is not None:
        q &= Q(valid_from__lte=end)
    if cause is not None:
        q &= Q(cause=cause)
    coverage = summary_coverage()
    rows = _summed(
        parts=_day_parts(
            raw=ValidityPeriod.objects.filter(q, _cards_q(scope, filters, "card__")),
            summary=RegistrationDay.objects.filter(q, _cards_q(scope, filters, "card_")),
            day_field="valid_from",
            dirty_days=None if coverage is None else coverage.dirty_period_days,
        ),
        keys={name: _PERIOD_KEYS[name] for name in keys},
        sums={"n": (Count("id"), Sum("periods"))},
    )
    return defaultdict(int, {key: values["n"] for key, values in rows.items()})


def _month_q(year: int, month: int, start: datetime.date | None, end: datetime.date) -> Q | None:
    """``CardActivity`` rows of ``year`` used on a day of ``month`` inside start–end; None: none can be."""
    first = datetime.date(year, month, 1)
    last = month_end(first)
    low, high = max(first, start) if start else first, min(last, end)
    if low > high:
        return None
    if low == first and high == last:
        return Q(**{f"m{month}__gt": 0})
    mask = (1 << high.day) - (1 << (low.day - 1))  # the bits of days low.day … high.day
    return Q(GreaterThan(F(f"m{month}").bitand(mask), 0))


def _activity_period_q(start: datetime.date | None, end: datetime.date) -> Q:
    """``CardActivity`` rows of a card used at least once in start–end (no start: since ever)."""
    first_year = start.year if start else end.year
    parts = [] if start else [Q(year__lt=end.year)]
    for year in range(first_year, end.year + 1):
        if (start is None or start <= datetime.date(year, 1, 1)) and end >= datetime.date(year, 12, 31):
            parts.append(Q(year=year))
            continue
        months = [m for month in range(1, 13) if (m := _month_q(year, month, start, end)) is not None]
        if months:
            parts.append(Q(year=year) & reduce(operator.or_, months))
    return reduce(operator.or_, parts) if parts else Q(pk__in=[])


def _activity_q(scope: StatsScope | None, filters: StatsFilter, *, by_venue: bool) -> Q:
    """The ``CardActivity`` rows for the scope, the filter's region and category."""
    q = Q(category=filters.category or "")
    match _level(scope):
        case StatsLevel.REGION:
            q &= Q(card_site__municipality__region_id=scope.pk)
        case StatsLevel.SITE:
            q &= Q(card_site_id=scope.pk)
        case StatsLevel.VENUE:
            q &= Q(venue_id=scope.pk)
    if filters.region_id is not None:
        q &= Q(card_site__municipality__region_id=filters.region_id)
    if not by_venue:
        q &= Q(venue__isnull=True)
    elif _level(scope) != StatsLevel.VENUE:
        q &= Q(venue__isnull=False)
    return q


@_once_per_page
def _cards_used(
    *,
    scope: StatsScope | None,
    filters: StatsFilter,
    start: datetime.date | None,
    end: datetime.date,
    group: str | None,
) -> dict:
    """Distinct cards with a use in the period in the scope, per ``group`` key ("year", "month",
    "site", "venue"), or in all under the key None."""
    counts: dict = defaultdict(int)

    def add_raw(uses) -> None:
        if group is None:
            counts[None] += uses.aggregate(n=Count("card_id", distinct=True))["n"]
            return
        for row in uses.values(k=_USE_KEYS[group][0]).annotate(n=Count("card_id", distinct=True)).order_by():
            counts[_month_key(row["k"])] += row["n"]

    raw = CardUse.objects.filter(_uses_q(scope, filters, start=start, end=end))
    coverage = summary_coverage()
    if coverage is None:
        add_raw(raw)
        return counts
    # The dirty cards from their uses, every other card from its activity rows: each card is
    # counted on one side only, so the two counts add up.
    if coverage.dirty_cards:
        add_raw(raw.filter(card_id__in=coverage.dirty_cards))
    by_venue = group == "venue" or _level(scope) == StatsLevel.VENUE
    rows = CardActivity.objects.filter(_activity_q(scope, filters, by_venue=by_venue)).exclude(
        card_id__in=coverage.dirty_cards
    )
    # One row per card and year (and venue): rows are cards, unless the period spans years.
    one_year = start is not None and start.year == end.year
    per_card = Count("id") if one_year else Count("card_id", distinct=True)
    if group == "month":
        conditions = {
            f"n{i}": (month, Q(year=month.year) & _month_q(month.year, month.month, start, end))
            for i, month in enumerate(_months(start, end))
        }
        found = rows.filter(year__gte=start.year, year__lte=end.year).aggregate(
            **{name: Count("id", filter=q) for name, (_month, q) in conditions.items()}
        )
        for name, (month, _q) in conditions.items():
            counts[month] += found[name]
        return counts
    rows = rows.filter(_activity_period_q(start, end))
    if group is None:
        counts[None] += rows.aggregate(n=per_card)["n"]
    else:
        field = {"year": "year", "site": "card_site_id", "venue": "venue_id"}[group]
        per_group = Count("id") if group == "year" else per_card
        for row in rows.values(field).annotate(n=per_group).order_by():
            counts[row[field]] += row["n"]
    return counts


# --- the figures of the annual table, grouped any way -----------------------------------------

# Which key of the uses and validity periods each grouping reads. Regions and municipalities are
# grouped by the card's site and rolled up from there (a card has one site, so even its
# distinct-card counts add up): that spares joining two more tables.
_USE_KEY_OF_GROUP = {"year": "year", "month": "month", "region": "site", "municipality": "site", "site": "site"}
# The places, each within the next: a site in a municipality, a municipality in a region (the
# order of a site's places in ``_Figures.site_places``, after the site itself).
_PLACE_GROUPS = ("municipality", "region")
_PLACE_PARENT = {"site": "municipality", "municipality": "region"}


def _figure_columns(
    level: StatsLevel, *, categories: list[str], with_municipalities: bool, label: Column, group: str
) -> list[Column]:
    names = _category_labels()
    columns = [label]
    # Grouped by place, a card is in one row (its site's): the distinct counts add up to the
    # total, which is their sum (``_figures``), and must be protected as any other sum: two
    # hidden cells of a column whose other cells and total are shown are worked out from them.
    # Over years or months a card can be in several rows: the total is only a lower bound there.
    cards_add_up = group in ("region", "municipality", "site")
    if level == StatsLevel.VENUE:
        columns.append(Column("cards_used", _("Distinct cards visited"), personal=True, additive=cards_add_up))
    else:
        columns += [
            Column("cards_registered", _("Cards registered"), personal=True),
            Column("cards_used", _("Cards taken into use"), personal=True, additive=cards_add_up),
        ]
    columns += [Column(f"adult_{c}", _("Adult uses: %(category)s") % {"category": names[c]}) for c in categories]
    columns += [Column(f"child_{c}", _("Child uses: %(category)s") % {"category": names[c]}) for c in categories]
    columns.append(Column("total_uses", _("Total uses")))
    if with_municipalities:
        columns.append(Column("municipalities", _("Participating municipalities")))
    return columns


@dataclass
class _Figures:
    by_key: dict  # the figures per group key (year, month, region, municipality or site)
    totals: dict
    with_municipalities: bool  # whether the participating municipalities are counted
    # Grouped by place: the figures per site before they were added up by municipality or
    # region, and each site's (municipality, region).
    by_site: dict | None = None
    site_places: dict | None = None


def _figures(
    *,
    scope: StatsScope | None,
    filters: StatsFilter,
    group: str,
    start: datetime.date | None,
    end: datetime.date | None,
) -> _Figures:
    """The annual-table figures per group key, their totals, and whether municipalities are counted."""
    level = _level(scope)
    figures: dict = defaultdict(lambda: defaultdict(int))
    totals: dict = defaultdict(int)
    registered_at: dict = defaultdict(int)

    if level != StatsLevel.VENUE:
        # Per key and site: the same counts give the municipalities where cards were registered.
        registered = _period_starts(
            scope,
            filters,
            start=start,
            end=end,
            # Grouped by site already, the site is the key.
            keys=list(dict.fromkeys([_USE_KEY_OF_GROUP[group], "site"])),
            cause=ValidityPeriod.Cause.REGISTERED,
        )
        for group_key, n in registered.items():
            key, site_id = group_key[0], group_key[-1]
            registered_at[(key, site_id)] += n
            figures[key]["cards_registered"] += n
            totals["cards_registered"] += n

    use_key = _USE_KEY_OF_GROUP[group]
    rows = _scope_use_rows(scope, filters, start=start, end=end, keys=[use_key, "category"], sums=["uses", "child"])
    for (key, category), values in rows.items():
        for name, value in ((f"adult_{category}", values["uses"]), (f"child_{category}", values["child"])):
            figures[key][name] += value
            totals[name] += value
        figures[key]["total_uses"] += values["uses"] + values["child"]
        totals["total_uses"] += values["uses"] + values["child"]
    per_key = _cards_used(scope=scope, filters=filters, start=start, end=end, group=use_key)
    for key, n in per_key.items():
        figures[key]["cards_used"] = n
    if group in ("region", "municipality", "site"):
        # Grouped by the card's site: a card is in one group, so its distinct counts add up.
        totals["cards_used"] = sum(per_key.values())
    else:
        # Over years or months a card can be in several rows: distinct cards, not the sum.
        totals["cards_used"] = _cards_used(scope=scope, filters=filters, start=start, end=end, group=None)[None]
    by_site = site_places = None
    if group in ("site", *_PLACE_GROUPS):
        by_site = figures
        site_places = {
            pk: (municipality_id, region_id)
            for pk, municipality_id, region_id in Site.objects.filter(
                pk__in=[pk for pk in figures if pk is not None]
            ).values_list("pk", "municipality_id", "municipality__region_id")
        }
        if group != "site":
            figures = _roll_up(by_site, site_places, group)

    # Per municipality or site the figure would be 1 or 0: it is a column of the wider groupings.
    with_municipalities = group in ("year", "month", "region") and (
        _municipality_region_q(scope, filters, "municipality__") is not None
    )
    if with_municipalities:
        _count_municipalities(
            figures=figures,
            totals=totals,
            filters=filters,
            group=group,
            start=start,
            end=end,
            scope=scope,
            registered_at=registered_at,
        )
    return _Figures(figures, totals, with_municipalities, by_site, site_places)


def _roll_up(by_site: dict, site_places: dict, group: str) -> dict:
    """Per-site figures added up by the sites' municipality or region (a card is in one site)."""
    index = _PLACE_GROUPS.index(group)
    rolled: dict = defaultdict(lambda: defaultdict(int))
    for site_id, values in by_site.items():
        place = site_places.get(site_id, (None, None))[index]
        for name, value in values.items():
            rolled[place][name] += value
    return rolled


def _count_municipalities(*, figures, totals, filters, group, start, end, scope, registered_at) -> None:
    """Participating municipalities: those with a card registered at a site there, or a use
    recorded at a venue there, in the period (within the scope's region).

    ``registered_at``: the cards registered per (key, card's site), as ``_figures`` counted them
    (only national and regional scopes count municipalities, and there the two filters agree)."""
    region_q_venue = _municipality_region_q(scope, filters, "venue__municipality__")
    if group == "region":
        use_key = "venue_region"
    elif group in ("municipality", "site"):
        raise ValueError(group)  # a municipality's own count would be 1 or 0
    else:
        use_key = _USE_KEY_OF_GROUP[group]
    places = {
        pk: (municipality_id, region_id)
        for pk, municipality_id, region_id in Site.objects.filter(
            pk__in={site_id for _key, site_id in registered_at}
        ).values_list("pk", "municipality_id", "municipality__region_id")
    }
    pairs = set()
    for key, site_id in registered_at:
        municipality_id, region_id = places[site_id]
        pairs.add((region_id if group == "region" else key, municipality_id))
    uses = region_q_venue
    if filters.category:
        uses &= Q(category=filters.category)
    used = _use_rows(
        q_raw=uses & Q(cancelled_at__isnull=True),
        q_summary=uses,
        start=start,
        end=end,
        keys=[use_key, "venue_municipality"],
        sums=["uses"],
    )
    pairs |= {key for key, values in used.items() if values["uses"]}
    per_key = defaultdict(set)
    for key, municipality_id in pairs:
        per_key[_month_key(key)].add(municipality_id)
    for key, municipality_ids in per_key.items():
        figures[key]["municipalities"] = len(municipality_ids)
    totals["municipalities"] = len({municipality_id for _key, municipality_id in pairs})


def _figure_row(label, values: dict, columns: list[Column]) -> dict:
    row = {"label": label}
    for column in columns[1:]:
        row[column.key] = values.get(column.key, 0) if values else 0
    return row


def _place_rows(group: str, scope, filters):
    """A table of places' rows (key, label), or a function of the figures that gives them."""
    return {"region": _region_rows, "municipality": _municipality_rows, "site": _site_rows}[group](scope, filters)


def _places_suppress(group: str, table: Table, keys: list, *, scope, filters, found: _Figures) -> Table:
    """Suppress a table of places against the table of the places they lie in, as that one is
    published: a dashboard shows by region, by municipality and by site together, and a
    municipality's 15 beside its site's 13 gives the other site's hidden 2 away. Each table's
    rows are tied to the row of their municipality or region (``table_suppress(linked=…)``); the
    figures that table publishes are worked out here from the same per-site figures (no figure
    query; only the places' rows are read, as that table's own selector reads them)."""
    parent = _PLACE_PARENT.get(group)
    if parent is None or found.by_site is None:
        return table_suppress(table)
    index = _PLACE_GROUPS.index(parent)
    parent_figures = _roll_up(found.by_site, found.site_places, parent)
    parent_rows = _place_rows(parent, scope, filters)
    parent_rows = parent_rows(parent_figures) if callable(parent_rows) else parent_rows
    columns = [column for column in table.columns if column.key != "municipalities"]
    published = _places_suppress(
        parent,
        Table(
            slug="",
            title="",
            columns=columns,
            rows=[_figure_row(label, parent_figures.get(key), columns) for key, label in parent_rows],
            total=_figure_row(_("Total"), found.totals, columns),
        ),
        [key for key, _label in parent_rows],
        scope=scope,
        filters=filters,
        found=found,
    )
    if group == "site":
        place_of = {site: places[index] for site, places in found.site_places.items()}
    else:  # a municipality's region, from the sites in it
        place_of = {places[0]: places[index] for places in found.site_places.values()}
    linked = []
    for parent_key, parent_row in zip((key for key, _label in parent_rows), published.rows, strict=True):
        indexes = [i for i, key in enumerate(keys) if key is not None and place_of.get(key) == parent_key]
        if indexes:
            linked.append((indexes, parent_row))
    return table_suppress(table, linked=linked)


def _figure_table(*, slug, title, scope, filters, group, start, end, keys_labels, label_column, chart=True, note=""):
    found = _figures(scope=scope, filters=filters, group=group, start=start, end=end)
    figures, totals, with_municipalities = found.by_key, found.totals, found.with_municipalities
    columns = _figure_columns(
        _level(scope),
        categories=_categories(filters),
        with_municipalities=with_municipalities,
        label=label_column,
        group=group,
    )
    keys_labels = keys_labels(figures) if callable(keys_labels) else keys_labels
    rows = [_figure_row(label, figures.get(key), columns) for key, label in keys_labels]
    total = _figure_row(_("Total"), totals, columns)
    if group == "year" and with_municipalities:
        # Municipalities over all the years would read as this year's network: leave it out.
        total["municipalities"] = None
    table = Table(
        slug=slug,
        title=title,
        columns=columns,
        rows=rows,
        total=total,
        chart=ChartSpec("label", ("total_uses",)) if chart else None,
        note=note,
        every_year=group == "year",
    )
    if group in ("region", "municipality", "site"):
        keys = [key for key, _label in keys_labels]
        return _places_suppress(group, table, keys, scope=scope, filters=filters, found=found)
    # A year's figures are the other tables' totals for a period of that year (this year's are
    # on the same page by default): hiding another year would not protect a small one.
    return table_suppress(table, rows_shown_elsewhere=group == "year")


# --- 1. the annual table and the per-region table ------------------------------------------


def stats_annual(*, scope: StatsScope | None, filters: StatsFilter) -> Table:
    """Per year since the first record (the current year so far); the period filter does not
    apply, the region and category filters do."""
    today = _today()

    def years(figures):
        first = min([key for key in figures if key is not None] + [today.year])
        return [(year, str(year)) for year in range(first, today.year + 1)]

    if filters.region_id is not None:
        # The region filter narrows even the public "national" table: its title says so (the
        # slug stays, so that the table's address and file name do not depend on the filter).
        name = next((name for _pk, name in Region.names(Region.objects.filter(pk=filters.region_id))), "")
        title = _("Annual figures: %(region)s") % {"region": name}
    elif scope is None:
        title = _("National annual figures")
    else:
        title = _("Annual figures")
    return _figure_table(
        slug="annual" if scope is not None else "national-annual",
        title=title,
        scope=scope,
        filters=filters,
        group="year",
        start=None,
        end=today,
        keys_labels=years,
        label_column=Column("label", _("Year"), numeric=False),
        note=_("Every year since the first record; the current year so far."),
    )


def _region_rows(scope: StatsScope | None, filters: StatsFilter) -> list[tuple[int, str]]:
    regions = Region.objects.all()
    if filters.region_id is not None:
        regions = regions.filter(pk=filters.region_id)
    if scope is not None and scope.level == StatsLevel.REGION:
        regions = regions.filter(pk=scope.pk)
    return Region.names(regions)  # a Swedish name on Swedish pages (tables are kept per language)


def stats_by_region(*, scope: StatsScope | None, filters: StatsFilter) -> Table:
    """The annual figures for the filter period, one row per region (the public per-region table).

    A card and its uses belong to the region of the card's responsible site; a municipality
    participates in the region it lies in."""
    return _figure_table(
        slug="by-region",
        title=_("By region"),
        scope=scope,
        filters=filters,
        group="region",
        start=filters.start,
        end=filters.end,
        keys_labels=_region_rows(scope, filters),
        label_column=Column("label", _("Region"), numeric=False),
    )


# --- 2. by month, municipality and site ------------------------------------------------------


def stats_by_month(*, scope: StatsScope | None, filters: StatsFilter) -> Table:
    return _figure_table(
        slug="by-month",
        title=_("By month"),
        scope=scope,
        filters=filters,
        group="month",
        start=filters.start,
        end=filters.end,
        keys_labels=[(month, _label_month(month)) for month in _months(filters.start, filters.end)],
        label_column=Column("label", _("Month"), numeric=False),
    )


def _names(model, ids, *, extra_q: Q | None = None) -> list[tuple[int, str]]:
    """Rows for the ids with figures (and, in a region, every place of it), by name: one query."""
    q = Q(pk__in=[pk for pk in ids if pk is not None])
    if extra_q is not None:
        q |= extra_q
    # str(): a municipality's Swedish name on Swedish pages (the tables are kept per language).
    return [(obj.pk, str(obj)) for obj in model.objects.filter(q).order_by("name", "pk")]


def _municipality_rows(scope: StatsScope | None, filters: StatsFilter):
    region_id = scope.pk if scope is not None and scope.level == StatsLevel.REGION else filters.region_id
    extra = Q(region_id=region_id) if region_id is not None else None
    return lambda figures: _names(Municipality, figures, extra_q=extra)


def stats_by_municipality(*, scope: StatsScope | None, filters: StatsFilter) -> Table:
    """By the municipality of the card's responsible site."""
    return _figure_table(
        slug="by-municipality",
        title=_("By municipality"),
        scope=scope,
        filters=filters,
        group="municipality",
        start=filters.start,
        end=filters.end,
        keys_labels=_municipality_rows(scope, filters),
        label_column=Column("label", _("Municipality"), numeric=False),
        chart=False,
    )


def _site_rows(scope: StatsScope | None, filters: StatsFilter):
    region_id = scope.pk if scope is not None and scope.level == StatsLevel.REGION else filters.region_id
    extra = (
        Q(kind=Site.Kind.DISTRIBUTOR, municipality__region_id=region_id, is_active=True)
        if region_id is not None
        else None
    )

    def sites(figures):
        q = Q(pk__in=[pk for pk in figures if pk is not None])
        if extra is not None:
            q |= extra
        return [
            (site.pk, str(site))
            for site in Site.objects.filter(q).select_related("organisation").order_by("name", "pk")
        ]

    return sites


def stats_by_site(*, scope: StatsScope | None, filters: StatsFilter) -> Table:
    """By distributor site: the site's cards and the uses of those cards."""
    sites = _site_rows(scope, filters)

    return _figure_table(
        slug="by-site",
        title=_("By distributor site"),
        scope=scope,
        filters=filters,
        group="site",
        start=filters.start,
        end=filters.end,
        keys_labels=sites,
        label_column=Column("label", _("Site"), numeric=False),
        chart=False,
    )


# --- 3. validity at month ends, new and renewed --------------------------------------------


def _validity_parts(scope: StatsScope | None, filters: StatsFilter, *, raw: QuerySet, summary_q: Q):
    """The cards of the scope as (``raw`` narrowed to the dirty cards, the ``CardValidity`` rows
    of every other card matching ``summary_q``): each card on one side; ``raw`` alone without
    usable summaries. ``raw`` is of cards (``pk``) or validity periods (``card_id``)."""
    coverage = summary_coverage()
    if coverage is None:
        return raw, None
    rows = CardValidity.objects.filter(summary_q, _cards_q(scope, filters, "card_"))
    card = "pk" if raw.model is Card else "card_id"
    dirty = raw.filter(**{f"{card}__in": coverage.dirty_cards}) if coverage.dirty_cards else None
    return dirty, rows.exclude(card_id__in=coverage.dirty_cards)


def _valid_on(scope: StatsScope | None, filters: StatsFilter, days: list[datetime.date]) -> dict[datetime.date, int]:
    """Cards of the scope valid on each of ``days``."""
    if not days:
        return {}
    periods = ValidityPeriod.objects.filter(_cards_q(scope, filters, "card__"), _overlapping(min(days), max(days)))
    raw, summary = _validity_parts(scope, filters, raw=periods, summary_q=Q(year__in={day.year for day in days}))
    counts = dict.fromkeys(days, 0)
    if raw is not None:
        found = raw.aggregate(
            **{f"d{i}": Count("card_id", distinct=True, filter=_covering(day)) for i, day in enumerate(days)}
        )
        for i, day in enumerate(days):
            counts[day] += found[f"d{i}"]
    if summary is not None:
        # One row per card and year: counting rows counts cards.
        found = summary.aggregate(
            **{
                f"d{i}": Count("id", filter=Q(year=day.year) & _month_q(day.year, day.month, day, day))
                for i, day in enumerate(days)
            }
        )
        for i, day in enumerate(days):
            counts[day] += found[f"d{i}"]
    return counts


def stats_validity(*, scope: StatsScope | None, filters: StatsFilter) -> Table:
    """Cards valid at each month end (the period's last day for its last month) and the
    validity periods that started in the month, by cause."""
    months = _months(filters.start, filters.end)
    days = [min(month_end(month), filters.end) for month in months]
    valid = _valid_on(scope, filters, days)
    started = _period_starts(scope, filters, start=filters.start, end=filters.end, keys=["month", "cause"])
    causes = [c.value for c in ValidityPeriod.Cause]
    columns = [
        Column("label", _("Month"), numeric=False),
        Column("valid", _("Cards valid at month end"), personal=True),
        Column(ValidityPeriod.Cause.REGISTERED, _("New cards"), personal=True),
        Column(ValidityPeriod.Cause.RENEWED, _("Renewed cards"), personal=True),
        Column(ValidityPeriod.Cause.REACTIVATED, _("Reactivated cards"), personal=True),
        Column(ValidityPeriod.Cause.REPLACED, _("Replacement cards"), personal=True),
    ]
    table_rows = []
    for i, month in enumerate(months):
        row = {"label": _label_month(month), "valid": valid[days[i]]}
        row |= {cause: started[(month, cause)] for cause in causes}
        table_rows.append(row)
    total = {"label": _("Total"), "valid": None} | {cause: sum(r[cause] for r in table_rows) for cause in causes}
    table = Table(
        slug="validity",
        title=_("Valid cards, new and renewed"),
        columns=columns,
        rows=table_rows,
        total=total,
        chart=ChartSpec("label", ("valid",)),
        note=_("A card is valid on a day inside one of its validity periods, until an inactivation ends it."),
    )
    return table_suppress(table)


# --- 4. card kinds and OmaKaiku adoption ----------------------------------------------------


def _breakdown(scope: StatsScope | None) -> tuple[str | None, Column | None]:
    """How a scope's own tables break down: regions nationally, sites in a region, none below."""
    match _level(scope):
        case StatsLevel.NATIONAL:
            return "site__municipality__region_id", Column("label", _("Region"), numeric=False)
        case StatsLevel.REGION:
            return "site_id", Column("label", _("Site"), numeric=False)
    return None, None


def stats_card_kinds(*, scope: StatsScope | None, filters: StatsFilter) -> Table:
    """Card kinds among the cards valid on the period's last day (today, if that is later),
    and the share whose holder has activated OmaKaiku."""
    day = min(filters.end, _today())
    key, label_column = _breakdown(scope)
    cards = Card.objects.filter(_cards_q(scope, filters)).filter(
        Exists(ValidityPeriod.objects.filter(_covering(day), card=OuterRef("pk")))
    )
    raw, summary = _validity_parts(
        scope, filters, raw=cards, summary_q=Q(year=day.year) & _month_q(day.year, day.month, day, day)
    )
    counts = defaultdict(lambda: defaultdict(int))

    def add(rows, kind_key: str, group_key: str | None) -> None:
        for row in rows:
            group = row[group_key] if group_key else None
            counts[group][row[kind_key]] += row["n"]
            counts[group]["omakaiku"] += row["oma"]

    if raw is not None:
        kind = Case(
            When(kind=Card.Kind.PHYSICAL, mobile_enabled=True, then=Value(PHYSICAL_MOBILE)),
            default=F("kind"),
            output_field=CharField(),
        )
        add(
            raw.annotate(kind_key=kind)
            .values("kind_key", *([key] if key else []))
            .annotate(n=Count("id"), oma=Count("id", filter=Q(holder__account__activated_at__isnull=False)))
            .order_by(),
            "kind_key",
            key,
        )
    if summary is not None:
        summary_key = f"card_{key}" if key else None  # the card's site is ``card_site`` there
        add(
            summary.values("kind", *([summary_key] if key else []))
            .annotate(n=Count("id"), oma=Count("id", filter=Q(account__activated_at__isnull=False)))
            .order_by(),
            "kind",
            summary_key,
        )
    kinds = ["physical", "physical_mobile", Card.Kind.X.value, Card.Kind.Z.value]
    columns = [
        label_column or Column("label", _("Cards"), numeric=False),
        Column("physical", _("Physical"), personal=True),
        Column("physical_mobile", _("Physical + mobile"), personal=True),
        Column("x", _("X (mobile only)"), personal=True),
        Column("z", _("Z (organisation, mobile only)"), personal=True),
        Column("total", _("Valid cards"), personal=True),
        # In use: the holder has set a password from the invitation (an invitation alone is not).
        Column("omakaiku", _("OmaKaiku in use"), personal=True),
        Column("omakaiku_share", _("OmaKaiku share (%)")),
    ]
    if key == "site__municipality__region_id":
        groups = Region.names()
        if filters.region_id is not None:
            groups = [(pk, name) for pk, name in groups if pk == filters.region_id]
    elif key == "site_id":
        groups = [
            (site.pk, str(site))
            for site in Site.objects.filter(
                Q(pk__in=[pk for pk in counts if pk is not None])
                | Q(kind=Site.Kind.DISTRIBUTOR, is_active=True, municipality__region_id=scope.pk)
            )
            .select_related("organisation")
            .order_by("name", "pk")
        ]
    else:
        groups = [(None, _("Valid cards on %(day)s") % {"day": _day_text(day)})]

    def row_for(label, values):
        row = {"label": label} | {k: values.get(k, 0) for k in kinds}
        row["total"] = sum(row[k] for k in kinds)
        row["omakaiku"] = values.get("omakaiku", 0)
        return row

    table_rows = [row_for(label, counts.get(pk, {})) for pk, label in groups]
    total_values = defaultdict(int)
    for values in counts.values():
        for k, n in values.items():
            total_values[k] += n
    total = row_for(_("Total"), total_values) if key else None
    table = table_suppress(
        Table(
            slug="card-kinds",
            title=_("Card kinds and OmaKaiku"),
            columns=columns,
            rows=table_rows,
            total=total,
            chart=ChartSpec("label", tuple(kinds)),
            # Whether a card has the mobile card, and its holder OmaKaiku, is kept as it is now,
            # not day by day: for a past day these columns say how those cards stand today.
            note=_(
                "Cards valid on %(day)s. The mobile card and OmaKaiku as they are today; OmaKaiku is in use once "
                "the holder has set a password from the invitation."
            )
            % {"day": _day_text(day)},
        ),
        row_totals={"total": tuple(kinds)},
        # "10 valid, 9 in use" would tell that one holder has no OmaKaiku.
        differences={"omakaiku": "total"},
    )
    for row in [*table.rows, *([table.total] if table.total else [])]:
        # The share and the total together give the count: hide it when either is hidden. It is
        # no count of people itself, so it is marked as hidden to protect one ("×"), never "<5".
        if isinstance(row["omakaiku"], Suppressed) or isinstance(row["total"], Suppressed):
            row["omakaiku_share"] = COMPLEMENTARY
        else:
            row["omakaiku_share"] = round(100 * row["omakaiku"] / row["total"], 1) if row["total"] else 0
    return table


# --- 5. cross-region use -----------------------------------------------------------------


def stats_cross_region(*, scope: StatsScope | None, filters: StatsFilter) -> Table:
    """Uses by the card's home region (the holder's municipality's) × the venue's region.

    A region (a region scope, or the region filter) reads the uses of its cards and the uses at
    its venues. Only its venues' column is whole there: at another region's venues it has the
    uses of its own cards and misses those of that region's cards, so a cell such as Uusimaa at
    Uusimaa would show a part (often 0) of what was measured nationally. So those columns, and
    the row totals made of them, are left out; the uses of its cards elsewhere are in the table
    of uses by venue."""
    rows = _scope_use_rows(
        scope,
        filters,
        start=filters.start,
        end=filters.end,
        venue_side=True,
        keys=["home_region", "venue_region"],
        sums=["uses", "child"],
    )
    counts = defaultdict(int)
    for (home, at), values in rows.items():
        counts[(home, at)] += values["uses"] + values["child"]
    regions = Region.names()
    one_region = scope.pk if _level(scope) == StatsLevel.REGION else filters.region_id
    venue_regions = regions if one_region is None else [(pk, name) for pk, name in regions if pk == one_region]
    columns = [Column("label", _("Home region of the card"), numeric=False)]
    columns += [Column(f"region_{pk}", name) for pk, name in venue_regions]
    if one_region is None:
        columns.append(Column("total", _("Total")))
    table_rows = []
    for home, name in regions:
        row = {"label": name} | {f"region_{at}": counts[(home, at)] for at, _name in venue_regions}
        if one_region is None:
            row["total"] = sum(counts[(home, at)] for at, _name in regions)
        table_rows.append(row)
    total = {"label": _("Total")} | {
        f"region_{at}": sum(counts[(home, at)] for home, _n in regions) for at, _n in venue_regions
    }
    if one_region is None:
        total["total"] = sum(counts.values())
        note = _("Rows: the region of the holder's home municipality. Columns: the region of the venue. Total uses.")
    else:
        note = _(
            "Rows: the region of the holder's home municipality. Column: the uses at the venues of %(region)s, "
            "by holders from every region. Other regions' venues are left out: of their uses, these figures "
            "hold only those of cards of %(region)s (they are in the table of uses by venue). Total uses."
        ) % {"region": next((name for _pk, name in venue_regions), "")}
    return Table(
        slug="cross-region",
        title=_("Uses across regions"),
        columns=columns,
        rows=table_rows,
        total=total,
        note=note,
    )


# --- 6. venues --------------------------------------------------------------------------------


def stats_by_venue(*, scope: StatsScope | None, filters: StatsFilter) -> Table:
    """Uses by venue and category, organisation cards' clients under 16, assistant tickets,
    and how many distinct cards visited."""
    rows = _scope_use_rows(
        scope,
        filters,
        start=filters.start,
        end=filters.end,
        keys=["venue", "category"],
        sums=["uses", "child", "clients", "assistant"],
    )
    per_venue: dict = defaultdict(lambda: defaultdict(int))
    totals: dict = defaultdict(int)
    for (venue_id, category), values in rows.items():
        for target in (per_venue[venue_id], totals):
            target[f"adult_{category}"] += values["uses"]
            target["child_uses"] += values["child"]
            target["clients_under_16"] += values["clients"]
            target["assistant_tickets"] += values["assistant"]
    period = {"scope": scope, "filters": filters, "start": filters.start, "end": filters.end}
    for venue_id, n in _cards_used(group="venue", **period).items():
        per_venue[venue_id]["cards"] = n
    totals["cards"] = _cards_used(group=None, **period)[None]
    names = _category_labels()
    columns = [Column("label", _("Venue"), numeric=False)]
    categories = _categories(filters)
    columns += [Column(f"adult_{c}", _("Adult uses: %(category)s") % {"category": names[c]}) for c in categories]
    columns += [
        Column("child_uses", _("Child uses")),
        Column("total_uses", _("Total uses")),
        Column("clients_under_16", _("Organisation cards: clients under 16")),
        Column("assistant_tickets", _("Assistant tickets")),
        Column("cards", _("Distinct cards visited"), personal=True, additive=False),
    ]
    venue_ids = set(per_venue)
    if scope is not None and scope.level == StatsLevel.VENUE:
        venue_ids.add(scope.pk)
    venues = Site.objects.filter(pk__in=venue_ids).select_related("organisation").order_by("name", "pk")

    def row_for(label, values):
        row = {"label": label} | {column.key: (values or {}).get(column.key) or 0 for column in columns[1:]}
        row["total_uses"] = sum(row[f"adult_{c}"] for c in categories) + row["child_uses"]
        return row

    table = Table(
        slug="by-venue",
        title=_("Uses by venue"),
        columns=columns,
        rows=[row_for(str(venue), per_venue.get(venue.pk)) for venue in venues],
        total=row_for(_("Total"), totals),
        chart=ChartSpec("label", ("total_uses",)),
    )
    return table_suppress(table)


# --- 7. demographics -------------------------------------------------------------------------

BANDS = [("under_16", None, 15), ("16_29", 16, 29), ("30_44", 30, 44), ("45_64", 45, 64), ("65_plus", 65, None)]


def _band_labels() -> dict[str, str]:
    return {
        "under_16": _("Under 16"),
        "16_29": "16–29",
        "30_44": "30–44",
        "45_64": "45–64",
        "65_plus": _("65 or older"),
    }


@_once_per_page
def _holder_groups(scope: StatsScope | None, filters: StatsFilter) -> dict[tuple, int]:
    """Holders per (age band, gender, life situation, children): the three demographic tables
    from one query over the holders."""
    year = filters.end.year
    # A birth year after ``year - low`` means younger than ``low`` at the end of that year.
    band = Case(
        *[When(birth_year__gt=year - (high + 1), then=Value(key)) for key, _low, high in BANDS if high is not None],
        default=Value("65_plus"),
        output_field=CharField(),
    )
    children = Case(
        When(children_count__gte=3, then=Value(3)), default=F("children_count"), output_field=IntegerField()
    )
    raw, summary = _validity_parts(
        scope,
        filters,
        raw=ValidityPeriod.objects.filter(_overlapping(filters.start, filters.end), _cards_q(scope, filters, "card__")),
        summary_q=_activity_period_q(filters.start, filters.end),
    )
    groups = defaultdict(int)
    # Each holder is one row, counted once however many cards; and a holder's cards are all
    # dirty or none (summary.py), so no holder is found on both sides.
    for cards, holder in ((raw, "card__holder_id"), (summary, "holder_id")):
        if cards is None:
            continue
        rows = (
            Holder.objects.filter(kind=Holder.Kind.CUSTOMER, pk__in=cards.values(holder))
            .values(band=band, gender_=F("gender"), situation=F("life_situation"), children=children)
            .annotate(n=Count("id"))
            .order_by()
        )
        for row in rows:
            groups[(row["band"], row["gender_"], row["situation"], row["children"])] += row["n"]
    return dict(groups)


def _holder_counts(scope, filters, *, key) -> dict:
    counts = defaultdict(int)
    for (band, gender, situation, children), n in _holder_groups(scope, filters).items():
        counts[key(band, gender, situation, children)] += n
    return counts


def stats_age_gender(*, scope: StatsScope | None, filters: StatsFilter) -> Table:
    """Holders by age band (age in the year the period ends) and gender."""
    counts = _holder_counts(scope, filters, key=lambda band, gender, _s, _c: (band, gender or ""))
    genders = [(g.value, str(g.label)) for g in Holder.Gender] + [("", _("Not given"))]
    gender_keys = [g or "not_given" for g, _label in genders]
    columns = [Column("label", _("Age"), numeric=False)]
    columns += [Column(g or "not_given", label, personal=True) for g, label in genders]
    columns.append(Column("total", _("Holders"), personal=True))
    labels = _band_labels()
    table_rows = []
    for key, _low, _high in BANDS:
        row = {"label": labels[key]} | {g or "not_given": counts[(key, g)] for g, _label in genders}
        row["total"] = sum(row[g] for g in gender_keys)
        if key == "under_16" and not row["total"]:
            continue  # cards are for adults; the row appears only if the register has any
        table_rows.append(row)
    total = {"label": _("Total")} | {g: sum(r[g] for r in table_rows) for g in gender_keys}
    total["total"] = sum(total[g] for g in gender_keys)
    return table_suppress(
        Table(
            slug="age-gender",
            title=_("Holders by age and gender"),
            columns=columns,
            rows=table_rows,
            total=total,
            chart=ChartSpec("label", ("total",)),
            note=_("Customers with a card valid in the period; age in the year the period ends."),
        ),
        row_totals={"total": tuple(gender_keys)},
    )


def _single_count_table(*, slug, title, label_title, scope, filters, key, keys_labels, note) -> Table:
    counts = _holder_counts(scope, filters, key=key)
    rows = [{"label": label, "holders": counts[k]} for k, label in keys_labels]
    return table_suppress(
        Table(
            slug=slug,
            title=title,
            columns=[Column("label", label_title, numeric=False), Column("holders", _("Holders"), personal=True)],
            rows=rows,
            total={"label": _("Total"), "holders": sum(row["holders"] for row in rows)},
            chart=ChartSpec("label", ("holders",)),
            note=note,
        )
    )


def stats_life_situation(*, scope: StatsScope | None, filters: StatsFilter) -> Table:
    situations = [(s.value, str(s.label)) for s in Holder.LifeSituation] + [("", _("Not given"))]
    return _single_count_table(
        slug="life-situation",
        title=_("Holders by life situation"),
        label_title=_("Life situation"),
        scope=scope,
        filters=filters,
        key=lambda _b, _g, situation, _c: situation or "",
        keys_labels=situations,
        note=_("Customers with a card valid in the period."),
    )


def stats_children(*, scope: StatsScope | None, filters: StatsFilter) -> Table:
    return _single_count_table(
        slug="children",
        title=_("Households with children"),
        label_title=_("Children under 18"),
        scope=scope,
        filters=filters,
        key=lambda _b, _g, _s, children: children,
        keys_labels=[(0, _("No children")), (1, "1"), (2, "2"), (3, _("3 or more"))],
        note=_("Customers with a card valid in the period."),
    )


# --- what each page shows --------------------------------------------------------------------


_DASHBOARDS = {
    StatsLevel.NATIONAL: [
        ("annual", stats_annual),
        ("by-month", stats_by_month),
        ("by-region", stats_by_region),
        ("by-municipality", stats_by_municipality),
        ("by-site", stats_by_site),
        ("validity", stats_validity),
        ("card-kinds", stats_card_kinds),
        ("cross-region", stats_cross_region),
        ("by-venue", stats_by_venue),
        ("age-gender", stats_age_gender),
        ("life-situation", stats_life_situation),
        ("children", stats_children),
    ],
    StatsLevel.REGION: [
        ("annual", stats_annual),
        ("by-month", stats_by_month),
        ("by-municipality", stats_by_municipality),
        ("by-site", stats_by_site),
        ("validity", stats_validity),
        ("card-kinds", stats_card_kinds),
        ("cross-region", stats_cross_region),
        ("by-venue", stats_by_venue),
        ("age-gender", stats_age_gender),
        ("life-situation", stats_life_situation),
        ("children", stats_children),
    ],
    StatsLevel.SITE: [
        ("annual", stats_annual),
        ("by-month", stats_by_month),
        ("validity", stats_validity),
        ("card-kinds", stats_card_kinds),
        ("by-venue", stats_by_venue),
        ("age-gender", stats_age_gender),
        ("life-situation", stats_life_situation),
        ("children", stats_children),
    ],
    StatsLevel.VENUE: [("by-month", stats_by_month), ("by-venue", stats_by_venue)],
}
_PUBLIC = [("national-annual", stats_annual), ("by-region", stats_by_region)]


def stats_table_slugs(*, scope: StatsScope) -> list[str]:
    """The slugs of a scope's dashboard tables, in order, without computing any."""
    return [slug for slug, _selector in _DASHBOARDS.get(scope.level, [])]


def stats_tables_for(*, scope: StatsScope, filters: StatsFilter) -> list[Table]:
    """The tables of a scope's dashboard, in order (the caller has checked ``stats_permits``)."""
    with summary_reading():
        return [selector(scope=scope, filters=filters) for _slug, selector in _DASHBOARDS.get(scope.level, [])]


def stats_table_for(*, scope: StatsScope, filters: StatsFilter, slug: str) -> Table | None:
    """One table of a scope's dashboard (a download), computing only that one; None: not shown there."""
    selector = dict(_DASHBOARDS.get(scope.level, [])).get(slug)
    if selector is None:
        return None
    with summary_reading():
        return selector(scope=scope, filters=filters)


def stats_public_slugs() -> list[str]:
    return [slug for slug, _selector in _PUBLIC]


def stats_public_tables(*, filters: StatsFilter) -> list[Table]:
    """The open data: the national annual table and the per-region table."""
    with summary_reading():
        return [selector(scope=None, filters=filters) for _slug, selector in _PUBLIC]


def stats_public_table(*, filters: StatsFilter, slug: str) -> Table | None:
    selector = dict(_PUBLIC).get(slug)
    if selector is None:
        return None
    with summary_reading():
        return selector(scope=None, filters=filters)
