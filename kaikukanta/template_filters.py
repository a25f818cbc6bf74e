"""Filters every template has without ``{% load %}`` (``builtins`` in settings.TEMPLATES).

Dates are written the Finnish way in every language (kaikukanta/formats): 1.3.2026 14:05.
"""

import datetime

from django import template
from django.urls import reverse

register = template.Library()


@register.filter(expects_localtime=True)
def short_date(value) -> str:
    """A date as people write it in Finland, 1.3.2026, in every language: ``date:"j.n.Y"``.

    Django's date filter looks the format up and parses it on every call; list rows show one
    or two dates each, and this is a tenth of the cost. A date-time is shown as its local date.
    """
    if not isinstance(value, datetime.date):
        return ""
    return f"{value.day}.{value.month}.{value.year}"


@register.filter(expects_localtime=True)
def short_datetime(value) -> str:
    """A moment in local time, 1.3.2026 14:05, in every language: ``date:"j.n.Y H:i"``."""
    if not isinstance(value, datetime.datetime):
        return ""
    return f"{value.day}.{value.month}.{value.year} {value.hour:02}:{value.minute:02}"


@register.filter
def in_omakaiku(request) -> bool:
    """Whether an error page (404, 429) answers a request for one of OmaKaiku's pages: there it
    keeps OmaKaiku's look, navigation and links, not the staff register's."""
    path = getattr(request, "path_info", "")
    return isinstance(path, str) and path.startswith(reverse("omakaiku:home"))
