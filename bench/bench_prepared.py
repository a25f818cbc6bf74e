"""What the busy pages' statements cost PostgreSQL, planned on every run or prepared once.

    .venv/bin/python bench/bench_prepared.py [--database-url postgres://postgres@127.0.0.1:5432/kk_bench]
                                             [--runs 400] [--only card-page,desk]

Each page of bench/bench_pages.py is requested once through Django's test client while its SQL
statements and parameters are recorded. The statements are then replayed, page by page, over a
plain psycopg connection ``--runs`` times: once with every statement planned anew on each run
(what Django does with its default client-side binding), once with prepared statements (what
``DATABASE_PREPARED_STATEMENTS`` turns on). It prints, per page, the median wall time of one
replay and the CPU time the database server's process spent per replay, read from /proc (so
PostgreSQL must run on this machine). No Python rendering is in these numbers: they isolate the
database's share of a page. Nothing here is a pass/fail check.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_pages import PRODUCTION, _pages, process_cpu_ms  # noqa: E402  (bench/, beside this script)
from machine import machine_line, machine_speed  # noqa: E402


def _replay(dsn: str, statements: list, *, prepared: bool, runs: int) -> tuple[float, float]:
    """Median wall ms of one replay of ``statements`` and the server's CPU ms per replay."""
    import psycopg

    # prepare_threshold=None never prepares; 0 prepares every statement on its first run.
    with psycopg.connect(dsn, prepare_threshold=0 if prepared else None) as connection:
        pid = connection.info.backend_pid
        cpu_before, times = None, []
        for run in range(runs + 20):
            if run == 20:  # after PostgreSQL has settled on each statement's plan
                cpu_before = process_cpu_ms(pid)
                if cpu_before is None:
                    sys.exit("The database server's process is not on this machine: its CPU cannot be read.")
            started = time.perf_counter()
            with connection.transaction(), connection.cursor() as cursor:
                for sql, params in statements:
                    cursor.execute(sql, params)
                    if cursor.description:
                        cursor.fetchall()
            if run >= 20:
                times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times), (process_cpu_ms(pid) - cpu_before) / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/kk_bench")
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--only", help="comma-separated page names")
    args = parser.parse_args()

    # Server-side binding, so that the recorded statements carry their parameters apart.
    os.environ.update(PRODUCTION | {"DATABASE_URL": args.database_url, "DATABASE_PREPARED_STATEMENTS": "true"})
    os.chdir(ROOT)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"], check=True)
    import django

    django.setup()
    from django.db import connection

    dsn = " ".join(
        f"{key}={value}"
        for key, value in connection.get_connection_params().items()
        if key in ("host", "port", "user", "password", "dbname")
    )
    wanted = set(args.only.split(",")) if args.only else None
    print(machine_line(machine_speed()))
    print(
        f"{'page':<22} {'statements':>10} {'planned: ms':>12} {'DB CPU ms':>10} {'prepared: ms':>13} {'DB CPU ms':>10}"
    )
    for name, (client, path) in _pages().items():
        if wanted and name not in wanted:
            continue
        client.get(path)
        statements = []

        def record(execute, sql, params, many, context, statements=statements):
            if not many:
                statements.append((sql, params))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            client.get(path)
        planned = _replay(dsn, statements, prepared=False, runs=args.runs)
        prepared = _replay(dsn, statements, prepared=True, runs=args.runs)
        print(
            f"{name:<22} {len(statements):>10} {planned[0]:>12.2f} {planned[1]:>10.2f} {prepared[0]:>13.2f} "
            f"{prepared[1]:>10.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
