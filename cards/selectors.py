"""Reads of the card register, shaped for the pages that show them.

What a user may read is decided by ``cards.access``; these functions only shape it.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import FieldDoesNotExist
from django.db import connections, models
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext

from accounts.compiled import CompiledQuery
from accounts.models import RegionalCoordinator, Site, User

from . import access
from .models import Card, Holder, ValidityPeriod
from .services import REASON_REACTIVATED, REASON_TRANSFERRED


def card_list_for_user(*, user: User) -> QuerySet[Card]:
    """The cards a distributor may see: those their own site(s) are responsible for."""
    # The site ids as a list, not a subquery: with the usual single site the database walks
    # the (site, -created_at, -id) index in order instead of sorting every card of the site.
    # The rows show the holder (with their municipality) but not the site: every card listed is
    # the user's own site's, and each related object joined costs a model per row.
    return access.cards_visible(user).select_related("holder__municipality").order_by("-created_at", "-pk")


# The card page's card: compiled once (about 60 columns of six tables took 1.4 ms to write as SQL).
_card_with_details = CompiledQuery(
    lambda pk: (
        Card.objects.select_related("holder__municipality", "holder__account", "site__organisation")
        .filter(pk=pk)
        .order_by()[:1]
    ),
    pk=int,
)


def card_get_for_user(*, user: User, pk: int) -> Card:
    card = _card_with_details.first(pk=pk)
    # The same answer for a card that does not exist and one the user may not open.
    if card is None or not access.card_permits(user, card, access.CardAction.VIEW):
        raise Http404
    return card


def site_get_for_transfer(*, user: User, pk: int) -> Site:
    site = Site.objects.select_related("organisation", "municipality__region").filter(pk=pk).first()
    if site is None or not access.site_transfer_permitted(user, site):
        raise Http404
    return site


def transfer_targets(*, user: User) -> QuerySet[Site]:
    sites = Site.objects.filter(kind=Site.Kind.DISTRIBUTOR, is_active=True).select_related("organisation")
    if not access.is_admin(user):
        sites = sites.filter(municipality__region_id__in=list(access.coordinated_region_ids(user)))
    return sites.order_by("organisation__name", "name")


# Card numbers are unique: no order needed.
_card_by_number = CompiledQuery(
    lambda number: Card.objects.select_related("site").filter(number=number).order_by()[:1], number=str
)


def card_find_by_number(*, number: str) -> Card | None:
    return _card_by_number.first(number=number)


_periods = CompiledQuery(lambda card_id: ValidityPeriod.objects.filter(card_id=card_id), card_id=int)


def card_periods(*, card: Card) -> list[ValidityPeriod]:
    """The card's validity periods, oldest first (``card.periods.all()``, compiled once)."""
    periods = _periods.all(card_id=card.pk)
    for period in periods:
        period.card = card
    return periods


@dataclass(frozen=True)
class HolderCardsSeen:
    """The holder's cards other than the one at hand, as the user's site may see them."""

    # The ones the user may open, newest first.
    visible: list[Card]
    # The holder's active card: the card itself when the user may open it, ``False`` when it is
    # another site's (nothing more is said about it), ``None`` when the holder has no other one.
    active: Card | bool | None


_other_cards = CompiledQuery(
    lambda holder_id, pk: Card.objects.filter(holder_id=holder_id).exclude(pk=pk).order_by("-created_at", "-pk"),
    holder_id=int,
    pk=int,
)


def holder_other_cards_as_seen(*, card: Card, user: User) -> HolderCardsSeen:
    # One query for both answers: a holder has a few cards, and every one of them is needed to
    # find the active one, whichever site it belongs to; another site's card leaves this function
    # only as ``False``.
    others = _other_cards.all(holder_id=card.holder_id, pk=card.pk)
    for other in others:
        other.holder = card.holder  # as the holder's own related manager would have set it
    visible = [other for other in others if access.card_permits(user, other, access.CardAction.VIEW)]
    active = next((other for other in others if other.status == Card.Status.ACTIVE), None)
    if active is not None and active not in visible:
        active = False
    return HolderCardsSeen(visible=visible, active=active)


def holder_as_seen(*, card: Card) -> Holder:
    """The holder as the card's site may see them: as they are while the site manages them,
    otherwise as they were when the site's responsibility ended (a later site's changes stay hidden)."""
    _start, end = access.card_view_window(card)
    if end is None:
        return card.holder
    record = (
        card.holder.history.filter(history_date__lte=end)
        .select_related("municipality")
        .order_by("-history_date", "-history_id")
        .first()
    )
    if record is None:
        return card.holder
    holder = record.instance
    holder.account = None  # the email is shown only to the managing site
    return holder


def holder_for_new_card(*, card: Card) -> tuple[Holder, str]:
    """The holder details and OmaKaiku address a new card from ``card`` (inactive, its holder
    managed by nobody now) starts with: as the card's site saw them. The address only where no
    later site has managed the holder, which might have changed it; without it the holder's
    OmaKaiku stays as it is (``services.card_register``)."""
    holder = holder_as_seen(card=card)
    if card.holder.account_id is None:
        return holder, ""
    _start, end = access.card_view_window(card)
    for other in Card.objects.filter(holder_id=card.holder_id).exclude(site_id=card.site_id):
        # Managed by another site after this card ended: a card of theirs registered since, or
        # an older one reactivated since (its own window ends after this one's).
        if other.status == Card.Status.ACTIVE or (other.updated_at > end and access.card_view_window(other)[1] > end):
            return holder, ""
    return holder, card.holder.account.email


def card_list_holders_as_seen(*, cards: list[Card]) -> None:
    """Give each listed card the holder its site may see (as ``holder_as_seen`` does for the card
    page): an inactive card's holder as they were when it was inactivated. A list must not show
    what a later site changed (the holder's move to another municipality, say). No query when
    every listed card is active, one when no holder was changed after their card ended (the
    usual case), three otherwise."""
    ended = [card for card in cards if card.status != Card.Status.ACTIVE]
    if not ended:
        return
    # A card ended on the day it was inactivated: a holder with no record since the start of that
    # day is as the card's site left them (one look at the history's dates, no records read).
    since: dict[int, datetime.datetime] = {}
    for card in ended:  # a holder's earliest ended card on the page decides for all of theirs
        moment = _day_start(card.inactivated_on)
        since[card.holder_id] = min(moment, since.get(card.holder_id, moment))
    changed = _holders_changed_since(since)
    ended = [card for card in ended if card.holder_id in changed]
    if not ended:
        return
    records: dict[int, list] = defaultdict(list)
    card_history = Card.history.filter(id__in=[card.pk for card in ended]).order_by(
        "id", "-history_date", "-history_id"
    )
    for card_id, status, when in card_history.values_list("id", "status", "history_date"):
        records[card_id].append((status, when))
    ends = {card.pk: access.card_window_end(card, records[card.pk]) for card in ended}
    snapshots: dict[int, list] = defaultdict(list)
    holder_history = (
        Holder.history.filter(id__in={card.holder_id for card in ended}, history_date__lte=max(ends.values()))
        .select_related("municipality")
        .order_by("id", "-history_date", "-history_id")
    )
    for record in holder_history:
        snapshots[record.id].append(record)
    for card in ended:
        record = next((r for r in snapshots[card.holder_id] if r.history_date <= ends[card.pk]), None)
        if record is not None:
            holder = record.instance
            holder.municipality = record.municipality  # already read: no query per row
            holder.account = None  # as on the card page: the email is the managing site's only
            card.holder = holder


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _holders_changed_since(since: dict[int, datetime.datetime]) -> set[int]:
    """Which of these holders (id: moment) have a history record after their moment. Written as
    SQL here: on the busiest list, Django compiling the query cost more than the query."""
    connection = connections[Holder.history.db]
    table = connection.ops.quote_name(Holder.history.model._meta.db_table)
    each = " OR ".join(["(id = %s AND history_date > %s)"] * len(since))
    params = [value for pk, moment in since.items() for value in (pk, connection.ops.adapt_datetimefield_value(moment))]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT id FROM {table} WHERE {each}", params)  # noqa: S608 (our table)
        return {pk for (pk,) in cursor.fetchall()}


@dataclass
class HistoryEntry:
    when: datetime.datetime
    who: str
    what: str
    reason: str
    changes: list[tuple[str, str, str]]


_HIDDEN_FIELDS = {"updated_at", "created_at", "id", "holder", "account"}


class _Display:
    """Turns stored values into what a person reads: names, not ids; yes/no, not True/False."""

    def __init__(self):
        self._objects: dict[tuple[type, object], str] = {}

    def __call__(self, record, field: str, value) -> str:
        if value in (None, ""):
            return "–"
        try:
            model_field = record.instance_type._meta.get_field(field)
        except FieldDoesNotExist:
            return str(value)
        if model_field.choices:
            return str(dict(model_field.flatchoices).get(value, value))
        if isinstance(model_field, models.ForeignKey):
            return self._name(model_field.related_model, value)
        if isinstance(value, bool):
            return gettext("yes") if value else gettext("no")
        if isinstance(value, datetime.date):
            return date_format(value, "j.n.Y")
        return str(value)

    def _name(self, model, pk) -> str:
        key = (model, pk)
        if key not in self._objects:
            obj = model._default_manager.filter(pk=pk).first()
            self._objects[key] = str(obj) if obj is not None else "–"
        return self._objects[key]


def _who(
    record, *, viewer_site_ids: frozenset[int], staff_site_ids: dict[int, set[int]], coordinator_ids: set[int]
) -> str:
    """The staff member's email when they work for the viewer's site; otherwise only their role."""
    user = record.history_user
    if user is None:
        return gettext("Kaikukanta (automatic)")
    if staff_site_ids.get(user.pk, set()) & viewer_site_ids:
        return user.email
    if user.is_staff:
        return gettext("Kaikukeskus administrator")
    if user.pk in coordinator_ids:
        # E.g. the move of a closed site's cards: a site's own history would otherwise call the
        # coordinator who moved them "another site's staff".
        return gettext("Regional coordinator")
    return gettext("Another site's staff")


def _action(change) -> str | None:
    """The action a change of a card is, where a typed reason would otherwise stand alone: an
    administrator's reactivation and a move to another site ask for a reason, which says why,
    not what (the system's own reasons name every other action)."""
    if change.field == "status" and (change.old, change.new) == (Card.Status.INACTIVE, Card.Status.ACTIVE):
        return REASON_REACTIVATED
    if change.field == "site":
        return REASON_TRANSFERRED
    return None


def _reason_text(stored: str, action: str | None) -> str:
    if not stored:
        return gettext(action) if action else ""
    # System reasons are stored as source strings and translated here; typed ones come back
    # unchanged, after the action they explain.
    translated = gettext(stored)
    if action and stored != action and translated == stored:
        return f"{gettext(action)}: {stored}"
    return translated


def _entries(records, *, subject: str, display: _Display, who, shown=None) -> list[HistoryEntry]:
    """``shown``: whether a record is this site's to see; one that is not still serves as the
    state the next record changed, so that no change of it is put down to the next."""
    records = list(records)
    entries = []
    # The oldest record has nothing older to compare with (and a window may hold no record at all).
    for record, older in zip(records, [*records[1:], None][: len(records)], strict=True):
        if shown is not None and not shown(record):
            continue
        changes = []
        action = None
        if older is not None:
            delta = record.diff_against(older, foreign_keys_are_objs=False)
            for change in delta.changes:
                action = action or _action(change)
                if change.field in _HIDDEN_FIELDS:
                    continue
                label = str(record.instance_type._meta.get_field(change.field).verbose_name)
                changes.append(
                    (
                        capfirst(label),
                        display(record, change.field, change.old),
                        display(record, change.field, change.new),
                    )
                )
            if not changes and not record.history_change_reason:
                continue
        entries.append(
            HistoryEntry(
                when=record.history_date,
                who=who(record),
                what=subject,
                reason=_reason_text(record.history_change_reason or "", action),
                changes=changes,
            )
        )
    return entries


def _newest_first(records: QuerySet) -> QuerySet:
    return records.select_related("history_user").order_by("-history_date", "-history_id")


# The card page's history, newest first (compiled once: the page is among the busiest). The
# holder's records are read within a window that is open (the site still manages the holder) or
# closed: two statements.
_card_records = CompiledQuery(lambda card_id: _newest_first(Card.history.filter(id=card_id)), card_id=int)
_holder_records_since = CompiledQuery(
    lambda holder_id, start: _newest_first(Holder.history.filter(id=holder_id, history_date__gte=start)),
    holder_id=int,
    start=datetime.datetime,
)
_holder_records_between = CompiledQuery(
    lambda holder_id, start, end: _newest_first(
        Holder.history.filter(id=holder_id, history_date__gte=start, history_date__lte=end)
    ),
    holder_id=int,
    start=datetime.datetime,
    end=datetime.datetime,
)


def _history_who(records, *, viewer: User):
    """``who(record)`` for these records: a colleague's email, otherwise only a role (one query)."""
    user_ids = {r.history_user_id for r in records if r.history_user_id}
    staff_site_ids: dict[int, set[int]] = {}
    coordinator_ids: set[int] = set()
    coordinates = models.Exists(RegionalCoordinator.objects.filter(user=models.OuterRef("pk")))
    for user_id, site_id, coordinator in (
        User.objects.filter(pk__in=user_ids)
        .annotate(coordinates=coordinates)
        .values_list("pk", "memberships__site_id", "coordinates")
    ):
        if site_id is not None:
            staff_site_ids.setdefault(user_id, set()).add(site_id)
        if coordinator:
            coordinator_ids.add(user_id)
    viewer_site_ids = access.distributor_site_ids(viewer)

    def who(record):
        return _who(
            record, viewer_site_ids=viewer_site_ids, staff_site_ids=staff_site_ids, coordinator_ids=coordinator_ids
        )

    return who


def card_history(*, card: Card, viewer: User) -> list[HistoryEntry]:
    """The card's and its holder's changes, newest first: who, when, what and why.

    The card's and the holder's records are limited to the window in which this card's site
    managed the holder, so a site sees nothing of what another site changed before or after
    (a moved card's earlier site included).
    """
    start, end = access.card_view_window(card)
    card_records = _card_records.all(card_id=card.pk)
    moved_here_at = access.card_moved_here_at(card_records)
    if end is None:
        holder_records = _holder_records_since.all(holder_id=card.holder_id, start=start)
    else:
        holder_records = _holder_records_between.all(holder_id=card.holder_id, start=start, end=end)
    who = _history_who(card_records + holder_records, viewer=viewer)

    # While this card was inactive another site may have managed the holder (an admin may
    # reactivate the card later): what was written about the holder meanwhile is not this site's.
    gaps = _inactive_stretches(card_records)

    def since_moved_here(record):
        # The record of the move itself is the first a moved card's new site sees; older ones
        # still serve as the state the first shown record changed.
        return moved_here_at is None or record.history_date >= moved_here_at

    def shown(record):
        return since_moved_here(record) and not any(start < record.history_date < end for start, end in gaps)

    display = _Display()
    entries = _entries(card_records, subject=gettext("Card"), display=display, who=who, shown=since_moved_here)
    entries += _entries(holder_records, subject=gettext("Holder"), display=display, who=who, shown=shown)
    return sorted(entries, key=lambda e: e.when, reverse=True)


@dataclass
class CardAsItLeft:
    """A card moved from the viewer's site to another, as it was when it left."""

    card: Card  # rebuilt from its last history record at the viewer's site
    holder: Holder | None  # the holder as they were then, without their address; None: not recorded
    left_at: datetime.datetime
    history: list[HistoryEntry]


def card_as_it_left(*, user: User, pk: int) -> CardAsItLeft:
    """The card page of a site the card was moved away from (docs/rules.md: "A site that once
    issued a card keeps read access to that card as it was while it managed it"). Only the
    stretches the card spent at the user's sites are read: not the moves' own records (they name
    the new site), not another site's changes of the card or the holder. 404 where the card was
    never at one of the user's sites."""
    card = Card.objects.filter(pk=pk).first()
    stretches = access.card_left_site(user, card)
    if not stretches:
        raise Http404
    first_came, left = stretches[0][0], stretches[-1][1]

    def at_these_sites(record):
        return any(came <= record.history_date < gone for came, gone in stretches)

    card_records = list(_newest_first(Card.history.filter(id=pk, history_date__lt=left)))
    holder_records = list(
        _newest_first(
            Holder.history.filter(
                id=card.holder_id, history_date__gte=first_came - datetime.timedelta(seconds=1), history_date__lt=left
            )
        ).select_related("municipality")
    )
    gaps = _inactive_stretches(card_records)
    # A holder registered with the card is written a moment before it: that record is this
    # site's too, where the card was made here (not where it came from another site).
    made_here = bool(card_records) and card_records[-1].history_date == first_came

    def shown(record):
        # While the card was elsewhere, or inactive (card_history), another site may have
        # managed the holder.
        in_stretch = at_these_sites(record) or (made_here and record.history_date < first_came)
        return in_stretch and not any(start < record.history_date < end for start, end in gaps)

    holder_then = next((record for record in holder_records if shown(record)), None) or (
        Holder.history.filter(id=card.holder_id, history_date__lt=first_came)
        .select_related("municipality")
        .order_by("-history_date", "-history_id")
        .first()
    )
    if not card_records:
        raise Http404
    who = _history_who(card_records + holder_records, viewer=user)

    display = _Display()
    entries = _entries(card_records, subject=gettext("Card"), display=display, who=who, shown=at_these_sites)
    entries += _entries(holder_records, subject=gettext("Holder"), display=display, who=who, shown=shown)
    # None for a holder loaded without history (the benchmark's bulk data): not shown then.
    holder = holder_then.instance if holder_then is not None else None
    if holder is not None:
        holder.account = None  # the address is shown only to the managing site
    return CardAsItLeft(
        # As it was when it last left: the newest record of its last stretch here.
        card=next(record for record in card_records if at_these_sites(record)).instance,
        holder=holder,
        left_at=left,
        history=sorted(entries, key=lambda e: e.when, reverse=True),
    )


def _inactive_stretches(card_records) -> list[tuple[datetime.datetime, datetime.datetime]]:
    """(inactivated, reactivated) for each time the card was inactive and then active again;
    ``card_records`` newest first."""
    stretches = []
    inactivated = None
    for record in reversed(card_records):
        if record.status == Card.Status.INACTIVE and inactivated is None:
            inactivated = record.history_date
        elif record.status == Card.Status.ACTIVE and inactivated is not None:
            stretches.append((inactivated, record.history_date))
            inactivated = None
    return stretches
