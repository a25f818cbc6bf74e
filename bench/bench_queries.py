"""Time the distributor's busiest pages against the current database.

Meant for a large seed::

    DEBUG=1 .venv/bin/python manage.py seed_demo --cards 100000 --uses 1000000
    DEBUG=1 .venv/bin/python bench/bench_queries.py [--runs 7]

It logs in as jakaja@example.fi with Django's test client (no server, no network), requests
each page ``--runs`` times after one warm-up request, and prints the median and fastest wall
time, the number of SQL queries and their summed time as Django measured them. It only
prints: timings depend on the machine, so nothing here is a pass/fail check.
"""

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaikukanta.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.permissions import distributor_sites  # noqa: E402
from cards.models import Card, CardUse  # noqa: E402

DISTRIBUTOR_EMAIL = "jakaja@example.fi"


def measure(client: Client, path: str, runs: int) -> dict:
    client.get(path, secure=True)  # warm-up: templates, URL resolver, database page cache
    times, queries = [], None
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path, secure=True)
            times.append((time.perf_counter() - started) * 1000)
        queries = captured.captured_queries
    slowest = max(queries, key=lambda q: float(q["time"]), default=None)
    return {
        "status": response.status_code,
        "median": statistics.median(times),
        "min": min(times),
        "queries": len(queries),
        "sql_ms": sum(float(q["time"]) for q in queries) * 1000,
        "slowest_ms": float(slowest["time"]) * 1000 if slowest else 0.0,
        # The column list hides what matters (FROM, WHERE, ORDER BY); shorten it.
        "slowest_sql": re.sub(r"^SELECT .*? FROM ", "SELECT … FROM ", slowest["sql"]) if slowest else "",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed requests per page (default 7)")
    parser.add_argument("--show-sql", action="store_true", help="print each page's slowest query")
    args = parser.parse_args()

    user = User.objects.filter(email=DISTRIBUTOR_EMAIL).first()
    if user is None:
        print(f"{DISTRIBUTOR_EMAIL} not found: run `manage.py seed_demo` first.", file=sys.stderr)
        return 1
    own_cards = Card.objects.filter(site__in=distributor_sites(user))
    own = own_cards.order_by("pk").first()
    # The demo customer's card has the longest history; fall back to any own card.
    detail = own_cards.filter(holder__account__email="asiakas@example.fi").first() or own
    other = Card.objects.exclude(site__in=distributor_sites(user)).order_by("pk").first()
    if own is None:
        print(f"{DISTRIBUTOR_EMAIL} has no cards: run `manage.py seed_demo` first.", file=sys.stderr)
        return 1

    pages = [
        ("card list", "/cards/"),
        ("card list, last page", "/cards/?page=last"),
        ("card list, expiring", "/cards/?state=expiring"),
        ("search: own card (redirect)", f"/cards/?number={own.number}"),
        ("card detail", f"/cards/{detail.pk}/"),
        ("card check", f"/cards/check/?number={own.number}"),
    ]
    if other is not None:
        pages.insert(4, ("search: other site's card", f"/cards/?number={other.number}"))

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)

    print(
        f"Database: {connection.vendor}, {Card.objects.count():,} cards "
        f"({own_cards.count():,} of {DISTRIBUTOR_EMAIL}'s sites), {CardUse.objects.count():,} card uses; "
        f"{args.runs} timed runs per page after one warm-up."
    )
    header = f"{'page':<28} {'status':>6} {'median ms':>10} {'min ms':>8} {'queries':>8} {'SQL ms':>8} {'slowest':>8}"
    print(header)
    print("-" * len(header))
    for name, path in pages:
        result = measure(client, path, args.runs)
        print(
            f"{name:<28} {result['status']:>6} {result['median']:>10.1f} {result['min']:>8.1f} "
            f"{result['queries']:>8} {result['sql_ms']:>8.1f} {result['slowest_ms']:>8.1f}"
        )
        if args.show_sql:
            print(f"    {path}\n    slowest: {result['slowest_sql'][:800]}")
    print("\nSQL ms is the sum of query times Django measured; 'slowest' is the slowest single query.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
