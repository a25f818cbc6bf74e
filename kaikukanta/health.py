"""Probes for the load balancer, and a friendly 503 while the database cannot be reached.

``/healthz`` says the process answers; ``/readyz`` says it can also serve pages (the database
answers and every migration is applied). Both are answered by ``HealthProbeMiddleware`` before
the session, locale, CSRF, authentication and allauth middleware run, so a probe never reads
or saves a session, sets no cookie, is never redirected and is answered whatever ``Host`` the
load balancer sends (it probes by the instance's address, which ALLOWED_HOSTS rightly omits).

A PostgreSQL restart or failover makes queries fail with ``OperationalError`` or
``InterfaceError`` wherever they run: in a view, a middleware, the session save or a template.
``server_error`` (the project's ``handler500``) and ``bad_request`` (``handler400``: the session
middleware turns a failed session save into a 400) answer those with ``503.html`` and a
``Retry-After`` instead of a 500; ``ATOMIC_REQUESTS`` has already rolled the view's writes back.
Connections recover by themselves: ``CONN_HEALTH_CHECKS`` drops a dead one at the next request.
A server that never answers is given up after ``DATABASE_CONNECT_TIMEOUT`` seconds (settings).
A cache kept in Redis is treated alike: its connection errors answer 503 (``/readyz`` does not ask it).
"""

import logging
import sys

import redis.exceptions
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader
from django.urls import Resolver404, resolve, reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import defaults

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
# Redis, where the caches are kept in it (docs/deploy.md): the login's rate limits and the
# statistics need it as the pages need the database.
CACHE_UNAVAILABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

# Migrations, once applied, stay applied for the life of the process: the check (which reads
# every migration file) runs only until it has passed once.
_migrations_applied = False
_cache_tables_made = False


def _plain(text: str, status: int = 200) -> HttpResponse:
    response = HttpResponse(text + "\n", content_type="text/plain; charset=utf-8", status=status)
    response["Cache-Control"] = "no-store"
    return response


def healthz(request: HttpRequest) -> HttpResponse:
    """The process is up. Touches nothing: a liveness probe must not fail because the database does."""
    return _plain("ok")


def _database_cache_tables() -> set[str]:
    return {
        config["LOCATION"]
        for config in settings.CACHES.values()
        if config["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    }


def readyz(request: HttpRequest) -> HttpResponse:
    """Ready for traffic: the default database answers, no migration is waiting and the cache
    tables (``createcachetable``, not made by ``migrate``) exist (without them every statistics
    page would fail).

    A Redis that keeps the caches is not asked: every instance shares it, so while it is down
    the load balancer would have no instance left, and the desk and OmaKaiku, which do not need
    it, would go down with the logins and statistics that do (those answer 503 meanwhile)."""
    global _migrations_applied, _cache_tables_made
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if not _migrations_applied:
            executor = MigrationExecutor(connection)
            _migrations_applied = not executor.migration_plan(executor.loader.graph.leaf_nodes())
        if _migrations_applied and not _cache_tables_made:
            _cache_tables_made = _database_cache_tables() <= set(connection.introspection.table_names())
    except DatabaseError:
        return _plain("database unavailable", status=503)
    if not _migrations_applied:
        return _plain("migrations not applied", status=503)
    if not _cache_tables_made:
        return _plain("cache tables missing", status=503)
    return _plain("ok")


PROBES = {"/healthz": healthz, "/readyz": readyz}


class HealthProbeMiddleware:
    """Answers the probes itself, so that no later middleware sees them (see the module docstring).

    Placed right after SecurityMiddleware, whose HTTPS redirect spares them (SECURE_REDIRECT_EXEMPT).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        probe = PROBES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)


def _cause(exc: BaseException | None, kinds: tuple[type[BaseException], ...]) -> BaseException | None:
    """``exc``, or the first exception it was raised from, that is one of ``kinds``."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kinds):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def backing_service_unavailable(exc: BaseException | None) -> bool:
    """Whether ``exc``, or an exception it was raised from, says the database (or a cache kept in
    Redis) could not be used."""
    return _cause(exc, DATABASE_UNAVAILABLE + CACHE_UNAVAILABLE) is not None


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a 503 when the database is unavailable, Django's 500 (500.html) otherwise."""
    # Django calls this inside its except block: the exception being handled is the cause.
    exc = sys.exc_info()[1]
    if backing_service_unavailable(exc):
        return service_unavailable(request, exc)
    return defaults.server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form refused for a missing or outdated security token: opened before a login or logout
    in another tab, or from another site. Kaikukanta's or OmaKaiku's own page, in the page's
    language, says nothing was saved and how to go on (Django's own spoke of DEBUG, and the
    content security policy left it unstyled)."""
    # Back to the page the form was on (a form may be sent to an address that has no page).
    back = request.META.get("HTTP_REFERER", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = request.path
    return render(request, "403_csrf.html", {"back": back}, status=403)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: the session middleware reports a session save that failed as SessionInterrupted (a 400)."""
    if backing_service_unavailable(exception):
        return service_unavailable(request, exception)
    return defaults.bad_request(request, exception)


def _route(request: HttpRequest) -> str:
    """The URL pattern, not the path: a path may carry an invitation token."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        # The session middleware failed before the URL was resolved.
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return "-"
    return match.route


def service_unavailable(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """503.html, rendered without context processors: they would ask the database who is logged in."""
    if not getattr(request, "_database_outage_logged", False):
        request._database_outage_logged = True
        logger.error(
            "%s unavailable, answered 503: %s: %s (%s %s)",
            "Cache" if _cause(exc, CACHE_UNAVAILABLE) else "Database",
            type(exc).__name__,
            (str(exc).splitlines() or [""])[0][:200],
            request.method,
            _route(request),
        )
    # Middleware that runs after this one on the way out (SecurityHeadersMiddleware) asks
    # request.user; unevaluated, it would query the database again and fail again.
    request.user = AnonymousUser()
    # The request's own language: when the session failed, the locale middleware has not run yet
    # and the language active in this thread is whatever the previous request left there.
    language = getattr(request, "LANGUAGE_CODE", None) or translation.get_language_from_request(request)
    with translation.override(language):
        response = _service_unavailable_page(request)
    response["Content-Language"] = language
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    # Already logged above, without the path Django's own log line would show.
    response._has_been_logged = True
    return response


def _service_unavailable_page(request: HttpRequest) -> HttpResponse:
    try:
        portal = request.path_info.startswith(reverse(settings.HOLDER_HOME_URL))
        response = HttpResponse(loader.render_to_string("503.html", {"holder_portal": portal}), status=503)
    except Exception:
        # A broken static manifest must not turn the 503 into an unhandled error.
        response = _plain(_("The service is temporarily unavailable. Please wait a moment and try again."), 503)
    return response
