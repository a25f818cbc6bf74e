"""The distributor's procedures (docs/rules.md, procedures 1–7) and every refusal, at the service level."""

import datetime
import re

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from cards import services
from cards.models import Card, Holder, ValidityPeriod
from tests import factories


def _errors(excinfo, field):
    return " ".join(excinfo.value.message_dict.get(field, []))


def register(distributor, site, data, **kwargs):
    kwargs.setdefault("number", "A1234567")
    # Run the on_commit work (the invitation email) as a real commit would.
    with TestCase.captureOnCommitCallbacks(execute=True):
        return services.card_register(site=site, actor=distributor, holder_data=data, **kwargs)


# --- procedure 1: new physical card, no mobile ---------------------------------------


@time_machine.travel(datetime.date(2026, 3, 10), tick=False)
def test_new_physical_card_is_valid_for_twelve_months(distributor, site, customer_data):
    card = register(distributor, site, customer_data, number=" a123-4567 ")

    assert card.number == "A1234567"
    assert card.kind == Card.Kind.PHYSICAL
    assert card.status == Card.Status.ACTIVE
    assert card.mobile_enabled is False
    assert card.valid_from == datetime.date(2026, 3, 10)
    assert card.valid_until == datetime.date(2027, 3, 9)
    assert card.holder.account is None
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("issued", "last_valid_day"),
    [
        ("2028-02-29", "2029-02-28"),  # no 29 February a year on: a full year, not 364 days
        ("2028-02-28", "2029-02-27"),
        ("2027-01-31", "2028-01-30"),
        ("2027-03-01", "2028-02-29"),
        ("2026-12-31", "2027-12-30"),
    ],
)
def test_the_last_valid_day_is_the_day_before_the_same_date_a_year_on(issued, last_valid_day):
    from cards.services import validity_period

    start = datetime.date.fromisoformat(issued)
    assert validity_period(start) == (start, datetime.date.fromisoformat(last_valid_day))


def test_registration_is_recorded_in_history_with_who_and_why(distributor, site, customer_data):
    card = register(distributor, site, customer_data)

    record = card.history.get()
    assert record.history_user == distributor
    assert record.history_change_reason == "Card registered"


# --- procedure 2: new physical card + mobile -----------------------------------------


def test_new_physical_card_with_mobile_activates_omakaiku_and_invites(distributor, site, customer_data):
    card = register(distributor, site, customer_data, email="Maija@Example.com", mobile=True)

    assert card.mobile_enabled is True
    account = card.holder.account
    assert account.email == "maija@example.com"
    assert account.kind == User.Kind.HOLDER
    assert not account.has_usable_password()
    assert account.invited_at is not None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["maija@example.com"]
    assert "/omakaiku/activate/" in mail.outbox[0].body


def test_mobile_card_without_email_is_refused(distributor, site, customer_data):
    with pytest.raises(ValidationError) as excinfo:
        register(distributor, site, customer_data, mobile=True)

    assert "OmaKaiku" in _errors(excinfo, "email")
    assert not Card.objects.exists()


def test_invitation_is_not_sent_when_the_registration_rolls_back(distributor, site, customer_data):
    def register_then_fail():
        with transaction.atomic():
            services.card_register(
                site=site,
                actor=distributor,
                holder_data=customer_data,
                number="A1234567",
                email="maija@example.com",
                mobile=True,
            )
            raise RuntimeError("something later in the same transaction failed")

    with TestCase.captureOnCommitCallbacks(execute=True), pytest.raises(RuntimeError):
        register_then_fail()

    assert mail.outbox == []
    assert not User.objects.filter(email="maija@example.com").exists()


# --- procedure 3: customer mobile-only (X) -------------------------------------------


def test_x_card_gets_an_assigned_number_and_mobile(distributor, site, customer_data):
    first = register(distributor, site, customer_data, number="x", email="a@example.com")
    second = register(distributor, site, customer_data, number="X", email="b@example.com")

    assert re.fullmatch(r"X\d{7}", first.number)
    assert int(second.number[1:]) == int(first.number[1:]) + 1
    assert first.kind == Card.Kind.X
    assert first.mobile_enabled is True


def test_x_card_without_email_is_refused(distributor, site, customer_data):
    with pytest.raises(ValidationError) as excinfo:
        register(distributor, site, customer_data, number="X")

    assert "OmaKaiku" in _errors(excinfo, "email")


def test_x_card_refused_for_holder_with_active_physical_card(distributor, site, customer_data):
    physical = register(distributor, site, customer_data, number="A1234567")

    with pytest.raises(ValidationError) as excinfo:
        register(distributor, site, customer_data, number="X", holder=physical.holder, email="a@example.com")

    message = _errors(excinfo, "number")
    assert "A1234567" in message
    assert "Switch to mobile-only" in message
    assert physical.holder.cards.count() == 1


def test_x_card_refused_when_email_belongs_to_holder_with_active_physical_card(distributor, site, customer_data):
    register(distributor, site, customer_data, number="A1234567", email="maija@example.com")

    with pytest.raises(ValidationError) as excinfo:
        register(distributor, site, customer_data, number="X", email="MAIJA@example.com")

    assert "inactivate" in _errors(excinfo, "number")
    assert Card.objects.count() == 1


def test_x_card_refused_for_an_organisation(distributor, site, organisation_data):
    with pytest.raises(ValidationError) as excinfo:
        register(distributor, site, organisation_data, number="X", email="org@example.com")

    assert "type Z" in _errors(excinfo, "number")


# --- procedure 4: organisation mobile-only (Z) ---------------------------------------


def test_z_card_for_organisation(distributor, site, organisation_data):
    card = register(distributor, site, organisation_data, number="z", email="nuotta@example.com")

    assert re.fullmatch(r"Z\d{7}", card.number)
    assert card.kind == Card.Kind.Z
    assert card.holder.kind == Holder.Kind.ORGANISATION
    assert card.holder.account.email == "nuotta@example.com"


def test_z_card_refused_for_a_customer(distributor, site, customer_data):
    with pytest.raises(ValidationError) as excinfo:
        register(distributor, site, customer_data, number="Z", email="a@example.com")

    assert "organisations only" in _errors(excinfo, "number")


def test_z_card_without_email_is_refused(distributor, site, organisation_data):
    with pytest.raises(ValidationError) as excinfo:
        register(distributor, site, organisation_data, number="Z")

    assert _errors(excinfo, "email")


def test_assigned_numbers_are_never_reused(distributor, site, customer_data):
    first = register(distributor, site, customer_data, number="X", email="a@example.com")
    services.card_inactivate(card=first, actor=distributor, reason="given_up")
    second = register(distributor, site, customer_data, number="X", email="b@example.com")

    assert second.number != first.number


# --- number rules --------------------------------------------------------------------


def test_duplicate_number_is_refused(distributor, site, customer_data):
    register(distributor, site, customer_data, number="A1234567")

    with pytest.raises(ValidationError) as excinfo:
        register(distributor, site, customer_data, number="a1234567")

    assert "already registered" in _errors(excinfo, "number")
    assert Holder.objects.count() == 1


@pytest.mark.parametrize("number", ["X123", "z0000001", "X 12"])
def test_physical_number_that_looks_assigned_is_refused(distributor, site, customer_data, number):
    with pytest.raises(ValidationError) as excinfo:
        register(distributor, site, customer_data, number=number)

    assert "assigned by the system" in _errors(excinfo, "number")


@pytest.mark.parametrize("number", ["", "AB1", "ÄÄKKÖNEN", "A" * 21])
def test_malformed_numbers_are_refused(distributor, site, customer_data, number):
    with pytest.raises(ValidationError) as excinfo:
        register(distributor, site, customer_data, number=number)

    assert _errors(excinfo, "number")


# --- holder rules --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("utc", "accepted"),
    [
        # New Year in Helsinki (UTC+2) comes two hours before UTC's: the year is Helsinki's.
        (datetime.datetime(2026, 12, 31, 21, 59, tzinfo=datetime.UTC), False),
        (datetime.datetime(2026, 12, 31, 22, 1, tzinfo=datetime.UTC), True),
    ],
)
def test_turning_16_this_year_counts_the_year_in_finnish_time(distributor, site, customer_data, utc, accepted):
    from dataclasses import replace

    with time_machine.travel(utc, tick=False):
        if accepted:
            assert register(distributor, site, replace(customer_data, birth_year=2011)).issued_on == datetime.date(
                2027, 1, 1
            )
        else:
            with pytest.raises(ValidationError):
                register(distributor, site, replace(customer_data, birth_year=2011))


@time_machine.travel(datetime.date(2026, 1, 2), tick=False)
def test_customer_turning_16_this_year_is_eligible(distributor, site, customer_data):
    from dataclasses import replace

    card = register(distributor, site, replace(customer_data, birth_year=2010))

    assert card.holder.birth_year == 2010


@time_machine.travel(datetime.date(2026, 12, 31), tick=False)
def test_customer_under_16_is_refused(distributor, site, customer_data):
    from dataclasses import replace

    with pytest.raises(ValidationError) as excinfo:
        register(distributor, site, replace(customer_data, birth_year=2011))

    assert "16" in _errors(excinfo, "birth_year")
    assert not Holder.objects.exists()


def test_customer_details_are_required(distributor, site, municipality):
    data = services.HolderData(kind="customer", postal_code="123", municipality=None)

    with pytest.raises(ValidationError) as excinfo:
        register(distributor, site, data)

    assert set(excinfo.value.message_dict) >= {"birth_year", "children_count", "postal_code", "municipality"}


def test_organisation_details_are_required(distributor, site, municipality):
    data = services.HolderData(kind="organisation", postal_code="33100", municipality=municipality)

    with pytest.raises(ValidationError) as excinfo:
        register(distributor, site, data, number="Z", email="x@example.com")

    assert set(excinfo.value.message_dict) >= {"organisation_name", "representative_role"}


def test_holder_has_at_most_one_active_card(distributor, site, customer_data):
    card = register(distributor, site, customer_data, number="A1234567")

    with pytest.raises(ValidationError) as excinfo:
        register(distributor, site, customer_data, number="B7654321", holder=card.holder)

    assert "already has an active card" in _errors(excinfo, "number")


def test_an_expired_card_still_counts_as_the_holders_active_card(distributor, site, customer_data):
    # A returning holder's card is renewed (or inactivated first), not doubled by a new one.
    with time_machine.travel(timezone.now() - datetime.timedelta(days=400)):
        card = register(distributor, site, customer_data, number="A1234567")

    with pytest.raises(ValidationError) as excinfo:
        register(distributor, site, customer_data, number="B7654321", holder=card.holder)

    assert "already has an active card" in _errors(excinfo, "number")
    assert Card.objects.get(pk=card.pk).is_expired()


def test_database_refuses_second_active_card_even_past_the_service(site, customer_data):
    card = factories.CardFactory(site=site)

    with pytest.raises(IntegrityError), transaction.atomic():
        factories.CardFactory(site=site, holder=card.holder)


def test_database_refuses_mobile_only_card_without_mobile(site):
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.CardFactory(site=site, number="X0000099", kind=Card.Kind.X, mobile_enabled=False)


def test_staff_email_cannot_be_used_for_omakaiku(distributor, site, customer_data):
    with pytest.raises(ValidationError) as excinfo:
        register(distributor, site, customer_data, email=distributor.email, mobile=True)

    assert "staff login" in _errors(excinfo, "email")


def test_only_own_site_can_issue(distributor, other_site, customer_data):
    with pytest.raises(PermissionDenied):
        register(distributor, other_site, customer_data)


def test_venue_staff_cannot_issue(venue_user, venue, customer_data):
    with pytest.raises(PermissionDenied):
        register(venue_user, venue, customer_data)


# --- procedure 5: existing physical card gets mobile ---------------------------------


def test_existing_physical_card_gets_mobile_with_omakaiku(distributor, site, customer_data):
    card = register(distributor, site, customer_data)

    with TestCase.captureOnCommitCallbacks(execute=True):
        services.card_omakaiku_activate(card=card, actor=distributor, email="maija@example.com", mobile=True)

    card.refresh_from_db()
    assert card.mobile_enabled is True
    assert card.holder.account.email == "maija@example.com"
    assert len(mail.outbox) == 1


def test_enabling_mobile_without_omakaiku_is_refused(distributor, site, customer_data):
    card = register(distributor, site, customer_data)

    with pytest.raises(ValidationError) as excinfo:
        services.card_omakaiku_activate(card=card, actor=distributor, mobile=True)

    assert _errors(excinfo, "email")
    card.refresh_from_db()
    assert card.mobile_enabled is False


def test_omakaiku_and_mobile_already_on_is_refused_as_nothing_to_change(client, distributor, site, customer_data):
    card = register(distributor, site, customer_data, email="maija@example.com", mobile=True)
    client.force_login(distributor)

    page = client.get(reverse("cards:omakaiku", args=[card.pk]), follow=True)
    saved = client.post(reverse("cards:omakaiku", args=[card.pk]), {"mobile": "on"}, follow=True)

    expected = "The holder has OmaKaiku and the card&#x27;s mobile card is enabled: there is nothing to change."
    assert page.redirect_chain == [(reverse("cards:detail", args=[card.pk]), 302)]
    assert expected in page.text
    assert expected in saved.text


def test_saving_the_mobile_card_page_unticked_says_what_to_do(client, distributor, site, customer_data):
    card = register(distributor, site, customer_data, email="maija@example.com")
    client.force_login(distributor)

    # What a browser posts with the box unticked: the hidden token and nothing else of the form.
    page = client.post(reverse("cards:omakaiku", args=[card.pk]), {"csrfmiddlewaretoken": "x"})

    assert page.status_code == 200
    assert page.context["form"].errors["mobile"] == ["Tick the box to enable the mobile card."]
    card.refresh_from_db()
    assert card.mobile_enabled is False


# --- procedure 6: switch to mobile-only ----------------------------------------------


def test_switch_in_two_steps_inactivate_then_new_x_card(distributor, site, customer_data):
    physical = register(distributor, site, customer_data, email="maija@example.com")

    services.card_inactivate(card=physical, actor=distributor, reason="given_up")
    x_card = register(distributor, site, customer_data, number="X", email="maija@example.com")

    assert x_card.holder == physical.holder
    physical.refresh_from_db()
    assert physical.status == Card.Status.INACTIVE


def test_switch_in_one_guided_action(distributor, site, customer_data):
    physical = register(distributor, site, customer_data)

    with TestCase.captureOnCommitCallbacks(execute=True):
        x_card = services.card_switch_to_mobile_only(card=physical, actor=distributor, email="maija@example.com")

    physical.refresh_from_db()
    assert physical.status == Card.Status.INACTIVE
    assert physical.inactivation_reason == Card.InactivationReason.GIVEN_UP
    assert x_card.kind == Card.Kind.X
    assert x_card.holder == physical.holder
    assert x_card.holder.account.email == "maija@example.com"
    assert len(mail.outbox) == 1


def test_failed_switch_changes_nothing(distributor, site, customer_data):
    physical = register(distributor, site, customer_data)

    with pytest.raises(ValidationError):
        services.card_switch_to_mobile_only(card=physical, actor=distributor, email=distributor.email)

    physical.refresh_from_db()
    assert physical.status == Card.Status.ACTIVE
    assert Card.objects.count() == 1


def test_switch_refused_for_mobile_only_card(distributor, site, customer_data):
    x_card = register(distributor, site, customer_data, number="X", email="a@example.com")

    with pytest.raises(ValidationError):
        services.card_switch_to_mobile_only(card=x_card, actor=distributor)


# --- procedure 7: renew, inactivate, correct, resend, history ------------------------


def test_renewal_counts_from_today_not_from_the_old_expiry(distributor, site, customer_data):
    with time_machine.travel(datetime.date(2024, 1, 15), tick=False):
        card = register(distributor, site, customer_data)
    assert card.valid_until == datetime.date(2025, 1, 14)

    with time_machine.travel(datetime.date(2026, 6, 1), tick=False):
        card = services.card_renew(card=card, actor=distributor)

    assert card.valid_from == datetime.date(2026, 6, 1)
    assert card.valid_until == datetime.date(2027, 5, 31)


def test_renewal_before_expiry_also_counts_from_today(distributor, site, customer_data):
    with time_machine.travel(datetime.date(2026, 1, 1), tick=False):
        card = register(distributor, site, customer_data)
    with time_machine.travel(datetime.date(2026, 11, 1), tick=False):
        card = services.card_renew(card=card, actor=distributor)

    assert card.valid_until == datetime.date(2027, 10, 31)


def test_renewing_twice_on_one_day_changes_nothing(distributor, site, customer_data):
    with time_machine.travel(datetime.date(2026, 3, 10), tick=False):
        card = register(distributor, site, customer_data)
        periods = card.periods.count()
        card = services.card_renew(card=card, actor=distributor)

    assert card.periods.count() == periods
    assert card.valid_until == datetime.date(2027, 3, 9)


@pytest.mark.parametrize("how", ["replaced", "reactivated"])
def test_a_card_replaced_or_reactivated_today_is_renewed_for_12_months_today(
    distributor, site, customer_data, admin_user, how
):
    # Both start a period today that runs only to the old last valid day (9.3.2027).
    with time_machine.travel(datetime.date(2026, 3, 10), tick=False):
        card = register(distributor, site, customer_data)
    if how == "reactivated":
        with time_machine.travel(datetime.date(2026, 12, 20), tick=False):
            services.card_inactivate(card=card, actor=distributor, reason="lost")
    with time_machine.travel(datetime.date(2027, 1, 5), tick=False):
        if how == "replaced":
            card = services.card_replace(card=card, actor=distributor, number="K7654321", reason="lost")
        else:
            card = services.card_reactivate(card=Card.objects.get(pk=card.pk), actor=admin_user)
        assert (card.valid_from, card.valid_until) == (datetime.date(2027, 1, 5), datetime.date(2027, 3, 9))

        card = services.card_renew(card=card, actor=distributor)

    assert (card.valid_from, card.valid_until) == (datetime.date(2027, 1, 5), datetime.date(2028, 1, 4))
    assert card.periods.order_by("-pk").first().cause == ValidityPeriod.Cause.RENEWED


def test_renewal_only_at_issuing_site(distributor, other_distributor, site, customer_data):
    card = register(distributor, site, customer_data)

    with pytest.raises(PermissionDenied):
        services.card_renew(card=card, actor=other_distributor)


def test_inactivation_needs_a_reason(distributor, site, customer_data):
    card = register(distributor, site, customer_data)

    with pytest.raises(ValidationError):
        services.card_inactivate(card=card, actor=distributor, reason="")
    # "No valid card for 24 months" is the dormant-account job's own reason, never a person's.
    with pytest.raises(ValidationError) as excinfo:
        services.card_inactivate(card=card, actor=distributor, reason=Card.InactivationReason.DORMANT)
    assert _errors(excinfo, "reason")
    with pytest.raises(ValidationError) as excinfo:
        services.card_inactivate(card=card, actor=distributor, reason="other", note=" ")
    assert _errors(excinfo, "note")

    card = services.card_inactivate(card=card, actor=distributor, reason="lost")
    assert card.status == Card.Status.INACTIVE
    assert card.history.first().history_change_reason == "Inactivated"
    assert card.inactivation_reason == "lost"


def test_inactive_card_cannot_be_edited_or_renewed(distributor, site, customer_data):
    card = register(distributor, site, customer_data)
    services.card_inactivate(card=card, actor=distributor, reason="lost")

    with pytest.raises(ValidationError):
        services.card_update(card=card, actor=distributor, holder_data=customer_data, reason="typo")
    with pytest.raises(ValidationError):
        services.card_renew(card=card, actor=distributor)
    with pytest.raises(ValidationError):
        services.card_omakaiku_activate(card=card, actor=distributor, email="a@example.com", mobile=True)


def test_only_an_admin_reactivates(distributor, admin_user, site, customer_data):
    card = register(distributor, site, customer_data)
    services.card_inactivate(card=card, actor=distributor, reason="lost")

    with pytest.raises(PermissionDenied):
        services.card_reactivate(card=card, actor=distributor, reason="mistake")
    card = services.card_reactivate(card=card, actor=admin_user, reason="mistake")

    assert card.status == Card.Status.ACTIVE
    assert card.inactivation_reason == ""


def test_a_typed_reason_in_the_history_follows_the_action_it_explains(
    distributor, admin_user, site, other_site, customer_data
):
    from cards.selectors import card_history

    card = register(distributor, site, customer_data)
    services.card_inactivate(card=card, actor=distributor, reason="lost")
    services.card_reactivate(card=card, actor=admin_user, reason="inactivated by mistake")

    reasons = [entry.reason for entry in card_history(card=card, viewer=admin_user)]
    assert reasons[:2] == ["Reactivated by an administrator: inactivated by mistake", "Inactivated"]
    # The card page starts at the move for the site it was moved to (the earlier site's time is its own).
    services.card_transfer(card=card, to_site=other_site, actor=admin_user, reason="holder moved")
    assert [entry.reason for entry in card_history(card=card, viewer=admin_user)] == [
        "Moved to another site: holder moved"
    ]
    # Without a typed reason, the action alone, as before.
    services.card_inactivate(card=card, actor=admin_user, reason="lost")
    services.card_reactivate(card=card, actor=admin_user)
    assert card_history(card=card, viewer=admin_user)[0].reason == "Reactivated by an administrator"


def test_a_card_reactivated_after_its_last_valid_day_comes_back_expired_and_renews(
    distributor, admin_user, site, customer_data
):
    with time_machine.travel(timezone.now() - datetime.timedelta(days=400)):
        card = register(distributor, site, customer_data)
    with time_machine.travel(timezone.now() - datetime.timedelta(days=300)):
        services.card_inactivate(card=card, actor=distributor, reason="given_up")

    card = services.card_reactivate(card=card, actor=admin_user, reason="inactivated by mistake")

    assert card.status == Card.Status.ACTIVE
    assert card.is_expired()
    assert not card.was_valid_on(timezone.localdate() - datetime.timedelta(days=200))  # inactive then
    renewed = services.card_renew(card=card, actor=distributor)
    assert renewed.is_valid()


def test_reactivation_refused_while_holder_has_another_active_card(distributor, admin_user, site, customer_data):
    card = register(distributor, site, customer_data)
    services.card_inactivate(card=card, actor=distributor, reason="lost")
    register(distributor, site, customer_data, number="B7654321", holder=card.holder)

    with pytest.raises(ValidationError):
        services.card_reactivate(card=card, actor=admin_user, reason="found it")


def test_correcting_a_typo_is_recorded_with_the_reason(distributor, site, customer_data):
    from dataclasses import replace

    card = register(distributor, site, customer_data, number="A1234567")

    services.card_update(
        card=card,
        actor=distributor,
        holder_data=replace(customer_data, postal_code="33200", children_count=3),
        number="A1234568",
        reason="typo in postal code",
    )

    card.refresh_from_db()
    assert card.number == "A1234568"
    assert card.holder.postal_code == "33200"
    assert card.holder.children_count == 3
    assert card.holder.history.first().history_change_reason == "typo in postal code"


def test_saving_the_same_details_writes_no_history(distributor, distributor_client, site, customer_data):
    from dataclasses import replace

    card = register(distributor, site, customer_data, number="A1234567")
    records = card.holder.history.count(), card.history.count()

    assert services.card_update(card=card, actor=distributor, holder_data=customer_data, reason="no change") is False
    assert (card.holder.history.count(), card.history.count()) == records
    # A new number alone is the card's change: no empty line for the holder.
    assert services.card_update(
        card=card, actor=distributor, holder_data=customer_data, number="A7654321", reason="typo in number"
    )
    assert (card.holder.history.count(), card.history.count()) == (records[0], records[1] + 1)
    assert services.card_update(
        card=card, actor=distributor, holder_data=replace(customer_data, children_count=3), reason="child born"
    )
    assert card.holder.history.count() == records[0] + 1

    # The person is told that nothing changed, not that it was saved.
    data = {
        "kind": "customer", "birth_year": 1985, "children_count": 3, "postal_code": "33100",
        "municipality": customer_data.municipality.pk, "number": "A7654321", "reason": "checked",
    }  # fmt: skip
    response = distributor_client.post(reverse("cards:update", args=[card.pk]), data, follow=True)
    assert "Nothing was changed" in response.text
    assert "The details were saved." not in response.text
    assert card.holder.history.count() == records[0] + 1


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        # The registration's advice ("type only X or Z") would lead into the next refusal.
        (
            "X0000001",
            "Numbers of the form X1234 or Z1234 are assigned by the system. Type the number printed on the card.",
        ),
        # Found in review: the refusal said no more; the way to a mobile-only card is named.
        (
            "X",
            "A physical card's number cannot be changed to X or Z. A mobile-only card requires giving this card up: "
            "inactivate it and register a new card with X (a customer) or Z (an organisation). For a customer, "
            "Switch to mobile-only on the card's page does both.",
        ),
    ],
)
def test_a_correction_to_an_assigned_number_says_to_type_the_printed_one(
    distributor, site, customer_data, typed, message
):
    card = register(distributor, site, customer_data, number="A1234567")

    with pytest.raises(ValidationError) as excinfo:
        services.card_update(card=card, actor=distributor, holder_data=customer_data, number=typed, reason="typo")

    assert excinfo.value.message_dict == {"number": [message]}
    card.refresh_from_db()
    assert card.number == "A1234567"


def test_correction_needs_a_reason(distributor, site, customer_data):
    card = register(distributor, site, customer_data)

    with pytest.raises(ValidationError) as excinfo:
        services.card_update(card=card, actor=distributor, holder_data=customer_data, reason=" ")

    assert _errors(excinfo, "reason")


def test_resend_invitation_invalidates_the_old_link(distributor, site, customer_data):
    from accounts.tokens import invitation_token_generator

    card = register(distributor, site, customer_data, email="maija@example.com", mobile=True)
    user = card.holder.account
    old_token = invitation_token_generator.make_token(user)

    with time_machine.travel(datetime.timedelta(minutes=5)), TestCase.captureOnCommitCallbacks(execute=True):
        services.card_omakaiku_resend(card=card, actor=distributor)

    user.refresh_from_db()
    assert len(mail.outbox) == 2
    assert not invitation_token_generator.check_token(user, old_token)
    assert invitation_token_generator.check_token(user, invitation_token_generator.make_token(user))


def test_history_shows_every_change_with_who_and_why(distributor, site, customer_data):
    from dataclasses import replace

    from cards.selectors import card_history

    card = register(distributor, site, customer_data)
    services.card_update(
        card=card, actor=distributor, holder_data=replace(customer_data, children_count=3), reason="child born"
    )
    with time_machine.travel(timezone.now() + datetime.timedelta(days=30)):
        services.card_renew(card=card, actor=distributor)
        services.card_inactivate(card=card, actor=distributor, reason="lost")

    entries = card_history(card=card, viewer=distributor)
    reasons = [entry.reason for entry in entries]
    assert reasons[0] == "Inactivated"
    assert "child born" in reasons
    assert "Renewed" in reasons
    child_entry = next(entry for entry in entries if entry.reason == "child born")
    assert ("Children under 18", "2", "3") in child_entry.changes
    assert all(entry.who == distributor.email for entry in entries)


def test_an_inactive_card_at_a_closed_site_is_not_reactivated_and_the_advice_can_be_followed(
    distributor, site, customer_data, admin_user, other_site
):
    card = register(distributor, site, customer_data)
    services.card_inactivate(card=card, actor=distributor, reason="lost")
    site.is_active = False
    site.save()
    card = Card.objects.get(pk=card.pk)

    with pytest.raises(ValidationError) as refused:
        services.card_reactivate(card=card, actor=admin_user)
    # Moving it first is no way out: an inactive card is not moved.
    with pytest.raises(ValidationError):
        services.card_transfer(card=card, actor=admin_user, to_site=other_site)

    assert refused.value.error_list[0].code == "site_closed"
    assert "Register a new card for the holder" in refused.value.messages[0]
    assert "Move the card" not in refused.value.messages[0]
