"""What each busy page costs this process, under production settings: CPU time, queries, profile.

    .venv/bin/python bench/bench_pages.py [--database-url postgres://postgres@127.0.0.1:5432/kk_bench]
                                          [--runs 300] [--only card-list,desk] [--profile card-list]

The load benchmark (bench/load.py) measures what a server delivers; this one says where a page's
own time goes. It runs no server: Django's test client, logged in as the demo's distributor,
venue and holder, with DEBUG off (the cached template loader, the manifest static files), so
what it measures is what a gunicorn worker does for the page. Each page is requested once to
warm up, then ``--runs`` times; it prints the median and fastest CPU time of this process
(time.process_time: a busy machine slows it less than wall time), the number of queries and
their wall time, and the CPU time the database server's process spent on the page (read from
/proc, so only where PostgreSQL runs on this machine; "app + DB mean ms" adds the two). The
database's figure is a sum over all runs and moves with its neighbours: for the database's share
alone, bench/bench_prepared.py replays a page's statements without Python in the way.
``--profile PAGE`` adds cProfile's 40 costliest functions for that page.

The database must hold the demo (``seed_demo``; bench/load.py seeds it). Nothing here is a
pass/fail check.
"""

import argparse
import cProfile
import os
import pstats
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine import machine_line, machine_speed  # noqa: E402  (bench/, beside this script)

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "benchmark-only-secret-key-not-for-any-real-use-0123456789",
    "ALLOWED_HOSTS": "127.0.0.1,testserver",
    "SECURE_SSL_REDIRECT": "false",
    "EMAIL_URL": "consolemail://",
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "kaikukanta.settings",
}


def process_cpu_ms(pid: int) -> float | None:
    """CPU time (user + system) so far of process ``pid`` on this machine, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # PostgreSQL on another machine, or another user's process
        return None
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def _backend_cpu_ms(connection) -> float | None:
    """CPU time so far of the PostgreSQL process serving ``connection``."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return process_cpu_ms(cursor.fetchone()[0])


def _pages() -> dict:
    from django.test import Client

    from accounts.models import Site, User
    from cards.models import Card
    from venues.management.commands.seed_demo import ADMIN_EMAIL, COORDINATOR_EMAIL, DISTRIBUTORS, HOLDER_EMAIL, VENUES

    def client(email: str) -> Client:
        signed_in = Client(HTTP_HOST="127.0.0.1")
        signed_in.force_login(User.objects.get(email=email))
        return signed_in

    distributor, venue, holder = client(DISTRIBUTORS[0][3]), client(VENUES[0][3]), client(HOLDER_EMAIL)
    admin, coordinator = client(ADMIN_EMAIL), client(COORDINATOR_EMAIL)
    site = Site.objects.get(memberships__user__email=DISTRIBUTORS[0][3])
    own = Card.objects.filter(site=site).order_by("-created_at", "-pk").first()
    valid = Card.objects.filter(status=Card.Status.ACTIVE).order_by("-valid_until", "-pk").first()
    holder_card = Card.objects.filter(holder__account__email=HOLDER_EMAIL).first()
    return {
        "readyz": (distributor, "/readyz"),
        "signed-in": (distributor, "/"),
        "card-list": (distributor, "/cards/"),
        "card-page": (distributor, f"/cards/{own.pk}/"),
        "card-check": (distributor, f"/cards/check/?number={valid.number}"),
        "desk": (venue, f"/venue/?number={valid.number}"),
        "omakaiku-home": (holder, "/omakaiku/"),
        "omakaiku-uses": (holder, "/omakaiku/uses/"),
        "omakaiku-offers": (holder, "/omakaiku/offers/"),
        "omakaiku-mobile-card": (holder, f"/omakaiku/cards/{holder_card.pk}/mobile/"),
        "stats-public": (distributor, "/stats/"),
        "stats-distributor": (distributor, "/stats/dashboard/"),
        "stats-venue": (venue, "/stats/dashboard/"),
        "region": (coordinator, "/region/"),
        "region-site": (coordinator, f"/region/sites/{site.pk}/"),
        # The national admin's lists of the three big tables, and a search of each.
        "admin-cards": (admin, "/admin/cards/card/"),
        "admin-cards-active": (admin, "/admin/cards/card/?status__exact=active"),
        "admin-card-search": (admin, f"/admin/cards/card/?q={own.number}"),
        "admin-holders": (admin, "/admin/cards/holder/"),
        "admin-holder-search": (admin, f"/admin/cards/holder/?q={own.number}"),
        "admin-uses": (admin, "/admin/cards/carduse/"),
        "admin-use-search": (admin, f"/admin/cards/carduse/?q={own.number}"),
        "admin-site": (admin, f"/admin/accounts/site/{site.pk}/change/"),  # its staff inline
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/kk_bench")
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--only", help="comma-separated page names")
    parser.add_argument("--profile", help="a page name: print its profile")
    parser.add_argument("--sort", default="tottime", help="the profile's order: tottime (default) or cumulative")
    args = parser.parse_args()

    os.environ.update(PRODUCTION | {"DATABASE_URL": args.database_url})
    os.chdir(ROOT)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"], check=True)
    import django

    django.setup()
    from django.db import connection

    wanted = set(args.only.split(",")) if args.only else None
    print(machine_line(machine_speed()))
    print(
        f"{'page':<22} {'CPU median ms':>14} {'CPU min ms':>11} {'queries':>8} {'SQL ms':>7} {'DB CPU ms':>10}"
        f" {'app + DB mean ms':>17}"
    )
    for name, (client, path) in _pages().items():
        if wanted and name not in wanted and name != args.profile:
            continue
        status = client.get(path).status_code
        if status not in (200, 302):
            sys.exit(f"{name}: {path} answered {status}")
        queries = []

        def timed(execute, sql, params, many, context, queries=queries):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                queries.append(time.perf_counter() - started)

        with connection.execute_wrapper(timed):
            client.get(path)
        profile = cProfile.Profile() if name == args.profile else None
        times = []
        backend_before = _backend_cpu_ms(connection)
        for _ in range(args.runs):
            started = time.process_time()
            if profile:
                profile.enable()
            client.get(path)
            if profile:
                profile.disable()
            times.append((time.process_time() - started) * 1000)
        backend_after = _backend_cpu_ms(connection)
        # The connection outlives the requests (CONN_MAX_AGE); the reading itself costs a query.
        db_ms = (backend_after - backend_before) / args.runs if None not in (backend_before, backend_after) else None
        db_text = f"{db_ms:>10.2f} {statistics.mean(times) + db_ms:>17.2f}" if db_ms is not None else f"{'n/a':>10}"
        print(
            f"{name:<22} {statistics.median(times):>14.2f} {min(times):>11.2f} {len(queries):>8} "
            f"{sum(queries) * 1000:>7.1f} {db_text}",
            flush=True,
        )
        if profile:
            pstats.Stats(profile).sort_stats(args.sort).print_stats(40)


if __name__ == "__main__":
    main()
