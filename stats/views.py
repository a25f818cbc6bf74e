"""Statistics pages and downloads: the open national figures and each role's dashboard.

Every figure comes from ``stats.selectors`` as a ``Table``, already suppressed; these views
only choose which tables (by the access policy's scopes) and render them: as an HTML table,
an SVG chart beside it, and CSV and XLSX downloads of the very same table.
"""

import threading
from collections import OrderedDict
from functools import partial
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.http import content_disposition_header
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from accounts.models import Region, Site, UseCategory
from accounts.permissions import staff_required
from accounts.security_log import security_event
from cards.access import StatsLevel, StatsScope, stats_permits, stats_scopes

from . import cache as stats_cache
from . import exports, selectors
from .charts import table_chart_svg
from .filters import Preset, StatsFilter, StatsFilterForm
from .summary import summary_reading
from .tables import Suppressed, Table, table_marks

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


# --- scopes --------------------------------------------------------------------------------


def scope_slug(scope: StatsScope) -> str:
    """``national``, ``region-3``, ``site-5``, ``venue-7``: the scope in URLs and file names."""
    return str(scope.level) if scope.pk is None else f"{scope.level}-{scope.pk}"


def scope_parse(text: str) -> StatsScope | None:
    level, _sep, pk = text.partition("-")
    if level not in StatsLevel:
        return None
    if level == StatsLevel.NATIONAL:
        return StatsScope(StatsLevel.NATIONAL) if not pk else None
    if not (pk.isascii() and pk.isdigit()) or len(pk) > 12:
        return None
    return StatsScope(StatsLevel(level), int(pk))


def scope_labels(scopes: list[StatsScope]) -> dict[StatsScope, str]:
    """A readable name for each scope: one query for regions, one for sites (when there are any)."""
    region_ids = [s.pk for s in scopes if s.level == StatsLevel.REGION]
    site_ids = [s.pk for s in scopes if s.level in (StatsLevel.SITE, StatsLevel.VENUE)]
    regions = dict(Region.names(Region.objects.filter(pk__in=region_ids))) if region_ids else {}
    sites = dict(Site.objects.filter(pk__in=site_ids).values_list("pk", "name")) if site_ids else {}
    labels = {}
    for scope in scopes:
        match scope.level:
            case StatsLevel.NATIONAL:
                labels[scope] = _("Whole country")
            case StatsLevel.REGION:
                labels[scope] = _("%(name)s (region)") % {"name": regions.get(scope.pk, "")}
            case StatsLevel.SITE:
                labels[scope] = _("%(name)s (distributor)") % {"name": sites.get(scope.pk, "")}
            case StatsLevel.VENUE:
                labels[scope] = _("%(name)s (venue)") % {"name": sites.get(scope.pk, "")}
    return labels


def _requested_scope(request: HttpRequest, scopes: list[StatsScope]) -> StatsScope:
    """The scope of ``?scope=``, or the user's widest; 404 for one the user may not open (as if
    it did not exist: a 403 would confirm that a site or region number is real)."""
    text = request.GET.get("scope", "")
    if not text:
        return scopes[0]
    scope = scope_parse(text)
    if scope is None or not stats_permits(request.user, scope):
        raise Http404
    return scope


# --- rendering -----------------------------------------------------------------------------


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Suppressed):
        return str(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number_format(value, force_grouping=True)
    return str(value)


def _cells(table: Table, row: dict) -> list[dict]:
    return [
        {
            "label": column.label,
            "text": cell_text(row.get(column.key)),
            "numeric": column.numeric,
            # A hidden figure: its mark is shown, and said in words to a screen reader.
            "hidden": row.get(column.key) if isinstance(row.get(column.key), Suppressed) else None,
        }
        for column in table.columns
    ]


# Rendered tables, per process. A table from the cache is the same for everyone who sees it (its
# key holds the day, language, scope and filters), and rendering a dashboard's tables cost more
# than the rest of the page. Keyed by the computation's version, a rendering is never stale: a
# recomputed table has a new version. At most HTML_MEMO_SIZE tables (a few MB) are kept.
HTML_MEMO_SIZE = 256
_html_memo: OrderedDict[tuple, str] = OrderedDict()
_html_memo_lock = threading.Lock()


def _table_html(table: Table, *, element_id: str, links: dict[str, str]) -> str:
    key = (table.version, table.as_of, get_language(), element_id, tuple(sorted(links.items())))
    if table.version:
        with _html_memo_lock:
            html = _html_memo.get(key)
            if html is not None:
                _html_memo.move_to_end(key)
                return html
    context = {
        "table": table,
        "id": element_id,
        "chart": table_chart_svg(table, element_id=f"{element_id}-chart"),
        "rows": [_cells(table, row) for row in table.rows],
        "total": _cells(table, table.total) if table.total else None,
        "marks": table_marks(table),
        "links": links,
    }
    html = render_to_string("stats/_table.html", {"t": context})
    if table.version:
        with _html_memo_lock:
            _html_memo[key] = html
            while len(_html_memo) > HTML_MEMO_SIZE:
                _html_memo.popitem(last=False)
    return html


def _rendered(table: Table, *, links: dict[str, str]) -> dict:
    """A table for the page: its title and anchor for the contents list, and its HTML."""
    element_id = f"stats-{table.slug}"
    return {"table": table, "id": element_id, "html": _table_html(table, element_id=element_id, links=links)}


def _preset_links(form: StatsFilterForm, extra: dict[str, str]) -> list[dict]:
    """The period presets as links that keep the other filters (and the scope)."""
    keep = {key: form.data.get(key) for key in ("region", "category") if form.data.get(key)}
    current = form.data.get("preset", "")
    return [
        {"label": label, "href": "?" + urlencode({**extra, "preset": value, **keep}), "current": value == current}
        for value, label in Preset.choices()
    ]


def _download_context(filters: StatsFilter, *, scope_label: str, scope: StatsScope | None) -> exports.Download:
    region_label = ""
    if filters.region_id is not None:
        region_label = next((name for _pk, name in Region.names(Region.objects.filter(pk=filters.region_id))), "")
    category_label = str(UseCategory(filters.category).label) if filters.category else ""
    return exports.Download(
        filters=filters,
        scope_label=scope_label,
        scope_slug=scope_slug(scope) if scope else "",
        region_label=region_label,
        category_label=category_label,
    )


def _download(table: Table, download: exports.Download, extension: str) -> HttpResponse:
    body = exports.table_csv(table, download) if extension == "csv" else exports.table_xlsx(table, download)
    name = exports.file_name(table, download, extension)
    return HttpResponse(
        body,
        content_type=CONTENT_TYPES[extension],
        headers={"Content-Disposition": content_disposition_header(True, name)},
    )


def _bad_filters(form: StatsFilterForm) -> HttpResponse:
    errors = "; ".join(str(error) for errors in form.errors.values() for error in errors)
    return HttpResponseBadRequest(_("Check the filters: %(errors)s") % {"errors": errors}, content_type="text/plain")


# --- computing, through the cache ------------------------------------------------------------


def _cached(scope, filters, slug, compute, fingerprint=None, *, page=False, prefetched=None):
    """A table through the cache; a page may show it while its recomputation is queued, a
    download is always as new as the register."""
    fingerprint = fingerprint or stats_cache.register_fingerprint()
    return stats_cache.table_cached(
        fingerprint=fingerprint,
        scope=scope,
        filters=filters,
        slug=slug,
        compute=compute,
        allow_stale=page,
        prefetched=prefetched,
    )


def _page_tables(scope, filters, slugs: list[str], table_for) -> list:
    """A page's tables through the cache, read in one go; ``table_for(slug=…)`` computes one."""
    fingerprint = stats_cache.register_fingerprint()
    prefetched = stats_cache.tables_prefetch(scope=scope, filters=filters, slugs=slugs)
    with summary_reading(fingerprint=fingerprint):  # what changed since the summaries: read once
        tables = [
            _cached(scope, filters, slug, partial(table_for, slug=slug), fingerprint, page=True, prefetched=prefetched)
            for slug in slugs
        ]
    return [table for table in tables if table is not None]


def _public_tables(filters) -> list:
    return _page_tables(
        None, filters, selectors.stats_public_slugs(), partial(selectors.stats_public_table, filters=filters)
    )


def _scope_tables(scope, filters) -> list:
    return _page_tables(
        scope,
        filters,
        selectors.stats_table_slugs(scope=scope),
        partial(selectors.stats_table_for, scope=scope, filters=filters),
    )


# --- public --------------------------------------------------------------------------------


def stats_public(request: HttpRequest) -> HttpResponse:
    """The open figures: the national annual table and the per-region table, no login needed."""
    form = StatsFilterForm(request.GET)
    tables = []
    if form.is_valid():
        filters = form.stats_filter()
        form.shown()
        query = filters.querystring()
        tables = [
            _rendered(
                table,
                links={
                    ext: reverse("stats:public_download", kwargs={"slug": table.slug, "extension": ext}) + "?" + query
                    for ext in CONTENT_TYPES
                },
            )
            for table in _public_tables(filters)
        ]
    return render(
        request,
        "stats/public.html",
        {"form": form, "tables": tables, "presets": _preset_links(form, {}), "scope_label": _("Whole country")},
    )


def stats_public_download(request: HttpRequest, slug: str, extension: str) -> HttpResponse:
    form = StatsFilterForm(request.GET)
    if not form.is_valid():
        return _bad_filters(form)
    filters = form.stats_filter()
    # Only the table asked for is computed.
    table = _cached(None, filters, slug, lambda: selectors.stats_public_table(filters=filters, slug=slug))
    if table is None:
        raise Http404
    return _download(table, _download_context(filters, scope_label=_("Whole country"), scope=None), extension)


# --- dashboards ----------------------------------------------------------------------------


def _user_scopes(request: HttpRequest) -> list[StatsScope]:
    scopes = stats_scopes(request.user)
    if not scopes:
        raise PermissionDenied
    return scopes


@staff_required
def stats_dashboard(request: HttpRequest) -> HttpResponse:
    """The figures of one scope the user may open (``?scope=region-3``), with the filter bar."""
    scopes = _user_scopes(request)
    scope = _requested_scope(request, scopes)
    labels = scope_labels(scopes)
    form = StatsFilterForm(request.GET, with_region=scope.level == StatsLevel.NATIONAL)
    tables = []
    keep = []  # the period and category, kept when another scope is chosen
    heading = labels[scope]
    if form.is_valid():
        filters = form.stats_filter()
        if filters.region_id is not None:
            # The region filter narrows the whole country to one region: the heading names the
            # region the figures are for (its name from the filter's choices: no query).
            name = dict(form.fields["region"].choices).get(str(filters.region_id), "")
            heading = _("%(name)s (region)") % {"name": name}
        if form.cleaned_data.get("preset"):
            keep.append(("preset", form.cleaned_data["preset"]))
        else:
            keep += [("start", filters.start.isoformat()), ("end", filters.end.isoformat())]
        if filters.category:
            keep.append(("category", filters.category))
        form.shown()
        query = filters.querystring() + "&" + urlencode({"scope": scope_slug(scope)})
        tables = [
            _rendered(
                table,
                links={
                    ext: reverse("stats:dashboard_download", kwargs={"slug": table.slug, "extension": ext})
                    + "?"
                    + query
                    for ext in CONTENT_TYPES
                },
            )
            for table in _scope_tables(scope, filters)
        ]
    return render(
        request,
        "stats/dashboard.html",
        {
            "form": form,
            "tables": tables,
            "presets": _preset_links(form, {"scope": scope_slug(scope)}),
            "scope": scope_slug(scope),
            "scope_label": heading,
            "scope_choices": [(scope_slug(s), labels[s]) for s in scopes],
            "keep": keep,
        },
    )


@staff_required
def stats_dashboard_download(request: HttpRequest, slug: str, extension: str) -> HttpResponse:
    scopes = _user_scopes(request)
    scope = _requested_scope(request, scopes)
    form = StatsFilterForm(request.GET, with_region=scope.level == StatsLevel.NATIONAL)
    if not form.is_valid():
        return _bad_filters(form)
    filters = form.stats_filter()
    if slug not in selectors.stats_table_slugs(scope=scope):
        raise Http404
    table = _cached(scope, filters, slug, lambda: selectors.stats_table_for(scope=scope, filters=filters, slug=slug))
    if table is None:
        raise Http404
    label = scope_labels([scope])[scope]
    security_event(
        "stats.downloaded", request=request, table=slug, format=extension, scope=scope_slug(scope), rows=len(table.rows)
    )
    return _download(table, _download_context(filters, scope_label=label, scope=scope), extension)
