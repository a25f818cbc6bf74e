"""The register's invariants, checked at the end of every service that changes a card's status,
its mobile flag, its validity, its site or the holder's OmaKaiku account.

The database guarantees what a constraint can express (one active card per holder, an
inactivation has its reason, a number matches its kind). What spans tables cannot be a CHECK
constraint, so it is checked here, inside the same transaction as the change and after the
rows were locked: a breach rolls the whole change back. A breach means a service let something
through that its own checks should have refused; the message says so plainly.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .models import Card, Holder


def holder_invariants_check(*, holder: Holder) -> None:
    """Every card of the holder, and the holder's account, against the rules that span rows."""
    holder = Holder.objects.select_related("account").get(pk=holder.pk)
    cards = list(holder.cards.prefetch_related("periods"))
    active = [card for card in cards if card.status == Card.Status.ACTIVE]
    if len(active) > 1:
        raise ValidationError(_("A holder can have only one active card."), code="one_active_card")
    if holder.account is not None and not holder.account.is_holder:
        raise ValidationError(_("An OmaKaiku account must be a holder's login."), code="account_not_holder")
    for card in cards:
        if card.status == Card.Status.ACTIVE and (card.is_mobile_only or card.mobile_enabled) and not holder.account:
            raise ValidationError(
                _("A mobile card needs OmaKaiku: activate OmaKaiku for the holder first."),
                code="mobile_needs_omakaiku",
            )
        if card.status == Card.Status.INACTIVE and not (card.inactivation_reason and card.inactivated_on):
            raise ValidationError(_("An inactivated card needs a reason."), code="inactivation_needs_reason")
        # The newest period is the one appended last (a reactivation may start before a renewal's).
        periods = sorted(card.periods.all(), key=lambda period: period.pk)
        if not periods or (periods[-1].valid_from, periods[-1].valid_until) != (card.valid_from, card.valid_until):
            raise ValidationError(
                _("The card's validity must match its newest validity period."), code="validity_period_mismatch"
            )
        # Only an inactivation ends a period early; Card.was_valid_on relies on this. An active card
        # may keep such a period only once it has expired: reactivated after its last valid day,
        # it comes back expired (no new period to give it), and its site renews it.
        if card.status == Card.Status.ACTIVE and periods[-1].ended_on is not None and not card.is_expired():
            raise ValidationError(
                _("An active card's newest validity period cannot have ended."), code="active_period_ended"
            )
