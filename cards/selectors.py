"""Reads of the card register, shaped for the pages that show them."""

import datetime
from dataclasses import dataclass

from django.core.exceptions import FieldDoesNotExist
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext

from accounts.models import User
from accounts.permissions import distributor_sites

from .models import Card


def card_list_for_user(*, user: User) -> QuerySet[Card]:
    """The cards a distributor may see: those issued by their own site(s)."""
    # The site ids as a list, not a subquery: with the usual single site the database walks
    # the (site, -created_at, -id) index in order instead of sorting every card of the site.
    site_ids = list(distributor_sites(user).values_list("pk", flat=True))
    return (
        Card.objects.filter(site_id__in=site_ids)
        .select_related("holder__municipality", "site__organisation")
        .order_by("-created_at", "-pk")
    )


def card_get_for_user(*, user: User, pk: int) -> Card:
    return get_object_or_404(
        Card.objects.filter(site__in=distributor_sites(user)).select_related(
            "holder__municipality", "holder__account", "site__organisation"
        ),
        pk=pk,
    )


def card_find_by_number(*, number: str) -> Card | None:
    return Card.objects.select_related("site").filter(number=number).first()


@dataclass
class HistoryEntry:
    when: datetime.datetime
    who: str
    what: str
    reason: str
    changes: list[tuple[str, str, str]]


_HIDDEN_FIELDS = {"updated_at", "created_at", "id", "holder", "site", "account"}


def _display(record, field: str, value) -> str:
    if value in (None, ""):
        return "–"
    try:
        model_field = record.instance._meta.get_field(field)
    except FieldDoesNotExist:
        return str(value)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, datetime.date):
        return value.strftime("%d.%m.%Y")
    return str(value)


def _entries(records, *, subject: str) -> list[HistoryEntry]:
    records = list(records)
    entries = []
    for record, older in zip(records, records[1:] + [None], strict=True):
        changes = []
        if older is not None:
            delta = record.diff_against(older, foreign_keys_are_objs=False)
            for change in delta.changes:
                if change.field in _HIDDEN_FIELDS:
                    continue
                label = str(record.instance._meta.get_field(change.field).verbose_name)
                changes.append(
                    (label, _display(record, change.field, change.old), _display(record, change.field, change.new))
                )
            if not changes and not record.history_change_reason:
                continue
        entries.append(
            HistoryEntry(
                when=record.history_date,
                who=record.history_user.email if record.history_user else "",
                what=subject,
                # System reasons are stored as source strings; typed ones come back unchanged.
                reason=gettext(record.history_change_reason) if record.history_change_reason else "",
                changes=changes,
            )
        )
    return entries


def card_history(*, card: Card) -> list[HistoryEntry]:
    """The card's and its holder's changes, newest first: who, when, what and why.

    The holder's records are limited to the card's lifetime, so a new site sees nothing of
    what an earlier site changed about the holder before this card existed.
    """
    card_records = card.history.select_related("history_user").order_by("-history_date", "-history_id")
    holder_records = (
        card.holder.history.select_related("history_user")
        .filter(history_date__gte=card.created_at - datetime.timedelta(seconds=1))
        .order_by("-history_date", "-history_id")
    )
    entries = _entries(card_records, subject=gettext("Card")) + _entries(holder_records, subject=gettext("Holder"))
    return sorted(entries, key=lambda e: e.when, reverse=True)
