"""Template tags for the card register's pages."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language, pgettext_lazy

from cards.models import Card

register = template.Library()

# The badge's markup per (state, language, for a holder): three states, three languages, two wordings.
_badges: dict[tuple[str, str | None, bool], SafeString] = {}


# A holder reads their own card's state in everyday words: "Passiivinen" is the register's.
_HOLDER_LABELS = {"inactive": pgettext_lazy("the holder's own card", "Not in use")}


@register.simple_tag
def card_state(card, for_holder: bool = False) -> SafeString:
    """The card's state as a badge: valid, expired or inactive (``for_holder``: in the words
    OmaKaiku uses for the holder's own card).

    A tag rather than an included template: the card list shows one on every row, and an
    include cost about three times as much as this. The markup depends only on the state, the
    language and ``for_holder``, so each is written once per process.
    """
    state = card.state
    key = (state, get_language(), for_holder)
    badge = _badges.get(key)
    if badge is None:
        label = (for_holder and _HOLDER_LABELS.get(state)) or Card.STATE_LABELS[state]
        badge = _badges[key] = format_html('<span class="badge badge--{0}" data-state="{0}">{1}</span>', state, label)
    return badge
