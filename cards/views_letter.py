"""The client's letter: a printable page with the card's details, in the language chosen for it.

The letter is a document in the client's language, whatever the language of the page around
it: its text is written out per language (plain-language Finnish among them) rather than
translated with the interface. It shows the card number, validity, the issuing site, what the
card gives and how to use OmaKaiku; no other personal data (no name, email or address). Opening
or printing it changes nothing and writes nothing.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.http import require_safe

from accounts.models import InvitationDelivery
from accounts.permissions import distributor_required

from . import selectors
from .models import Card

# Each language named in itself, as every choice of a language is (settings.LANGUAGES); the
# easy-to-read Finnish by its own Finnish name.
LETTER_LANGUAGES = [("fi", "Suomi"), ("fi_plain", "Selkosuomi"), ("sv", "Svenska"), ("en", "English")]
_HTML_LANG = {"fi": "fi", "fi_plain": "fi", "sv": "sv", "en": "en"}


@distributor_required
@require_safe
def card_letter(request: HttpRequest, pk: int) -> HttpResponse:
    card = selectors.card_get_for_user(user=request.user, pk=pk)
    chosen = request.GET.get("lang")
    if chosen not in _HTML_LANG:
        chosen = get_language() if get_language() in _HTML_LANG else "fi"
    account = card.holder.account
    return render(
        request,
        "cards/letter.html",
        {
            "card": card,
            "printable": card.status == Card.Status.ACTIVE,
            "letter_language": chosen,
            "letter_lang_attr": _HTML_LANG[chosen],
            "letter_template": f"cards/letter/{chosen}.html",
            "languages": [(code, name, _HTML_LANG[code]) for code, name in LETTER_LANGUAGES],
            # "invited": an invitation went to the holder (always so for an X or Z card), who
            # has not yet set a password; the letter then says where to look, not whom to ask.
            "omakaiku": "" if account is None else "invited" if account.activated_at is None else "active",
            "omakaiku_url": settings.SITE_URL + reverse("omakaiku:home"),
            # The letter tells the holder to look in their email: say so first where nothing came.
            "invitation_failed": account is not None
            and account.activated_at is None
            and account.invitation is not None
            and account.invitation.state == InvitationDelivery.State.FAILED,
        },
    )
