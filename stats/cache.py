"""Computed statistics tables, kept until the register changes, refreshed behind the page.

A table over a million uses takes seconds to compute, and the same figures are asked for
again and again. Each computed table is cached with a fingerprint of the register: the newest
row of every table the figures read, and of their history. Any write (a use recorded, imported
or cancelled, a card registered, renewed, moved or inactivated, a holder changed, an OmaKaiku
account activated, a site, organisation or municipality renamed) changes the fingerprint, and so does every
summary build. The cache key holds today's date (the current year so far, cards valid today),
the language (titles and labels are translated when computed), the scope, the filters and the
table.

When the fingerprint has changed since a table was computed:

- a **download** is computed again at once: a file is never older than the register;
- a **page** shows the table it has, marked with the time it was computed and "being updated",
  and queues one recomputation (``stats.tasks.stats_table_refresh``) for the task worker. So a
  busy register, where uses are recorded every few seconds, does not make every visitor wait
  seconds for the figures. A table older than ``STALE_LIMIT`` is computed at once, so figures
  never lag far behind even when the worker is down. With the immediate task backend
  (development, tests) the queued recomputation runs at once and the page shows its result.
"""

import datetime
import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from django.core.cache import caches
from django.db import connections, router
from django.utils import timezone
from django.utils.translation import get_language

from accounts.models import Municipality, Organisation, Region, Site, User
from cards.access import StatsScope
from cards.models import Card, CardUse, Holder, ValidityPeriod

from .filters import StatsFilter
from .models import SummaryState
from .tables import Table

TIMEOUT = 24 * 60 * 60
# A page may show a table computed before the latest change for at most this long.
STALE_LIMIT = datetime.timedelta(minutes=15)
REFRESH_CLAIM_SECONDS = 5 * 60
COMPUTE_CLAIM_SECONDS = 60
WAIT_SECONDS = 30
POLL_SECONDS = 0.2
# In every key: raised when a computed table's shape changes (2: hidden figures got two marks,
# "<5" and "×"; 3: the annual table protects a small year with its total; 4: the annual table's
# title names the region filter's region, a chosen category leaves the other categories' use
# columns out, one region's cross-region table has its own venues' column only, and card kinds
# write their day 30.11.2026; 5: the tables by site and by municipality are protected against
# the places they lie in, card kinds count OmaKaiku in use; 6: OmaKaiku in use is hidden where
# valid cards minus it would count 1 to 4, and a part protects a cell only with room below its
# whole), so that no table kept in the old shape is shown after an upgrade.
TABLE_FORMAT = "6"

# Every row the figures read is in one of these; the history tables catch changes to existing
# rows (every audited save writes one), the tables themselves catch bulk-loaded rows.
_WATCHED = [
    CardUse,
    CardUse.history.model,
    Card,
    Card.history.model,
    Holder.history.model,
    ValidityPeriod,
    User.history.model,
    Site.history.model,
    # A site's label in every table names its organisation.
    Organisation.history.model,
    Municipality.history.model,
    Region.history.model,
    # Each summary build adds a row. A transaction that committed after rows with higher ids
    # (it took its ids first) leaves every newest id as it was; a build then still changes the
    # fingerprint, so such a change is seen within one build (stats/summary.py knows it exactly).
    SummaryState,
]


def register_fingerprint() -> str:
    """The newest row of every watched table, in one query (each MAX is read from an index)."""
    # Read where the figures are read (the replica, when there is one): a replica replays commits
    # in order, so figures computed there are never older than the fingerprint they are kept under.
    connection = connections[router.db_for_read(CardUse)]
    parts = []
    for model in _WATCHED:
        table = connection.ops.quote_name(model._meta.db_table)
        column = connection.ops.quote_name(model._meta.pk.column)
        parts.append(f"(SELECT MAX({column}) FROM {table})")  # noqa: S608 (names from our own models)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts))
        return ":".join(str(value) for value in cursor.fetchone())


@dataclass(frozen=True)
class CachedTable:
    fingerprint: str
    computed_at: datetime.datetime
    table: Table | None


def table_key(*, scope: StatsScope | None, filters: StatsFilter, slug: str, language: str | None = None) -> str:
    parts = (
        TABLE_FORMAT,
        timezone.localdate().isoformat(),
        language or get_language(),
        repr(scope),
        repr(filters),
        slug,
    )
    return "stats:" + hashlib.sha256("|".join(parts).encode()).hexdigest()


def tables_prefetch(*, scope: StatsScope | None, filters: StatsFilter, slugs: list[str]) -> dict:
    """A page's tables, and which of them are being refreshed, from the cache in one read (the
    database cache's one query), for table_cached."""
    keys = [table_key(scope=scope, filters=filters, slug=slug) for slug in slugs]
    return caches["stats"].get_many(keys + [key + ":refreshing" for key in keys])


def table_compute_and_keep(*, key: str, compute: Callable[[], Table | None], fingerprint: str) -> Table | None:
    """Compute a table and keep it under ``key`` with the fingerprint read before computing (a
    change made meanwhile leaves it marked as older than the register)."""
    from .summary import summary_reading  # the summary module reads this one's fingerprint

    with summary_reading(fingerprint=fingerprint):
        table = compute()
    if isinstance(table, Table):
        table = replace(table, version=uuid.uuid4().hex)
    caches["stats"].set(key, CachedTable(fingerprint, timezone.now(), table), TIMEOUT)
    return table


def table_cached(
    *,
    fingerprint: str,
    scope: StatsScope | None,
    filters: StatsFilter,
    slug: str,
    compute: Callable[[], Table | None],
    allow_stale: bool = False,
    prefetched: dict | None = None,
) -> Table | None:
    """The table, from the cache when it is as new as the register (see the module's text).

    A table shown while its recomputation waits in the queue comes back as a copy with
    ``as_of`` set to the time it was computed. ``prefetched``: what ``tables_prefetch`` found
    (a key missing there is not in the cache)."""
    cache = caches["stats"]
    key = table_key(scope=scope, filters=filters, slug=slug)
    entry = prefetched.get(key) if prefetched is not None else cache.get(key)
    if isinstance(entry, CachedTable):
        if entry.fingerprint == fingerprint:
            return entry.table
        if allow_stale and timezone.now() - entry.computed_at < STALE_LIMIT:
            # While one refresh is queued or running, the page's prefetch already says so: the
            # other visitors meanwhile neither try to claim it again nor read the table twice.
            queued = prefetched is not None and key + ":refreshing" in prefetched
            if not queued and cache.add(key + ":refreshing", 1, REFRESH_CLAIM_SECONDS):
                from .tasks import stats_table_refresh  # the tasks module imports this one

                stats_table_refresh.enqueue(
                    level=scope.level.value if scope else None,
                    pk=scope.pk if scope else None,
                    filters=filters.params(),
                    slug=slug,
                    language=get_language(),
                )
                fresh = cache.get(key)  # the immediate backend has refreshed it already
                if isinstance(fresh, CachedTable) and fresh.fingerprint == fingerprint:
                    return fresh.table
            return replace(entry.table, as_of=entry.computed_at) if entry.table is not None else None
    # Nothing usable: compute now. After a change the first visitors all miss at once; one of
    # them computes (seconds over a million uses) and the others wait for it instead of running
    # the same queries beside it. A computation that dies leaves its claim to expire, and waiting
    # is bounded: then they compute. (With the database cache the claim is written in the
    # request's transaction and seen by others only with the table itself; a shared Redis,
    # STATS_CACHE_URL, makes it work at once.)
    claimed = cache.add(key + ":computing", 1, COMPUTE_CLAIM_SECONDS)
    if not claimed:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            entry = cache.get(key)
            if isinstance(entry, CachedTable) and entry.fingerprint == fingerprint:
                return entry.table
    try:
        return table_compute_and_keep(key=key, compute=compute, fingerprint=fingerprint)
    finally:
        if claimed:
            cache.delete(key + ":computing")
