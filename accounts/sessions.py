"""Idle sessions end after ``SESSION_COOKIE_AGE`` (30 minutes) without a request.

Django keeps a session alive only by saving it, and saving it on every request
(``SESSION_SAVE_EVERY_REQUEST``) is a database write on every page view. This middleware
instead marks the session changed at most once every ``REFRESH_SECONDS``, so a session in use
is written about once a minute and still ends 29–30 minutes after its last request.
"""

import time

REFRESH_SECONDS = 60
_REFRESHED_KEY = "_refreshed"


def session_mark_refreshed(session) -> None:
    session[_REFRESHED_KEY] = int(time.time())


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
            if not isinstance(refreshed, int) or not 0 <= now - refreshed < REFRESH_SECONDS:
                session_mark_refreshed(session)
        return self.get_response(request)
