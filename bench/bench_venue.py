"""Time the venue's work: one use recorded at the desk, and offline files of 1k and 10k rows.

Run against a demo database (``manage.py seed_demo``)::

    DEBUG=1 .venv/bin/python bench/bench_venue.py

Everything it records is rolled back at the end, so the database is left as it was. It only
prints numbers: timings depend on the machine, so nothing here is a pass/fail check.
"""

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

from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.permissions import venue_sites  # noqa: E402
from cards.models import Card  # noqa: E402
from venues import services  # noqa: E402

VENUE_EMAIL = "kohde@example.fi"


class Rollback(Exception):
    pass


def main() -> None:
    actor = User.objects.get(email=VENUE_EMAIL)
    venue = venue_sites(actor).first()
    today = timezone.localdate()
    cards = list(
        Card.objects.filter(
            status="active", valid_until__gte=today, issued_on__lte=today - datetime.timedelta(days=30)
        ).values_list("number", flat=True)[:200]
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
            header = ",".join(services.IMPORT_COLUMNS)
            for size in (1_000, 10_000):
                rows = [
                    f"{cards[i % len(cards)]},{(today - datetime.timedelta(days=i % 28)).isoformat()},culture,0,0,0"
                    for i in range(size)
                ]
                content = ("\n".join([header, *rows]) + "\n").encode()
                started = time.perf_counter()
                preview = services.card_uses_import_preview(venue=venue, content=content)
                checked = time.perf_counter() - started
                started = time.perf_counter()
                recorded, duplicates, refused = services.card_uses_import(venue=venue, actor=actor, content=content)
                imported = time.perf_counter() - started
                print(
                    f"import {size:>6} rows: preview {checked:5.2f} s, import {imported:5.2f} s "
                    f"(recorded {recorded}, already {duplicates}, refused {refused}; preview ok {len(preview.valid_rows)})"
                )
            raise Rollback
    except Rollback:
        print("(rolled back: nothing was kept)")


if __name__ == "__main__":
    main()
