"""Time the venue's work: one use recorded at the desk, and offline files of 1k and 10k rows.

Run against a demo database (``manage.py seed_demo``)::

    DEBUG=1 .venv/bin/python bench/bench_venue.py [--repeat 3] [--cards 200]

An offline import is two requests, and both are timed:

- **preview**: the upload, where every row is checked and nothing is written
  (``card_uses_import_preview``, and ``import_rows_recorded_that_day`` for the page's list);
- **import**: the confirming click, where the file is checked again against the database of
  that moment and its rows written (``card_uses_import``), plus the foreign-key checks that
  PostgreSQL defers to the commit (run here with ``SET CONSTRAINTS ALL IMMEDIATE``, as the bench
  rolls back instead of committing).

"rows/s" is the file's rows divided by the median seconds: of the preview, of the import step
alone, and of both (all the user waits for). Every file and every repetition runs in its own
transaction that is rolled back (and the two tables vacuumed after it, untimed), so each import
writes all its rows and the database is left as it was. The commit's own flush of the write-ahead
log is not timed. Timings depend on the machine: nothing here is a pass/fail check.
"""

import argparse
import datetime
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaikukanta.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.permissions import venue_sites  # noqa: E402
from cards.models import Card, CardUse  # noqa: E402
from venues import services  # noqa: E402

VENUE_EMAIL = "kohde@example.fi"


class Rollback(Exception):
    pass


def _file(cards: list[str], size: int, today: datetime.date) -> bytes:
    header = ",".join(services.IMPORT_COLUMNS)
    rows = [
        f"{cards[i % len(cards)]},{(today - datetime.timedelta(days=i % 28)).isoformat()},culture,0,0,0"
        for i in range(size)
    ]
    return ("\n".join([header, *rows]) + "\n").encode()


def _import_once(venue, actor, content: bytes, size: int) -> tuple[float, float, float]:
    """(preview, import, deferred checks) seconds for one file, rolled back."""
    try:
        with transaction.atomic():
            started = time.perf_counter()
            preview = services.card_uses_import_preview(venue=venue, content=content)
            # The preview page also lists the rows whose card has a use here that day already.
            services.import_rows_recorded_that_day(venue=venue, rows=preview.valid_rows)
            checked = time.perf_counter() - started
            started = time.perf_counter()
            recorded, duplicates, refused = services.card_uses_import(venue=venue, actor=actor, content=content)
            imported = time.perf_counter() - started
            started = time.perf_counter()
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            deferred = time.perf_counter() - started
            if (recorded, duplicates, refused, len(preview.valid_rows)) != (size, 0, 0, size):
                sys.exit(f"Unexpected result: {recorded} recorded, {duplicates} already, {refused} refused.")
            raise Rollback
    except Rollback:
        pass
    _vacuum()
    return checked, imported, deferred


def _vacuum() -> None:
    """Clear away the rolled-back rows, so that each run starts from the same tables (a server
    without autovacuum would otherwise slow down from run to run on their dead index entries)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in (CardUse, CardUse.history.model))
            cursor.execute(f"VACUUM {tables}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3, help="runs per file size (medians are printed)")
    parser.add_argument("--cards", type=int, default=200, help="distinct cards in a file")
    options = parser.parse_args()
    actor = User.objects.get(email=VENUE_EMAIL)
    venue = venue_sites(actor).first()
    today = timezone.localdate()
    cards = list(
        # Valid on every day of the file (the last 28 days): a card renewed after a gap was not,
        # so it is chosen by the start of its current validity, not by when it was issued.
        Card.objects.filter(
            status="active", valid_until__gte=today, valid_from__lte=today - datetime.timedelta(days=30)
        ).values_list("number", flat=True)[: options.cards]
    )
    if not cards:
        sys.exit("No active cards: run manage.py seed_demo first.")
    try:
        with transaction.atomic():
            desk = []
            for number in cards[:50]:
                data = services.UseData(number=number, used_on=today, category="culture")
                started = time.perf_counter()
                services.card_use_record(venue=venue, actor=actor, data=data, idempotency_key=uuid.uuid4().hex)
                desk.append((time.perf_counter() - started) * 1000)
            print(f"desk: one use recorded   median {statistics.median(desk):7.1f} ms   max {max(desk):7.1f} ms")
            raise Rollback
    except Rollback:
        pass
    _vacuum()
    print(f"{connection.vendor}, {len(cards)} distinct cards, medians of {options.repeat} runs")
    for size in (1_000, 10_000):
        content = _file(cards, size, today)
        runs = [_import_once(venue, actor, content, size) for _ in range(options.repeat)]
        checked = statistics.median(run[0] for run in runs)
        deferred = statistics.median(run[2] for run in runs)
        step = statistics.median(run[1] + run[2] for run in runs)
        both = statistics.median(sum(run) for run in runs)
        print(
            f"import {size:>6} rows: preview {checked:5.2f} s ({size / checked:6.0f} rows/s), "
            f"import {step:5.2f} s ({size / step:6.0f} rows/s; of it {deferred:4.2f} s deferred FK checks), "
            f"both {size / both:6.0f} rows/s"
        )
    print("(rolled back: nothing was kept)")


if __name__ == "__main__":
    main()
