"""Keyset paging for the long lists (a site's cards, a venue's uses).

Django's ``Paginator`` counts every row and pages with OFFSET, so page 1000 of a big site
reads 25,000 rows to show 25, and every page pays for the count. A keyset page starts where
the last one ended (``?after=``) or ends where the next one began (``?before=``): the
database walks the list's index from that row, whatever the page's depth. The list says
"newer" and "older" instead of page numbers, and counts rows only up to ``COUNT_LIMIT``.

The lists are ordered newest first by ``(created_at, pk)``, both descending; the cursor
is those two values of the edge row. A cursor that does not parse is ignored (the first page).
"""

import base64
import binascii
import datetime
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

COUNT_LIMIT = 1000


@dataclass
class KeysetPage:
    object_list: list
    has_next: bool
    has_previous: bool
    next_cursor: str = ""
    previous_cursor: str = ""
    # How many rows the whole list has, up to COUNT_LIMIT; ``count_more`` when there are more.
    count: int = 0
    count_more: bool = False
    extra: dict = field(default_factory=dict)

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self):
        return len(self.object_list)

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous


def keyset_cursor(row) -> str:
    """The cursor of ``row`` (the page after it starts just past it)."""
    raw = f"{row.created_at.isoformat()}|{row.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str | None) -> tuple[datetime.datetime, int] | None:
    if not cursor or len(cursor) > 100:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, pk = raw.split("|")
        created_at, pk = datetime.datetime.fromisoformat(moment), int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if created_at.tzinfo is None or not 0 < pk < 2**63:
        return None
    try:
        # In UTC, as the database compares it: 0001-01-01 at +14:00 is no time there at all.
        created_at = created_at.astimezone(datetime.UTC)
    except OverflowError:
        return None
    if not 2000 <= created_at.year <= 9998:
        return None  # no row was made then: an edited address, shown the first page
    return created_at, pk


def keyset_page(queryset: QuerySet, *, after: str | None, before: str | None, size: int) -> KeysetPage:
    """One page of ``queryset`` (any filters; ordered here by ``-created_at, -pk``)."""
    count = queryset.order_by()[: COUNT_LIMIT + 1].count()
    newest_first = queryset.order_by("-created_at", "-pk")
    before_key, after_key = _decode(before), _decode(after)
    if before_key is not None:
        moment, pk = before_key
        # The rows just newer than the cursor, read oldest first from the cursor, then turned round.
        rows = list(
            queryset.filter(
                Q(created_at__gt=moment) | Q(created_at=moment, pk__gt=pk), created_at__gte=moment
            ).order_by("created_at", "pk")[: size + 1]
        )
        has_previous = len(rows) > size
        rows = rows[:size][::-1]
        has_next = True
    else:
        if after_key is not None:
            moment, pk = after_key
            # The redundant bound lets the database start its index scan at the cursor.
            newest_first = newest_first.filter(
                Q(created_at__lt=moment) | Q(created_at=moment, pk__lt=pk), created_at__lte=moment
            )
        rows = list(newest_first[: size + 1])
        has_next = len(rows) > size
        rows = rows[:size]
        has_previous = after_key is not None
    return KeysetPage(
        object_list=rows,
        has_next=has_next and bool(rows),
        has_previous=has_previous and bool(rows),
        next_cursor=keyset_cursor(rows[-1]) if rows else "",
        previous_cursor=keyset_cursor(rows[0]) if rows else "",
        count=min(count, COUNT_LIMIT),
        count_more=count > COUNT_LIMIT,
    )
