"""Time the scheduled jobs at national scale, each twice: its first run over the data set, then the
daily run that follows (nothing new to do, which is most days).

    .venv/bin/python bench/bench_jobs.py [--database-url postgres://postgres@127.0.0.1:5432/kk_bench]

The jobs write (reminders queued, dormant holders' addresses erased), so they run against a copy:
a scratch database made from the given one as its template, dropped at the end. The given database
must have no other connection meanwhile (PostgreSQL copies a template only then). Mail is queued
for the task worker as in production (``TASKS_BACKEND=django_tasks_db.DatabaseBackend``), not
sent: the job's own time is measured, not the mail server's. Nothing here is a pass/fail check.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_pages import PRODUCTION  # noqa: E402  (bench/, beside this script)
from machine import machine_line, machine_speed  # noqa: E402

JOBS = ["omakaiku_send_expiry_reminders", "omakaiku_erase_dormant", "stats_summary_build"]


def _psql(url: str, sql: str) -> None:
    parts = urlsplit(url)
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    quiet = os.environ | {"PGOPTIONS": "-c client_min_messages=warning"}
    subprocess.run(["psql", maintenance, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True, env=quiet)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/kk_bench")
    args = parser.parse_args()
    source = urlsplit(args.database_url).path.lstrip("/")
    scratch = f"{source}_jobs"
    scratch_url = urlunsplit(urlsplit(args.database_url)._replace(path=f"/{scratch}"))

    print(machine_line(machine_speed()))
    _psql(args.database_url, f'DROP DATABASE IF EXISTS "{scratch}"')
    _psql(args.database_url, f'CREATE DATABASE "{scratch}" TEMPLATE "{source}"')
    env = (
        os.environ
        | PRODUCTION
        | {
            "DATABASE_URL": scratch_url,
            "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        }
    )
    try:
        for job in JOBS:
            for run in ("first run", "next run"):
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "manage.py", job], cwd=ROOT, env=env, capture_output=True, text=True, check=True
                )
                seconds = time.perf_counter() - started
                said = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
                print(f"{job:<32} {run:<9} {seconds:6.1f} s   {said}", flush=True)
    finally:
        _psql(args.database_url, f'DROP DATABASE IF EXISTS "{scratch}"')


if __name__ == "__main__":
    main()
