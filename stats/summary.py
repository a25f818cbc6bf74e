"""Summaries that keep the statistics fast at a million uses, and live to the last use recorded.

Counting a million uses takes seconds; counting distinct cards among them takes longer. So
``summary_build`` (run every 10 minutes by the command ``stats_summary_build``, and after the
demo seed) keeps these summaries, each from one consistent snapshot of the register:

- ``UseDay``: the uses of each day summed per card's site, venue, category and holder's home
  municipality (what every sum of uses is grouped or filtered by), and ``UseMonth``, the same
  per month, read for the whole months of a period;
- ``CardActivity``: per card and year, the days it was used, as bits per month, overall and per
  venue and category (what every count of distinct cards needs), so "cards used in a period"
  is a count of rows;
- ``RegistrationDay``: the validity periods started each day per card's site and cause (cards
  registered, new and renewed cards);
- ``CardValidity``: per card and year, the days it was valid, as bits per month, with its kind
  and holder (cards valid on a day, card kinds, holders with a card valid in a period).

The register keeps changing after a build: uses are recorded, imported and cancelled, cards are
registered, renewed and moved to another site, holders move house. The figures are never
allowed to lag, so each computation asks ``summary_coverage`` what the summaries still hold
correctly:

- a use recorded, imported, cancelled or edited since the build is **changed**: the sums are
  the summaries' plus what the use is now, minus the version of it the build summarised (its
  history row then), so a day with a new use is not read again whole;
- a day on which a validity period started since the build is **dirty**, and so is every day
  with a use of a card moved to another site or whose holder moved (its uses now count
  elsewhere): dirty days are read from the register whole, not from the summaries;
- a card with a changed use or a new period, or changed itself (moved, inactivated, made
  mobile…), or whose holder changed since the build, is **dirty**, and so are the other cards of
  its holder: its figures are read from its uses, periods and holder, and its ``CardActivity``
  and ``CardValidity`` rows are left out.

Which changes to uses came after a build is exact: the build records the newest use history row
its snapshot saw and the ids below it that it did not see (ids are taken when a row is written,
so a transaction still running then holds lower ids than rows committed before the snapshot).
Only ids from ``MARGIN`` before the build are looked at for those, longer than any writing
transaction may last. Cards and holders changed are found in their history from ``MARGIN``
before the build, uses loaded without history and validity periods (only ever added, or ended)
by their id. The next build summarises again only what changed. The more changes since the
build, the more is read from the register: past ``MAX_DIRTY_DAYS``, ``MAX_DIRTY_CARDS`` or
``MAX_CHANGED_USES`` everything is, until the next build (which then summarises everything).
Before the first build everything is read from the register.
"""

import calendar
import contextlib
import contextvars
import datetime
import functools
import itertools
import logging
import operator
import time
from dataclasses import dataclass

from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Count, DateField, F, IntegerField, Max, Min, Q, Sum
from django.db.models.functions import Cast, ExtractDay, ExtractMonth, ExtractYear, TruncMonth
from django.utils import timezone

from cards.models import Card, CardUse, Holder, ValidityPeriod

from .cache import register_fingerprint
from .models import CardActivity, CardValidity, RegistrationDay, SummaryCard, SummaryState, UseDay, UseMonth

logger = logging.getLogger(__name__)

# Longer than any transaction that writes uses or cards may last: a request is cut off after
# gunicorn's 30-second timeout, and imports and commands commit in seconds.
MARGIN = datetime.timedelta(minutes=2)
MAX_DIRTY_DAYS = 400
MAX_DIRTY_CARDS = 5000
MAX_CHANGED_USES = 20_000
# Cards (by id) whose validity is summarised at a time in a full build.
CARD_SLICE = 50_000
COVERAGE_TIMEOUT = 60 * 60


@dataclass(frozen=True)
class Coverage:
    """What the summaries built at ``built_at`` no longer hold correctly (see the module's text)."""

    built_at: datetime.datetime
    dirty_days: frozenset[datetime.date]
    dirty_cards: frozenset[int]
    # Days on which a validity period started that ``RegistrationDay`` does not hold correctly.
    dirty_period_days: frozenset[datetime.date] = frozenset()
    # The uses changed since the build, by id: their figures are the summaries' plus what they
    # are now (``added_uses``) minus what the build summarised (``removed_versions``, their
    # history rows), except on ``dirty_days``, which are read from the uses whole.
    added_uses: frozenset[int] = frozenset()
    removed_versions: frozenset[int] = frozenset()
    # The days the next build summarises again: every day a changed use was or is on.
    changed_days: frozenset[datetime.date] = frozenset()


# --- building ---------------------------------------------------------------------------------


def _insert_select(cursor, model, columns: dict[str, str], queryset) -> int:
    """``INSERT INTO model (columns) SELECT … FROM (queryset)``: the rows never leave the database.

    ``columns`` maps each column to an alias of the queryset."""
    connection = cursor.db
    quote = connection.ops.quote_name
    sql, params = queryset.query.sql_with_params()
    names = ", ".join(quote(model._meta.get_field(column).column) for column in columns)
    selected = ", ".join(quote(alias) for alias in columns.values())
    cursor.execute(
        f"INSERT INTO {quote(model._meta.db_table)} ({names}) SELECT {selected} FROM ({sql}) summary",  # noqa: S608
        params,
    )
    return cursor.rowcount


def _activity_insert(cursor, *, by_venue: bool, by_category: bool, where: Q) -> int:
    """One kind of ``CardActivity`` rows (see the model): the distinct days of use per card and
    year (and venue, and category), folded into one bit per day and one column per month."""
    keys = {
        "s_card": F("card_id"),
        "s_site": F("card__site_id"),
        "s_year": Cast(ExtractYear("used_on"), IntegerField()),
    }
    if by_venue:
        keys["s_venue"] = F("venue_id")
    if by_category:
        keys["s_category"] = F("category")
    days = (
        CardUse.objects.filter(where, cancelled_at__isnull=True)
        .values(
            **keys,
            s_month=Cast(ExtractMonth("used_on"), IntegerField()),
            s_day=Cast(ExtractDay("used_on"), IntegerField()),
        )
        .distinct()
        .order_by()
    )
    sql, params = days.query.sql_with_params()
    quote = cursor.db.ops.quote_name
    columns = ["card", "card_site", "year", "venue", "category"] + [f"m{month}" for month in range(1, 13)]
    names = ", ".join(quote(CardActivity._meta.get_field(column).column) for column in columns)
    # Each day once per group (the DISTINCT above), so the sum of its powers of two is their OR.
    months = [f"SUM(CASE WHEN s_month = {month} THEN 1 << (s_day - 1) ELSE 0 END)" for month in range(1, 13)]
    selected = ["s_card", "s_site", "s_year", "s_venue" if by_venue else "NULL", "s_category" if by_category else "''"]
    group = ", ".join(key for key in keys)
    cursor.execute(
        f"INSERT INTO {quote(CardActivity._meta.db_table)} ({names}) "  # noqa: S608 (our own names)
        f"SELECT {', '.join(selected + months)} FROM ({sql}) days GROUP BY {group}",
        params,
    )
    return cursor.rowcount


_USE_SUM_COLUMNS = [
    "used_on",
    "card_site",
    "venue",
    "category",
    "home_municipality",
    "uses",
    "child_tickets",
    "assistant_tickets",
    "clients_under_16",
]


def _use_days_insert(cursor, *, where: Q) -> int:
    return _insert_select(
        cursor,
        UseDay,
        {name: f"s_{name}" for name in _USE_SUM_COLUMNS},
        CardUse.objects.filter(where, cancelled_at__isnull=True)
        .values(
            s_used_on=F("used_on"),
            s_card_site=F("card__site_id"),
            s_venue=F("venue_id"),
            s_category=F("category"),
            s_home_municipality=F("card__holder__municipality_id"),
        )
        .annotate(
            s_uses=Count("id"),
            s_child_tickets=Sum("child_tickets"),
            s_assistant_tickets=Sum("assistant_tickets"),
            s_clients_under_16=Sum("clients_under_16"),
        )
        .order_by(),
    )


def _use_months_insert(cursor, *, months: list[datetime.date] | None) -> int:
    """``UseMonth`` from ``UseDay``: every month, or only ``months`` (their first days)."""
    days = UseDay.objects.all()
    if months is not None:
        days = days.filter(
            functools.reduce(operator.or_, [Q(used_on__gte=month, used_on__lte=month_end(month)) for month in months])
        )
    return _insert_select(
        cursor,
        UseMonth,
        {name: f"s_{name}" for name in _USE_SUM_COLUMNS},
        days.values(
            s_used_on=Cast(TruncMonth("used_on"), DateField()),
            s_card_site=F("card_site_id"),
            s_venue=F("venue_id"),
            s_category=F("category"),
            s_home_municipality=F("home_municipality_id"),
        )
        .annotate(
            s_uses=Sum("uses"),
            s_child_tickets=Sum("child_tickets"),
            s_assistant_tickets=Sum("assistant_tickets"),
            s_clients_under_16=Sum("clients_under_16"),
        )
        .order_by(),
    )


def month_end(day: datetime.date) -> datetime.date:
    """The last day of ``day``'s month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


# A physical card with mobile use switched on is a kind of its own in the figures.
PHYSICAL_MOBILE = "physical_mobile"


def card_kind_key(kind: str, mobile_enabled: bool) -> str:
    return PHYSICAL_MOBILE if kind == Card.Kind.PHYSICAL and mobile_enabled else kind


@functools.cache
def _month_starts(year: int) -> tuple[int, ...]:
    """The ordinal days on which each month of ``year`` begins, and the next year's first."""
    return tuple(datetime.date(year, month, 1).toordinal() for month in range(1, 13)) + (
        datetime.date(year + 1, 1, 1).toordinal(),
    )


def _day_bits(bits: dict[int, list[int]], first: datetime.date, last: datetime.date) -> None:
    """Set the bits of the days ``first`` … ``last`` in ``bits`` (year: twelve month masks).

    On ordinal day numbers: a million periods of a year each take a few microseconds."""
    low, high = first.toordinal(), last.toordinal()
    for year in range(first.year, last.year + 1):
        starts = _month_starts(year)
        months = bits.setdefault(year, [0] * 12)
        for month in range(first.month - 1 if year == first.year else 0, 12):
            start, end = starts[month], starts[month + 1] - 1
            if start > high:
                break
            # Days a … b of the month (counted from 0) are bits a … b.
            a, b = max(low, start) - start, min(high, end) - start
            months[month] |= (1 << (b + 1)) - (1 << a)


def _card_validities_insert(cursor, *, cards: list[int] | None) -> int:
    """``CardValidity`` rows for ``cards`` (None: every card), from their validity periods.

    Computed here rather than in SQL: OR-ing date ranges into bits needs ``bit_or``, which
    SQLite lacks, and a card has only a few periods. Written without model instances, a slice
    of cards at a time (a million cards' rows in seconds, not minutes)."""
    periods = (
        ValidityPeriod.objects.filter(Q() if cards is None else Q(card_id__in=cards))
        .values_list(
            "card_id",
            "valid_from",
            "valid_until",
            "ended_on",
            "card__site_id",
            "card__kind",
            "card__mobile_enabled",
            "card__holder_id",
            "card__holder__account_id",
        )
        .order_by("card_id")
    )
    if cards is None:
        ids = ValidityPeriod.objects.aggregate(low=Min("card_id"), high=Max("card_id"))
        slices = (
            [
                periods.filter(card_id__gte=low, card_id__lt=low + CARD_SLICE)
                for low in range(ids["low"], ids["high"] + 1, CARD_SLICE)
            ]
            if ids["low"] is not None
            else []
        )
    else:
        slices = [periods]
    columns = ["card", "card_site", "kind", "holder", "account", "year"] + [f"m{month}" for month in range(1, 13)]
    written = 0
    for part in slices:
        # Read whole before writing: no other statement can run on the connection during a COPY.
        rows = []
        card, bits = None, {}
        for card_id, valid_from, valid_until, ended_on, *rest in part:
            if card is None or card[0] != card_id:
                rows += _validity_rows(card, bits)
                card, bits = (card_id, *rest), {}
            # Valid on a day inside the period, and before the day an inactivation ended it.
            last = valid_until if ended_on is None else min(valid_until, ended_on - datetime.timedelta(days=1))
            if valid_from <= last:
                _day_bits(bits, valid_from, last)
        rows += _validity_rows(card, bits)
        written += _rows_write(cursor, CardValidity, columns, rows)
    return written


def _validity_rows(card: tuple | None, bits: dict[int, list[int]]) -> list[tuple]:
    if card is None:
        return []
    card_id, site_id, kind, mobile, holder_id, account_id = card
    return [
        (card_id, site_id, card_kind_key(kind, mobile), holder_id, account_id, year, *m) for year, m in bits.items()
    ]


def _rows_write(cursor, model, columns: list[str], rows) -> int:
    """Write ``rows`` (tuples in the order of ``columns``) into ``model``'s table: by COPY on
    PostgreSQL, in batches of INSERTs elsewhere."""
    quote = cursor.db.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(model._meta.get_field(column).column) for column in columns)
    written = 0
    if cursor.db.vendor == "postgresql":
        with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                written += 1
        return written
    sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608
    for batch in itertools.batched(rows, 5_000):
        cursor.executemany(sql, batch)
        written += len(batch)
    return written


def _summary_cards_insert(cursor, *, where: Q) -> int:
    return _insert_select(
        cursor,
        SummaryCard,
        {"card": "s_card", "site": "s_site", "home_municipality": "s_home"},
        Card.objects.filter(where).values(s_card=F("id"), s_site=F("site_id"), s_home=F("holder__municipality_id")),
    )


def _registration_days_insert(cursor, *, where: Q) -> int:
    return _insert_select(
        cursor,
        RegistrationDay,
        {"valid_from": "s_day", "card_site": "s_site", "cause": "s_cause", "periods": "s_periods"},
        ValidityPeriod.objects.filter(where)
        .values(s_day=F("valid_from"), s_site=F("card__site_id"), s_cause=F("cause"))
        .annotate(s_periods=Count("id"))
        .order_by(),
    )


def _history_seen(built_at: datetime.datetime) -> tuple[int, list[int]]:
    """The newest use history row this snapshot sees, and the ids below it that it does not: those
    of transactions still running (ids are taken when a row is written, committed later). Only ids
    since ``MARGIN`` before the build can be such, as no writing transaction lasts longer."""
    history = CardUse.history.model.objects.using(DEFAULT_DB_ALIAS)
    newest = history.aggregate(newest=Max("history_id"))["newest"] or 0
    floor = (
        history.filter(history_date__lt=built_at - MARGIN)
        .order_by("-history_date")
        .values_list("history_id", flat=True)
        .first()
    ) or 0
    floor = min(floor, newest)
    seen = set(history.filter(history_id__gt=floor).values_list("history_id", flat=True).order_by())
    return newest, [pk for pk in range(floor + 1, newest + 1) if pk not in seen]


def summary_build(*, full: bool = False) -> SummaryState:
    """Bring both summaries up to date from one snapshot of the register.

    Only what changed since the last build is summarised again (the days and cards
    ``summary_coverage`` would read from the uses); everything is when there is no earlier
    build, when too much has changed, or with ``full``. Readers keep reading the old summaries
    until this commits. Always on the primary database."""
    started = time.perf_counter()
    connection = connections[DEFAULT_DB_ALIAS]
    outermost = not connection.in_atomic_block
    with transaction.atomic(using=DEFAULT_DB_ALIAS), connection.cursor() as cursor:
        if connection.vendor == "postgresql" and outermost:
            # One snapshot for every statement below, and one build at a time (a second waits).
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute(f"LOCK TABLE {SummaryState._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")
            # Grouping a million uses sorts them: in memory, not in temporary files.
            cursor.execute("SET LOCAL work_mem = '256MB'")
        built_at = timezone.now()
        db = DEFAULT_DB_ALIAS
        last_use_id = CardUse.objects.using(db).order_by("-pk").values_list("pk", flat=True).first() or 0
        last_period_id = ValidityPeriod.objects.using(db).order_by("-pk").values_list("pk", flat=True).first() or 0
        last_history_id, unseen_history_ids = _history_seen(built_at)
        previous = None if full else SummaryState.objects.using(db).order_by("-built_at").first()
        coverage = _coverage_compute(previous) if previous is not None else None
        if coverage is None:
            for model in (UseDay, UseMonth, RegistrationDay, CardActivity, CardValidity, SummaryCard, SummaryState):
                model.objects.using(db).all().delete()
            days_q = cards_q = summary_cards_q = period_days_q = Q()
        else:
            days, cards = sorted(coverage.dirty_days | coverage.changed_days), sorted(coverage.dirty_cards)
            period_days = sorted(coverage.dirty_period_days)
            UseDay.objects.using(db).filter(used_on__in=days).delete()
            months = sorted({day.replace(day=1) for day in days})
            UseMonth.objects.using(db).filter(used_on__in=months).delete()
            RegistrationDay.objects.using(db).filter(valid_from__in=period_days).delete()
            period_days_q = Q(valid_from__in=period_days)
            CardActivity.objects.using(db).filter(card_id__in=cards).delete()
            CardValidity.objects.using(db).filter(card_id__in=cards).delete()
            SummaryCard.objects.using(db).filter(card_id__in=cards).delete()
            SummaryState.objects.using(db).all().delete()
            days_q, cards_q, summary_cards_q = Q(used_on__in=days), Q(card_id__in=cards), Q(pk__in=cards)
        use_days = activities = 0
        if coverage is None or days:
            use_days = _use_days_insert(cursor, where=days_q)
            _use_months_insert(cursor, months=None if coverage is None else months)
        if coverage is None or coverage.dirty_period_days:
            _registration_days_insert(cursor, where=period_days_q)
        if coverage is None or coverage.dirty_cards:
            activities = sum(
                _activity_insert(cursor, by_venue=by_venue, by_category=by_category, where=cards_q)
                for by_venue in (False, True)
                for by_category in (False, True)
            )
            _summary_cards_insert(cursor, where=summary_cards_q)
            _card_validities_insert(cursor, cards=None if coverage is None else cards)
        state = SummaryState.objects.using(db).create(
            built_at=built_at,
            last_use_id=last_use_id,
            last_period_id=last_period_id,
            last_history_id=last_history_id,
            unseen_history_ids=unseen_history_ids,
            full=coverage is None,
            duration_ms=round((time.perf_counter() - started) * 1000),
            use_days=use_days,
            card_activities=activities,
        )
    if connection.vendor == "postgresql" and outermost:
        # Vacuum what was rewritten rather than wait for autovacuum: until then every query
        # checks each new row's transaction and skips the rows deleted (dashboards took twice as
        # long), and without fresh statistics the planner guessed one row per table and sorted on
        # disk. After a build of changes only, vacuuming skips the pages nothing touched.
        # A full build deleted every row and wrote them again, so each index held both: rebuilt,
        # they are a fifth of the size (reads and writes go on meanwhile).
        with connection.cursor() as cursor:
            for model in (UseDay, UseMonth, RegistrationDay, CardActivity, CardValidity, SummaryCard):
                table = connection.ops.quote_name(model._meta.db_table)
                cursor.execute(f"VACUUM (ANALYZE) {table}" if state.full else f"VACUUM {table}")
                if state.full:
                    cursor.execute(f"REINDEX TABLE CONCURRENTLY {table}")
    logger.info(
        "Statistics summaries built (%s): %s day rows, %s card rows in %s ms",
        "in full" if state.full else "changes only",
        state.use_days,
        state.card_activities,
        state.duration_ms,
    )
    return state


# --- what the summaries still hold --------------------------------------------------------------


def _coverage_compute(state: SummaryState) -> Coverage | None:
    since = state.built_at - MARGIN
    history = CardUse.history.model
    # The changes to uses the build did not see: history rows after the newest it saw, and those
    # before it whose transactions had not committed then.
    unseen = Q(history_id__gt=state.last_history_id) | Q(history_id__in=state.unseen_history_ids)
    changes = history.objects.filter(unseen)
    changed = set(changes.values_list("id", flat=True).distinct().order_by())
    created = set(changes.filter(history_type="+").values_list("id", flat=True).order_by())
    # Uses loaded without history (the benchmark seed's bulk loads), by id.
    created |= set(CardUse.objects.filter(pk__gt=state.last_use_id).values_list("pk", flat=True).order_by())
    changed |= created
    if len(changed) > MAX_CHANGED_USES:
        return None
    # The version of each changed use that the build summarised: its newest history row it saw.
    seen = dict(
        history.objects.filter(id__in=changed, history_id__lte=state.last_history_id)
        .exclude(history_id__in=state.unseen_history_ids)
        .values("id")
        .annotate(version=Max("history_id"))
        .values_list("id", "version")
        .order_by()
    )
    # A use the build saw without any history row of it (loaded in bulk) and changed since: the
    # version it summarised is unknown, so its days are read from the uses until the next build.
    unknown = changed - created - set(seen)
    # Every version of a changed use: the next build summarises all their days and cards again.
    pairs = set(history.objects.filter(id__in=changed).values_list("used_on", "card_id").distinct().order_by())
    pairs |= set(CardUse.objects.filter(pk__in=created).values_list("used_on", "card_id").order_by())
    unknown_days = set()
    if unknown:
        unknown_days = set(
            history.objects.filter(id__in=unknown).values_list("used_on", flat=True).distinct().order_by()
        )
    # Cards and holders changed since (a few, read by date), then which of them moved: looking
    # the other way round would compare every summarised card with its card and holder.
    touched = set(Card.history.filter(history_date__gt=since).values_list("id", flat=True).distinct().order_by())
    holders = set(Holder.history.filter(history_date__gt=since).values_list("id", flat=True).distinct().order_by())
    if holders:
        touched |= set(Card.objects.filter(holder_id__in=holders).values_list("pk", flat=True).order_by())
    if len(touched) > MAX_DIRTY_CARDS:
        return None
    moved = set()
    if touched:
        moved = set(
            SummaryCard.objects.filter(card_id__in=touched)
            .exclude(site_id=F("card__site_id"), home_municipality_id=F("card__holder__municipality_id"))
            .values_list("card_id", flat=True)
        )
    if Card.history.filter(history_date__gt=since, history_type="-").exists():
        return None  # a deleted card took its periods along: which days they were on is gone
    # Periods are only ever added (or ended, which changes no start): the new ones by id. Their
    # cards are summarised again too, so that a card registered since is known if it moves.
    started = set(
        ValidityPeriod.objects.filter(pk__gt=state.last_period_id).values_list("valid_from", "card_id").order_by()
    )
    # Every changed card (a change of kind, an inactivation, a holder's new details change its
    # validity figures), and every card of the same holders: a holder is counted once in the
    # demographic figures, so all of a holder's cards are read from the same side.
    cards = {card_id for _day, card_id in pairs} | touched | {card_id for _day, card_id in started}
    if len(cards) > MAX_DIRTY_CARDS:
        return None
    if cards:
        same_holders = Card.objects.filter(holder__in=Card.objects.filter(pk__in=cards).values("holder_id"))
        cards |= set(same_holders.values_list("pk", flat=True).order_by())
    if len(cards) > MAX_DIRTY_CARDS:
        return None
    days = set(unknown_days)
    period_days = {day for day, _card_id in started}
    if moved:
        days |= set(CardUse.objects.filter(card_id__in=moved).values_list("used_on", flat=True).distinct().order_by())
        period_days |= set(
            ValidityPeriod.objects.filter(card_id__in=moved).values_list("valid_from", flat=True).distinct().order_by()
        )
    if len(days) > MAX_DIRTY_DAYS or len(period_days) > MAX_DIRTY_DAYS:
        return None
    return Coverage(
        built_at=state.built_at,
        dirty_days=frozenset(days),
        dirty_cards=frozenset(cards),
        dirty_period_days=frozenset(period_days),
        added_uses=frozenset(changed - unknown),
        removed_versions=frozenset(version for use_id, version in seen.items() if use_id not in unknown),
        changed_days=frozenset(day for day, _card_id in pairs),
    )


_reading: contextvars.ContextVar[dict | None] = contextvars.ContextVar("stats_summary_reading", default=None)


@contextlib.contextmanager
def summary_reading(*, fingerprint: str | None = None):
    """Read the coverage once for everything computed inside: a table, or every table of a page
    (nested, the outermost wins). ``fingerprint``: the register's, if the caller has read it."""
    if _reading.get() is not None:
        yield
        return
    token = _reading.set({"fingerprint": fingerprint} if fingerprint else {})
    try:
        yield
    finally:
        _reading.reset(token)


def summary_memo(key, compute):
    """``compute()`` once per ``summary_reading`` for ``key`` (several tables from one query)."""
    memo = _reading.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def summary_coverage() -> Coverage | None:
    """What the latest summaries hold for the register as it is now; None: read everything from
    the register (no summaries yet, or too much changed since).

    Kept in the statistics cache under the register's fingerprint: the changes since the build
    are the same until the register changes again."""
    memo = _reading.get()
    if memo is not None and "coverage" in memo:
        return memo["coverage"]
    coverage = _coverage_read((memo or {}).get("fingerprint"))
    if memo is not None:
        memo["coverage"] = coverage
    return coverage


def _coverage_read(fingerprint: str | None) -> Coverage | None:
    state = SummaryState.objects.order_by("-built_at").first()
    if state is None:
        return None
    fingerprint = fingerprint or register_fingerprint()
    key = f"stats:coverage:{fingerprint}:{state.built_at.isoformat()}"
    cache = caches["stats"]
    cached = cache.get(key)
    if isinstance(cached, Coverage) or cached == "none":
        return cached if isinstance(cached, Coverage) else None
    coverage = _coverage_compute(state)
    cache.set(key, coverage if coverage is not None else "none", COVERAGE_TIMEOUT)
    return coverage
