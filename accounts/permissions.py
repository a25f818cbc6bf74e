"""Who may open which room. Every Kaikukanta view goes through one of these."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from .models import Site, User


def distributor_sites(user):
    return Site.objects.filter(memberships__user=user, kind=Site.Kind.DISTRIBUTOR, is_active=True)


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
distributor_required = _role_required(lambda user: distributor_sites(user).exists())
venue_required = _role_required(lambda user: venue_sites(user).exists())
coordinator_required = _role_required(lambda user: user.coordinated_regions.exists())
