"""What a holder may see of the register: their own cards and uses, and visible current offers."""

import datetime

from django.db.models import Count, F, Model, QuerySet, Sum
from django.db.models.functions import ExtractYear
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.compiled import CompiledQuery
from accounts.models import User
from cards.models import Card, CardUse, Holder, Offer

from .models import ExpiryReminder, HolderPreferences

# Every OmaKaiku page starts with it: compiled once. (The account is one holder's: no order needed.)
_holder_of_account = CompiledQuery(
    lambda account_id: Holder.objects.select_related("municipality", "account").filter(account_id=account_id)[:1],
    account_id=int,
)


def holder_for_user(*, user: User) -> Holder:
    holder = _holder_of_account.first(account_id=user.pk)
    if holder is None:
        raise Http404
    return holder


def _as_shown(cards: QuerySet[Card]) -> QuerySet[Card]:
    # Active first, then the newest: the card in the holder's pocket leads the page.
    return cards.select_related("site__organisation").order_by("status", "-valid_until", "-pk")


def holder_cards(*, holder: Holder) -> QuerySet[Card]:
    return _as_shown(holder.cards.all())


# OmaKaiku's home and mobile card: compiled once (the two pages a holder opens most).
_cards_of_holder = CompiledQuery(lambda holder_id: _as_shown(Card.objects.filter(holder_id=holder_id)), holder_id=int)
_card_of_holder = CompiledQuery(
    lambda holder_id, pk: _as_shown(Card.objects.filter(holder_id=holder_id, pk=pk))[:1], holder_id=int, pk=int
)


def holder_card_list(*, holder: Holder) -> list[Card]:
    """``holder_cards`` as a list."""
    cards = _cards_of_holder.all(holder_id=holder.pk)
    for card in cards:
        card.holder = holder  # as the holder's own related manager would have set it
    return cards


def holder_card_get(*, holder: Holder, pk: int) -> Card:
    card = _card_of_holder.first(holder_id=holder.pk, pk=pk)
    if card is None:
        raise Http404
    card.holder = holder
    return card


def _uses_counted(holder_id: int) -> QuerySet[CardUse]:
    # Cancelled (mistaken) uses are not uses.
    return CardUse.objects.filter(card__holder_id=holder_id, cancelled_at__isnull=True)


def holder_uses(*, holder: Holder) -> QuerySet[CardUse]:
    """The holder's uses on all their cards, newest first, cancelled ones too (``cancelled_at``).

    A cancelled use is still stored about the holder ("My data"), and a use that vanished from
    the list without a word would puzzle them; it is shown as cancelled and never counted.

    Each use carries its card's number and status (``uses_name_ended_cards``), read from the
    cards table the filter joins already: no query and no card object per row."""
    return (
        CardUse.objects.filter(card__holder_id=holder.pk)
        .select_related("venue")
        .annotate(card_number=F("card__number"), card_status=F("card__status"))
        .order_by("-used_on", "-pk")
    )


def uses_name_ended_cards(*, uses) -> None:
    """Give each of ``holder_uses``' uses ``ended_card_number``: its card's number where that card
    is no longer in use (a lost card's, say), else "". The card in the holder's pocket goes
    unnamed, as it would on a page of one card's uses."""
    for use in uses:
        use.ended_card_number = "" if use.card_status == Card.Status.ACTIVE else use.card_number


# Per year, newest first: the uses ``holder_uses`` lists that count (compiled once).
_use_totals = CompiledQuery(
    lambda holder_id: (
        _uses_counted(holder_id)
        .annotate(year=ExtractYear("used_on"))
        .values("year")
        .annotate(uses=Count("pk"), child_tickets=Sum("child_tickets"), clients_under_16=Sum("clients_under_16"))
        .order_by("-year")
    ),
    holder_id=int,
)


def holder_use_totals(*, holder: Holder) -> list[dict]:
    return _use_totals.all(holder_id=holder.pk)


def offers_current(*, today: datetime.date | None = None) -> QuerySet[Offer]:
    """Offers the venue has made visible, whose period has not ended, from active venues."""
    today = today or timezone.localdate()
    return (
        Offer.objects.filter(visible=True, ends_on__gte=today, venue__is_active=True)
        .select_related("venue__municipality")
        .order_by("starts_on", "pk")
    )


def _when(moment: datetime.datetime | None) -> str | None:
    """A moment in Finnish time, as every page shows it (stored in UTC)."""
    return timezone.localtime(moment).isoformat() if moment else None


def _history_export(records, fields: list[str]) -> list[dict]:
    return [
        {
            "when": _when(record.history_date),
            "change": {"+": "created", "~": "changed", "-": "deleted"}[record.history_type],
            # System reasons are stored as source strings and given in the holder's language;
            # typed ones as the distributor wrote them.
            "reason": _(record.history_change_reason) if record.history_change_reason else None,
            **{name: _plain(getattr(record, name)) for name in fields},
        }
        for record in records
    ]


def _plain(value):
    if isinstance(value, Model):
        return str(value)
    if isinstance(value, datetime.datetime):
        return _when(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


_HOLDER_HISTORY_FIELDS = [
    "kind",
    "birth_year",
    "postal_code",
    "municipality",
    "children_count",
    "gender",
    "life_situation",
    "organisation_name",
    "representative_role",
]
_CARD_HISTORY_FIELDS = [
    "number",
    "kind",
    "status",
    "valid_from",
    "valid_until",
    "mobile_enabled",
    "inactivation_reason",
    "inactivation_note",
    "inactivated_on",
    "site",  # a move to another site shows as a change of the card's site
]


def holder_data_export(*, holder: Holder) -> dict:
    """Everything the register stores about the holder (GDPR right of access), as plain data:
    the holder record, the OmaKaiku login, every card with its validity periods and its
    history, the holder record's history and the uses (cancelled ones marked, with when and
    why). Who made a change is not included: staff are not the holder's data."""
    cards = list(holder_cards(holder=holder).prefetch_related("periods"))
    reminders: dict[int, list] = {}
    for reminder in (
        ExpiryReminder.objects.filter(period__card__in=cards).select_related("period").order_by("queued_at", "pk")
    ):
        reminders.setdefault(reminder.period.card_id, []).append(reminder)
    return {
        "holder": {
            "type": holder.kind,
            "year_of_birth": holder.birth_year,
            "postal_code": holder.postal_code,
            "home_municipality": holder.municipality.name,
            "children_under_18": holder.children_count,
            "gender": holder.gender or None,
            "life_situation": holder.life_situation or None,
            "organisation_name": holder.organisation_name or None,
            "representative_work_role": holder.representative_role or None,
            "registered": _when(holder.created_at),
        },
        "omakaiku": {
            "email": holder.account.email if holder.account else None,
            "language": holder.account.language if holder.account else None,
            "activated": _when(holder.account.activated_at) if holder.account else None,
            "expiry_reminders": _reminders_wanted(holder.account),
        },
        "cards": [
            {
                "number": card.number,
                "type": card.kind,
                "status": card.status,
                "mobile_card": card.mobile_enabled,
                # The site responsible for the card now (the issuing one, unless the card was moved).
                "site": str(card.site),
                "issued": card.issued_on.isoformat(),
                "valid_from": card.valid_from.isoformat(),
                "valid_until": card.valid_until.isoformat(),
                "inactivation_reason": card.inactivation_reason or None,
                "inactivation_note": card.inactivation_note or None,
                "inactivated": card.inactivated_on.isoformat() if card.inactivated_on else None,
                "validity_periods": [
                    {
                        "valid_from": period.valid_from.isoformat(),
                        "valid_until": period.valid_until.isoformat(),
                        "ended_early_on": period.ended_on.isoformat() if period.ended_on else None,
                        "cause": period.cause,
                    }
                    for period in card.periods.all()
                ],
                "history": _history_export(card.history.order_by("history_date", "history_id"), _CARD_HISTORY_FIELDS),
                "expiry_reminders": [
                    {
                        "kind": reminder.kind,
                        "state": reminder.state,
                        "queued": _when(reminder.queued_at),
                        "sent": _when(reminder.sent_at),
                    }
                    for reminder in reminders.get(card.pk, [])
                ],
            }
            for card in cards
        ],
        "holder_history": _history_export(
            holder.history.select_related("municipality").order_by("history_date", "history_id"),
            _HOLDER_HISTORY_FIELDS,
        ),
        "uses": [
            {
                "card": use.card.number,
                "date": use.used_on.isoformat(),
                "venue": use.venue.name,
                "category": use.category,
                "child_tickets": use.child_tickets,
                "assistant_tickets": use.assistant_tickets,
                "clients_under_16": use.clients_under_16,
                # Cancelled by the venue as recorded by mistake: when and why, not who.
                "cancelled": _when(use.cancelled_at),
                "cancellation_reason": use.cancel_reason or None,
            }
            for use in holder_uses(holder=holder).select_related("card")
        ],
    }


def _reminders_wanted(account) -> bool | None:
    if account is None:
        return None
    preferences = HolderPreferences.objects.filter(user=account).first()
    return preferences.expiry_reminders if preferences else True


def card_mobile_shown(*, card: Card) -> bool:
    """Whether OmaKaiku shows the card as a mobile card: only while it is active. An inactive
    card keeps its mobile flag (a replaced card's stays on, as it was), but is no longer in use."""
    return card.mobile_enabled and card.status == Card.Status.ACTIVE


def card_kind_label(card: Card) -> str:
    if card.kind != Card.Kind.PHYSICAL:
        return _("Mobile only")
    return _("Physical + mobile") if card.mobile_enabled else _("Physical")
