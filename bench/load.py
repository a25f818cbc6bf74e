"""Load benchmark: the busiest pages under concurrent load, against gunicorn and PostgreSQL.

    .venv/bin/python bench/load.py                      # the large data set (seeded if missing)
    .venv/bin/python bench/load.py --cards 0 --uses 0   # the demo data only, for comparison

It makes (or reuses) the database ``--database-url`` (PostgreSQL on 127.0.0.1), seeds the demo
and ``--cards``/``--uses`` bulk rows if they are not there yet, collects the static files, starts
gunicorn with production settings (``--workers`` sync workers) on a free port of 127.0.0.1 and
the task worker beside it (statistics are recomputed there after a change, as in production), and
drives each page in turn with ``--users`` concurrent simulated users for ``--seconds`` seconds
(locust, headless; see bench/load_locust.py). ``/healthz`` runs first, in the same way: every
page's request rate is also shown as a share of the health view's, which tells how far a page
is from what this machine and stack can serve at all. The yardstick is ``/readyz``, a view that
runs one query; ``/healthz`` answers before any middleware and shows the server's own ceiling.
Both skip the middleware, so "signed in" (a signed-in ``/``, which only redirects) shows the
floor under every signed-in page: every middleware, the session, the user and their roles.
Afterwards it checks the writes: every use
the client saw recorded is in the database exactly once, and nothing else was recorded.

Each page is measured in its steady state: the clock starts once every simulated user has had
its first answer (at most a minute), and the slowest of those first answers is shown as
"warm-up max", which is what the first visitor after a change waits. A statistics page that
finds the register changed (the desk's writes before it) shows its previous tables and queues
their recomputation; the worker then recomputes them beside the load, so such a page is
measured twice: during that, and again once the worker is done. It prints a table and writes
it as JSON under bench-results/; nothing here is a pass/fail test.
"""

import argparse
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine import machine_line, machine_speed  # noqa: E402  (bench/, beside this script)

PYTHON = sys.executable

SCENARIOS = [
    ("health", "/healthz (no query, before any middleware)"),
    ("ready", "/readyz (one query: the yardstick)"),
    ("signed-in", "signed in: / redirects (the stack's floor)"),
    ("card-list", "card list, newest page"),
    ("card-list-deep", "card list, 1,000 pages deep"),
    ("card-search", "card search by number (redirect)"),
    ("card-page", "card page"),
    ("card-check", "card check"),
    ("desk-lookup", "desk: card look-up"),
    ("record-use", "desk: record a use (POST)"),
    ("omakaiku-home", "OmaKaiku home"),
    ("omakaiku-uses", "OmaKaiku uses"),
    ("omakaiku-offers", "OmaKaiku offers"),
    ("omakaiku-mobile-card", "OmaKaiku mobile card"),
    ("stats-public", "statistics, public page"),
    ("stats-site", "statistics, distributor dashboard"),
    ("stats-venue", "statistics, venue dashboard"),
    ("login", "staff login (form + post)"),
]
WRITES = {"record-use"}
LOW_CONCURRENCY = {"login": 2}


def _manage(env: dict, *args: str, quiet: bool = True) -> None:
    subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL if quiet else None,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_ready(url: str, *, cards: int, uses: int, env: dict) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    if "@127.0.0.1" not in url and "@localhost" not in url:
        sys.exit("This benchmark only runs against a database on 127.0.0.1.")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            print(f"Creating database {name} …", flush=True)
            connection.execute(f'CREATE DATABASE "{name}"')
    _manage(env, "migrate", "--no-input", "-v", "0")
    _manage(env, "createcachetable")
    with psycopg.connect(url) as connection:
        seeded = connection.execute("SELECT count(*) FROM accounts_user").fetchone()[0]
    if not seeded:
        print("Seeding the demo …", flush=True)
        _manage(env, "seed_demo")
    if cards or uses:
        print(f"Making sure there are {cards:,} cards and {uses:,} uses (a first seed takes minutes) …", flush=True)
        _manage(env, "seed_demo", "--cards", str(cards), "--uses", str(uses))


def _scenario_data(env: dict) -> dict:
    """Card numbers, ids and a deep cursor for the scenarios, read with Django from the database."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaikukanta.settings")
    import django

    django.setup()
    from django.utils import timezone

    from accounts.models import Site
    from accounts.paging import keyset_cursor
    from cards.models import Card
    from venues.management.commands.seed_demo import DISTRIBUTORS, HOLDER_EMAIL, VENUES

    distributor_email, venue_email = DISTRIBUTORS[0][3], VENUES[0][3]
    site = Site.objects.get(memberships__user__email=distributor_email)
    own = Card.objects.filter(site=site).order_by("-created_at", "-pk")
    deep = own[25 * 1000 : 25 * 1000 + 1].first() or own.last()
    today = timezone.localdate()
    valid = Card.objects.filter(status=Card.Status.ACTIVE, valid_until__gte=today).order_by("?")
    holder_card = Card.objects.filter(holder__account__email=HOLDER_EMAIL, status=Card.Status.ACTIVE).first()
    sample = list(own.values_list("pk", "number")[:5000:25])
    return {
        "logins": {"distributor": distributor_email, "venue": venue_email, "holder": HOLDER_EMAIL},
        "deep_page": f"/cards/?after={keyset_cursor(deep)}",
        "own_card_ids": [pk for pk, _number in sample],
        "own_numbers": [number for _pk, number in sample],
        "any_numbers": list(Card.objects.order_by("?").values_list("number", flat=True)[:200]),
        "valid_numbers": list(valid.values_list("number", flat=True)[:500]),
        "mobile_card": f"/omakaiku/cards/{holder_card.pk}/mobile/",
    }


def _serve(env: dict, *, port: int, workers: int, log: Path) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            str(Path(PYTHON).parent / "gunicorn"),
            "kaikukanta.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--timeout",
            "60",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    sys.exit("gunicorn did not answer /healthz within 30 s")


def _run_scenario(*, host: str, data_file: Path, scenario: str, users: int, seconds: float) -> tuple[dict, list]:
    process = subprocess.run(
        [
            PYTHON,
            str(ROOT / "bench" / "load_locust.py"),
            "--host",
            host,
            "--data",
            str(data_file),
            "--scenario",
            scenario,
            "--users",
            str(users),
            "--seconds",
            str(seconds),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    result, recorded = None, []
    for line in process.stdout.splitlines():
        if line.startswith("{"):
            message = json.loads(line)
            if "recorded" in message:
                recorded.append(message["recorded"])
            elif "result" in message:
                result = message["result"]
    if result is None:
        sys.exit(f"scenario {scenario} failed:\n{process.stderr[-3000:]}")
    return result, recorded


def _queue_drained(*, limit: float = 180) -> float:
    """Wait until the task worker has nothing queued or running (statistics recomputed after the
    previous page's writes); return the seconds waited. Each page is then measured in its steady
    state, and the wait is shown: it is what the worker needed for the changes."""
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    started = time.monotonic()
    # Due now or running: a task set to run later (a mail's retry) is nobody's to wait for.
    while time.monotonic() - started < limit:
        ready = DBTaskResult.objects.ready().exists()
        if not ready and not DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).exists():
            break
        time.sleep(0.5)
    return time.monotonic() - started


def _others_tasks_refuse() -> None:
    """The benchmark's task worker runs whatever is queued: on a copy of a real register that
    would send its waiting invitations and reminders (their links printed to the worker's log).
    Only the statistics' own recomputations, which the benchmark itself queues, may wait."""
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    waiting = (
        DBTaskResult.objects.filter(status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING])
        .exclude(task_path__startswith="stats.")
        .count()
    )
    if waiting:
        raise SystemExit(
            f"The database has {waiting} queued task(s) (mail) that the benchmark's task worker would run. "
            "Use a database of the benchmark's own (the default kk_bench), or run the task worker first."
        )


def _tasks_queued() -> int:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.count()


def _check_writes(tokens: list[str], last_id_before: int, venue_email: str) -> str:
    from django.db.models import Count

    from accounts.models import SiteMembership
    from cards.models import CardUse
    from venues.services import desk_use_key

    # The desk stores each form's token tied to the venue (venues.services.desk_use_key).
    venues = SiteMembership.objects.filter(user__email=venue_email).values_list("site_id", flat=True)
    keys = [desk_use_key(venue_pk=venue, token=token) for token in tokens for venue in venues]
    seen = CardUse.objects.filter(idempotency_key__in=keys)
    doubled = seen.values("idempotency_key").annotate(n=Count("id")).filter(n__gt=1).count()
    found = seen.count()
    # Rows written during the run by their ids, not their times: a seed of today dates some of
    # today's uses later today, and those would fall inside the run's time.
    recorded_in_run = CardUse.objects.filter(pk__gt=last_id_before, source=CardUse.Source.DESK).count()
    ok = found == len(tokens) and not doubled and recorded_in_run == len(tokens)
    return (
        f"{'OK' if ok else 'MISMATCH'}: the client saw {len(tokens)} uses recorded; {found} of them are in the "
        f"database, {doubled} twice; {recorded_in_run} desk uses were written during the run."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/kk_bench")
    parser.add_argument("--cards", type=int, default=1_000_000)
    parser.add_argument("--uses", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=16, help="concurrent simulated users per page")
    parser.add_argument("--seconds", type=float, default=10, help="measured seconds per page")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--only", help="comma-separated scenario names (the health checks always run)")
    args = parser.parse_args()
    missing = [name for name in ("locust", "gevent") if importlib.util.find_spec(name) is None]
    if missing:
        raise SystemExit(
            f"The load generator is not installed ({', '.join(missing)}): "
            ".venv/bin/python -m pip install -e '.[dev,bench]' (make bench does it)."
        )

    env = os.environ | {
        "DATABASE_URL": args.database_url,
        "DEBUG": "false",
        "SECRET_KEY": "benchmark-only-secret-key-not-for-any-real-use-0123456789",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        # The simulated users each come from their own address (X-Forwarded-For), as real ones
        # do: the login rate limit counts per address.
        "TRUSTED_PROXY_COUNT": "1",
        "EMAIL_URL": "consolemail://",
        "LOG_LEVEL": "WARNING",
        # As in production: statistics are recomputed by the task worker, not in the request
        # that first sees a change (pages show the previous table meanwhile).
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
    }
    _database_ready(args.database_url, cards=args.cards, uses=args.uses, env=env | {"DEBUG": "true"})
    _manage(env, "collectstatic", "--no-input", "-v", "0")
    data = _scenario_data(env | {"DEBUG": "true"})
    results_dir = ROOT / "bench-results"
    results_dir.mkdir(exist_ok=True)
    data_file = results_dir / "load-data.json"
    data_file.write_text(json.dumps(data))

    from cards.models import Card, CardUse

    _others_tasks_refuse()

    size = f"{Card.objects.count():,} cards, {CardUse.objects.count():,} uses"
    speed = machine_speed()  # before the server starts: the machine alone
    port = _free_port()
    last_use_id = CardUse.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    server_log = results_dir / "load-server.log"
    server = _serve(env, port=port, workers=args.workers, log=server_log)
    worker = subprocess.Popen(
        [PYTHON, "manage.py", "db_worker", "--no-reload", "--interval", "0.5"],
        cwd=ROOT,
        env=env,
        stdout=(results_dir / "load-worker.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    wanted = {"health", "ready"} | set(args.only.split(",")) if args.only else {name for name, _label in SCENARIOS}
    rows, tokens = [], []
    try:
        for scenario, label in SCENARIOS:
            if scenario not in wanted:
                continue
            users = LOW_CONCURRENCY.get(scenario, args.users)
            _queue_drained()
            # A page that finds the register changed shows its previous tables and queues their
            # recomputation; measured while the worker recomputes beside it, and once more after.
            passes = [label, "  the same, once the worker has recomputed"] if scenario.startswith("stats") else [label]
            for shown in passes:
                queued_before = _tasks_queued()
                print(f"  {shown.strip()} ({users} users, {args.seconds:g} s) …", flush=True)
                result, recorded = _run_scenario(
                    host=f"http://127.0.0.1:{port}",
                    data_file=data_file,
                    scenario=scenario,
                    users=users,
                    seconds=args.seconds,
                )
                tokens += recorded
                figures = result["figures"].get(scenario, {})
                rows.append(
                    {
                        "scenario": scenario,
                        "label": shown,
                        "users": users,
                        **figures,
                        "cold_ms": result.get("cold_ms") or 0,
                        "errors": result["errors"],
                    }
                )
                for name, extra in result["figures"].items():
                    if name != scenario:
                        rows.append({"scenario": name, "label": "  " + name, "users": users, **extra, "errors": []})
                if _tasks_queued() == queued_before:
                    break  # nothing was recomputed: the first pass was the steady state
                waited = _queue_drained()
                print(f"  (the task worker recomputed what the page queued in {waited:.0f} s more)", flush=True)
    finally:
        for process in (server, worker):
            process.terminate()
            process.wait(timeout=30)

    health = next((row["rps"] for row in rows if row["scenario"] == "ready"), None)
    floor = next((row["rps"] for row in rows if row["scenario"] == "signed-in"), None)
    print()
    print(machine_line(speed))
    print(f"{size}; gunicorn {args.workers} sync workers; {args.users} users per page; {args.seconds:g} s each")
    print(
        f"{'page':<44} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7} {'of /readyz':>10} {'of floor':>9} {'warm-up max':>12}"
    )
    for row in rows:
        share = f"{100 * row['rps'] / health:.1f} %" if health and "rps" in row else "–"
        of_floor = f"{100 * row['rps'] / floor:.0f} %" if floor and "rps" in row else "–"
        print(
            f"{row['label']:<44} {row.get('rps', 0):>8.1f} {row.get('p50', 0):>8.0f} {row.get('p95', 0):>8.0f} "
            f"{row.get('p99', 0):>8.0f} {row.get('failures', 0):>7} {share:>10} {of_floor:>9} "
            f"{row.get('cold_ms', 0):>9.0f} ms"
        )
        for error in row["errors"]:
            print(f"    error: {error}")
    if wanted & WRITES:
        print()
        print("Writes:", _check_writes(tokens, last_use_id, data["logins"]["venue"]))
    out = results_dir / f"load-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"size": size, "machine": speed, "args": vars(args), "rows": rows}, indent=1))
    errors = server_log.read_text().count("Traceback")
    print(
        f"\nWritten to {out.relative_to(ROOT)}; the server's log ({errors} tracebacks) to {server_log.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
