"""Who may see and do what in the card register: the one place that decides.

Views, selectors, services and the admin ask this module; nothing else decides. Every
function denies unless a rule below grants access.

The rules (docs/rules.md, "Sites and holders"):

- Staff work for sites. A distributor site sees the cards it is responsible for (``card.site``:
  the issuing site, or the site a closed site's cards were moved to).
- The **managing site** of a holder is the site of the holder's active card. Only its staff act
  on the holder (OmaKaiku, email, closing) and see the holder's current details and email.
- A card's own site changes the card (edit, renew, inactivate, switch) while it is active.
- A site keeps read access to a card it issued after the card was inactivated, but sees the
  holder only as they were while the site managed them (``card_view_window``).
- Any working staff member (a site, a region or admin access still in force) may check whether
  a card number is valid: status and validity only.
- Kaikukeskus admins (Django admin access) act through admin actions: reactivate, inactivate,
  move to another site. A regional coordinator moves the cards of a closed site in their region.
"""

import datetime
import itertools
from dataclasses import dataclass
from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from accounts import permissions
from accounts.compiled import CompiledQuery
from accounts.models import Site, User

from .models import Card, Holder, Offer


class CardAction(StrEnum):
    VIEW = "view"  # open the card page, as the site saw it
    CHANGE = "change"  # edit details, renew, inactivate, switch to mobile-only
    HOLDER = "holder"  # holder-level: OmaKaiku activate, resend, email change, close
    NEW_FOR_HOLDER = "new_for_holder"  # start a new card from this card's holder
    ADMIN = "admin"  # reactivate, inactivate with reason (Django admin actions)
    TRANSFER = "transfer"  # move the card to another distributor site


def _is_staff(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.kind == User.Kind.STAFF)


def is_admin(user) -> bool:
    """A Kaikukeskus admin: a Kaikukanta user with Django admin access."""
    return _is_staff(user) and user.is_staff


def distributor_site_ids(user) -> frozenset[int]:
    """The active distributor sites the user works for, resolved once per request."""
    return permissions.distributor_site_ids(user) if _is_staff(user) else frozenset()


def coordinated_region_ids(user) -> frozenset[int]:
    return permissions.coordinated_region_ids(user) if _is_staff(user) else frozenset()


def site_may_issue(user, site: Site) -> bool:
    """Whether the user may register cards at ``site``."""
    return site is not None and site.pk in distributor_site_ids(user) and site.kind == Site.Kind.DISTRIBUTOR


def venue_may_act(user, venue: Site) -> bool:
    """Whether the user works for ``venue`` (an active venue site): records and cancels its uses,
    edits its offers."""
    return (
        _is_staff(user)
        and venue is not None
        and venue.kind == Site.Kind.VENUE
        and venue.pk in permissions.venue_site_ids(user)
    )


def holder_managing_site_id(holder: Holder) -> int | None:
    """The site of the holder's active card, or None when nobody manages the holder now."""
    if holder.pk is None:
        return None
    return _managing_site_id.first(holder_id=holder.pk)


# Asked on every card page (and each change); one active card per holder, the newest were there more.
_managing_site_id = CompiledQuery(
    lambda holder_id: (
        Card.objects.filter(holder_id=holder_id, status=Card.Status.ACTIVE)
        .order_by("-created_at")
        .values_list("site_id", flat=True)[:1]
    ),
    holder_id=int,
)


def holder_permits_new_card(user, holder: Holder) -> bool:
    """A site may start a new card from a holder it has issued a card to (lost card, a new period
    after inactivation); whether the holder may have one is the service's rule."""
    site_ids = distributor_site_ids(user)
    return bool(site_ids) and holder.pk is not None and holder.cards.filter(site_id__in=list(site_ids)).exists()


def card_permits(user, card: Card, action: CardAction) -> bool:
    if not _is_staff(user) or card is None or card.pk is None:
        return False
    own_site = card.site_id in distributor_site_ids(user)
    active = card.status == Card.Status.ACTIVE
    match action:
        case CardAction.VIEW:
            return own_site
        case CardAction.NEW_FOR_HOLDER:
            # Only while nobody manages the holder: a site that does (this one or a later one)
            # acts through its active card, and a later site's changes are not this site's to see.
            return own_site and not active and holder_managing_site_id(card.holder) is None
        case CardAction.CHANGE:
            return own_site and active
        case CardAction.HOLDER:
            # Asked of the database, not of ``card``: the card at hand may be an old one.
            return own_site and active and holder_managing_site_id(card.holder) == card.site_id
        case CardAction.ADMIN:
            return is_admin(user)
        case CardAction.TRANSFER:
            if is_admin(user):
                return True
            # A coordinator moves the cards of a site that has closed, in their own region.
            site = card.site
            return not site.is_active and site.municipality.region_id in coordinated_region_ids(user)
    return False


def card_require(user, card: Card, action: CardAction) -> None:
    if not card_permits(user, card, action):
        raise PermissionDenied


def transfer_target_permitted(user, site: Site) -> bool:
    """Where a coordinator or an admin may move cards: an active distributor site (their region)."""
    if site is None or site.kind != Site.Kind.DISTRIBUTOR or not site.is_active:
        return False
    return is_admin(user) or site.municipality.region_id in coordinated_region_ids(user)


def site_transfer_permitted(user, site: Site) -> bool:
    """Whether the user may move all the cards of ``site`` elsewhere: a closed site, of their
    region for a coordinator. An open site's staff still manage its holders; one holder who
    moved is moved by an admin card by card (the admin's "move" action)."""
    if site is None or site.kind != Site.Kind.DISTRIBUTOR or site.is_active:
        return False
    return is_admin(user) or site.municipality.region_id in coordinated_region_ids(user)


def card_left_site(user, card: Card | None) -> list[tuple[datetime.datetime, datetime.datetime]]:
    """For a card moved from one of the user's sites to another (an admin's move of one holder's
    card): each stretch it spent at the user's sites before it left, as (came, left), oldest
    first; empty when the card is at one of their sites now or never was.

    The site keeps read access to the card as it was in those stretches, and never sees what
    another site changed (selectors.card_as_it_left). Read from the card's history: asked only
    where the card is not at one of the user's sites (its page, the look-ups), not per list row.
    A card loaded without history rows and then moved cannot be told to have been there."""
    site_ids = distributor_site_ids(user)
    if card is None or card.pk is None or not site_ids or card.site_id in site_ids:
        return []
    stretches, came, before = [], None, None
    records = card.history.order_by("history_date", "history_id").values_list("site_id", "history_date")
    for site_id, when in records:
        if site_id in site_ids and before not in site_ids:
            came = when
        elif site_id not in site_ids and before in site_ids:
            stretches.append((came, when))
        before = site_id
    return stretches


def cards_visible(user) -> QuerySet[Card]:
    """The cards whose pages the user may open."""
    return Card.objects.filter(site_id__in=list(distributor_site_ids(user)))


def offers_editable(user) -> QuerySet[Offer]:
    """The offers the user may edit, hide and delete: those of the venues they act for now
    (``venue_may_act``; a closed venue's offers are no longer anyone's to change)."""
    return Offer.objects.filter(venue_id__in=list(permissions.venue_site_ids(user)))


def offer_deleted_from_venue_id(user, pk: int) -> int | None:
    """The venue, among those the user acts for now, that offer ``pk`` was deleted from (its
    history's deletion record says where it was), else None: a form sent for it is told so and
    may save what was typed there as a new offer. Any other offer that is not the user's to edit
    (another venue's, one that never was) is no page at all."""
    return (
        Offer.history.filter(id=pk, history_type="-", venue_id__in=list(permissions.venue_site_ids(user)))
        .values_list("venue_id", flat=True)
        .first()
    )


def card_view_window(card: Card) -> tuple[datetime.datetime, datetime.datetime | None]:
    """The stretch of time in which the card's site managed the holder through this card.

    From the card's creation until it was inactivated (None: still managing). A site sees the
    holder's details and history only inside this window: it never sees what a later site changed.
    A card moved to the site shows its history from the move on (``card_moved_here_at``).
    """
    start = card.created_at - datetime.timedelta(seconds=1)
    if card.status == Card.Status.ACTIVE:
        return start, None
    records = card.history.order_by("-history_date", "-history_id").values_list("status", "history_date")
    return start, card_window_end(card, records)


def card_moved_here_at(card_records) -> datetime.datetime | None:
    """When the card was moved to the site it is at (``card_transfer``), or None if it has always
    been there. What the earlier site wrote before is not the new site's to read (its reasons
    are free text). ``card_records``: the card's history records, newest first."""
    for record, older in itertools.pairwise(card_records):
        if record.site_id != older.site_id:
            return record.history_date
    return None


def card_window_end(card: Card, records) -> datetime.datetime:
    """When an inactive card's site stopped managing the holder through it: the moment of the
    newest inactivation. ``records``: the card's (status, history_date) history, newest first."""
    end = None
    # The oldest record of the newest run of inactive ones.
    for status, when in records:
        if status != Card.Status.INACTIVE:
            break
        end = when
    return end or card.updated_at


# --- statistics ---------------------------------------------------------------------------


class StatsLevel(StrEnum):
    NATIONAL = "national"  # Kaikukeskus admins: everything
    REGION = "region"  # a coordinator's region, with per-site and per-municipality breakdowns
    SITE = "site"  # a distributor site: its cards and the uses of those cards
    VENUE = "venue"  # a venue: its uses and how many distinct cards visited


@dataclass(frozen=True)
class StatsScope:
    """One set of figures a user may see: a level and, below national, the one region or site."""

    level: StatsLevel
    pk: int | None = None


def stats_scopes(user) -> list[StatsScope]:
    """Every statistics scope the user may open, widest first (deny by default: none)."""
    if not _is_staff(user):
        return []
    scopes = []
    if is_admin(user):
        scopes.append(StatsScope(StatsLevel.NATIONAL))
    scopes += [StatsScope(StatsLevel.REGION, pk) for pk in sorted(coordinated_region_ids(user))]
    scopes += [StatsScope(StatsLevel.SITE, pk) for pk in sorted(distributor_site_ids(user))]
    scopes += [StatsScope(StatsLevel.VENUE, pk) for pk in sorted(permissions.venue_site_ids(user))]
    return scopes


def stats_permits(user, scope: StatsScope) -> bool:
    return scope in stats_scopes(user)
