from functools import cached_property

from django.conf import settings

from .models import Site
from .permissions import active_sites, coordinated_region_ids
from .sessions import session_seconds_left


class Roles:
    """The rooms a staff person may enter; computed once per request, on first use."""

    def __init__(self, user):
        self.user = user

    @property
    def _sites(self) -> list[Site]:
        # The same list the access checks use: one query serves them, the menu and the venue switcher.
        return active_sites(self.user)

    @cached_property
    def _site_kinds(self) -> set[str]:
        return {site.kind for site in self._sites}

    @property
    def distributor(self) -> bool:
        return Site.Kind.DISTRIBUTOR in self._site_kinds

    @property
    def venue(self) -> bool:
        return Site.Kind.VENUE in self._site_kinds

    @property
    def coordinator(self) -> bool:
        return bool(coordinated_region_ids(self.user))

    @property
    def venues(self) -> list[Site]:
        """The venues the person works at (for the venue switcher)."""
        return [site for site in self._sites if site.kind == Site.Kind.VENUE]

    @property
    def admin(self) -> bool:
        return self.user.is_staff

    @property
    def key(self) -> str:
        """The roles in a few letters: everyone with the same roles gets the same navigation."""
        flags = {"d": self.distributor, "v": self.venue, "c": self.coordinator, "a": self.admin}
        return "".join(letter for letter, on in flags.items() if on) or "-"


def roles(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_kaikukanta_user:
        return {}
    # The middleware (accounts.middleware) made one for this request already, usually.
    return {"roles": getattr(request, "roles", None) or Roles(user)}


class _SecondsLeft:
    """Written out only where a signed-in page shows it."""

    __slots__ = ("session",)

    def __init__(self, session):
        self.session = session

    def __str__(self) -> str:
        return str(session_seconds_left(self.session))


def session_timeout(request):
    """For the warning before an idle session ends (templates/base.html)."""
    session = getattr(request, "session", None)
    if session is None:  # an error page rendered without the middleware
        return {}
    return {"session_seconds_left": _SecondsLeft(session), "session_warning_seconds": settings.SESSION_WARNING_SECONDS}
