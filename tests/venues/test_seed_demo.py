"""The demo shows only what the rules allow: every card and use of ``seed_demo``, the bulk
benchmark data included, passes the checks the services apply."""

import datetime
import logging
from io import StringIO

import pytest
from allauth.mfa.models import Authenticator
from django.core.management import CommandError, call_command
from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import timezone

from accounts.models import InvitationDelivery, Site, SiteMembership, User
from cards.invariants import holder_invariants_check
from cards.models import Card, CardUse, Holder, Offer, ValidityPeriod
from venues.services import UseData, card_use_validate

pytestmark = pytest.mark.django_db


def _seed(**options) -> str:
    out = StringIO()
    call_command("seed_demo", force=True, stdout=out, **options)
    return out.getvalue()


def _counts() -> dict[str, int]:
    models = [User, Site, SiteMembership, Holder, Card, ValidityPeriod, CardUse, Offer, Authenticator]
    counts = {model.__name__: model.objects.count() for model in models}
    for model in (User, Holder, Card, CardUse, Offer):
        counts[f"{model.__name__} history"] = model.history.count()
    return counts


def _assert_every_card_and_use_obeys_the_rules() -> None:
    for holder in Holder.objects.all():
        holder_invariants_check(holder=holder)  # raises on a breach
    cards = {card.pk: card for card in Card.objects.select_related("holder").prefetch_related("periods")}
    refused = {}
    for use in CardUse.objects.all():
        data = UseData(
            number=cards[use.card_id].number,
            used_on=use.used_on,
            category=use.category,
            child_tickets=use.child_tickets,
            assistant_tickets=use.assistant_tickets,
            clients_under_16=use.clients_under_16,
        )
        errors = card_use_validate(data=data, card=cards[use.card_id], today=timezone.localdate(use.created_at))
        if errors:
            refused[use.pk] = errors
    assert refused == {}
    assert not CardUse.objects.filter(category=CardUse.Category.EDUCATION, child_tickets__gt=0).exists()


def test_refuses_without_debug_unless_forced(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo", stdout=StringIO())
    assert not User.objects.exists()


@pytest.mark.parametrize("option", ["cards", "uses"])
def test_a_data_set_beyond_ten_million_is_refused_before_anything_is_written(option):
    with pytest.raises(CommandError, match="go up to 10,000,000"):
        call_command("seed_demo", force=True, stdout=StringIO(), **{option: 10_000_001})
    assert not User.objects.exists()


def test_demo_goes_through_the_rules_and_a_second_run_adds_nothing(caplog):
    with caplog.at_level(logging.INFO, logger="kaikukanta.security"):
        output = _seed()
    # `make run` shows the demo's logins, not a security-log line per back-dated demo invitation.
    assert not [record for record in caplog.records if record.name == "kaikukanta.security"]
    today = timezone.localdate()

    _assert_every_card_and_use_obeys_the_rules()
    # Every use was recorded through the venue's service (it alone sets the idempotency key).
    assert not CardUse.objects.filter(idempotency_key__isnull=True).exists()
    assert CardUse.objects.count() >= 100
    # What the demo shows: each kind of card and event, with the history the services write.
    cards = Card.objects.all()
    assert cards.filter(kind=Card.Kind.X).count() >= 6  # X cards and switched-to cards
    assert cards.filter(kind=Card.Kind.Z).count() == 3
    assert cards.filter(kind=Card.Kind.PHYSICAL, mobile_enabled=True, status=Card.Status.ACTIVE).count() >= 4
    assert cards.filter(status=Card.Status.ACTIVE, valid_until__lt=today).count() == 3
    assert set(cards.filter(status=Card.Status.INACTIVE).values_list("inactivation_reason", flat=True)) == {
        Card.InactivationReason.LOST,
        Card.InactivationReason.GIVEN_UP,
        Card.InactivationReason.NOT_ELIGIBLE,
        Card.InactivationReason.OTHER,
    }
    renewed = cards.filter(periods__cause=ValidityPeriod.Cause.RENEWED)
    assert renewed.count() == 3
    for card in renewed:
        assert card.issued_on < today - datetime.timedelta(days=300)
        assert card.valid_from > today - datetime.timedelta(days=31)
    # A card's past is dated as it happened, not on the day the demo ran.
    assert cards.filter(created_at__date__lt=today - datetime.timedelta(days=365)).exists()
    assert not Card.history.filter(history_change_reason="Demo data").exists()
    assert not CardUse.history.filter(history_change_reason="Demo data").exists()
    assert Offer.objects.count() == 7
    holder = User.objects.get(email="asiakas@example.fi")
    assert holder.check_password("kaikukortti-demo")
    assert holder.holder.cards.get().mobile_enabled is True
    assert "asiakas@example.fi" in output

    counts = _counts()
    assert "demo data already present" in _seed()
    assert _counts() == counts
    # A login switched off since is no longer offered as one to log in with.
    User.objects.filter(email="kohde@example.fi").update(is_active=False)
    again = _seed()
    logins = again[again.index("Password") :]
    assert "kohde@example.fi  " not in logins
    assert "Deleted or switched off since the demo was made: kohde@example.fi." in again
    assert "asiakas@example.fi" in logins


def test_bulk_data_obeys_the_rules():
    _seed()
    demo_cards = Card.objects.count()
    _seed(cards=demo_cards + 250, uses=CardUse.objects.count() + 1500, batch_size=100)
    assert Card.objects.count() == demo_cards + 250
    bulk = Card.objects.filter(number__regex=r"^B[0-9]{9}$")
    assert bulk.exists()

    uses = CardUse.objects.all()
    covered = ValidityPeriod.objects.filter(
        card=OuterRef("card"), valid_from__lte=OuterRef("used_on"), valid_until__gte=OuterRef("used_on")
    ).filter(Q(ended_on__isnull=True) | Q(ended_on__gt=OuterRef("used_on")))
    assert uses.filter(~Exists(covered)).count() == 0
    assert uses.filter(card__inactivated_on__lte=F("used_on")).count() == 0
    assert uses.filter(used_on__gt=timezone.localdate()).count() == 0
    assert uses.filter(category=CardUse.Category.EDUCATION, child_tickets__gt=0).count() == 0
    assert uses.filter(child_tickets__gt=F("card__holder__children_count")).count() == 0
    assert uses.filter(card__holder__kind=Holder.Kind.ORGANISATION, child_tickets__gt=0).count() == 0
    assert uses.filter(card__holder__kind=Holder.Kind.CUSTOMER, clients_under_16__gt=0).count() == 0

    cards = Card.objects.all()
    assert cards.filter(kind__in=[Card.Kind.X, Card.Kind.Z], holder__account__isnull=True).count() == 0
    assert cards.filter(mobile_enabled=True, holder__account__isnull=True).count() == 0
    assert cards.annotate(n=Count("periods")).filter(Q(n=0) | Q(n__gt=2)).count() == 0
    assert (
        # Old enough (16, or turning 16 that year) when each card was registered.
        cards.filter(holder__kind=Holder.Kind.CUSTOMER, holder__birth_year__gt=F("issued_on__year") - 16).count() == 0
    )
    # An inactivation ends the period it falls in, as card_inactivate does.
    assert (
        ValidityPeriod.objects.filter(
            card__inactivated_on__isnull=False,
            valid_from__lte=F("card__inactivated_on"),
            valid_until__gte=F("card__inactivated_on"),
        )
        .exclude(ended_on=F("card__inactivated_on"))
        .count()
        == 0
    )
    assert ValidityPeriod.objects.filter(card__in=bulk, cause=ValidityPeriod.Cause.RENEWED).exists()
    assert ValidityPeriod.objects.filter(card__in=bulk, ended_on__isnull=False).exists()
    assert (
        Holder.objects.annotate(active=Count("cards", filter=Q(cards__status=Card.Status.ACTIVE)))
        .filter(active__gt=1)
        .count()
        == 0
    )
    _assert_every_card_and_use_obeys_the_rules()


@pytest.mark.django_db(transaction=True)
def test_with_a_task_queue_the_demos_invitations_are_not_left_for_the_worker(settings):
    # Production settings queue mail for the worker, which would mail the demo's made-up addresses.
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

    printed = _seed()

    assert not DBTaskResult.objects.filter(task_path__startswith="accounts.tasks.send_").exists()
    assert "queued ones dropped" in printed
    # Nor does any invitation say it is still on its way.
    assert not InvitationDelivery.objects.filter(state=InvitationDelivery.State.QUEUED).exists()
