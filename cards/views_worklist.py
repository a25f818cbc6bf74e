"""The distributor's expiry work list: cards of the own site(s) about to expire or lately expired,
renewed one by one or a selection at a time. Renewal itself is ``services.card_renew``."""

import datetime
from itertools import groupby
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import distributor_required

from . import access, selectors, services
from .models import Card

EXPIRING_DAYS = 30
EXPIRED_DAYS = 90
SECTION_LIMIT = 200
# Both sections in full, and a bound on what one request may ask the database about.
MAX_SELECTED = 2 * SECTION_LIMIT
DATE_FORMAT = "j.n.Y"


def _section(user, *, first: datetime.date, last: datetime.date) -> tuple[list[Card], bool]:
    """Active cards of the user's sites whose last valid day is in [first, last], soonest first,
    and whether there were more than fit."""
    # site IN (...) AND status = ... AND valid_until BETWEEN ...: the card_site_status_valid index.
    cards = list(
        access.cards_visible(user)
        .filter(status=Card.Status.ACTIVE, valid_until__range=(first, last))
        .select_related("holder__municipality")
        .order_by("valid_until", "pk")[: SECTION_LIMIT + 1]
    )
    return cards[:SECTION_LIMIT], len(cards) > SECTION_LIMIT


def _is_id(value: str) -> bool:
    # isdecimal() alone admits other scripts' digits; the length keeps the number within a bigint.
    return value.isascii() and value.isdecimal() and len(value) < 19


def _selected_ids(values: list[str]) -> list[int]:
    """The well-formed card ids among ``values``, in order and without repeats."""
    ids = []
    for value in values[:MAX_SELECTED]:
        if _is_id(value) and int(value) not in ids:
            ids.append(int(value))
    return ids


def _list_url(ids) -> str:
    """The work list with these cards ticked (how a cancelled confirmation keeps the selection)."""
    url = reverse("cards:expiring")
    return f"{url}?{urlencode([('card', pk) for pk in ids])}" if ids else url


class _CardSelectionField(forms.ModelMultipleChoiceField):
    def clean(self, value):
        if value and len(value) > MAX_SELECTED:
            raise ValidationError(self.error_messages["too_many"], code="too_many", params={"max": MAX_SELECTED})
        if any(not _is_id(pk) for pk in value or []):
            # Before the database sees them: a number beyond a bigint is an error there, not a miss.
            raise ValidationError(self.error_messages["invalid_pk_value"], code="invalid_pk_value")
        return super().clean(value)


class RenewSelectionForm(forms.Form):
    """The cards ticked on the work list; only cards the user's sites may open are accepted."""

    card = _CardSelectionField(
        queryset=Card.objects.none(),
        error_messages={
            "required": gettext_lazy("Select at least one card to renew."),
            "invalid_choice": gettext_lazy(
                "The selection includes a card that is not one of your site's cards. Nothing was renewed."
            ),
            "invalid_pk_value": gettext_lazy("The selection is not valid. Go back to the list and select again."),
            "too_many": gettext_lazy("Select at most %(max)s cards at a time."),
        },
    )

    def __init__(self, data, *, user):
        super().__init__(data)
        self.fields["card"].queryset = (
            access.cards_visible(user).select_related("holder__municipality").order_by("valid_until", "pk")
        )


def _renewal_rows(cards: list[Card], today: datetime.date) -> list[tuple[Card, datetime.date]]:
    """Each card with the last valid day a renewal today would give it."""
    rows = []
    for card in cards:
        period = services.card_renewal_period(card=card, on=today)
        rows.append((card, period[1] if period else card.valid_until))
    return rows


@distributor_required
def expiring_list(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    expiring, expiring_more = _section(request.user, first=today, last=today + datetime.timedelta(days=EXPIRING_DAYS))
    expired, expired_more = _section(
        request.user,
        first=today - datetime.timedelta(days=EXPIRED_DAYS),
        last=today - datetime.timedelta(days=1),
    )
    return render(
        request,
        "cards/expiring_list.html",
        {
            "expiring": expiring,
            "expiring_more": expiring_more,
            "expired": expired,
            "expired_more": expired_more,
            "selected": set(_selected_ids(request.GET.getlist("card"))),
            "limit": SECTION_LIMIT,
            "expiring_days": EXPIRING_DAYS,
            "expired_days": EXPIRED_DAYS,
        },
    )


@distributor_required
@require_POST
def expiring_renew_one(request: HttpRequest, pk: int) -> HttpResponse:
    """The list's one-click renewal: renewing twice the same day changes nothing."""
    card = selectors.card_get_for_user(user=request.user, pk=pk)
    try:
        card = services.card_renew(card=card, actor=request.user)
    except ValidationError as error:
        messages.error(
            request, _("Card %(number)s: %(reason)s") % {"number": card.number, "reason": " ".join(error.messages)}
        )
    else:
        messages.success(
            request,
            _("Card %(number)s was renewed: valid until %(date)s.")
            % {"number": card.number, "date": date_format(card.valid_until, DATE_FORMAT)},
        )
    return redirect("cards:expiring")


@distributor_required
@require_http_methods(["GET", "POST"])
def expiring_renew_selected(request: HttpRequest) -> HttpResponse:
    """Confirm, then renew the cards ticked on the list, all in one transaction."""
    data = request.POST if request.method == "POST" else request.GET
    if request.method == "GET" and not data.getlist("card"):
        messages.error(request, _("Select at least one card to renew."))
        return redirect("cards:expiring")
    form = RenewSelectionForm(data, user=request.user)
    back_url = _list_url(_selected_ids(data.getlist("card")))
    cards = list(form.cleaned_data["card"]) if form.is_valid() else []
    if request.method == "GET":
        # A card that cannot be renewed (inactivated since the list was shown, or an edited
        # address) is named now, and nothing is offered for confirmation.
        for card in cards:
            try:
                services.card_renew_check(card=card)
            except ValidationError as error:
                form.add_error(
                    None, _("Card %(number)s: %(reason)s") % {"number": card.number, "reason": " ".join(error.messages)}
                )
        if form.errors:
            cards = []
    if request.method == "POST" and cards:
        try:
            services.cards_renew(cards=cards, actor=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            _renewed_message(request, cards)
            return redirect("cards:expiring")
    return render(
        request,
        "cards/expiring_confirm.html",
        {"form": form, "rows": _renewal_rows(cards, timezone.localdate()), "back_url": back_url},
    )


def _renewed_message(request: HttpRequest, cards: list[Card]) -> None:
    renewed = Card.objects.filter(pk__in=[card.pk for card in cards]).order_by("valid_until", "number")
    for until, group in groupby(renewed.values_list("valid_until", "number"), key=lambda row: row[0]):
        numbers = [number for _until, number in group]
        messages.success(
            request,
            ngettext(
                "%(count)s card was renewed until %(date)s: %(numbers)s.",
                "%(count)s cards were renewed until %(date)s: %(numbers)s.",
                len(numbers),
            )
            % {"count": len(numbers), "date": date_format(until, DATE_FORMAT), "numbers": ", ".join(numbers)},
        )
