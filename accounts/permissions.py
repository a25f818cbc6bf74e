"""Who may open which room. Every Kaikukanta view goes through one of these."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from .models import Site, User


def distributor_sites(user):
    return Site.objects.filter(memberships__user=user, kind=Site.Kind.DISTRIBUTOR, is_active=True)


def venue_sites(user):
    return Site.objects.filter(memberships__user=user, kind=Site.Kind.VENUE, is_active=True)


# A person's roles are read once per user object, that is once per request, however many checks,
# menus and selectors ask: one query for the sites, one for the coordinated regions.


def active_sites(user) -> list[Site]:
    """The active sites (of either kind) the person works at, by name; only pk, name and kind loaded."""
    if not (user and user.is_authenticated and user.kind == User.Kind.STAFF):
        return []
    cached = getattr(user, "_active_sites", None)
    if cached is None:
        cached = list(
            Site.objects.filter(memberships__user=user, is_active=True)
            .only("pk", "name", "kind")
            .order_by("name", "pk")
        )
        user._active_sites = cached
    return cached


def distributor_site_ids(user) -> frozenset[int]:
    """The ids of the active distributor sites the user works for."""
    return frozenset(site.pk for site in active_sites(user) if site.kind == Site.Kind.DISTRIBUTOR)


def venue_site_ids(user) -> frozenset[int]:
    """The ids of the active venues the user works at."""
    return frozenset(site.pk for site in active_sites(user) if site.kind == Site.Kind.VENUE)


def coordinated_region_ids(user) -> frozenset[int]:
    """The regions the person coordinates."""
    if not (user and user.is_authenticated):
        return frozenset()
    cached = getattr(user, "_coordinated_region_ids", None)
    if cached is None:
        cached = frozenset(user.coordinated_regions.values_list("region_id", flat=True))
        user._coordinated_region_ids = cached
    return cached


def _role_required(test):
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            # Holders live in OmaKaiku; Kaikukanta is closed to them whatever else holds.
            if user.kind != User.Kind.STAFF or not test(user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


staff_required = _role_required(lambda user: True)
distributor_required = _role_required(lambda user: bool(distributor_site_ids(user)))
venue_required = _role_required(lambda user: bool(venue_site_ids(user)))
coordinator_required = _role_required(lambda user: bool(coordinated_region_ids(user)))
coordinator_or_admin_required = _role_required(lambda user: user.is_staff or bool(coordinated_region_ids(user)))
