"""A lost or broken card replaced in one step: the old card inactivated, the new printed number
registered for the same holder, validity and OmaKaiku carried over, statistics unchanged."""

import dataclasses
import datetime
import re
import threading
from html import unescape
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse

from cards import invariants, services
from cards.models import Card, ValidityPeriod
from stats.filters import StatsFilter
from stats.selectors import stats_age_gender, stats_annual, stats_validity
from stats.tables import SUPPRESSED
from tests import factories
from tests.concurrency import thread_connections_close

pytestmark = pytest.mark.django_db

REGISTERED_ON = datetime.date(2026, 3, 10)
REPLACED_ON = datetime.date(2026, 5, 20)


def codes(error: ValidationError) -> set[str]:
    if hasattr(error, "error_dict"):
        return {e.code for errors in error.error_dict.values() for e in errors}
    return {e.code for e in error.error_list}


def register(actor, site, data, number="A1234567", **kwargs):
    return services.card_register(site=site, actor=actor, number=number, holder_data=data, **kwargs)


def replace_url(card):
    return reverse("cards:replace", args=[card.pk])


def posts_together(requests) -> list:
    """POST each (client, url, data) from its own thread, released together by a barrier
    (``tests.concurrency.post_together`` posts to one address; each card has its own)."""
    barrier = threading.Barrier(len(requests))
    responses = [None] * len(requests)

    def worker(index, client, url, data):
        barrier.wait()
        try:
            responses[index] = client.post(url, data)
        finally:
            thread_connections_close()

    threads = [threading.Thread(target=worker, args=(i, *request)) for i, request in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses


@pytest.fixture
def mobile_card(distributor, site, customer_data, committed):
    """A customer's physical card with OmaKaiku and the mobile card, registered on 10.3.2026."""
    with time_machine.travel(REGISTERED_ON, tick=False), committed():
        return register(distributor, site, customer_data, email="holder@example.com", mobile=True)


# --- the service ---------------------------------------------------------------------------------


def test_the_holder_keeps_details_omakaiku_and_mobile_card(distributor, mobile_card, committed):
    holder = mobile_card.holder
    account_id = holder.account_id
    details = services.HolderData.from_holder(holder)
    mail.outbox.clear()

    with time_machine.travel(REPLACED_ON, tick=False), committed():
        new = services.card_replace(card=mobile_card, actor=distributor, number=" b765-4321 ", reason="lost")

    new.refresh_from_db()
    holder.refresh_from_db()
    assert new.number == "B7654321"
    assert new.holder_id == holder.pk
    assert new.site_id == mobile_card.site_id
    assert new.kind == Card.Kind.PHYSICAL
    assert new.mobile_enabled
    assert new.issued_on == REPLACED_ON
    assert holder.account_id == account_id
    assert services.HolderData.from_holder(holder) == details
    # No new invitation: the holder's OmaKaiku simply shows the new card.
    assert mail.outbox == []


def test_the_old_card_is_inactive_with_its_reason_and_the_new_continues_its_validity(distributor, mobile_card):
    old_until = mobile_card.valid_until

    with time_machine.travel(REPLACED_ON, tick=False):
        new = services.card_replace(card=mobile_card, actor=distributor, number="B7654321", reason="broken")

    mobile_card.refresh_from_db()
    assert mobile_card.status == Card.Status.INACTIVE
    assert mobile_card.inactivation_reason == Card.InactivationReason.BROKEN
    assert mobile_card.inactivated_on == REPLACED_ON
    assert mobile_card.periods.get().ended_on == REPLACED_ON

    new.refresh_from_db()
    assert new.status == Card.Status.ACTIVE
    assert (new.valid_from, new.valid_until) == (REPLACED_ON, old_until)
    period = new.periods.get()
    assert period.cause == ValidityPeriod.Cause.REPLACED
    assert (period.valid_from, period.valid_until) == (REPLACED_ON, old_until)
    assert period.created_by == distributor
    # On the day of the replacement only the new card is valid: one card for one holder.
    assert not mobile_card.was_valid_on(REPLACED_ON)
    assert new.was_valid_on(REPLACED_ON)


def test_history_lines_on_both_cards(distributor, mobile_card):
    with time_machine.travel(REPLACED_ON, tick=False):
        new = services.card_replace(card=mobile_card, actor=distributor, number="B7654321", reason="lost")

    old_line = mobile_card.history.latest("history_date")
    assert old_line.history_change_reason == services.REASON_REPLACED
    assert old_line.history_user == distributor
    new_line = new.history.get()
    assert new_line.history_change_reason == services.REASON_REPLACEMENT
    assert new_line.history_user == distributor


def test_only_lost_or_broken_is_a_reason(distributor, mobile_card):
    for reason in ["given_up", "not_eligible", "other", "dormant", ""]:
        with pytest.raises(ValidationError) as caught:
            services.card_replace(card=mobile_card, actor=distributor, number="B7654321", reason=reason)
        assert codes(caught.value) == {"replace_reason_required"}
    mobile_card.refresh_from_db()
    assert mobile_card.status == Card.Status.ACTIVE


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("", "number_required"),
        ("X", "replace_needs_printed_number"),
        ("Z", "replace_needs_printed_number"),
        ("X1234567", "number_reserved"),
        ("AB", "number_format"),
        ("a123-4567", "number_same"),
    ],
)
def test_the_new_number_is_checked_as_a_registration_checks_it(distributor, mobile_card, number, code):
    with pytest.raises(ValidationError) as caught:
        services.card_replace(card=mobile_card, actor=distributor, number=number, reason="lost")
    assert codes(caught.value) == {code}


def test_an_assigned_number_is_refused_with_advice_that_works(distributor, mobile_card):
    # Found in review: the registration's advice ("type only X or Z") led into the next refusal.
    with pytest.raises(ValidationError) as caught:
        services.card_replace(card=mobile_card, actor=distributor, number="X0000001", reason="lost")
    assert caught.value.message_dict == {
        "number": [
            "Numbers of the form X1234 or Z1234 are assigned by the system. Type the number printed on the card."
        ]
    }
    assert Card.objects.count() == 1


def test_an_x_card_has_no_printed_card_to_replace(distributor, site, customer_data):
    card = register(distributor, site, customer_data, number="X", email="holder@example.com")
    with pytest.raises(ValidationError) as caught:
        services.card_replace(card=card, actor=distributor, number="B7654321", reason="lost")
    assert codes(caught.value) == {"replace_not_physical"}
    card.refresh_from_db()
    assert card.status == Card.Status.ACTIVE


def test_an_expired_or_inactive_card_is_refused(distributor, site):
    expired = factories.CardFactory(site=site, expired=True)
    inactive = factories.CardFactory(site=site, inactive=True)
    for card, code in [(expired, "card_expired"), (inactive, "card_inactive")]:
        with pytest.raises(ValidationError) as caught:
            services.card_replace(card=card, actor=distributor, number="B7654321", reason="lost")
        assert codes(caught.value) == {code}
    assert not Card.objects.filter(number="B7654321").exists()


def test_another_sites_staff_cannot_replace(other_distributor, mobile_card):
    with pytest.raises(PermissionDenied):
        services.card_replace(card=mobile_card, actor=other_distributor, number="B7654321", reason="lost")
    mobile_card.refresh_from_db()
    assert mobile_card.status == Card.Status.ACTIVE
    assert not Card.objects.filter(number="B7654321").exists()


def test_an_admin_cannot_replace(admin_user, mobile_card):
    # The new card is printed and handed over at the card's site: the admin has no replace path.
    with pytest.raises(PermissionDenied):
        services.card_replace(card=mobile_card, actor=admin_user, number="B7654321", reason="lost")
    mobile_card.refresh_from_db()
    assert mobile_card.status == Card.Status.ACTIVE
    assert not Card.objects.filter(number="B7654321").exists()


def test_a_taken_number_leaves_the_old_card_active(distributor, site, mobile_card):
    factories.CardFactory(site=site, number="B7654321")
    with pytest.raises(ValidationError) as caught:
        services.card_replace(card=mobile_card, actor=distributor, number="B7654321", reason="lost")
    assert codes(caught.value) == {"number_taken"}
    mobile_card.refresh_from_db()
    assert mobile_card.status == Card.Status.ACTIVE
    assert mobile_card.inactivation_reason == ""


def test_a_number_taken_in_the_meantime_rolls_the_inactivation_back(distributor, site, mobile_card):
    # Another distributor registers the number after the check, before the new card is saved:
    # the database refuses the second card, and the inactivation goes back with it.
    real_inactivate = services._inactivate

    def inactivate_then_a_rival_registers(card, **kwargs):
        real_inactivate(card, **kwargs)
        factories.CardFactory(site=site, number="B7654321")

    with (
        mock.patch.object(services, "_inactivate", inactivate_then_a_rival_registers),
        pytest.raises(ValidationError) as caught,
    ):
        services.card_replace(card=mobile_card, actor=distributor, number="B7654321", reason="lost")

    assert codes(caught.value) == {"number_taken"}
    mobile_card.refresh_from_db()
    assert mobile_card.status == Card.Status.ACTIVE
    assert mobile_card.periods.get().ended_on is None


def test_a_broken_invariant_rolls_everything_back(distributor, mobile_card):
    refused = ValidationError("breach", code="one_active_card")
    with mock.patch.object(invariants, "holder_invariants_check", side_effect=refused), pytest.raises(ValidationError):
        services.card_replace(card=mobile_card, actor=distributor, number="B7654321", reason="lost")
    mobile_card.refresh_from_db()
    assert mobile_card.status == Card.Status.ACTIVE
    assert not Card.objects.filter(number="B7654321").exists()
    assert not ValidityPeriod.objects.filter(cause=ValidityPeriod.Cause.REPLACED).exists()


def test_the_invariant_check_runs(distributor, mobile_card):
    real = invariants.holder_invariants_check
    with mock.patch.object(invariants, "holder_invariants_check", side_effect=real) as spy:
        services.card_replace(card=mobile_card, actor=distributor, number="B7654321", reason="lost")
    spy.assert_called_once_with(holder=mobile_card.holder)


# --- statistics ------------------------------------------------------------------------------------


def test_statistics_count_no_new_card_or_holder(distributor, site, municipality):
    """Six holders registered in March; one replaces a lost card in May. The register still has
    six registered cards, six holders and six valid cards; the replacement is its own column."""
    period = StatsFilter(start=datetime.date(2026, 1, 1), end=datetime.date(2026, 6, 30))
    with time_machine.travel(REGISTERED_ON, tick=False):
        cards = [
            register(
                distributor,
                site,
                services.HolderData(
                    kind="customer",
                    birth_year=1960 + index,
                    children_count=0,
                    postal_code="33100",
                    municipality=municipality,
                ),
                number=f"A100000{index}",
            )
            for index in range(6)
        ]

    def figures():
        with time_machine.travel(datetime.date(2026, 6, 30), tick=False):
            annual = stats_annual(scope=None, filters=period)
            validity = stats_validity(scope=None, filters=period)
            holders = stats_age_gender(scope=None, filters=period)
        may = next(row for row in validity.rows if row["label"] == "2026-05")
        return annual.total["cards_registered"], holders.total["total"], may["valid"], may["registered"]

    before = figures()
    assert before == (6, 6, 6, 0)

    with time_machine.travel(REPLACED_ON, tick=False):
        services.card_replace(card=cards[0], actor=distributor, number="B7654321", reason="lost")

    assert figures() == before
    with time_machine.travel(datetime.date(2026, 6, 30), tick=False):
        validity = stats_validity(scope=None, filters=period)
    may = next(row for row in validity.rows if row["label"] == "2026-05")
    assert may["replaced"] == SUPPRESSED  # one replacement: counted, shown as "<5"
    assert [column.label for column in validity.columns][-1] == "Replacement cards"


# --- the pages ---------------------------------------------------------------------------------------


def test_the_card_page_offers_replace_only_where_it_works(distributor_client, distributor, site, customer_data):
    physical = register(distributor, site, customer_data)
    x_card = register(
        distributor, site, dataclasses.replace(customer_data, birth_year=1990), number="X", email="x@example.com"
    )
    expired = factories.CardFactory(site=site, expired=True)

    page = distributor_client.get(reverse("cards:detail", args=[physical.pk]))
    assert replace_url(physical) in page.text
    reasons = {
        x_card: "A mobile-only card has no printed card to replace.",
        expired: "This card has expired. Renew it first, then replace it.",
    }
    for card, reason in reasons.items():
        page = distributor_client.get(reverse("cards:detail", args=[card.pk]))
        assert replace_url(card) not in page.text
        # And the address itself sends back to the card page with the service's reason.
        response = distributor_client.get(replace_url(card), follow=True)
        assert response.redirect_chain[-1][0] == reverse("cards:detail", args=[card.pk])
        assert reason in response.text


def test_replacing_from_the_page_opens_the_new_card(distributor_client, mobile_card):
    page = distributor_client.get(replace_url(mobile_card))
    assert page.status_code == 200
    assert 'name="number"' in page.text

    response = distributor_client.post(replace_url(mobile_card), {"number": "b765 4321", "reason": "lost"})

    new = Card.objects.get(number="B7654321")
    assert response.status_code == 302
    assert response.url == reverse("cards:detail", args=[new.pk])
    new_page = distributor_client.get(response.url)
    assert "Card A1234567 was inactivated and replaced by card B7654321." in new_page.text
    assert "Replacement for a lost or broken card" in new_page.text
    # Each card page leads to the other.
    assert reverse("cards:detail", args=[mobile_card.pk]) in new_page.text
    old_page = distributor_client.get(reverse("cards:detail", args=[mobile_card.pk]))
    assert "Replaced by a new card" in old_page.text
    assert reverse("cards:detail", args=[new.pk]) in old_page.text


def test_a_taken_number_is_a_form_error_that_keeps_what_was_typed(distributor_client, site, mobile_card):
    factories.CardFactory(site=site, number="B7654321")

    response = distributor_client.post(replace_url(mobile_card), {"number": "b765 4321", "reason": "broken"})

    assert response.status_code == 200
    assert "Card number B7654321 is already registered." in response.text
    assert 'value="b765 4321"' in response.text
    assert re.search(r'<input[^>]*value="broken"[^>]*checked', response.text)
    mobile_card.refresh_from_db()
    assert mobile_card.status == Card.Status.ACTIVE


def test_the_form_asks_for_a_reason(distributor_client, mobile_card):
    response = distributor_client.post(replace_url(mobile_card), {"number": "B7654321"})
    assert response.status_code == 200
    assert not Card.objects.filter(number="B7654321").exists()


def test_another_sites_staff_get_not_found_and_nothing_changes(client, other_distributor, mobile_card):
    client.force_login(other_distributor)
    assert client.get(replace_url(mobile_card)).status_code == 404
    assert client.post(replace_url(mobile_card), {"number": "B7654321", "reason": "lost"}).status_code == 404
    mobile_card.refresh_from_db()
    assert mobile_card.status == Card.Status.ACTIVE
    assert not Card.objects.filter(number="B7654321").exists()


# --- PostgreSQL: two replacements with the same new number at once -------------------------------------


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises all writers; the race needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_simultaneous_replacements_with_the_same_number_give_one_card_and_form_errors():
    site = factories.SiteFactory()
    cards, clients = [], []
    for index in range(3):
        user = factories.MembershipFactory(site=site, user__email=f"jakaja{index}@example.fi").user
        client = Client()
        client.force_login(user)
        clients.append(client)
        cards.append(factories.CardFactory(site=site, number=f"A100000{index}"))

    responses = posts_together(
        [
            (client, replace_url(card), {"number": "B7654321", "reason": "lost"})
            for card, client in zip(cards, clients, strict=True)
        ]
    )

    assert sorted(response.status_code for response in responses) == [200, 200, 302]
    new = Card.objects.get(number="B7654321")
    for card, response in zip(cards, responses, strict=True):
        card.refresh_from_db()
        if response.status_code == 302:
            assert card.status == Card.Status.INACTIVE
            assert new.holder_id == card.holder_id
        else:
            assert "Card number B7654321 is already registered." in response.text
            assert card.status == Card.Status.ACTIVE


def test_a_replacement_sent_again_after_it_was_done_leads_to_the_new_card(distributor_client, mobile_card, committed):
    data = {"number": "B7654321", "reason": "lost"}
    with committed():
        distributor_client.post(replace_url(mobile_card), data)

    again = distributor_client.post(replace_url(mobile_card), data, follow=True)

    new = Card.objects.get(number="B7654321")
    assert again.redirect_chain == [(reverse("cards:detail", args=[new.pk]), 302)]
    assert "Card A1234567 is no longer in use. The holder's card is now B7654321." in unescape(again.text)
    assert Card.objects.count() == 2
