"""Restart PostgreSQL under load: Kaikukanta answers 503 (never 500) meanwhile and recovers by itself.

    .venv/bin/python bench/pg_outage.py --database-url postgres://postgres@127.0.0.1:5433/kk_outage
        (--restart-command "..." | --restart-this-server) [--duration 30] [--restart-at 10]

It prepares the database (creates it, migrates, creates the cache tables, and runs ``seed_demo``
if the demo venue login is missing), starts gunicorn with production settings (DEBUG off) on a
free port of 127.0.0.1 and drives steady load from a few threads, each logged in as the demo
venue user: the two probes, a logged-in page (the venue's uses) and a write (a use recorded at
the desk, each with an idempotency token of its own). At ``--restart-at`` seconds it runs the
restart command, and at the end prints the requests by status during the outage, the 500s
(there must be none), the time from the restart until the first successful page, and a data
check: every write the client saw succeed is in the database exactly once, and none that failed
is. The exit status is 1 if there was a 500 or the data check failed.

The restart takes the whole PostgreSQL server down for a few seconds: everybody's connections
to it are cut, not only this script's. So it restarts nothing it is not told to: give the command
that restarts a server of your own (``--restart-command``), or say that the server on the URL's
port is yours alone (``--restart-this-server``: its cluster restarted with ``pg_ctlcluster``,
and refused while another database on it has a session). A throwaway server of your own, as the
``postgres`` user (PostgreSQL refuses to run as root)::

    initdb -D /tmp/kk-outage-pg && pg_ctl -D /tmp/kk-outage-pg -o "-p 5433 -k /tmp" -l /tmp/kk-outage-pg.log start
    .venv/bin/python bench/pg_outage.py --database-url postgres://postgres@127.0.0.1:5433/kk_outage \
        --restart-command "pg_ctl -D /tmp/kk-outage-pg -m fast -o '-p 5433 -k /tmp' -l /tmp/kk-outage-pg.log restart"

(run the script as that same user: the command's own quotes would not survive another layer of
``su -c '...'``). The database must be on 127.0.0.1. The recorded uses stay in the database (they are ordinary demo data).
"""

import argparse
import collections
import http.client
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENUE_EMAIL = "kohde@example.fi"
DEMO_PASSWORD = "kaikukortti-demo"
PAGE = "/venue/uses/"
WRITE = "/venue/record/"
PROBES = ["/healthz", "/readyz"]


@dataclass
class Result:
    kind: str  # probe, page, write
    path: str
    started: float  # seconds since the load started
    ended: float
    status: str  # "200", "503", ... or "error:<exception>"
    ok: bool
    key: str = ""  # the write's idempotency key


class Browser:
    """A logged-in person: plain HTTP with a cookie jar that also returns Secure cookies (no TLS here)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, dict, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        headers = {"Host": "127.0.0.1", "Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    if morsel["max-age"] == "0":
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
            return response.status, dict(response.headers), text
        finally:
            connection.close()

    def log_in(self, email: str, password: str) -> None:
        status, _, text = self.request("GET", "/accounts/login/")
        status, headers, _ = self.request(
            "POST", "/accounts/login/", {"csrfmiddlewaretoken": csrf_token(text), "login": email, "password": password}
        )
        if status != 302 or "/accounts/login/" in headers.get("Location", ""):
            raise SystemExit(f"Could not log in as {email} (status {status}).")


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if match is None:
        raise SystemExit("No CSRF token on the page.")
    return match.group(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def default_restart_command(port: int) -> str:
    """The Debian/Ubuntu cluster listening on ``port`` (pg_lsclusters), restarted in fast mode."""
    if shutil.which("pg_lsclusters") is None:
        raise SystemExit("pg_lsclusters not found: give --restart-command.")
    listing = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=True).stdout  # noqa: S607
    for line in listing.splitlines():
        version, cluster, cluster_port, *_ = line.split()
        if int(cluster_port) == port:
            return f"pg_ctlcluster --mode fast {version} {cluster} restart"
    raise SystemExit(f"No PostgreSQL cluster on port {port} in pg_lsclusters: give --restart-command.")


def prepare_database(url: str, env: dict) -> None:
    """Create the database if missing; migrate, create the cache tables, seed the demo if needed."""
    import psycopg
    from psycopg import sql

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(
        host=parts.hostname, port=parts.port or 5432, user=parts.username, password=parts.password,
        dbname="postgres", autocommit=True,
    ) as maintenance:  # fmt: skip
        if maintenance.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            maintenance.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True)  # noqa: S603
    subprocess.run([*manage, "createcachetable"], env=env, check=True)  # noqa: S603

    from accounts.models import User

    if not User.objects.filter(email=VENUE_EMAIL).exists():
        print("seeding the demo (manage.py seed_demo)...")
        seeded = subprocess.run([*manage, "seed_demo"], env=env, capture_output=True, text=True)  # noqa: S603
        if seeded.returncode != 0:
            raise SystemExit(f"seed_demo failed:\n{seeded.stdout}{seeded.stderr}")


def writable_cards() -> list[str]:
    """Numbers the demo venue may record a use on today."""
    from cards.models import Card
    from venues import services

    numbers = Card.objects.filter(status=Card.Status.ACTIVE).order_by("pk").values_list("number", flat=True)[:200]
    return [number for number in numbers if services.card_check(number=number).valid]


def start_gunicorn(port: int, env: dict, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "w")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen(  # noqa: S603
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "kaikukanta.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "3",
            "--timeout",
            "30",
            "--graceful-timeout",
            "5",
        ],  # fmt: skip
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if Browser(port).request("GET", "/readyz")[0] == 200:
                return process
        except OSError:
            pass
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited; see {log_path}")
        time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"gunicorn did not become ready; see {log_path}")


def drive(kind: str, browser: Browser, stop: threading.Event, results: list, t0: float, cards: list, pause: float):
    """One client thread: the same request over and over until told to stop."""
    csrf = ""
    count = 0
    while not stop.is_set():
        key = ""
        form = None
        if kind == "probe":
            path, method = PROBES[count % 2], "GET"
        elif kind == "page":
            path, method = PAGE, "GET"
        else:
            path, method = WRITE, "POST"
            key = uuid.uuid4().hex
            form = {
                "csrfmiddlewaretoken": csrf,
                "number": cards[count % len(cards)],
                "token": key,
                "used_on": time.strftime("%Y-%m-%d"),
                "category": "culture",
                "child_tickets": "0",
                "assistant_tickets": "0",
            }
        count += 1
        started = time.monotonic() - t0
        try:
            if kind == "write" and not csrf:
                # The desk's form carries the token of this login's CSRF cookie.
                status, _, text = browser.request("GET", "/venue/")
                if status != 200:
                    raise RuntimeError(f"desk {status}")
                csrf = form["csrfmiddlewaretoken"] = csrf_token(text)
            code, headers, _ = browser.request(method, path, form)
            status = str(code)
            if kind == "write":
                ok = code == 302 and headers.get("Location", "").startswith("/venue/?venue=")
            else:
                ok = code == 200
        except Exception as error:  # noqa: BLE001 (every failure is a result here)
            status, ok = f"error:{type(error).__name__}", False
        results.append(Result(kind, path, started, time.monotonic() - t0, status, ok, key))
        time.sleep(pause)


def table(results: list[Result]) -> str:
    counts = collections.defaultdict(collections.Counter)
    for result in results:
        counts[f"{result.kind:<5} {result.path}"][result.status] += 1
    lines = []
    for name in sorted(counts):
        statuses = "  ".join(f"{status}: {count}" for status, count in sorted(counts[name].items()))
        lines.append(f"  {name:<22} {statuses}")
    return "\n".join(lines) or "  (none)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/kk_bench")
    parser.add_argument("--restart-command", help="the command that restarts your own PostgreSQL server")
    parser.add_argument(
        "--restart-this-server",
        action="store_true",
        help="restart the cluster on the URL's port with pg_ctlcluster (a server that is yours alone)",
    )
    parser.add_argument("--duration", type=float, default=30, help="seconds of load (default 30)")
    parser.add_argument("--restart-at", type=float, default=10, help="seconds into the load (default 10)")
    parser.add_argument("--pause", type=float, default=0.05, help="seconds between one thread's requests")
    args = parser.parse_args()

    parts = urllib.parse.urlsplit(args.database_url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql") or parts.hostname != "127.0.0.1":
        raise SystemExit("Only a PostgreSQL database on 127.0.0.1 (postgres://...@127.0.0.1:port/name).")
    if not args.restart_command and not args.restart_this_server:
        raise SystemExit(
            f"This restarts the whole PostgreSQL server on port {parts.port or 5432}, cutting every connection to "
            "every database on it. Give --restart-command for a server of your own (the script's docstring shows "
            "one), or --restart-this-server if that server is yours alone."
        )
    restart_command = args.restart_command or default_restart_command(parts.port or 5432)

    # The script's own ORM use (checks before and after) and the manage.py commands: development settings.
    base_env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE",)}
    base_env["DATABASE_URL"] = args.database_url
    os.environ.update({"DATABASE_URL": args.database_url, "DEBUG": "true"})
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaikukanta.settings")
    import django

    django.setup()
    from django.db import connections

    from accounts.models import SiteMembership
    from cards.models import CardUse
    from venues.services import desk_use_key

    prepare_database(args.database_url, {**base_env, "DEBUG": "true"})

    def not_ours_alone() -> str:
        """Why the server is not this script's alone to restart ("" if nothing says so). A look
        at one moment: asked again just before the restart, and a guess even then."""
        if args.restart_command:
            return ""
        with connections["default"].cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                "AND datname IS NOT NULL AND datname <> current_database()"
            )
            (others,) = cursor.fetchone()
        if others:
            return (
                f"{others} session(s) on other databases of this server: it is not yours alone. "
                "Give --restart-command for a server of your own."
            )
        return ""

    if refusal := not_ours_alone():
        raise SystemExit(refusal)
    cards = writable_cards()
    if not cards:
        raise SystemExit("No card the demo venue may record a use on: run manage.py seed_demo.")
    # Production settings, served over plain HTTP on the loopback (a TLS proxy would sit in front).
    server_env = {
        **base_env,
        "DEBUG": "false",
        "SECRET_KEY": "bench",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        # No collectstatic into the shared checkout: plain storage instead of the manifest.
        "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
    }
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="kk_pg_outage_"))
    log_path = workdir / "gunicorn.log"
    server = start_gunicorn(port, server_env, log_path)
    try:
        threads_spec = [("probe", 1), ("page", 2), ("write", 2)]
        browsers = []
        for kind, count in threads_spec:
            for _ in range(count):
                browser = Browser(port)
                if kind != "probe":
                    browser.log_in(VENUE_EMAIL, DEMO_PASSWORD)
                browsers.append((kind, browser))
        stop = threading.Event()
        results: list[Result] = []
        t0 = time.monotonic()
        threads = [
            threading.Thread(target=drive, args=(kind, browser, stop, results, t0, cards, args.pause), daemon=True)
            for kind, browser in browsers
        ]
        for thread in threads:
            thread.start()
        time.sleep(args.restart_at)
        if refusal := not_ours_alone():
            stop.set()
            raise SystemExit(refusal)
        restart_started = time.monotonic() - t0
        restart = subprocess.run(shlex.split(restart_command), capture_output=True, text=True)  # noqa: S603
        restart_ended = time.monotonic() - t0
        time.sleep(max(0.0, args.duration - restart_ended))
        stop.set()
        for thread in threads:
            thread.join(timeout=20)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()

    results.sort(key=lambda result: result.started)
    print(
        f"\ngunicorn (3 sync workers, DEBUG off) on 127.0.0.1:{port}, database {parts.path.lstrip('/')}; "
        f"{len(browsers)} client threads for {args.duration:.0f} s, {len(results)} requests."
    )
    print(
        f"restart: `{restart_command}` at {restart_started:.1f} s, returned {restart.returncode} "
        f"after {restart_ended - restart_started:.1f} s"
    )
    if restart.returncode != 0:
        print("  " + (restart.stderr or restart.stdout).strip().replace("\n", "\n  "))

    failures = [r for r in results if not r.ok and r.started >= restart_started]
    # Recovered: the first page that succeeded after the last request that failed.
    last_failure = max((r.started for r in failures), default=restart_started)
    recovered = next((r for r in results if r.kind == "page" and r.ok and r.started > last_failure), None)
    window_end = recovered.ended if recovered else args.duration
    during = [r for r in results if restart_started <= r.started < window_end]
    print(f"\nrequests by status during the outage ({restart_started:.2f} s to {window_end:.2f} s):")
    print(table(during))
    print("\nrequests by status over the whole run:")
    print(table(results))
    print("\ntimeline around the restart (requests started in each 0.5 s: succeeded/failed):")
    step = 0.5
    bucket = restart_started - step
    while bucket < window_end + step:
        started = [r for r in results if bucket <= r.started < bucket + step]
        ok = sum(r.ok for r in started)
        print(f"  {bucket - restart_started:+5.1f} s  {ok:>3} / {len(started) - ok}")
        bucket += step
    if failures:
        print(
            f"failed requests started from {failures[0].started - restart_started:+.2f} s to "
            f"{failures[-1].started - restart_started:+.2f} s after the restart began"
        )
    server_errors = [r for r in results if r.status == "500"]
    print(f"\n500 responses: {len(server_errors)}")
    for result in server_errors[:10]:
        print(f"  {result.kind} {result.path} at {result.started:.2f} s")
    if recovered:
        print(
            f"time from the restart until the first successful page (after the last failure): "
            f"{recovered.ended - restart_started:.2f} s"
        )
    else:
        print("no successful page after the restart: the app did not recover within the run")

    # The data check: what the clients saw against what the database holds.
    connections.close_all()
    writes = [r for r in results if r.kind == "write" and r.key]
    # The desk stores each form's token tied to the venue (venues.services.desk_use_key).
    venues = list(SiteMembership.objects.filter(user__email=VENUE_EMAIL).values_list("site_id", flat=True))
    stored_as = {r.key: [desk_use_key(venue_pk=venue, token=r.key) for venue in venues] for r in writes}
    rows = collections.Counter(
        CardUse.objects.filter(idempotency_key__in=[key for keys in stored_as.values() for key in keys]).values_list(
            "idempotency_key", flat=True
        )
    )
    stored = {token: sum(rows[key] for key in keys) for token, keys in stored_as.items()}
    succeeded = [r for r in writes if r.ok]
    answered = [r for r in writes if not r.ok and not r.status.startswith("error:")]
    unanswered = [r for r in writes if r.status.startswith("error:")]
    exactly_once = sum(1 for r in succeeded if stored[r.key] == 1)
    failed_but_stored = [r for r in answered if stored[r.key]]
    print(
        f"data check: {len(succeeded)} writes the client saw succeed, {exactly_once} of them in the database "
        f"exactly once; {len(answered)} answered as failed ({', '.join(sorted({r.status for r in answered})) or '-'}), "
        f"{len(failed_but_stored)} of them in the database"
    )
    if unanswered:
        print(
            f"  {len(unanswered)} writes got no answer (connection error): {sum(stored[r.key] for r in unanswered)} stored"
        )

    log = log_path.read_text(errors="replace")
    print(
        f"app log: {log.count('Database unavailable, answered 503')} 'Database unavailable' lines, "
        f"{log.count('Internal Server Error')} 'Internal Server Error', {log.count('Traceback')} tracebacks ({log_path})"
    )
    data_ok = exactly_once == len(succeeded) and not failed_but_stored
    return 0 if not server_errors and data_ok and recovered else 1


if __name__ == "__main__":
    sys.exit(main())
