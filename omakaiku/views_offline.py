"""The service worker that keeps the mobile card usable offline (templates/omakaiku/sw.js).

Served from /omakaiku/ so that its scope covers the portal's pages; it is not a static file for
that reason, and so that it can name the static files' address."""

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe


@require_safe
def service_worker(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(render_to_string("omakaiku/sw.js"), content_type="text/javascript; charset=utf-8")
    # Browsers check for a new worker on their own schedule; never from a stale copy.
    response["Cache-Control"] = "no-cache"
    return response
