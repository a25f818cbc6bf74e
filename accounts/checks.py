"""Deploy checks of our own (``manage.py check --deploy``)."""

import urllib.parse

from django.conf import settings
from django.core import checks
from django.http.request import validate_host

# Backends that keep mail on this machine: the console and files would hold personal addresses
# and working set-password links in the service's logs; memory and dummy send nothing at all.
MAIL_STAYS_HERE = {
    "accounts.mail.ConsoleEmailBackend",
    *(f"django.core.mail.backends.{kind}.EmailBackend" for kind in ("console", "filebased", "locmem", "dummy")),
}


@checks.register(checks.Tags.security, deploy=True)
def mail_leaves_the_machine(app_configs=None, **kwargs):
    backend = settings.MAILERS["default"]["BACKEND"]
    if backend in MAIL_STAYS_HERE:
        return [
            checks.Warning(
                f"EMAIL_URL gives the mail backend {backend}: invitations and password links would not "
                "reach people, and the console or files would keep their personal addresses and links.",
                hint="Set EMAIL_URL to the SMTP server, e.g. smtp+tls://user:password@mail.example.fi:587.",
                id="kaikukanta.W001",
            )
        ]
    return []


# Caches that each process keeps to itself: allauth's login rate limits, the checked CSV imports
# and the statistics tables must be shared by every gunicorn worker (a rate limit per worker lets
# four times the guesses through; an import checked in one worker is not found by the next).
PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
    "django.core.cache.backends.filebased.FileBasedCache",
}
# Task backends that cannot run a task later: a failed mail is not retried, and mail and
# statistics recomputation run inside the request that queued them.
TASKS_NOT_QUEUED = {
    "django.tasks.backends.immediate.ImmediateBackend",
    "django.tasks.backends.dummy.DummyBackend",
}


@checks.register(checks.Tags.caches, deploy=True)
def caches_are_shared(app_configs=None, **kwargs):
    return [
        checks.Warning(
            f"The cache {alias!r} is kept by each process ({settings.CACHES[alias]['BACKEND']}): login rate "
            "limits, checked imports and statistics would differ from one gunicorn worker to the next.",
            hint=f"Set {setting} to the database cache (the default) or Redis (docs/deploy.md).",
            id="kaikukanta.W002",
        )
        for alias, setting in (("default", "CACHE_URL"), ("stats", "STATS_CACHE_URL"))
        if settings.CACHES[alias]["BACKEND"] in PROCESS_CACHES
    ]


@checks.register(deploy=True)
def tasks_are_queued(app_configs=None, **kwargs):
    backend = settings.TASKS["default"]["BACKEND"]
    if backend in TASKS_NOT_QUEUED:
        return [
            checks.Warning(
                f"TASKS_BACKEND is {backend}: a mail that fails is not tried again, and mail and "
                "statistics are worked out inside the page's request.",
                hint="Set TASKS_BACKEND=django_tasks_db.DatabaseBackend and run manage.py db_worker.",
                id="kaikukanta.W003",
            )
        ]
    return []


@checks.register(checks.Tags.security, deploy=True)
def site_url_is_public(app_configs=None, **kwargs):
    """Every link in an invitation, a password mail or a reminder starts with SITE_URL: its
    development default (http://127.0.0.1:8000) would send people to their own machine."""
    parts = urllib.parse.urlsplit(settings.SITE_URL)
    if parts.scheme == "https" and validate_host(parts.hostname or "", settings.ALLOWED_HOSTS):
        return []
    return [
        checks.Warning(
            f"SITE_URL is {settings.SITE_URL!r}: the links in invitation, password and reminder mails "
            "must lead to this service's public https address, one of ALLOWED_HOSTS.",
            hint="Set SITE_URL, e.g. SITE_URL=https://kaikukanta.fi.",
            id="kaikukanta.W004",
        )
    ]


@checks.register(checks.Tags.security, deploy=True)
def hosts_are_named(app_configs=None, **kwargs):
    """A wildcard host lets any Host header through: a password-reset mail built from a forged
    one would carry an attacker's address (allauth builds some links from the request)."""
    # "*", or a whole top-level domain (".fi": every host under it).
    if any(host == "*" or (host.startswith(".") and host.count(".") == 1) for host in settings.ALLOWED_HOSTS):
        return [
            checks.Warning(
                "ALLOWED_HOSTS accepts any host ('*') or every host of a top-level domain.",
                hint="Name the service's public host names, e.g. ALLOWED_HOSTS=kaikukanta.fi.",
                id="kaikukanta.W005",
            )
        ]
    return []


# Security, not the "database" tag: Django runs those only when asked to connect (--database).
@checks.register(checks.Tags.security, deploy=True)
def database_is_postgresql(app_configs=None, **kwargs):
    """SQLite is the first run's database: one writer at a time, no row locks behind the card
    rules' concurrency guarantees, and no backup procedure in docs/deploy.md."""
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine != "django.db.backends.postgresql":
        return [
            checks.Warning(
                f"DATABASE_URL gives {engine}: production runs on PostgreSQL (docs/deploy.md).",
                hint="Set DATABASE_URL=postgres://user:password@host:5432/kaikukanta.",
                id="kaikukanta.W006",
            )
        ]
    return []


# Documentation's domains (RFC 2606, and Finland's example.fi): nobody reads mail there.
PLACEHOLDER_DOMAINS = ("example.fi", "example.com", "example.org", "example.net", "example", "invalid", "test")


@checks.register(deploy=True)
def contact_is_real(app_configs=None, **kwargs):
    """The help page and the accessibility statement give SERVICE_CONTACT_EMAIL to people who
    need help (the statement's feedback channel is a legal requirement): never the placeholder."""
    address = settings.SERVICE_CONTACT_EMAIL.strip()
    domain = address.rpartition("@")[2].lower().rstrip(".")
    if "@" not in address or any(
        domain == example or domain.endswith("." + example) for example in PLACEHOLDER_DOMAINS
    ):
        return [
            checks.Warning(
                f"SERVICE_CONTACT_EMAIL is {settings.SERVICE_CONTACT_EMAIL!r}, a placeholder or none: the help page "
                "and the accessibility statement would send people there.",
                hint="Set SERVICE_CONTACT_EMAIL to the organisation's real address.",
                id="kaikukanta.W007",
            )
        ]
    return []
