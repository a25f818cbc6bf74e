"""Backup and restore drill: dump a database, restore it into a scratch database, prove they match.

    .venv/bin/python bench/backup_restore.py [--source postgres://postgres@127.0.0.1:5432/kk_bench]
                                             [--scratch kk_restore_scratch] [--jobs 2] [--keep]

1. Opens a read-only REPEATABLE READ transaction on the source and exports its snapshot.
2. ``pg_dump -Fc --snapshot=…``: the dump is exactly that snapshot, even while people write.
3. Drops and recreates the scratch database, then ``pg_restore --jobs N`` into it.
4. For every table of the public schema, counts the rows and computes a checksum on both sides
   (the source inside the same snapshot as the dump), checks that every sequence is ahead of
   its column's largest value (a new row after a restore must not collide) and that the
   indexes and constraints were all recreated. The scratch database is created with the source's
   collation (a dump does not carry it), and the two are compared.

It prints a table of table, rows, checksum and ok, the dump size and the time of each step,
and exits 1 on any mismatch (2 when it cannot run). The checksum of a table is the sum of
the 128-bit md5 of each row's text, with the row count: it needs no sort and no primary key
and runs in constant memory, so it scales to millions of rows; a sum (not an xor) still
counts duplicate rows.

Safety: it talks to 127.0.0.1 only, and it drops and recreates only a database whose name
contains "scratch" (never the source). Nothing here needs Django.
"""

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import sql

DEFAULT_SOURCE = "postgres://postgres@127.0.0.1:5432/kk_bench"
DEFAULT_SCRATCH = "kk_restore_scratch"
ALLOWED_HOST = "127.0.0.1"
SCRATCH_NAME = re.compile(r"[a-z0-9_]*scratch[a-z0-9_]*")
# The text of a row depends on these; both sides are read with the same ones.
SESSION_SETTINGS = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 3"

HOW_TO_CREATE = """\
The source database {name!r} does not exist on {host}:{port}. Create and fill it with:

    createdb -h {host} -p {port} -U {user} {name}
    export DATABASE_URL=postgres://{user}@{host}:{port}/{name}
    .venv/bin/python manage.py migrate
    .venv/bin/python manage.py createcachetable
    DEBUG=true .venv/bin/python manage.py seed_demo --cards 100000 --uses 1000000

(or pass --source with another database on {host})."""


class Refused(Exception):
    """The drill will not run: wrong host, a name that is no scratch name, a missing database."""


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str
    password: str

    def conninfo(self, dbname: str) -> dict:
        return {"host": self.host, "port": self.port, "user": self.user, "password": self.password, "dbname": dbname}

    def cli_args(self) -> list[str]:
        return ["-h", self.host, "-p", str(self.port), "-U", self.user]

    def cli_env(self) -> dict:
        return os.environ | ({"PGPASSWORD": self.password} if self.password else {})


@dataclass(frozen=True)
class TableSum:
    rows: int
    checksum: str


def parse_source(url: str) -> tuple[Server, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise Refused(f"not a PostgreSQL URL: {parts.scheme}://…")
    if parts.hostname != ALLOWED_HOST:
        raise Refused(f"the drill runs against {ALLOWED_HOST} only, not {parts.hostname!r}")
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise Refused("the source URL names no database")
    server = Server(
        ALLOWED_HOST, parts.port or 5432, unquote(parts.username or "postgres"), unquote(parts.password or "")
    )
    return server, name


def check_scratch_name(scratch: str, source: str) -> None:
    if not SCRATCH_NAME.fullmatch(scratch) or scratch == source:
        raise Refused(
            f"refusing to drop and recreate {scratch!r}: the scratch database's name must contain "
            "'scratch' (lowercase letters, digits, underscores) and differ from the source"
        )


def database_exists(server: Server, name: str) -> bool:
    with psycopg.connect(**server.conninfo("postgres"), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def database_locale(conn) -> dict[str, str]:
    """The database's own collation settings, which a dump does not carry: a database created with
    the server's defaults sorts names in another order (deploy.md makes it with ICU's fi-FI)."""
    row = conn.execute("SELECT to_jsonb(d) FROM pg_database d WHERE datname = current_database()").fetchone()[0]
    # daticulocale up to PostgreSQL 16, datlocale from 17.
    icu = row.get("datlocale") or row.get("daticulocale") or ""
    return {"provider": row["datlocprovider"], "collate": row["datcollate"], "ctype": row["datctype"], "icu": icu}


def recreate(server: Server, scratch: str, locale: dict[str, str]) -> None:
    """The scratch database, made as the source was: UTF-8 and the source's collation."""
    options = [
        sql.SQL("TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE {} LC_CTYPE {}").format(
            sql.Literal(locale["collate"]), sql.Literal(locale["ctype"])
        )
    ]
    if locale["provider"] == "i":
        options.append(sql.SQL("LOCALE_PROVIDER icu ICU_LOCALE {}").format(sql.Literal(locale["icu"])))
    with psycopg.connect(**server.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch)))
        conn.execute(sql.SQL("CREATE DATABASE {} ").format(sql.Identifier(scratch)) + sql.SQL(" ").join(options))


def drop(server: Server, scratch: str) -> None:
    with psycopg.connect(**server.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch)))


def run(command: list[str], server: Server) -> None:
    result = subprocess.run(command, env=server.cli_env(), capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise SystemExit(f"{command[0]} failed with exit code {result.returncode}")


def public_tables(conn) -> list[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
    )
    return [name for (name,) in rows]


def table_sum(conn, table: str) -> TableSum:
    """Row count and an order-independent checksum: the sums of both 64-bit halves of each row's md5."""
    query = sql.SQL(
        "SELECT count(*),"
        " coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint::numeric), 0),"
        " coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint::numeric), 0)"
        " FROM (SELECT md5(backup_row::text) AS h FROM {} AS backup_row) AS hashed"
    ).format(sql.Identifier("public", table))
    rows, high, low = conn.execute(query).fetchone()
    digest = hashlib.sha256(f"{rows}|{high}|{low}".encode()).hexdigest()[:16]
    return TableSum(rows, digest)


def schema_counts(conn) -> dict[str, int]:
    """How many indexes and constraints the public schema has (a failed CREATE INDEX shows here)."""
    indexes = conn.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'").fetchone()[0]
    constraints = conn.execute(
        "SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public'"
    ).fetchone()[0]
    return {"indexes": indexes, "constraints": constraints}


def sequences_behind(conn) -> list[str]:
    """Sequences whose next value would collide with a row already in their table."""
    owned = conn.execute(
        "SELECT s.relname, t.relname, a.attname FROM pg_class s"
        " JOIN pg_namespace n ON n.oid = s.relnamespace"
        " JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')"
        " JOIN pg_class t ON t.oid = d.refobjid"
        " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid"
        " WHERE s.relkind = 'S' AND n.nspname = 'public' ORDER BY s.relname"
    ).fetchall()
    behind = []
    for sequence, table, column in owned:
        last, called = conn.execute(
            sql.SQL("SELECT last_value, is_called FROM {}").format(sql.Identifier("public", sequence))
        ).fetchone()
        largest = conn.execute(
            sql.SQL("SELECT max({}) FROM {}").format(sql.Identifier(column), sql.Identifier("public", table))
        ).fetchone()[0]
        next_value = last + 1 if called else last
        if largest is not None and next_value <= largest:
            behind.append(f"{sequence} (next {next_value}, {table}.{column} up to {largest})")
    return behind


def sums(conn, tables: list[str]) -> dict[str, TableSum]:
    conn.execute(SESSION_SETTINGS)
    return {table: table_sum(conn, table) for table in tables}


def human_size(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{size:.1f} GB"


class Clock:
    def __init__(self):
        self.steps: list[tuple[str, float]] = []

    def step(self, name: str, action):
        started = time.perf_counter()
        result = action()
        self.steps.append((name, time.perf_counter() - started))
        print(f"  {name}: {self.steps[-1][1]:.1f} s", flush=True)
        return result


def compare(source: dict[str, TableSum], restored: dict[str, TableSum]) -> list[tuple[str, str, str, bool]]:
    lines = []
    for table in sorted(source.keys() | restored.keys()):
        mine, theirs = source.get(table), restored.get(table)
        ok = mine is not None and mine == theirs
        rows = f"{mine.rows}" if mine else "missing in source"
        if mine and theirs and mine.rows != theirs.rows:
            rows = f"{mine.rows} -> {theirs.rows}"
        elif mine and not theirs:
            rows = f"{mine.rows} -> missing"
        lines.append((table, rows, mine.checksum if mine else "", ok))
    return lines


def print_table(lines: list[tuple[str, str, str, bool]]) -> None:
    width = max(len("table"), *(len(table) for table, *_ in lines))
    rows_width = max(len("rows"), *(len(rows) for _, rows, *_ in lines))
    print(f"{'table':<{width}}  {'rows':>{rows_width}}  {'checksum':<16}  ok")
    print(f"{'-' * width}  {'-' * rows_width}  {'-' * 16}  --")
    for table, rows, checksum, ok in lines:
        print(f"{table:<{width}}  {rows:>{rows_width}}  {checksum:<16}  {'yes' if ok else 'NO'}")


def drill(args) -> int:
    server, source = parse_source(args.source)
    check_scratch_name(args.scratch, source)
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            raise Refused(f"{tool} is not on PATH (Debian: apt-get install postgresql-client)")
    if not database_exists(server, source):
        raise Refused(HOW_TO_CREATE.format(name=source, host=server.host, port=server.port, user=server.user))

    if args.dump_file and Path(args.dump_file).exists():
        # The drill makes its own dump: a path given here is where it keeps it, never a backup
        # to test (one passed by mistake, last night's, would be overwritten untested).
        raise SystemExit(f"{args.dump_file} exists: --dump-file names a new file for this drill's own dump.")
    workdir = None if args.dump_file else Path(tempfile.mkdtemp(prefix="kk_backup_"))
    dump_file = Path(args.dump_file) if args.dump_file else workdir / f"{source}.dump"
    clock = Clock()
    print(f"Source {source} on {server.host}:{server.port}, scratch {args.scratch}, dump {dump_file}")
    try:
        with psycopg.connect(**server.conninfo(source)) as snapshot_conn:
            # The dump and the source's checksums see the same snapshot, so a busy database compares too.
            snapshot_conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            snapshot = snapshot_conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
            source_size = snapshot_conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
            clock.step(
                "pg_dump -Fc",
                lambda: run(
                    ["pg_dump", *server.cli_args(), "-Fc", f"--snapshot={snapshot}", "-f", str(dump_file), source],
                    server,
                ),
            )
            tables = public_tables(snapshot_conn)
            source_sums = clock.step("checksum source", lambda: sums(snapshot_conn, tables))
            source_schema = schema_counts(snapshot_conn)
            source_locale = database_locale(snapshot_conn)
            snapshot_conn.rollback()

        clock.step("drop and create scratch", lambda: recreate(server, args.scratch, source_locale))
        restore = ["pg_restore", *server.cli_args(), "--exit-on-error", "--no-owner", "--no-privileges"]
        clock.step(
            f"pg_restore --jobs {args.jobs}",
            lambda: run([*restore, f"--jobs={args.jobs}", "-d", args.scratch, str(dump_file)], server),
        )
        with psycopg.connect(**server.conninfo(args.scratch), autocommit=True) as restored_conn:
            restored_sums = clock.step("checksum restored", lambda: sums(restored_conn, public_tables(restored_conn)))
            restored_schema = schema_counts(restored_conn)
            behind = sequences_behind(restored_conn)
            restored_locale = database_locale(restored_conn)
            restored_size = restored_conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]

        lines = compare(source_sums, restored_sums)
        print()
        print_table(lines)
        print()
        tables_ok = all(ok for *_, ok in lines)
        schema_ok = source_schema == restored_schema
        print(
            f"tables:      {sum(ok for *_, ok in lines)}/{len(lines)} match, {sum(s.rows for s in source_sums.values())} rows"
        )
        print(
            f"schema:      indexes {source_schema['indexes']} -> {restored_schema['indexes']}, "
            f"constraints {source_schema['constraints']} -> {restored_schema['constraints']}"
            f" {'ok' if schema_ok else 'MISMATCH'}"
        )
        print(f"sequences:   {'all ahead of their columns' if not behind else 'BEHIND: ' + ', '.join(behind)}")
        locale_ok = source_locale == restored_locale
        print(f"collation:   {source_locale} -> {restored_locale} {'ok' if locale_ok else 'MISMATCH'}")
        print(
            f"sizes:       dump {human_size(dump_file.stat().st_size)}, "
            f"source database {human_size(source_size)}, restored database {human_size(restored_size)}"
        )
        print("steps:       " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in clock.steps))
        print(f"total:       {sum(seconds for _, seconds in clock.steps):.1f} s")
        ok = tables_ok and schema_ok and not behind and locale_ok
        print("RESULT:      " + ("restore verified" if ok else "MISMATCH: the restored database differs"))
        return 0 if ok else 1
    finally:
        if not args.keep:
            drop(server, args.scratch)
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--source", default=DEFAULT_SOURCE, help=f"database to back up (default {DEFAULT_SOURCE})")
    parser.add_argument(
        "--scratch",
        default=DEFAULT_SCRATCH,
        help=f"database to restore into; its name must contain 'scratch' (default {DEFAULT_SCRATCH})",
    )
    parser.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1), help="parallel pg_restore jobs")
    parser.add_argument(
        "--dump-file", help="keep this drill's dump at this new path (default: a temporary file, removed)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database (and dump) for inspection")
    args = parser.parse_args()
    try:
        return drill(args)
    except Refused as refusal:
        print(f"backup_restore: {refusal}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
