"""Sessions: Django's database sessions, read more cheaply, and kept alive without a write per page.

Idle sessions end after ``SESSION_COOKIE_AGE`` (30 minutes) without a request. Every signed-in
page warns ``SESSION_WARNING_SECONDS`` before that and offers to stay signed in, and typing or
clicking on a page keeps the session alive (``session_keepalive``, static/js/app.js): a form
half filled in while on the phone with a client is not lost to the time limit (WCAG 2.2.1).
Django keeps a session alive only by saving it, and saving it on every request
(``SESSION_SAVE_EVERY_REQUEST``) is a database write on every page view. The middleware below
instead marks the session changed at most once every ``REFRESH_SECONDS``, so a session in use
is written about once a minute and still ends 29–30 minutes after its last request.
"""

import datetime
import re
import time

from django.contrib.sessions.backends import db
from django.db import connections
from django.utils import timezone

REFRESH_SECONDS = 60
_REFRESHED_KEY = "_refreshed"


def session_mark_refreshed(session) -> None:
    session[_REFRESHED_KEY] = int(time.time())


def session_seconds_left(session) -> int:
    """How long the session lives without another request: from its last refresh, which every
    signed-in request has made within ``REFRESH_SECONDS`` by the time a page is rendered."""
    refreshed = session.get(_REFRESHED_KEY)
    if not isinstance(refreshed, int):
        return max(session.get_expiry_age() - REFRESH_SECONDS, 0)
    return max(refreshed + session.get_expiry_age() - int(time.time()), 0)


class SessionRefreshMiddleware:
    """Between SessionMiddleware and the rest: the session is saved on the way out if marked."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        # A visitor without a session cookie gets no session (and no query) from here.
        if session is not None and session.session_key:
            now = int(time.time())
            refreshed = session.get(_REFRESHED_KEY, 0)
            # Reading it dropped the key of a cookie that names no session (ended, or made up):
            # marked, it would be saved as a new session, a database write per such request.
            stale = session.session_key is None
            if not stale and (not isinstance(refreshed, int) or not 0 <= now - refreshed < REFRESH_SECONDS):
                session_mark_refreshed(session)
        return self.get_response(request)


def _from_refresh_mark(refreshed, kwargs: dict) -> dict:
    """``get_expiry_date``'s arguments, counting from the refresh mark where there is one."""
    if "modification" not in kwargs and isinstance(refreshed, int):
        return kwargs | {"modification": datetime.datetime.fromtimestamp(refreshed, tz=datetime.UTC)}
    return kwargs


# Django makes 32 lower-case letters and digits (django.contrib.sessions.backends.base).
_SESSION_KEY = re.compile(r"[a-z0-9]{8,40}")


class SessionStore(db.SessionStore):
    """``SESSION_ENGINE = "accounts.sessions"``: Django's database sessions with two changes.

    - A cookie whose key Django could never have made (a NUL byte, "²", 5,000 characters) is no
      session, as an unknown key is: the visitor gets a new one. PostgreSQL refuses a NUL byte
      with an error, which answered 500 before.
    - The session is read with a statement written once per database kind. Every signed-in
      request reads it, and the ORM took three times as long to build the query as the
      database took to answer it. Writing, expiry and clearing are Django's own.
    """

    _sql: dict[str, str] = {}

    # The session ends SESSION_COOKIE_AGE after its refresh mark, the moment from which the page's
    # warning counts (session_seconds_left), not after the save that follows later in the request:
    # counted from the save, the server still let the visitor in for up to a second after the
    # page had said "You have been logged out".
    def get_expiry_date(self, **kwargs):
        return super().get_expiry_date(**_from_refresh_mark(self.get(_REFRESHED_KEY), kwargs))

    async def aget_expiry_date(self, **kwargs):
        return await super().aget_expiry_date(**_from_refresh_mark(await self.aget(_REFRESHED_KEY), kwargs))

    def _validate_session_key(self, key):
        return isinstance(key, str) and _SESSION_KEY.fullmatch(key) is not None

    def _get_session_from_db(self):
        connection = connections[self.model.objects.db]
        if connection.vendor not in self._sql:
            meta, quote = self.model._meta, connection.ops.quote_name

            def column(name: str) -> str:
                return quote(meta.get_field(name).column)

            # Only the model's own names go into the text; the key and the time are parameters.
            self._sql[connection.vendor] = (
                f"SELECT {column('session_data')} FROM {quote(meta.db_table)} "  # noqa: S608
                f"WHERE {column('session_key')} = %s AND {column('expire_date')} > %s"
            )
        with connection.cursor() as cursor:
            now = connection.ops.adapt_datetimefield_value(timezone.now())
            cursor.execute(self._sql[connection.vendor], [self.session_key, now])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        return self.model(session_key=self.session_key, session_data=row[0])
