"""Who may open which room. Every Kaikukanta view goes through one of these."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import connections
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from .models import RegionalCoordinator, Site, SiteMembership, User


def distributor_sites(user):
    return Site.objects.filter(memberships__user=user, kind=Site.Kind.DISTRIBUTOR, is_active=True)


def venue_sites(user):
    return Site.objects.filter(memberships__user=user, kind=Site.Kind.VENUE, is_active=True)


# A person's roles are read once per user object, that is once per request, however many checks,
# menus and selectors ask: one query for a staff person's sites and coordinated regions together.

# Marks a coordinated region's row in _staff_roles_load's union; no Site.Kind has this value.
_REGION_ROW = "region"
# Loaded with the roles: what menus, switchers and the venue pages need (a venue's desk preselects
# its usual category), so picking the site to work for needs no query of its own. The query's
# columns, in this order; a region's row fills them with its id, "", _REGION_ROW and "".
_ROLE_COLUMNS = ("id", "name", "kind", "default_category")
# The same fields in the model's order, as Model.from_db takes them.
_SITE_FIELDS = [field.attname for field in Site._meta.concrete_fields if field.attname in _ROLE_COLUMNS]


_ROLES_SQL: dict[str, str] = {}


def _roles_sql(connection) -> str:
    """The roles query, written once per database kind.

    It runs on every staff request. Built by the ORM (two querysets, annotations, a union), the
    query took longer to put together than the database took to answer it, so it is written
    here from the models' own table and column names, and tests/accounts/test_staff.py checks
    what it returns. Unordered: sorted by the caller."""
    if connection.vendor not in _ROLES_SQL:
        quote = connection.ops.quote_name

        def column(model, name: str) -> str:
            return f"{quote(model._meta.db_table)}.{quote(model._meta.get_field(name).column)}"

        site, membership, coordinator = (quote(m._meta.db_table) for m in (Site, SiteMembership, RegionalCoordinator))
        site_columns = ", ".join(column(Site, name) for name in _ROLE_COLUMNS)
        # Only the models' own names and constants go into the text; the person is a parameter.
        _ROLES_SQL[connection.vendor] = (
            f"SELECT {site_columns} FROM {site} INNER JOIN {membership} "  # noqa: S608
            f"ON {column(SiteMembership, 'site')} = {column(Site, 'id')} "
            f"WHERE {column(SiteMembership, 'user')} = %s AND {column(Site, 'is_active')} = %s "
            f"UNION ALL SELECT {column(RegionalCoordinator, 'region')}, '', '{_REGION_ROW}', '' "
            f"FROM {coordinator} WHERE {column(RegionalCoordinator, 'user')} = %s"
        )
    return _ROLES_SQL[connection.vendor]


def _staff_roles_load(user) -> None:
    db = Site.objects.db  # where the router sends a read of sites, as for an ORM query
    with connections[db].cursor() as cursor:
        cursor.execute(_roles_sql(connections[db]), [user.pk, True, user.pk])
        rows = cursor.fetchall()
    loaded, region_ids = [], set()
    for row in rows:
        values = dict(zip(_ROLE_COLUMNS, row, strict=True))
        if values["kind"] == _REGION_ROW:
            region_ids.add(values["id"])
        else:
            # As .only() with these fields would load it: any other field is read when asked for.
            loaded.append(Site.from_db(db, _SITE_FIELDS, [values[attname] for attname in _SITE_FIELDS]))
    # As a reader looks a name up, whatever its case (menus and the venue switcher show these).
    user._active_sites = sorted(loaded, key=lambda site: (site.name.casefold(), site.pk))
    user._coordinated_region_ids = frozenset(region_ids)


def active_sites(user) -> list[Site]:
    """The active sites (of either kind) the person works at, by name; only pk, name, kind and
    default category loaded."""
    if not (user and user.is_authenticated and user.kind == User.Kind.STAFF):
        return []
    if getattr(user, "_active_sites", None) is None:
        _staff_roles_load(user)
    return user._active_sites


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
    if getattr(user, "_coordinated_region_ids", None) is None:
        if user.kind == User.Kind.STAFF:
            _staff_roles_load(user)
        else:
            user._coordinated_region_ids = frozenset(user.coordinated_regions.values_list("region_id", flat=True))
    return user._coordinated_region_ids


def _role_required(test, refusal=None):
    """A view for staff who pass ``test``; ``refusal`` says whom the page is for, to the staff
    person who does not (the 403 page then links to their own start page)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            # Holders live in OmaKaiku; Kaikukanta is closed to them whatever else holds
            # (the generic 403 page speaks to them).
            if user.kind != User.Kind.STAFF:
                raise PermissionDenied
            if not test(user):
                # A venue's staff opening the card list is no holder gone astray: the page
                # says which role it is for, not that cardholders use OmaKaiku.
                return render(request, "403.html", {"refusal": refusal}, status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


staff_required = _role_required(lambda user: True)
# Someone who works for an open site or a region now, or an admin: not a login whose every role
# has ended (its owner may have left the programme).
working_staff_required = _role_required(
    lambda user: user.is_staff or bool(active_sites(user)) or bool(coordinated_region_ids(user)),
    _("Your login has no site or region now. Ask your regional coordinator to add you to your site."),
)
distributor_required = _role_required(
    lambda user: bool(distributor_site_ids(user)), _("This page is for the staff of card distributors.")
)
venue_required = _role_required(lambda user: bool(venue_site_ids(user)), _("This page is for the staff of venues."))
coordinator_required = _role_required(
    lambda user: bool(coordinated_region_ids(user)), _("This page is for regional coordinators.")
)
coordinator_or_admin_required = _role_required(
    lambda user: user.is_staff or bool(coordinated_region_ids(user)),
    _("This page is for regional coordinators and Kaikukeskus administrators."),
)
