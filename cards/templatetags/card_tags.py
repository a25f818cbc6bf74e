"""Template tags for the card register's pages."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def card_state(card) -> SafeString:
    """The card's state as a badge: valid, expired or inactive.

    A tag rather than an included template: the card list shows one on every row, and an
    include cost about three times as much as this.
    """
    state = card.state
    return format_html('<span class="badge badge--{0}" data-state="{0}">{1}</span>', state, card.STATE_LABELS[state])
