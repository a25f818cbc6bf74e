"""Time every statistics page and download against the current database.

Meant for the demo seed and the large seed on PostgreSQL, to show how the time grows::

    DEBUG=1 .venv/bin/python manage.py seed_demo [--cards 100000 --uses 1000000]
    DEBUG=1 .venv/bin/python bench/bench_stats.py [--runs 5] [--period this-year]

Each page is requested with Django's test client (no server, no network) as the role that
sees it: anonymous for the open figures, the demo admin, coordinator, distributor and venue
for their dashboards. One warm-up request, then ``--runs`` timed ones; it prints the median
and fastest wall time and the number of SQL queries. It only prints: timings depend on the
machine, so nothing here is a pass/fail check.

Computed tables are cached until the register changes (stats.cache); by default the timed runs
find them cached, as every look after the first does. ``--cold`` empties the cache before each
run: the time of the first look after a change.

The figures come from summaries (stats/summary.py) built every 10 minutes, and whatever changed
since a build is read from the register itself. Run right after a build, nothing has changed;
``--changes N`` first records N uses dated today (as the desk does, with history) and cancels
N/30 uses of the last week, as between two builds of a busy day. Those writes are rolled back
at the end, so the database is left as it was.
"""

import argparse
import datetime
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaikukanta.settings")

import django  # noqa: E402

django.setup()

from django.core.cache import caches  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Site, User  # noqa: E402
from cards import access  # noqa: E402
from cards.models import Card, CardUse  # noqa: E402
from stats.selectors import CATEGORIES, stats_table_slugs  # noqa: E402
from stats.views import scope_slug  # noqa: E402

ROLES = {
    None: "anonymous",
    "admin@example.fi": "admin",
    "koordinaattori@example.fi": "coordinator",
    "jakaja@example.fi": "distributor",
    "kohde@example.fi": "venue",
}


def measure(client: Client, path: str, runs: int, *, cold: bool) -> dict:
    client.get(path)  # warm-up: templates, URL resolver, the database's page cache
    times, queries, status, size = [], 0, 0, 0
    for _ in range(runs):
        if cold:
            caches["stats"].clear()  # as after any change to the register: every table computed anew
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
        queries, status, size = len(captured.captured_queries), response.status_code, len(response.content)
    return {
        "median": statistics.median(times),
        "min": min(times),
        "queries": queries,
        "status": status,
        "kb": size / 1024,
    }


def pages(period: str) -> list[tuple[str, str | None, str]]:
    query = f"?preset={period}"
    found = [
        ("open figures page", None, f"/stats/{query}"),
        ("open annual CSV", None, f"/stats/national-annual.csv{query}"),
        ("open annual XLSX", None, f"/stats/national-annual.xlsx{query}"),
        ("open by-region CSV", None, f"/stats/by-region.csv{query}"),
    ]
    for email, role in ROLES.items():
        if email is None:
            continue
        user = User.objects.filter(email=email).first()
        scopes = access.stats_scopes(user) if user else []
        if not scopes:
            print(f"{email}: no statistics scope (run `manage.py seed_demo` first)", file=sys.stderr)
            continue
        scope = f"&scope={scope_slug(scopes[0])}"
        found.append((f"{role} dashboard", email, f"/stats/dashboard/{query}{scope}"))
        slug = stats_table_slugs(scope=scopes[0])[0]
        found.append((f"{role} {slug} CSV", email, f"/stats/dashboard/{slug}.csv{query}{scope}"))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed requests per page (default 5)")
    parser.add_argument(
        "--period", default="this-year", choices=["this-year", "last-year", "last-12-months"], help="preset period"
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="empty the cache before each request: the time after any change to the register",
    )
    parser.add_argument(
        "--changes",
        type=int,
        default=0,
        metavar="N",
        help="first record N uses today and cancel N/30 recent ones (rolled back at the end)",
    )
    args = parser.parse_args()
    try:
        with transaction.atomic():
            if args.changes:
                _changes(args.changes)
            _run(args)
            raise Rollback
    except Rollback:
        pass
    return 0


class Rollback(Exception):
    pass


def _changes(n: int) -> None:
    """Uses recorded today and recent ones cancelled, as a busy day does between two builds."""
    rng = random.Random(n)
    today = timezone.localdate()
    venues = list(Site.objects.filter(kind=Site.Kind.VENUE, is_active=True).values_list("pk", flat=True))
    cards = list(Card.objects.filter(status=Card.Status.ACTIVE).values_list("pk", flat=True)[:10_000])
    for _ in range(n):
        CardUse(
            card_id=rng.choice(cards), venue_id=rng.choice(venues), used_on=today, category=rng.choice(CATEGORIES)
        ).save()
    week = CardUse.objects.filter(
        cancelled_at__isnull=True, used_on__lt=today, used_on__gte=today - datetime.timedelta(days=7)
    )
    for use in week.order_by("-pk")[: n // 30]:
        use.cancelled_at, use.cancel_reason = timezone.now(), "Recorded by mistake"
        use.save()
    print(f"Changed since the last summary build: {n} uses recorded today, {n // 30} recent uses cancelled.")


def _run(args) -> None:
    print(
        f"Database: {connection.vendor}, {Card.objects.count():,} cards, {CardUse.objects.count():,} card uses; "
        f"period {args.period}; {args.runs} timed runs per page after one warm-up; "
        + ("cache emptied before each run (cold)." if args.cold else "tables cached since the warm-up (warm).")
    )
    if connection.vendor == "postgresql":
        # The planner settings that change these timings most (docs/deploy.md suggests values).
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('random_page_cost'), current_setting('work_mem')")
            random_page_cost, work_mem = cursor.fetchone()
        print(f"PostgreSQL: random_page_cost {random_page_cost}, work_mem {work_mem}.")
    header = f"{'page':<26} {'status':>6} {'median ms':>10} {'min ms':>8} {'queries':>8} {'KB':>7}"
    print(header)
    print("-" * len(header))
    clients: dict[str | None, Client] = {}
    for name, email, path in pages(args.period):
        if email not in clients:
            clients[email] = Client(HTTP_HOST="127.0.0.1")
            if email is not None:
                clients[email].force_login(User.objects.get(email=email))
        result = measure(clients[email], path, args.runs, cold=args.cold)
        print(
            f"{name:<26} {result['status']:>6} {result['median']:>10.1f} {result['min']:>8.1f} "
            f"{result['queries']:>8} {result['kb']:>7.1f}"
        )


if __name__ == "__main__":
    sys.exit(main())
