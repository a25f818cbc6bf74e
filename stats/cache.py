"""Computed statistics tables, kept until the register changes.

A table over a million uses takes seconds to compute, and the same figures are asked for
again and again. Each computed table is cached under a key that includes a fingerprint of the
register: the newest row of every table the figures read, and of their history. Any write
(a use recorded, imported or cancelled, a card registered, renewed, moved or inactivated, a
holder changed, an OmaKaiku account activated, a site or municipality renamed) changes the
fingerprint, so no figure is ever older than the register: the cache only spares recomputing
what has not changed. The key also holds today's date (the current year so far, cards valid
today) and the language (titles and labels are translated when computed).
"""

import hashlib
import time
from collections.abc import Callable

from django.core.cache import caches
from django.db import connections, router
from django.utils import timezone
from django.utils.translation import get_language

from accounts.models import Municipality, Region, Site, User
from cards.access import StatsScope
from cards.models import Card, CardUse, Holder, ValidityPeriod

from .filters import StatsFilter
from .tables import Table

TIMEOUT = 24 * 60 * 60
COMPUTE_CLAIM_SECONDS = 60
WAIT_SECONDS = 30
POLL_SECONDS = 0.2

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
    Municipality.history.model,
    Region.history.model,
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


def table_cached(
    *, fingerprint: str, scope: StatsScope | None, filters: StatsFilter, slug: str, compute: Callable[[], Table | None]
) -> Table | None:
    parts = (fingerprint, timezone.localdate().isoformat(), get_language(), repr(scope), repr(filters), slug)
    key = "stats:" + hashlib.sha256("|".join(parts).encode()).hexdigest()
    cache = caches["stats"]
    table = cache.get(key)
    if table is not None:
        return table
    # After a change, the first visitors all miss at once. One of them computes the table (seconds
    # over a million uses); the others wait for it instead of running the same queries beside it.
    # A computation that dies leaves its claim to expire, and waiting is bounded: then they compute.
    # (With the database cache, the claim is written in the request's transaction and seen by
    # others only with the table itself; a shared Redis, STATS_CACHE_URL, makes it work at once.)
    claimed = cache.add(key + ":computing", 1, COMPUTE_CLAIM_SECONDS)
    if not claimed:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            table = cache.get(key)
            if table is not None:
                return table
    try:
        table = compute()
        if table is not None:
            cache.set(key, table, TIMEOUT)
    finally:
        if claimed:
            cache.delete(key + ":computing")
    return table
