"""Public information pages: help and the accessibility statement.

Each is served twice, in the look of each portal: a holder who follows the footer link in
OmaKaiku stays in OmaKaiku (under /omakaiku/), staff stay in Kaikukanta. No login, no database.
"""

from datetime import date

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

# The accessibility statement must say when it was prepared and last reviewed (Act 306/2019):
# move STATEMENT_REVIEWED on after every new self-assessment.
STATEMENT_PREPARED = date(2026, 11, 28)
STATEMENT_REVIEWED = date(2026, 11, 28)

# The base template and the URL names of each portal's copy of the pages.
PORTALS = {
    "kaikukanta": ("base.html", "help", "accessibility"),
    "omakaiku": ("omakaiku/base.html", "omakaiku_help", "omakaiku_accessibility"),
}


def _context(portal: str) -> dict:
    base_template, help_name, accessibility_name = PORTALS[portal]
    return {
        "base_template": base_template,
        "help_url": reverse(help_name),
        "accessibility_url": reverse(accessibility_name),
        "contact_email": settings.SERVICE_CONTACT_EMAIL,
    }


# Nothing here reads or writes the database: no request transaction (ATOMIC_REQUESTS) either.
@transaction.non_atomic_requests
@require_safe
def help_page(request: HttpRequest, portal: str = "kaikukanta") -> HttpResponse:
    return render(request, "pages/help.html", _context(portal))


@transaction.non_atomic_requests
@require_safe
def accessibility(request: HttpRequest, portal: str = "kaikukanta") -> HttpResponse:
    context = _context(portal) | {"prepared": STATEMENT_PREPARED, "reviewed": STATEMENT_REVIEWED}
    return render(request, "pages/accessibility.html", context)
