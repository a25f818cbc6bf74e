"""Read replica: statistics and downloads read from it, everything else from the primary.

Switched on by ``DATABASE_REPLICA_URL`` (the ``replica`` alias); without it neither the router
nor the middleware is used and everything stays on ``default``.

- ``ReplicaReadsMiddleware`` marks a GET or HEAD request under ``REPLICA_PATHS`` as one whose
  reads may go to the replica. Nothing else does: outside such a request (other pages, the
  task worker, management commands, the shell) every read goes to the primary.
- Writes always go to the primary. Once a request has written anything through the ORM, its
  later reads go to the primary too, so it reads back what it wrote.
- Read-your-writes across requests: after a non-safe request (or one that wrote), the session
  is pinned to the primary for ``DATABASE_REPLICA_PIN_SECONDS``, longer than the replica is
  expected to lag, so the person who just recorded a use sees it counted.
- The cache table and the sessions are never read from the replica: a cache entry written a
  moment ago must be found, and a login ended on the primary must end at once.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import DEFAULT_DB_ALIAS

REPLICA = "replica"
# Read-only reports whose figures may be a moment old: the statistics pages and their downloads.
REPLICA_PATHS = ("/stats/",)
SAFE_METHODS = frozenset({"GET", "HEAD"})
# Apps whose rows are written and read back within moments, or decide who is logged in.
PRIMARY_ONLY_APPS = frozenset({"django_cache", "sessions"})
# Where the session keeps the time (epoch seconds) until which its reads stay on the primary.
PIN_SESSION_KEY = "_db_primary_until"


@dataclass
class ReadState:
    """The database rules of the running request (or block of code)."""

    replica: bool
    wrote: bool = False


_state: ContextVar[ReadState | None] = ContextVar("kaikukanta_db_reads", default=None)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def replica_reads(*, enabled: bool = True) -> Iterator[ReadState]:
    """Inside the block, reads may go to the replica (until something is written)."""
    token = _state.set(ReadState(replica=enabled))
    try:
        yield _state.get()
    finally:
        _state.reset(token)


class ReplicaRouter:
    def db_for_read(self, model, **hints) -> str:
        state = _state.get()
        if (
            state is not None
            and state.replica
            and not state.wrote
            and model._meta.app_label not in PRIMARY_ONLY_APPS
            and replica_configured()
        ):
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints) -> str:
        state = _state.get()
        # A cache entry is no data anybody reads back: storing a computed table must not send
        # the rest of the page's figures to the primary.
        if state is not None and model._meta.app_label != "django_cache":
            state.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # The replica holds the primary's rows: an object read from one may point at the other's.
        if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA}:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        # The replica gets the schema from the primary by replication.
        return db == DEFAULT_DB_ALIAS


class ReplicaReadsMiddleware:
    """Lets statistics GET/HEAD requests read the replica; pins a session that wrote to the primary.

    Placed after the session, authentication and account-rule middleware, so the session, the
    user and two-step verification are always read from the primary; only the view reads the
    replica.
    """

    def __init__(self, get_response):
        if not replica_configured():
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        safe = request.method in SAFE_METHODS
        may_use_replica = safe and request.path_info.startswith(REPLICA_PATHS) and not self._pinned(request)
        with replica_reads(enabled=may_use_replica) as state:
            response = self.get_response(request)
        # A failed request (500) was rolled back: it wrote nothing to wait for.
        if (not safe or state.wrote) and response.status_code < 500:
            self._pin(request)
        return response

    @staticmethod
    def _pinned(request) -> bool:
        return request.session.get(PIN_SESSION_KEY, 0) > time.time()

    @staticmethod
    def _pin(request) -> None:
        session = request.session
        # A visitor without a session wrote nothing of their own to read back (they are not
        # logged in); giving them a session here would store a row for every form they send.
        if session.session_key is None and not request.user.is_authenticated:
            return
        session[PIN_SESSION_KEY] = time.time() + settings.DATABASE_REPLICA_PIN_SECONDS
