"""One authority over holders and cards: the access policy, the invariant check, validity as
history, privacy between sites, and the admin as no second write path."""

import ast
import datetime
import html
import re
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from unittest import mock

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from cards import invariants, services
from cards.models import Card, ValidityPeriod
from tests import factories

IMPORT_HEADER = "card_number,date,category,child_tickets,assistant_tickets,clients_under_16\n"

pytestmark = pytest.mark.django_db


def codes(error: ValidationError) -> set[str]:
    """Every code in a (possibly field-keyed) ValidationError."""
    if hasattr(error, "error_dict"):
        return {e.code for errors in error.error_dict.values() for e in errors}
    return {e.code for e in error.error_list}


def register(actor, site, data, number="A1234567", **kwargs):
    return services.card_register(site=site, actor=actor, number=number, holder_data=data, **kwargs)


@pytest.fixture
def moved_holder(distributor, other_distributor, site, other_site, customer_data, committed):
    """A holder who got a card at site A, gave it up, and now has a card at site B, where B
    changed their postal code and OmaKaiku email."""
    with committed():
        old = register(distributor, site, customer_data, email="holder@example.com", mobile=True)
        services.card_inactivate(card=old, actor=distributor, reason="given_up")
        new = services.card_register(
            site=other_site,
            actor=other_distributor,
            number="B7654321",
            holder=None,
            holder_data=customer_data,
            email="holder@example.com",
            mobile=True,
        )
        services.card_update(
            card=new,
            actor=other_distributor,
            holder_data=replace(customer_data, postal_code="99999"),
            reason="moved house",
        )
        services.card_omakaiku_email_change(card=new, actor=other_distributor, email="new-address@example.com")
    old.refresh_from_db()
    new.refresh_from_db()
    return old, new


# --- privacy between sites ---------------------------------------------------------------


def test_an_email_typed_at_another_site_reveals_no_number_site_or_type(
    distributor, other_distributor, site, other_site, customer_data, organisation_data
):
    register(distributor, site, customer_data, email="holder@example.com")

    with pytest.raises(ValidationError) as caught:
        services.card_register(
            site=other_site,
            actor=other_distributor,
            number="B7654321",
            holder_data=customer_data,
            email="holder@example.com",
        )
    assert codes(caught.value) == {"active_card_elsewhere"}
    # Next to the field that found the person: the email, not the new card's number.
    assert list(caught.value.error_dict) == ["email"]
    text = " ".join(caught.value.messages)
    for secret in ["A1234567", site.name, site.organisation.name, "customer", "physical"]:
        assert secret not in text
    assert "given up there first" in text

    # An X card for someone with a physical card elsewhere: the same, with no number.
    with pytest.raises(ValidationError) as caught:
        services.card_register(
            site=other_site, actor=other_distributor, number="X", holder_data=customer_data, email="holder@example.com"
        )
    assert codes(caught.value) == {"active_card_elsewhere"}
    assert "A1234567" not in " ".join(caught.value.messages)


def test_an_email_of_a_holder_of_the_other_type_does_not_say_the_type(
    distributor, other_distributor, site, other_site, customer_data, organisation_data
):
    card = register(distributor, site, customer_data, email="holder@example.com")
    services.card_inactivate(card=card, actor=distributor, reason="given_up")

    with pytest.raises(ValidationError) as caught:
        services.card_register(
            site=other_site,
            actor=other_distributor,
            number="Z",
            holder_data=organisation_data,
            email="holder@example.com",
        )
    assert codes(caught.value) == {"email_in_use"}
    assert "type" not in " ".join(caught.value.messages)


def test_the_own_sites_refusal_names_the_own_card(distributor, site, customer_data):
    register(distributor, site, customer_data, email="holder@example.com")
    with pytest.raises(ValidationError) as caught:
        register(distributor, site, customer_data, number="X", email="holder@example.com")
    assert codes(caught.value) == {"physical_card_active"}
    assert list(caught.value.error_dict) == ["number"]  # the X typed there is what to change
    assert "A1234567" in " ".join(caught.value.messages)


def test_the_old_sites_card_page_shows_the_holder_as_it_was(client, distributor, other_distributor, moved_holder, site):
    old, new = moved_holder
    client.force_login(distributor)
    page = client.get(reverse("cards:detail", args=[old.pk])).text

    assert "33100" in page
    for later in ["99999", "moved house", "new-address@example.com", "holder@example.com", other_distributor.email]:
        assert later not in page, later
    assert new.number not in page


def test_the_old_sites_card_list_shows_the_holder_as_it_was(client, distributor, other_distributor, moved_holder, site):
    old, new = moved_holder
    before = new.holder.municipality.name
    elsewhere = factories.MunicipalityFactory(name="Nokiankylä")
    services.card_update(
        card=new,
        actor=other_distributor,
        holder_data=replace(services.HolderData.from_holder(new.holder), municipality=elsewhere, birth_year=1986),
        reason="moved to another town",
    )
    client.force_login(distributor)
    # The site's own active card beside it: its holder is shown as they are now.
    own = register(
        distributor,
        site,
        replace(services.HolderData.from_holder(new.holder), municipality=elsewhere, birth_year=1970),
        number="A7777777",
    )

    body = client.get(reverse("cards:list")).text.split("<tbody", 1)[1].split("</tbody>", 1)[0]
    texts = [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in body.split("<tr>")[1:]]
    rows = {text.split(" ", 1)[0]: text for text in texts}

    assert rows.keys() == {old.number, own.number}
    assert before in rows[old.number]
    assert "1985" in rows[old.number]
    assert "Nokiankylä" not in rows[old.number]
    assert "1986" not in rows[old.number]
    assert "Nokiankylä" in rows[own.number]
    assert "1970" in rows[own.number]


def test_the_new_site_sees_its_own_changes_and_no_email_of_the_old_sites_staff(
    client, distributor, other_distributor, moved_holder
):
    _old, new = moved_holder
    client.force_login(other_distributor)
    page = client.get(reverse("cards:detail", args=[new.pk])).text
    assert "99999" in page
    assert "moved house" in page
    assert "new-address@example.com" in page
    assert distributor.email not in page


def test_an_old_cards_action_pages_lead_back_to_the_card_with_the_refusal(client, distributor, moved_holder):
    # Found in review: the "close OmaKaiku" page of an inactive card offered the confirmation
    # ("The card itself stays valid"), and only refused it after it was ticked and sent.
    old, _new = moved_holder
    client.force_login(distributor)

    for name in ["omakaiku_close", "omakaiku_email", "omakaiku", "switch", "renew", "inactivate", "update"]:
        response = client.get(reverse(f"cards:{name}", args=[old.pk]), follow=True)
        assert response.redirect_chain == [(reverse("cards:detail", args=[old.pk]), 302)], name
        assert re.search(r"This card is (inactive and can no longer be changed|already inactive)\.", response.text), (
            name
        )


def test_a_site_with_an_old_card_cannot_act_on_the_holder(client, distributor, moved_holder):
    old, new = moved_holder
    client.force_login(distributor)

    for name in ["omakaiku_close", "omakaiku_email", "omakaiku", "switch", "renew", "inactivate", "update"]:
        # Refused: a 404, or the form again with the refusal; never the action.
        response = client.post(reverse(f"cards:{name}", args=[old.pk]), {"confirm": "on", "email": "x@example.com"})
        assert response.status_code in (200, 302, 403, 404), name
    response = client.post(reverse("cards:resend", args=[old.pk]))
    assert response.status_code in (302, 403, 404)

    new.refresh_from_db()
    assert new.holder.account is not None
    assert new.holder.account.email == "new-address@example.com"
    assert new.mobile_enabled is True
    assert new.status == Card.Status.ACTIVE

    with pytest.raises((PermissionDenied, ValidationError)):
        services.card_omakaiku_close(card=old, actor=distributor)
    assert User.objects.filter(email="new-address@example.com").exists()


def test_a_new_card_from_an_old_card_shows_nothing_a_later_site_changed(
    client, distributor, other_distributor, moved_holder
):
    old, new = moved_holder
    client.force_login(distributor)
    url = reverse("cards:register") + f"?holder_from={old.pk}"

    # While the later site manages the holder, its card is the way: the old card's page says so.
    response = client.get(url)

    assert response.status_code == 302
    assert response.url == reverse("cards:detail", args=[old.pk])

    # Given up there too, nobody manages the holder: the old site may start a new card, from the
    # holder as it saw them and without the address the later site set.
    services.card_inactivate(card=new, actor=other_distributor, reason="given_up")
    form = client.get(url).context["form"]

    assert form["postal_code"].value() == "33100"
    assert not form["email"].value()
    assert not form["activate_omakaiku"].value()
    assert "new-address@example.com" not in client.get(url).text
    assert "99999" not in client.get(url).text


def test_a_reactivated_cards_history_shows_nothing_a_site_wrote_while_it_was_inactive(
    client, distributor, other_distributor, moved_holder, admin_user
):
    old, new = moved_holder
    services.card_inactivate(card=new, actor=other_distributor, reason="given_up")
    services.card_reactivate(card=old, actor=admin_user, reason="inactivated by mistake")
    services.card_update(
        card=old,
        actor=distributor,
        holder_data=replace(services.HolderData.from_holder(old.holder), postal_code="33200"),
        reason="our own change",
    )
    client.force_login(distributor)

    page = client.get(reverse("cards:detail", args=[old.pk])).text

    assert "moved house" not in page
    assert "Another site&#x27;s staff" not in page
    # The site's own change after the reactivation reads from the holder as it was then: the
    # other site's postal code, not a change of the other site's put down to this one.
    assert re.search(r"Postal code:\s*99999\s*→\s*33200", re.sub(r"<[^>]+>", " ", page))
    assert "our own change" in page


def test_a_new_card_from_the_holders_latest_card_keeps_their_omakaiku(client, distributor, site, customer_data):
    card = register(distributor, site, customer_data, email="holder@example.com")
    services.card_inactivate(card=card, actor=distributor, reason="given_up")
    client.force_login(distributor)

    form = client.get(reverse("cards:register"), {"holder_from": card.pk}).context["form"]

    assert (form["email"].value(), form["activate_omakaiku"].value()) == ("holder@example.com", True)


def test_a_new_card_does_not_start_from_an_address_another_site_set_after_the_card_ended(
    client, admin_user, distributor, other_distributor, site, other_site, customer_data
):
    # Found in review: an older card of another site, reactivated by an admin after this card
    # ended, was not counted as "a later site": its new address was offered here.
    older = register(other_distributor, other_site, customer_data, number="B7654321", email="holder@example.com")
    services.card_inactivate(card=older, actor=other_distributor, reason="given_up")
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=1)):
        mine = register(distributor, site, customer_data, email="holder@example.com")
        assert mine.holder_id == older.holder_id  # found by the OmaKaiku address
        services.card_inactivate(card=mine, actor=distributor, reason="given_up")
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=2)):
        services.card_reactivate(card=Card.objects.get(pk=older.pk), actor=admin_user, reason="by mistake")
        services.card_omakaiku_email_change(
            card=Card.objects.get(pk=older.pk), actor=other_distributor, email="secret-new-address@example.com"
        )
        services.card_inactivate(card=Card.objects.get(pk=older.pk), actor=other_distributor, reason="given_up")
    client.force_login(distributor)

    page = client.get(reverse("cards:register"), {"holder_from": mine.pk})

    assert page.context["form"]["email"].value() in ("", None)
    assert "secret-new-address" not in page.text


def test_an_inactive_cards_page_says_whether_anyone_manages_the_holders_omakaiku(
    client, distributor, other_distributor, moved_holder
):
    old, new = moved_holder
    client.force_login(distributor)
    managed_elsewhere = client.get(reverse("cards:detail", args=[old.pk])).text
    services.card_inactivate(card=new, actor=other_distributor, reason="given_up")
    managed_by_nobody = client.get(reverse("cards:detail", args=[old.pk])).text

    assert "the site of the holder's active card" in managed_elsewhere
    assert "data-no-active-card" not in managed_elsewhere
    assert "data-no-active-card" in managed_by_nobody
    assert "the site of the holder's active card" not in managed_by_nobody


def test_a_new_card_is_not_started_from_a_holder_with_an_active_card(client, distributor, site, customer_data):
    card = register(distributor, site, customer_data)
    client.force_login(distributor)

    response = client.get(reverse("cards:register"), {"holder_from": card.pk})

    assert response.status_code == 302
    assert response.url == reverse("cards:detail", args=[card.pk])


def test_the_card_check_tells_an_own_card_from_another_sites(client, distributor, other_distributor, site, other_site):
    own = factories.CardFactory(site=site, number="OWN00001")
    factories.CardFactory(site=other_site, number="OTHER0001")
    client.force_login(distributor)

    page = client.get(reverse("cards:check"), {"number": "own00001"}).text
    assert "This card was issued by another site" not in page
    assert reverse("cards:detail", args=[own.pk]) in page

    page = client.get(reverse("cards:check"), {"number": "OTHER0001"}).text
    assert "This card was issued by another site" in page


# --- the email change leaves no old address behind ---------------------------------------


def test_an_email_change_erases_the_old_address_from_history(distributor, site, customer_data, committed):
    with committed():
        card = register(distributor, site, customer_data, email="old@example.com")
        services.card_omakaiku_email_change(card=card, actor=distributor, email="new@example.com")
    user = User.objects.get(email="new@example.com")
    emails = set(User.history.filter(id=user.pk).values_list("email", flat=True))
    assert "old@example.com" not in emails
    assert "new@example.com" in emails


# --- validity as periods -------------------------------------------------------------------


def test_registration_renewal_and_reactivation_append_periods(distributor, admin_user, site, customer_data):
    card = register(distributor, site, customer_data)
    first = card.periods.get()
    assert (first.valid_from, first.valid_until, first.cause) == (card.valid_from, card.valid_until, "registered")

    later = timezone.now() + datetime.timedelta(days=100)
    with time_machine.travel(later):
        services.card_renew(card=card, actor=distributor)
        services.card_inactivate(card=card, actor=distributor, reason="lost")
    with time_machine.travel(later + datetime.timedelta(days=3)):
        services.card_reactivate(card=card, actor=admin_user, reason="found again")

    periods = list(card.periods.order_by("pk"))
    assert [p.cause for p in periods] == ["registered", "renewed", "reactivated"]
    # Nothing overwritten: the first period keeps its dates; the inactivation ended the running ones.
    assert (periods[0].valid_from, periods[0].valid_until) == (first.valid_from, first.valid_until)
    today_then = timezone.localdate(later)
    assert periods[1].valid_from == today_then
    assert periods[1].ended_on == today_then
    assert periods[2].valid_from == today_then + datetime.timedelta(days=3)
    assert periods[2].valid_until == periods[1].valid_until
    card.refresh_from_db()
    assert (card.valid_from, card.valid_until) == (periods[2].valid_from, periods[2].valid_until)


def test_a_use_dated_while_expired_is_refused_after_renewal(distributor, venue, venue_user, site, customer_data):
    from venues import services as venue_services

    card = register(distributor, site, customer_data)
    expired_day = card.valid_until + datetime.timedelta(days=10)
    with time_machine.travel(
        datetime.datetime.combine(card.valid_until + datetime.timedelta(days=20), datetime.time(12))
    ):
        services.card_renew(card=card, actor=distributor)
        data = venue_services.UseData(number=card.number, used_on=expired_day, category="culture")
        with pytest.raises(ValidationError) as caught:
            venue_services.card_use_record(venue=venue, actor=venue_user, data=data, idempotency_key="a" * 32)
        assert codes(caught.value) == {"card_not_valid_that_day"}

        content = f"{IMPORT_HEADER}{card.number},{expired_day.isoformat()},culture,0,0,0\n"
        preview = venue_services.card_uses_import_preview(venue=venue, content=content.encode())
        assert preview.rows[0].errors
        # A day inside the first period still counts: offline records arrive late.
        ok = venue_services.UseData(
            number=card.number, used_on=card.valid_until - datetime.timedelta(days=25), category="culture"
        )
        use, created = venue_services.card_use_record(venue=venue, actor=venue_user, data=ok, idempotency_key="b" * 32)
        assert created


def test_a_use_after_inactivation_is_refused_even_after_reactivation(
    distributor, admin_user, venue, venue_user, site, customer_data
):
    from venues import services as venue_services

    card = register(distributor, site, customer_data)
    start = timezone.now()
    with time_machine.travel(start + datetime.timedelta(days=10)):
        services.card_inactivate(card=card, actor=distributor, reason="lost")
    with time_machine.travel(start + datetime.timedelta(days=20)):
        services.card_reactivate(card=card, actor=admin_user)
        gap_day = timezone.localdate(start + datetime.timedelta(days=15))
        data = venue_services.UseData(number=card.number, used_on=gap_day, category="culture")
        with pytest.raises(ValidationError) as caught:
            venue_services.card_use_record(venue=venue, actor=venue_user, data=data, idempotency_key="c" * 32)
        # Said as it was: inactive that day (not "expired and renewed"), in the desk and the import.
        assert codes(caught.value) == {"card_inactive_that_day"}
        assert caught.value.messages == [f"The card was inactive on {gap_day:%-d.%-m.%Y}: it was reactivated later."]
        content = f"{IMPORT_HEADER}{card.number},{gap_day.isoformat()},culture,0,0,0\n"
        preview = venue_services.card_uses_import_preview(venue=venue, content=content.encode())
        assert preview.rows[0].errors == [f"The card was inactive on {gap_day:%-d.%-m.%Y}: it was reactivated later."]
        # The day of the inactivation itself was no valid day either; the day before was.
        inactivated_day = timezone.localdate(start + datetime.timedelta(days=10))
        data = venue_services.UseData(number=card.number, used_on=inactivated_day, category="culture")
        with pytest.raises(ValidationError) as caught:
            venue_services.card_use_record(venue=venue, actor=venue_user, data=data, idempotency_key="d" * 32)
        assert codes(caught.value) == {"card_inactive_that_day"}
        day_before = venue_services.UseData(
            number=card.number, used_on=inactivated_day - datetime.timedelta(days=1), category="culture"
        )
        assert venue_services.card_use_record(venue=venue, actor=venue_user, data=day_before, idempotency_key="e" * 32)[
            1
        ]


def test_a_use_on_the_day_of_the_inactivation_is_refused(distributor, venue, venue_user, site, customer_data):
    # The day of an inactivation is no valid day: the card was given up (lost) that day.
    from venues import services as venue_services

    card = register(distributor, site, customer_data)
    start = timezone.now()
    with time_machine.travel(start + datetime.timedelta(days=10)):
        services.card_inactivate(card=card, actor=distributor, reason="lost")
        today = timezone.localdate()
    with time_machine.travel(start + datetime.timedelta(days=12)):
        data = venue_services.UseData(number=card.number, used_on=today, category="culture")
        with pytest.raises(ValidationError) as caught:
            venue_services.card_use_record(venue=venue, actor=venue_user, data=data, idempotency_key="f" * 32)
        assert codes(caught.value) == {"card_inactive"}
        content = f"{IMPORT_HEADER}{card.number},{today.isoformat()},culture,0,0,0\n"
        preview = venue_services.card_uses_import_preview(venue=venue, content=content.encode())
        assert preview.rows[0].errors == ["The card is inactive and cannot be used."]
        yesterday = venue_services.UseData(
            number=card.number, used_on=today - datetime.timedelta(days=1), category="culture"
        )
        assert venue_services.card_use_record(venue=venue, actor=venue_user, data=yesterday, idempotency_key="0" * 32)[
            1
        ]


def test_the_backfill_migration_reads_periods_from_history(distributor, site, customer_data):
    import importlib

    from django.apps import apps

    backfill = importlib.import_module("cards.migrations.0005_backfill_validity_periods").backfill
    card = register(distributor, site, customer_data)
    with time_machine.travel(timezone.now() + datetime.timedelta(days=200)):
        services.card_renew(card=card, actor=distributor)
    ValidityPeriod.objects.all().delete()

    backfill(apps, None)

    periods = list(card.periods.order_by("valid_from"))
    assert [p.cause for p in periods] == ["registered", "renewed"]
    card.refresh_from_db()
    assert (periods[-1].valid_from, periods[-1].valid_until) == (card.valid_from, card.valid_until)


# --- reactivation (defect 13) ----------------------------------------------------------------


def test_reactivating_a_mobile_only_card_without_omakaiku_is_refused(distributor, admin_user, site, customer_data):
    card = register(distributor, site, customer_data, number="X", email="holder@example.com")
    services.card_inactivate(card=card, actor=distributor, reason="given_up")
    card.holder.refresh_from_db()
    services._omakaiku_close(holder=card.holder, actor=admin_user, reason="test")

    with pytest.raises(ValidationError) as caught:
        services.card_reactivate(card=card, actor=admin_user)
    assert codes(caught.value) == {"mobile_needs_omakaiku"}
    card.refresh_from_db()
    assert card.status == Card.Status.INACTIVE


def test_a_lost_reactivation_race_is_a_refusal_not_a_crash(distributor, admin_user, site, customer_data):
    card = register(distributor, site, customer_data)
    services.card_inactivate(card=card, actor=distributor, reason="lost")
    register(distributor, site, customer_data, number="B7654321", holder=card.holder)

    # The check passes (as if the other card were created a moment later); the constraint decides.
    with mock.patch.object(services, "_active_card", return_value=None), pytest.raises(ValidationError) as caught:
        services.card_reactivate(card=card, actor=admin_user)
    assert codes(caught.value) == {"active_card_exists"}


def test_only_an_admin_reactivates(distributor, site, customer_data):
    card = register(distributor, site, customer_data)
    services.card_inactivate(card=card, actor=distributor, reason="lost")
    with pytest.raises(PermissionDenied):
        services.card_reactivate(card=card, actor=distributor)


# --- stored reasons in every language (defect 22) ---------------------------------------------


def test_system_reasons_are_codes_shown_in_the_readers_language(
    client, distributor, site, customer_data, committed, settings
):
    with committed():
        card = register(distributor, site, customer_data, email="holder@example.com")
    with time_machine.travel(timezone.now() + datetime.timedelta(days=365 * 4)):
        assert services.holders_dormant_erase() == 1
    card.refresh_from_db()
    assert (card.inactivation_reason, card.inactivation_note) == ("dormant", "")

    switched = register(distributor, site, customer_data, number="B7654321", holder=card.holder)
    new = services.card_switch_to_mobile_only(card=switched, actor=distributor, email="again@example.com")
    switched.refresh_from_db()
    assert (switched.inactivation_reason, switched.inactivation_note) == ("given_up", "")
    assert new.history.earliest("history_date").history_change_reason == "Switched to mobile-only"

    settings.LANGUAGE_CODE = "fi"
    client.force_login(distributor)
    page = client.get(reverse("cards:detail", args=[card.pk]), headers={"accept-language": "fi"}).text
    assert "No valid card for 24 months" not in page


# --- the inactive card page (defect 21) ---------------------------------------------------------


def test_an_inactive_cards_page_does_not_look_valid(client, distributor, site, customer_data):
    card = register(distributor, site, customer_data, number="X", email="holder@example.com")
    services.card_inactivate(card=card, actor=distributor, reason="given_up")
    client.force_login(distributor)
    page = client.get(reverse("cards:detail", args=[card.pk])).text
    assert "Not in use: the card is inactive" in page
    assert "Not valid: inactivated on" in page
    assert ">Enabled<" not in page


# --- bad input on the card pages (defect 10) -----------------------------------------------------


@pytest.mark.parametrize("value", ["²", "1²", "٣", "9" * 5000, "1\x00", "-1"])
def test_holder_from_with_odd_digits_is_not_found_not_a_crash(distributor_client, value):
    response = distributor_client.get(reverse("cards:register"), {"holder_from": value})
    assert response.status_code == 404


def test_card_numbers_accept_only_ascii_letters_and_digits(distributor, site, customer_data):
    with pytest.raises(ValidationError) as caught:
        register(distributor, site, customer_data, number="maß1234")
    assert codes(caught.value) == {"number_format"}
    assert services.card_number_normalize("ab 12-34") == "AB1234"


def test_a_reason_longer_than_the_history_column_is_a_form_error(distributor, site, customer_data):
    card = register(distributor, site, customer_data)
    with pytest.raises(ValidationError) as caught:
        services.card_update(card=card, actor=distributor, holder_data=customer_data, reason="x" * 101)
    assert codes(caught.value) == {"reason_too_long"}
    # The longest allowed reason is stored whole, on PostgreSQL too.
    services.card_update(
        card=card, actor=distributor, holder_data=replace(customer_data, children_count=3), reason="y" * 100
    )
    assert card.holder.history.latest("history_date").history_change_reason == "y" * 100


# --- sites that close ----------------------------------------------------------------------------


def test_a_closed_sites_cards_are_moved_by_the_regions_coordinator(
    client, coordinator, distributor, other_distributor, site, other_site, customer_data
):
    card = register(distributor, site, customer_data)
    site.is_active = False
    site.save()

    client.force_login(coordinator)
    url = reverse("cards:site_transfer", args=[site.pk])
    page = client.get(url)
    assert page.status_code == 200
    response = client.post(url, {"to_site": other_site.pk, "reason": "site closed"})
    assert response.status_code == 302

    card.refresh_from_db()
    assert card.site == other_site
    assert card.history.latest("history_date").history_change_reason == "site closed"
    # The receiving site can now renew it.
    with time_machine.travel(timezone.now() + datetime.timedelta(days=5)):
        services.card_renew(card=card, actor=other_distributor)
    assert card.periods.latest("pk").site == other_site


def test_the_receiving_site_opens_a_moved_cards_page(
    client, coordinator, distributor, other_distributor, site, other_site, customer_data
):
    card = register(distributor, site, customer_data)
    site.is_active = False
    site.save()
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=5)):
        services.site_cards_transfer(from_site=site, to_site=other_site, actor=coordinator, reason="site closed")

    client.force_login(other_distributor)
    page = client.get(reverse("cards:detail", args=[card.pk]))

    assert page.status_code == 200
    assert "site closed" in page.text
    # Who moved it is named by role: the coordinator is no other site's staff.
    assert "Regional coordinator" in page.text
    assert coordinator.email not in page.text


def test_the_receiving_site_sees_nothing_of_the_earlier_sites_time_with_a_moved_card(
    client, coordinator, distributor, other_distributor, site, other_site, customer_data
):
    # Found in review: the new site read the earlier site's free-text reasons and its changes.
    card = register(distributor, site, customer_data, email="holder@example.com")
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=1)):
        services.card_update(
            card=card,
            actor=distributor,
            holder_data=replace(customer_data, postal_code="33999"),
            reason="SECRET-SITE1-NOTE client in shelter",
        )
    site.is_active = False
    site.save()
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=5)):
        services.site_cards_transfer(from_site=site, to_site=other_site, actor=coordinator, reason="site closed")
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=10)):
        services.card_update(
            card=Card.objects.get(pk=card.pk),
            actor=other_distributor,
            holder_data=replace(customer_data, postal_code="33100"),
            reason="our own change",
        )

    client.force_login(other_distributor)
    history = client.get(reverse("cards:detail", args=[card.pk])).context["history"]

    reasons = [entry.reason for entry in history]
    assert reasons == ["our own change", "Moved to another site: site closed"]  # the move is the first line


def test_the_site_a_card_was_moved_from_sees_it_as_it_was_until_the_move(
    client, admin_user, distributor, other_distributor, site, other_site, customer_data
):
    # Found in review: after an admin moved a holder's card from an open site, the site that
    # issued it answered 404 for its page, and the card check called it another site's card.
    card = register(distributor, site, customer_data, email="holder@example.com")
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=1)):
        services.card_update(
            card=card, actor=distributor, holder_data=replace(customer_data, postal_code="33777"), reason="typo fixed"
        )
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=5)):
        services.card_transfer(
            card=Card.objects.get(pk=card.pk), to_site=other_site, actor=admin_user, reason="MOVE-NOTE moved to Espoo"
        )
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=10)):
        services.card_update(
            card=Card.objects.get(pk=card.pk),
            actor=other_distributor,
            holder_data=replace(customer_data, postal_code="02100", children_count=4),
            reason="LATER-SITE-NOTE",
        )
        services.card_renew(card=Card.objects.get(pk=card.pk), actor=other_distributor)

    client.force_login(distributor)
    page = client.get(reverse("cards:detail", args=[card.pk]))
    check = client.get(reverse("cards:check"), {"number": card.number})

    assert page.status_code == 200
    text = page.text
    assert "This card was moved from your site to another distributor on" in text
    assert "33777" in text  # its own time, its own words
    assert "typo fixed" in text
    for later in (
        "02100",
        "LATER-SITE-NOTE",
        "MOVE-NOTE",
        other_site.name,
        "holder@example.com",
        other_distributor.email,
    ):
        assert later not in text
    assert [entry.reason for entry in page.context["moved"].history][0] == "typo fixed"
    # Read only: no action of the card page is offered.
    for action in ("cards:update", "cards:inactivate", "cards:renew"):
        assert reverse(action, args=[card.pk]) not in text
    assert client.post(reverse("cards:update", args=[card.pk]), {}).status_code == 404
    assert "This card was moved from your site to another distributor on" in check.text
    assert "issued by another site" not in check.text


def test_a_card_moved_away_twice_shows_each_of_the_sites_own_stretches_and_nothing_between(
    client, admin_user, distributor, other_distributor, site, other_site, customer_data
):
    # Found in review: A -> B -> A -> B showed A only its second stretch.
    card = register(distributor, site, customer_data)
    steps = [
        (distributor, None, "11111", "A-FIRST"),
        (None, other_site, None, None),
        (other_distributor, None, "22222", "B-FIRST"),
        (None, site, None, None),
        (distributor, None, "33333", "A-SECOND"),
        (None, other_site, None, None),
        (other_distributor, None, "44444", "B-SECOND"),
    ]
    for minutes, (actor, to_site, postal_code, reason) in enumerate(steps, start=1):
        with time_machine.travel(timezone.now() + datetime.timedelta(minutes=minutes)):
            current = Card.objects.get(pk=card.pk)
            if to_site is not None:
                services.card_transfer(card=current, to_site=to_site, actor=admin_user, reason="moved")
            else:
                data = replace(customer_data, postal_code=postal_code)
                services.card_update(card=current, actor=actor, holder_data=data, reason=reason)

    client.force_login(distributor)
    page = client.get(reverse("cards:detail", args=[card.pk]))

    reasons = [entry.reason for entry in page.context["moved"].history]
    assert "A-SECOND" in reasons
    assert "A-FIRST" in reasons
    assert "B-FIRST" not in reasons
    assert "B-SECOND" not in reasons
    assert page.context["moved"].holder.postal_code == "33333"  # as it was when it last left
    # 22222 may show as the value A's own change replaced: A managed the holder with it then.
    for later in ("44444", "B-FIRST", "B-SECOND"):
        assert later not in page.text


def test_a_moved_cards_holder_without_history_is_not_shown_and_the_page_opens(
    client, admin_user, distributor, site, other_site, customer_data
):
    # Bulk-loaded holders have no history: the card check linked to a page that answered 404.
    card = register(distributor, site, customer_data)
    card.holder.history.all().delete()
    services.card_transfer(card=card, to_site=other_site, actor=admin_user, reason="moved")
    client.force_login(distributor)

    page = client.get(reverse("cards:detail", args=[card.pk]))

    assert page.status_code == 200
    assert "The holder's details of that time are not recorded." in html.unescape(page.text)


def test_a_site_the_card_was_never_at_still_gets_404(client, admin_user, distributor, site, other_site, customer_data):
    third = factories.SiteFactory(municipality=site.municipality)
    third_distributor = factories.MembershipFactory(site=third).user
    card = register(distributor, site, customer_data)
    services.card_transfer(card=card, to_site=other_site, actor=admin_user, reason="moved")

    client.force_login(third_distributor)

    assert client.get(reverse("cards:detail", args=[card.pk])).status_code == 404


def test_a_card_without_history_rows_opens(client, distributor, site, customer_data):
    # Rows loaded in bulk (the seed's large data set, a migration from an older register) have no
    # history; the page once answered 500 for them.
    card = register(distributor, site, customer_data)
    card.history.all().delete()
    card.holder.history.all().delete()

    client.force_login(distributor)
    page = client.get(reverse("cards:detail", args=[card.pk]))

    assert page.status_code == 200
    assert card.number in page.text


def test_a_holder_whose_card_is_at_a_closed_site_is_sent_to_the_coordinator(
    distributor, other_distributor, site, other_site, customer_data
):
    register(distributor, site, customer_data, email="holder@example.com")
    site.is_active = False
    site.save()
    with pytest.raises(ValidationError) as caught:
        services.card_register(
            site=other_site,
            actor=other_distributor,
            number="B7654321",
            holder_data=customer_data,
            email="holder@example.com",
        )
    assert codes(caught.value) == {"active_card_at_closed_site"}
    assert "A1234567" not in " ".join(caught.value.messages)


def test_a_coordinator_cannot_move_an_open_site_or_another_regions(client, coordinator, site):
    client.force_login(coordinator)
    assert client.get(reverse("cards:site_transfer", args=[site.pk])).status_code == 404
    elsewhere = factories.SiteFactory(is_active=False)
    assert client.get(reverse("cards:site_transfer", args=[elsewhere.pk])).status_code == 404


# --- one invariant check on every path ------------------------------------------------------------


def test_the_invariant_check_refuses_a_mobile_card_without_omakaiku(site):
    card = factories.CardFactory(site=site, mobile_enabled=True)
    with pytest.raises(ValidationError) as caught:
        invariants.holder_invariants_check(holder=card.holder)
    assert caught.value.code == "mobile_needs_omakaiku"


def test_the_invariant_check_refuses_validity_that_is_not_a_period(site):
    card = factories.CardFactory(site=site)
    Card.objects.filter(pk=card.pk).update(valid_until=card.valid_until + datetime.timedelta(days=1))
    with pytest.raises(ValidationError) as caught:
        invariants.holder_invariants_check(holder=card.holder)
    assert caught.value.code == "validity_period_mismatch"


def test_the_invariant_check_refuses_an_active_card_whose_period_has_ended(site):
    card = factories.CardFactory(site=site)
    card.periods.update(ended_on=card.valid_from)
    with pytest.raises(ValidationError) as caught:
        invariants.holder_invariants_check(holder=card.holder)
    assert caught.value.code == "active_period_ended"


@contextmanager
def _constraint_off(name: str):
    """A database constraint switched off inside the test's transaction (rolled back after it), so
    that the invariant check behind it is seen to work alone: it is the last word where a
    service's own check missed something, and a constraint cannot say why in words."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            kind = "INDEX" if name == "card_one_active_per_holder" else "CONSTRAINT"
            if kind == "INDEX":
                cursor.execute(f'DROP INDEX "{name}"')
            else:
                cursor.execute(f'ALTER TABLE cards_card DROP CONSTRAINT "{name}"')
            yield
        elif name == "card_one_active_per_holder":
            cursor.execute(f'DROP INDEX "{name}"')
            yield
        else:
            # SQLite cannot drop a CHECK constraint without rebuilding its table.
            cursor.execute("PRAGMA ignore_check_constraints = ON")
            try:
                yield
            finally:
                cursor.execute("PRAGMA ignore_check_constraints = OFF")


def test_the_invariant_check_refuses_two_active_cards_for_a_holder(site):
    with _constraint_off("card_one_active_per_holder"):
        card = factories.CardFactory(site=site)
        factories.CardFactory(site=site, holder=card.holder)
        with pytest.raises(ValidationError) as caught:
            invariants.holder_invariants_check(holder=card.holder)
    assert caught.value.code == "one_active_card"


def test_the_invariant_check_refuses_an_inactive_card_without_its_reason(site):
    # Switched off first: PostgreSQL alters no table with checks still pending from an insert.
    with _constraint_off("card_inactivation_recorded"):
        card = factories.CardFactory(site=site)
        Card.objects.filter(pk=card.pk).update(status="inactive", inactivation_reason="", inactivated_on=None)
        with pytest.raises(ValidationError) as caught:
            invariants.holder_invariants_check(holder=card.holder)
    assert caught.value.code == "inactivation_needs_reason"


def test_the_invariant_check_refuses_a_staff_login_as_a_holders_account(site, distributor):
    # No constraint can say this (it spans two tables): only the check does.
    card = factories.CardFactory(site=site)
    card.holder.__class__.objects.filter(pk=card.holder.pk).update(account=distributor)
    with pytest.raises(ValidationError) as caught:
        invariants.holder_invariants_check(holder=card.holder)
    assert caught.value.code == "account_not_holder"


def test_every_service_and_admin_action_runs_the_invariant_check(
    client, distributor, admin_user, site, other_site, customer_data, committed
):
    """A list of every path that changes a card's status, mobile flag, validity, site or the
    holder's account; each must call the check. A new path belongs in this list."""
    calls = []
    real = invariants.holder_invariants_check

    def spy(*, holder):
        calls.append(holder.pk)
        return real(holder=holder)

    def runs_check(action):
        calls.clear()
        action()
        return bool(calls)

    with mock.patch.object(invariants, "holder_invariants_check", spy), committed():
        card = None

        def do_register():
            nonlocal card
            card = register(distributor, site, customer_data)

        paths = {"card_register": do_register}
        paths["card_update"] = lambda: services.card_update(
            card=card, actor=distributor, holder_data=customer_data, reason="typo"
        )
        paths["card_omakaiku_activate"] = lambda: services.card_omakaiku_activate(
            card=card, actor=distributor, email="holder@example.com", mobile=True
        )
        paths["card_omakaiku_email_change"] = lambda: services.card_omakaiku_email_change(
            card=card, actor=distributor, email="holder2@example.com"
        )

        def do_renew():
            with time_machine.travel(timezone.now() + datetime.timedelta(days=3)):
                services.card_renew(card=card, actor=distributor)

        paths["card_renew"] = do_renew
        paths["card_omakaiku_close"] = lambda: services.card_omakaiku_close(card=card, actor=distributor)
        paths["card_inactivate"] = lambda: services.card_inactivate(card=card, actor=distributor, reason="lost")
        paths["card_reactivate"] = lambda: services.card_reactivate(card=card, actor=admin_user)
        paths["card_transfer"] = lambda: services.card_transfer(card=card, to_site=other_site, actor=admin_user)

        def do_site_transfer():
            other_site.is_active = False  # only a closed site's cards are moved all at once
            other_site.save()
            services.site_cards_transfer(from_site=other_site, to_site=site, actor=admin_user)
            other_site.is_active = True
            other_site.save()

        paths["site_cards_transfer"] = do_site_transfer

        def do_replace():
            nonlocal card
            card = services.card_replace(card=card, actor=distributor, number="D1234567", reason="lost")

        paths["card_replace"] = do_replace

        def do_switch():
            nonlocal card
            card = services.card_switch_to_mobile_only(card=card, actor=distributor, email="holder3@example.com")

        paths["card_switch_to_mobile_only"] = do_switch

        def do_dormant():
            with time_machine.travel(timezone.now() + datetime.timedelta(days=365 * 4)):
                services.holders_dormant_erase()

        paths["holders_dormant_erase"] = do_dormant
        missing = [name for name, action in paths.items() if not runs_check(action)]
        assert missing == []

        # The admin's actions go through the same services.
        client.force_login(admin_user)
        other = register(distributor, site, replace(customer_data, birth_year=1990), number="C1234567")
        changelist = reverse("admin:cards_card_changelist")
        admin_paths = {
            "inactivate": {"reason": "lost"},
            "reactivate": {"reason": ""},
            "transfer": {"to_site": other_site.pk, "reason": ""},
        }
        for action, data in admin_paths.items():
            calls.clear()
            response = client.post(
                changelist, {"action": action, "_selected_action": [other.pk], "apply": "1", **data}, follow=True
            )
            assert response.status_code == 200
            assert calls, action


def test_every_service_refusal_carries_a_code():
    """Tests and callers rely on codes, not on English: no ValidationError without one."""
    missing = []
    for path in ["cards/services.py", "venues/services.py", "accounts/services.py"]:
        tree = ast.parse((Path(settings.BASE_DIR) / path).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "ValidationError":
                has_code = any(keyword.arg == "code" for keyword in node.keywords)
                keyed = node.args and isinstance(node.args[0], ast.Dict | ast.Name)
                if not has_code and not keyed:
                    missing.append(f"{path}:{node.lineno}")
                if keyed and isinstance(node.args[0], ast.Dict):
                    for value in node.args[0].values:
                        is_error = isinstance(value, ast.Call) and getattr(value.func, "id", "") == "ValidationError"
                        if not (is_error or isinstance(value, ast.Name)):
                            missing.append(f"{path}:{node.lineno}")
    assert missing == []


# --- the admin is no second write path -------------------------------------------------------------


def test_the_admin_shows_cards_holders_and_uses_read_only(client, admin_user, site):
    card = factories.CardFactory(site=site, number="A1234567")
    use = factories.CardUseFactory(card=card)
    client.force_login(admin_user)

    for name, obj in [("card", card), ("holder", card.holder), ("carduse", use)]:
        page = client.get(reverse(f"admin:cards_{name}_change", args=[obj.pk]))
        assert page.status_code == 200
        assert 'name="_save"' not in page.text
        assert client.post(reverse(f"admin:cards_{name}_change", args=[obj.pk]), {}).status_code == 403
        assert client.post(reverse(f"admin:cards_{name}_delete", args=[obj.pk]), {"post": "yes"}).status_code == 403
        assert client.get(reverse(f"admin:cards_{name}_add")).status_code == 403
        changelist = client.get(reverse(f"admin:cards_{name}_changelist")).text
        assert "delete_selected" not in changelist
    card.refresh_from_db()
    assert card.number == "A1234567"


def test_admin_search_finds_numbers_as_typed_and_holder_emails(client, admin_user, site):
    user = factories.HolderUserFactory(email="holder@example.com")
    card = factories.CardFactory(site=site, number="A1234567", holder__account=user)
    factories.CardFactory(site=site, number="B7654321")
    client.force_login(admin_user)
    changelist = reverse("admin:cards_card_changelist")
    for term in ["a12 34-567", "A1234567", "Holder@Example.com"]:
        page = client.get(changelist, {"q": term}).text
        assert "A1234567" in page, term
        assert "B7654321" not in page, term
    holders = client.get(reverse("admin:cards_holder_changelist"), {"q": "a1234 567"}).text
    assert reverse("admin:cards_holder_change", args=[card.holder.pk]) in holders


def test_the_admin_inactivates_and_moves_through_forms_with_reasons(client, admin_user, site, other_site):
    card = factories.CardFactory(site=site)
    client.force_login(admin_user)
    changelist = reverse("admin:cards_card_changelist")

    # The first step asks for the reason and changes nothing.
    page = client.post(changelist, {"action": "inactivate", "_selected_action": [card.pk]})
    assert page.status_code == 200
    assert 'name="reason"' in page.text
    card.refresh_from_db()
    assert card.status == Card.Status.ACTIVE

    # The dormant-account job's own reason is not the admin's either.
    dormant = {"action": "inactivate", "_selected_action": [card.pk], "apply": "1", "reason": "dormant"}
    assert 'value="dormant"' not in page.text
    assert client.post(changelist, dormant).status_code == 200
    card.refresh_from_db()
    assert card.status == Card.Status.ACTIVE

    client.post(
        changelist, {"action": "transfer", "_selected_action": [card.pk], "apply": "1", "to_site": other_site.pk}
    )
    client.post(
        changelist,
        {"action": "inactivate", "_selected_action": [card.pk], "apply": "1", "reason": "other", "note": "duplicate"},
    )
    card.refresh_from_db()
    assert (card.site, card.status, card.inactivation_note) == (other_site, "inactive", "duplicate")
    assert card.history.latest("history_date").history_change_reason == "Inactivated by an administrator"


def test_admin_history_shows_names_and_yes_no(client, admin_user, distributor, site, customer_data):
    from tests.factories import MunicipalityFactory

    card = register(distributor, site, customer_data)
    espoo = MunicipalityFactory(name="Espoo", region=site.municipality.region)
    services.card_update(
        card=card, actor=distributor, holder_data=replace(customer_data, municipality=espoo), reason="moved"
    )
    client.force_login(admin_user)
    page = client.get(reverse("admin:cards_holder_history", args=[card.holder.pk])).text
    assert "Tampere" in page
    assert "Espoo" in page
    page = client.get(reverse("cards:detail", args=[card.pk]))
    assert page.status_code == 403  # the admin is no site's staff: the card pages are closed


def test_card_page_history_shows_names_and_yes_no(client, distributor, site, customer_data, committed):
    from tests.factories import MunicipalityFactory

    with committed():
        card = register(distributor, site, customer_data)
        espoo = MunicipalityFactory(name="Espoo", region=site.municipality.region)
        services.card_update(
            card=card, actor=distributor, holder_data=replace(customer_data, municipality=espoo), reason="moved"
        )
        services.card_omakaiku_activate(card=card, actor=distributor, email="holder@example.com", mobile=True)
    client.force_login(distributor)
    page = client.get(reverse("cards:detail", args=[card.pk])).text
    assert "Tampere</del> → <ins>Espoo" in page
    assert "no</del> → <ins>yes" in page
    assert "False" not in page
    assert "True" not in page


def test_an_inactive_cards_page_points_to_the_holders_active_card(
    client, distributor, other_distributor, moved_holder, site, customer_data
):
    old, new = moved_holder
    client.force_login(distributor)
    page = client.get(reverse("cards:detail", args=[old.pk])).text
    # Another site's card: said, not shown, and no button that can only end in a refusal.
    assert "The holder has an active card from another distributor." in page
    assert "New card for this holder" not in page
    assert new.number not in page

    services.card_inactivate(card=new, actor=other_distributor, reason="given_up")
    again = register(distributor, site, customer_data, number="C1234567", holder=old.holder)
    page = client.get(reverse("cards:detail", args=[old.pk])).text
    assert reverse("cards:detail", args=[again.pk]) in page
    assert "New card for this holder" not in page


def test_the_holders_other_cards_as_a_site_sees_them(distributor, other_distributor, moved_holder):
    from cards import selectors

    old, new = moved_holder
    # The first site: its own old card is the only one; the other site's active card is only "there".
    seen = selectors.holder_other_cards_as_seen(card=old, user=distributor)
    assert seen.visible == []
    assert seen.active is False
    # The second site opens the active card: the first site's old card is not theirs to see.
    seen = selectors.holder_other_cards_as_seen(card=new, user=other_distributor)
    assert seen.visible == []
    assert seen.active is None


def test_the_holders_other_cards_of_the_own_site_are_listed_with_the_active_one(
    distributor, site, customer_data, committed
):
    from cards import selectors

    with committed():
        first = register(distributor, site, customer_data)
        services.card_inactivate(card=first, actor=distributor, reason="lost")
        second = register(distributor, site, customer_data, number="C1234567", holder=first.holder)
    seen = selectors.holder_other_cards_as_seen(card=first, user=distributor)
    assert seen.visible == [second]
    assert seen.active == second


@pytest.mark.parametrize(
    "data", [{"to_site": "²"}, {"to_site": "1\x00"}, {"to_site": "9" * 5000}, {"reason": "x" * 5000}]
)
def test_moving_a_closed_sites_cards_refuses_bad_input_and_moves_nothing(client, coordinator, site, other_site, data):
    card = factories.CardFactory(site=site)
    site.is_active = False
    site.save()
    client.force_login(coordinator)
    response = client.post(reverse("cards:site_transfer", args=[site.pk]), {"to_site": other_site.pk, **data})
    assert response.status_code == 200
    assert "Please check the form" in response.text
    card.refresh_from_db()
    assert card.site == site


def test_only_a_coordinator_or_admin_opens_the_move_page(client, distributor, other_distributor, site):
    site.is_active = False
    site.save()
    url = reverse("cards:site_transfer", args=[site.pk])
    assert client.get(url).status_code == 302  # logged out: to the login page
    client.force_login(other_distributor)
    assert client.get(url).status_code == 403
    holder_user = factories.HolderUserFactory()
    client.force_login(holder_user)
    assert client.get(url).status_code in (302, 403)
