import datetime
import re

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.compiled import CompiledQuery
from accounts.models import Site, User
from accounts.permissions import active_sites
from cards.models import Card, CardUse, Offer


def venue_for_user(*, user: User, pk: str | int | None, remembered: int | None = None) -> Site:
    """The venue the person works at: the one asked for (404 if not theirs), else the one
    they chose last time if still theirs, else their first (by name).

    Chosen among the roles already read for this request (``active_sites``), so the access
    check and the choice agree and cost no query; only pk, name, kind and the usual category
    are loaded. Callers are behind ``venue_required``: there is at least one venue."""
    venues = {site.pk: site for site in active_sites(user) if site.kind == Site.Kind.VENUE}
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
    if pk and re.fullmatch(r"[0-9]{1,18}", str(pk)):
        if int(pk) not in venues:
            raise Http404
        return venues[int(pk)]
    if remembered in venues:
        return venues[remembered]
    if not venues:
        raise Http404
    return next(iter(venues.values()))


def _uses_at(venue_id: int) -> QuerySet[CardUse]:
    # Only the card is shown; who recorded a use is not (and staff rows carry password hashes).
    return CardUse.objects.filter(venue_id=venue_id).select_related("card").order_by("-created_at", "-pk")


def venue_uses(*, venue: Site, number: str = "") -> QuerySet[CardUse]:
    """The venue's uses, newest recorded first; with ``number`` (normalised), that card's only."""
    uses = _uses_at(venue.pk)
    return uses.filter(card__number=number) if number else uses


RECENT_USES = 8

# The desk's "recently recorded here": on every look-up, so compiled once.
_venue_recent_uses = CompiledQuery(lambda venue_id: _uses_at(venue_id)[:RECENT_USES], venue_id=int)


def venue_recent_uses(*, venue: Site) -> list[CardUse]:
    """The venue's newest ``RECENT_USES`` uses, as ``venue_uses`` lists them."""
    return _venue_recent_uses.all(venue_id=venue.pk)


def venue_offers(*, venue: Site) -> QuerySet[Offer]:
    return Offer.objects.filter(venue=venue).order_by("-ends_on", "pk")


def card_recent_use_here(*, venue: Site, card: Card | None, minutes: int = 30) -> CardUse | None:
    """A use of this card for today recorded at this venue in the last ``minutes``, if any.

    The desk's pages are never cached (personal data), so the back button fetches a fresh form;
    a second use right after the first is therefore pointed out before it is recorded. Only a
    use dated today: an offline file imported a moment ago records earlier days' visits."""
    if card is None:
        return None
    since = timezone.now() - datetime.timedelta(minutes=minutes)
    return _recent_use_here.first(venue_id=venue.pk, card_id=card.pk, since=since, today=timezone.localdate())


_recent_use_here = CompiledQuery(
    lambda venue_id, card_id, since, today: CardUse.objects.filter(
        venue_id=venue_id, card_id=card_id, cancelled_at__isnull=True, created_at__gte=since, used_on=today
    ).order_by("-created_at")[:1],
    venue_id=int,
    card_id=int,
    since=datetime.datetime,
    today=datetime.date,
)
