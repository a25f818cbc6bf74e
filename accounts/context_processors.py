from functools import cached_property

from .models import Site


class Roles:
    """The rooms a staff person may enter; computed once per request, on first use."""

    def __init__(self, user):
        self.user = user

    @cached_property
    def _sites(self) -> list[Site]:
        # One query serves the navigation and the venue switcher.
        return list(
            Site.objects.filter(memberships__user=self.user, is_active=True)
            .only("pk", "name", "kind")
            .order_by("name", "pk")
        )

    @cached_property
    def _site_kinds(self) -> set[str]:
        return {site.kind for site in self._sites}

    @property
    def distributor(self) -> bool:
        return Site.Kind.DISTRIBUTOR in self._site_kinds

    @property
    def venue(self) -> bool:
        return Site.Kind.VENUE in self._site_kinds

    @cached_property
    def coordinator(self) -> bool:
        return self.user.coordinated_regions.exists()

    @property
    def venues(self) -> list[Site]:
        """The venues the person works at (for the venue switcher)."""
        return [site for site in self._sites if site.kind == Site.Kind.VENUE]

    @property
    def admin(self) -> bool:
        return self.user.is_staff


def roles(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_kaikukanta_user:
        return {}
    # The middleware (accounts.middleware) made one for this request already, usually.
    return {"roles": getattr(request, "roles", None) or Roles(user)}
