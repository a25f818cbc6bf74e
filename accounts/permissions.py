"""Who may open which room. Every Kaikukanta view goes through one of these."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from .models import Site, User


def distributor_sites(user):
    return Site.objects.filter(memberships__user=user, kind=Site.Kind.DISTRIBUTOR, is_active=True)


def distributor_site_ids(user) -> frozenset[int]:
    """The ids of the active distributor sites the user works for, asked once per user object
    (that is, once per request) however many checks need them."""
    if not (user and user.is_authenticated and user.kind == User.Kind.STAFF):
        return frozenset()
    cached = getattr(user, "_distributor_site_ids", None)
    if cached is None:
        cached = frozenset(distributor_sites(user).values_list("pk", flat=True))
        user._distributor_site_ids = cached
    return cached


def venue_sites(user):
    return Site.objects.filter(memberships__user=user, kind=Site.Kind.VENUE, is_active=True)


def coordinated_region_ids(user) -> list[int]:
    return list(user.coordinated_regions.values_list("region_id", flat=True))


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
venue_required = _role_required(lambda user: venue_sites(user).exists())
coordinator_required = _role_required(lambda user: user.coordinated_regions.exists())
coordinator_or_admin_required = _role_required(lambda user: user.is_staff or user.coordinated_regions.exists())
