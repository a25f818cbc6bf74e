"""OmaKaiku: activation by email, login on the holder's side only, and what a holder sees."""

import datetime
import json
import logging
import re

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from cards import services
from cards.models import Card
from tests import factories
from tests.answers import assert_answered_as_unknown

PASSWORD = "Kulttuuria-kaikille-42"


@pytest.fixture
def invited(distributor, site, customer_data, committed):
    with committed():
        card = services.card_register(
            site=site,
            actor=distributor,
            number="A1234567",
            holder_data=customer_data,
            email="maija@example.com",
            mobile=True,
            language="en",
        )
    return card


def _link(message) -> str:
    return re.search(r"https?://\S+(/omakaiku/activate/\S+/)", message.body).group(1)


def _activate(client, link, **extra):
    page = client.get(link, follow=True)
    data = {"new_password1": PASSWORD, "new_password2": PASSWORD, "accept_privacy": "on"} | extra
    return page, client.post(page.redirect_chain[-1][0], data)


def test_invitation_link_shows_a_form_and_changes_nothing_on_get(client, invited):
    link = _link(mail.outbox[0])

    page = client.get(link, follow=True)

    user = User.objects.get(email="maija@example.com")
    assert "new_password1" in page.text
    assert key_not_in_final_url(page, link)
    assert not user.has_usable_password()
    assert user.activated_at is None
    assert "_auth_user_id" not in client.session


def test_a_link_checkers_head_request_is_answered_and_leaves_the_link_working(client, invited):
    link = _link(mail.outbox[0])
    checker = Client()

    assert checker.head(link).status_code == 302  # not 405, which a checker reports as broken

    page, done = _activate(client, link)
    assert done.status_code == 302
    assert User.objects.get(email="maija@example.com").activated_at is not None


def key_not_in_final_url(page, link) -> bool:
    key = link.rstrip("/").rsplit("/", 1)[-1]
    return key not in page.redirect_chain[-1][0]


def test_holder_sets_password_accepts_privacy_and_is_logged_in(client, invited):
    _page, response = _activate(client, _link(mail.outbox[0]))

    assert response.url == reverse("omakaiku:home")
    user = User.objects.get(email="maija@example.com")
    assert user.check_password(PASSWORD)
    assert user.activated_at is not None
    home = client.get(reverse("omakaiku:home"))
    assert "A1234567" in home.text


def test_privacy_notice_must_be_accepted(client, invited):
    _page, response = _activate(client, _link(mail.outbox[0]), accept_privacy="")

    assert response.status_code == 200
    assert "Tick the box to confirm that you have read the privacy notice." in response.text
    assert not User.objects.get(email="maija@example.com").has_usable_password()


def test_weak_password_is_refused_with_a_reason(client, invited):
    _page, response = _activate(client, _link(mail.outbox[0]), new_password1="12345678", new_password2="12345678")

    errors = response.context["form"].errors
    assert list(errors) == ["new_password1"]  # beside the field where the password is typed
    assert "This password is too short. It must contain at least 10 characters." in errors["new_password1"]
    assert "This password is entirely numeric." in errors["new_password1"]


def test_invitation_link_is_single_use(client, invited):
    link = _link(mail.outbox[0])
    _activate(client, link)
    client.logout()

    again = client.get(link, follow=True)

    assert again.status_code == 400
    assert "This link no longer works" in again.text
    assert "ask your card distributor" in again.text


def test_the_link_opened_again_by_its_signed_in_holder_leads_to_omakaiku(client, invited):
    link = _link(mail.outbox[0])
    _activate(client, link)

    again = client.get(link, follow=True)

    assert again.redirect_chain[-1][0] == reverse("omakaiku:home")
    assert "Your password is already set, and you are logged in." in again.text


def test_invitation_link_expires(client, invited, settings):
    link = _link(mail.outbox[0])

    with time_machine.travel(datetime.timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)):
        response = client.get(link, follow=True)

    assert response.status_code == 400
    assert "This link no longer works" in response.text


def test_only_the_newest_invitation_works(client, distributor, invited, committed):
    old_link = _link(mail.outbox[0])
    with time_machine.travel(datetime.timedelta(minutes=2)), committed():
        services.card_omakaiku_resend(card=invited, actor=distributor)
    new_link = _link(mail.outbox[1])

    assert client.get(old_link, follow=True).status_code == 400
    _page, response = _activate(client, new_link)
    assert response.url == reverse("omakaiku:home")


def _holder_client(invited) -> Client:
    client = Client()
    _activate(client, _link(mail.outbox[0]))
    return client


def test_holder_logs_in_with_email_and_password(client, invited):
    _holder_client(invited)

    response = client.post(reverse("omakaiku:login"), {"login": "MAIJA@example.com", "password": PASSWORD})

    assert response.status_code == 302
    assert response.url == reverse("omakaiku:home")


def test_staff_cannot_log_in_to_omakaiku_and_are_told_where_to(client, distributor, settings):
    # The right password: "wrong password" would send them to reset one that works.
    settings.SITE_URL = "https://kaikukanta.example.fi"
    staff = client.post(reverse("omakaiku:login"), {"login": distributor.email, "password": factories.PASSWORD})
    wrong = client.post(reverse("omakaiku:login"), {"login": distributor.email, "password": "not-the-password"})
    unknown = client.post(reverse("omakaiku:login"), {"login": "nobody@example.com", "password": factories.PASSWORD})

    assert staff.status_code == wrong.status_code == unknown.status_code == 200
    assert "_auth_user_id" not in client.session
    assert (
        "This is a Kaikukanta login for staff. Log in to Kaikukanta at https://kaikukanta.example.fi/accounts/login/"
        in _errors(staff)
    )
    assert _errors(wrong) == _errors(unknown)  # without the password, nothing is said about the address
    assert "Kaikukanta login" not in _errors(wrong)


def _errors(response) -> str:
    return re.search(r'<div class="error-summary".*?</div>', response.text, re.S).group(0)


def test_front_page_sends_a_holder_to_omakaiku(holder_client):
    # The brand link of the public statistics and the error pages' "Back to the front page".
    assert holder_client.get(reverse("home")).url == reverse("omakaiku:home")
    assert holder_client.get(reverse("cards:list")).status_code == 403


def test_staff_session_cannot_open_omakaiku(distributor_client):
    assert distributor_client.get(reverse("omakaiku:home")).status_code == 403
    assert distributor_client.get(reverse("omakaiku:uses")).status_code == 403


def test_staff_sent_to_omakaiku_after_login_are_told_it_is_not_theirs(client, venue_user):
    response = client.post(
        f"{reverse('account_login')}?next={reverse('omakaiku:home')}",
        {"login": venue_user.email, "password": factories.PASSWORD},
        follow=True,
    )

    assert response.status_code == 403
    assert response.redirect_chain[-1][0] == reverse("omakaiku:home")
    page = response.text
    assert "OmaKaiku is the online service for cardholders. Your Kaikukanta login cannot be used there." in page
    assert f'<a href="{reverse("home")}">Go to your start page in Kaikukanta</a>' in page
    assert "cardholders use OmaKaiku" not in page  # the holders' message on Kaikukanta's 403 page
    assert reverse("venues:desk") in page  # the staff member's own navigation


def test_anonymous_is_sent_to_omakaiku_login(client, db):
    response = client.get(reverse("omakaiku:uses"))

    assert response.url.startswith(reverse("omakaiku:login"))


def test_forgotten_password_never_reveals_an_account(client, invited, distributor, committed):
    mail.outbox.clear()
    with committed():  # the mail leaves through the task queue once the request commits
        responses = [
            client.post(reverse("omakaiku:password_reset"), {"email": email})
            for email in ["maija@example.com", "nobody@example.com"]
        ]

    assert {r.status_code for r in responses} == {302}
    assert {r.url for r in responses} == {reverse("omakaiku:password_reset_done")}
    assert [m.to for m in mail.outbox] == [["maija@example.com"]]
    assert "/omakaiku/activate/" in mail.outbox[0].body


@pytest.mark.parametrize("staff", ["distributor", "admin_user"])
def test_forgotten_password_mails_no_staff_login_and_answers_as_for_an_unknown_address(
    client, db, committed, request, staff
):
    # A staff address typed in OmaKaiku must not get a working Kaikukanta reset link.
    staff_email = request.getfixturevalue(staff).email
    assert_answered_as_unknown(client, reverse("omakaiku:password_reset"), staff_email, committed)


def test_inactivating_the_card_ends_the_holders_sessions(distributor, invited):
    holder_client = _holder_client(invited)
    assert holder_client.get(reverse("omakaiku:home")).status_code == 200

    services.card_inactivate(card=invited, actor=distributor, reason="lost")

    assert holder_client.get(reverse("omakaiku:home")).status_code == 302


def test_changing_the_email_moves_the_login_and_kills_old_links(client, distributor, invited, committed):
    old_link = _link(mail.outbox[0])
    holder_client = _holder_client(invited)

    with committed():
        services.card_omakaiku_email_change(card=invited, actor=distributor, email="uusi@example.com")

    assert holder_client.get(reverse("omakaiku:home")).status_code == 302
    assert client.get(old_link, follow=True).status_code == 400
    assert mail.outbox[-1].to == ["uusi@example.com"]
    assert not User.objects.filter(email="maija@example.com").exists()
    login = client.post(reverse("omakaiku:login"), {"login": "maija@example.com", "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert login.status_code == 200


def test_closing_omakaiku_erases_the_email_and_disables_mobile(distributor, invited):
    holder_client = _holder_client(invited)

    card = services.card_omakaiku_close(card=invited, actor=distributor)

    assert card.mobile_enabled is False
    assert card.holder.account is None
    assert not User.objects.filter(email="maija@example.com").exists()
    assert not User.history.filter(email="maija@example.com").exists()
    assert holder_client.get(reverse("omakaiku:home")).status_code == 302


def test_closing_is_refused_while_a_mobile_only_card_is_active(distributor, site, customer_data):
    card = services.card_register(
        site=site, actor=distributor, number="X", holder_data=customer_data, email="m@example.com"
    )

    with pytest.raises(services.ValidationError):
        services.card_omakaiku_close(card=card, actor=distributor)


def test_dormant_holders_email_is_erased_by_the_scheduled_command(distributor, site, customer_data):
    from django.core.management import call_command

    with time_machine.travel(datetime.date(2023, 1, 10), tick=False):
        old = services.card_register(
            site=site, actor=distributor, number="A1111111", holder_data=customer_data, email="old@example.com"
        )
    recent = services.card_register(
        site=site, actor=distributor, number="B2222222", holder_data=customer_data, email="new@example.com"
    )

    with time_machine.travel(datetime.date(2026, 1, 9), tick=False):
        call_command("omakaiku_erase_dormant")
    assert User.objects.filter(email="old@example.com").exists()  # valid until 9.1.2024: 24 months today

    with time_machine.travel(datetime.date(2026, 1, 10), tick=False):
        call_command("omakaiku_erase_dormant")
    old.refresh_from_db()
    assert old.holder.account is None
    assert old.status == Card.Status.INACTIVE
    assert not User.objects.filter(email="old@example.com").exists()
    recent.refresh_from_db()
    assert recent.holder.account.email == "new@example.com"


def test_an_expired_card_inactivated_later_does_not_keep_the_email(distributor, site, customer_data):
    from django.core.management import call_command

    with time_machine.travel(datetime.date(2022, 1, 10), tick=False):
        card = services.card_register(
            site=site, actor=distributor, number="A1111111", holder_data=customer_data, email="old@example.com"
        )
    # Valid until 9.1.2023; inactivated as lost long after it had expired.
    with time_machine.travel(datetime.date(2024, 6, 1), tick=False):
        services.card_inactivate(card=card, actor=distributor, reason="lost")

    with time_machine.travel(datetime.date(2025, 1, 9), tick=False):
        call_command("omakaiku_erase_dormant")
    assert User.objects.filter(email="old@example.com").exists()  # valid on 9.1.2023: 24 months ago today

    with time_machine.travel(datetime.date(2025, 1, 10), tick=False):
        call_command("omakaiku_erase_dormant")
    card.refresh_from_db()
    assert card.holder.account is None
    assert not User.objects.filter(email="old@example.com").exists()


def test_an_inactivated_cards_last_valid_day_is_the_day_before_its_inactivation(distributor, site, customer_data):
    from django.core.management import call_command

    with time_machine.travel(datetime.date(2023, 1, 10), tick=False):
        card = services.card_register(
            site=site, actor=distributor, number="A1111111", holder_data=customer_data, email="old@example.com"
        )
    with time_machine.travel(datetime.date(2023, 6, 1), tick=False):
        services.card_inactivate(card=card, actor=distributor, reason="lost")  # last valid day 31.5.2023

    with time_machine.travel(datetime.date(2025, 5, 31), tick=False):
        call_command("omakaiku_erase_dormant")
    assert User.objects.filter(email="old@example.com").exists()

    with time_machine.travel(datetime.date(2025, 6, 1), tick=False):
        call_command("omakaiku_erase_dormant")
    assert not User.objects.filter(email="old@example.com").exists()


def test_the_dormant_holders_are_found_with_not_exists(db):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cards.services import holders_dormant_erase

    # PostgreSQL runs NOT IN over a subquery larger than its working memory as a scan of the
    # whole subquery for each holder: at a million cards the daily job ran for over ten minutes
    # before it was stopped, where NOT EXISTS takes half a second. The plan only shows at scale.
    with CaptureQueriesContext(connection) as queries:
        holders_dormant_erase()

    (search,) = [q["sql"] for q in queries if 'FROM "cards_holder"' in q["sql"]]
    assert re.search(r"NOT \(?EXISTS", search)
    assert " IN (SELECT" not in search


# --- what the holder sees -------------------------------------------------------------


def _expire(card):
    today = timezone.localdate()
    Card.objects.filter(pk=card.pk).update(
        valid_from=today - datetime.timedelta(days=400), valid_until=today - datetime.timedelta(days=1)
    )


def test_a_holders_card_out_of_use_reads_in_everyday_words(client, db):
    account = factories.HolderUserFactory(activated_at=timezone.now(), language="fi")
    factories.CardFactory(holder__account=account, inactive=True)
    client.force_login(account)

    page = client.get(reverse("omakaiku:home"), headers={"accept-language": "fi"}).text

    assert '<span class="badge badge--inactive" data-state="inactive">Ei käytössä</span>' in page
    assert "Passiivinen" not in page  # the register's word, not the holder's


@pytest.fixture
def holder_client(invited):
    return _holder_client(invited)


def test_my_cards_shows_card_and_how_to_renew_an_expired_one(holder_client, invited, site):
    _expire(invited)

    page = holder_client.get(reverse("omakaiku:home")).text

    assert "A1234567" in page
    assert "Physical + mobile" in page
    assert "Expired" in page
    assert f"contact {site}" in page
    assert "jakaja@example.fi" not in page


def test_an_old_card_beside_the_one_in_use_asks_for_no_new_card(holder_client, invited, site):
    # Found in review: the old card said "if you need a new card, contact your distributor" under
    # the holder's valid card.
    factories.CardFactory(site=site, holder=invited.holder, number="K0000777", inactive=True)

    page = holder_client.get(reverse("omakaiku:home")).text

    assert "This card is no longer in use." in page
    assert "If you need a new card" not in page


def test_usage_history_is_newest_first_with_yearly_totals(holder_client, invited, venue, django_assert_num_queries):
    factories.CardUseFactory(card=invited, venue=venue, used_on=datetime.date(2025, 3, 1), child_tickets=2)
    factories.CardUseFactory(card=invited, venue=venue, used_on=datetime.date(2026, 5, 1), child_tickets=1)
    factories.CardUseFactory(
        card=invited,
        venue=venue,
        used_on=datetime.date(2026, 6, 1),
        cancelled_at=timezone.now(),
        cancel_reason="mistake",
    )
    with django_assert_num_queries(8) as small:
        page = holder_client.get(reverse("omakaiku:uses")).text

    assert page.index("1.6.2026") < page.index("1.5.2026") < page.index("1.3.2025")
    totals = re.findall(
        r'<tr><td data-label="Year">(\d{4})</td><td data-label="Uses">(\d+)</td>'
        r'<td data-label="Child tickets">(\d+)</td></tr>',
        page,
    )
    assert totals == [("2026", "1", "1"), ("2025", "1", "2")]  # a cancelled use is not counted

    factories.CardUseFactory.create_batch(15, card=invited, venue=venue)
    factories.CardUseFactory.create_batch(
        3, card=invited, venue=venue, cancelled_at=timezone.now(), cancel_reason="wrong card"
    )
    with django_assert_num_queries(len(small.captured_queries)):
        holder_client.get(reverse("omakaiku:uses"))


def test_a_use_on_a_card_no_longer_in_use_names_that_card(holder_client, invited, site, venue):
    old = factories.CardFactory(site=site, holder=invited.holder, number="K0000777", inactive=True)
    factories.CardUseFactory(card=old, venue=venue, used_on=datetime.date(2025, 3, 1))
    factories.CardUseFactory(card=invited, venue=venue, used_on=datetime.date(2026, 5, 1))

    page = holder_client.get(reverse("omakaiku:uses")).text

    entries = re.findall(r"<li>.*?</li>", page[page.index('<ul class="use-list">') :], re.S)
    assert len(entries) == 2
    assert "1.5.2026" in entries[0]
    assert "no longer in use" not in entries[0]  # the card in the holder's pocket
    assert invited.number not in entries[0]
    assert "1.3.2025" in entries[1]
    assert "on card K0000777, no longer in use" in entries[1]


def test_a_cancelled_use_shows_as_cancelled_with_when_and_why(holder_client, invited, venue):
    with time_machine.travel(datetime.datetime(2026, 6, 3, 12, tzinfo=datetime.UTC)):
        factories.CardUseFactory(
            card=invited,
            venue=venue,
            used_on=datetime.date(2026, 6, 1),
            cancelled_at=timezone.now(),
            cancel_reason="Typed the wrong card number",
        )

    page = holder_client.get(reverse("omakaiku:uses")).text

    [entry] = re.findall(r"<li>.*?</li>", page[page.index('<ul class="use-list">') :], re.S)
    assert '<span class="use-list__date">1.6.2026</span>' in entry
    assert '<span class="badge badge--inactive">Cancelled</span>' in entry
    assert "The venue cancelled this use on 3.6.2026. It does not count as a use." in entry
    assert "Reason: Typed the wrong card number" in entry
    assert 'id="totals-heading"' not in page  # nothing to count
    assert "No uses recorded yet" not in page


def test_an_organisations_uses_count_its_clients_under_16(client, site, venue):
    login = factories.HolderUserFactory()
    holder = factories.OrganisationHolderFactory(account=login)
    start = timezone.localdate() - datetime.timedelta(days=30)
    card = factories.CardFactory(
        site=site, holder=holder, number="Z0000001", kind="z", mobile_enabled=True, issued_on=start, valid_from=start
    )
    factories.CardUseFactory(card=card, venue=venue, clients_under_16=5, child_tickets=0)
    client.force_login(login)

    page = client.get(reverse("omakaiku:uses"))

    assert page.context["totals"][0]["clients_under_16"] == 5
    assert '<th scope="col">Clients under 16</th>' in page.text
    assert '<td data-label="Clients under 16">5</td>' in page.text
    assert "5 clients under 16" in page.text
    assert "Child tickets" not in page.text


def test_another_holders_uses_never_show(holder_client, venue):
    factories.CardUseFactory(venue=venue, used_on=datetime.date(2024, 2, 2))

    assert "2.2.2024" not in holder_client.get(reverse("omakaiku:uses")).text


def test_offers_show_only_visible_current_ones_in_the_holders_language(holder_client, venue, django_assert_num_queries):
    today = timezone.localdate()
    factories.OfferFactory(venue=venue, title_en="Free theatre", title_fi="Ilmainen teatteri")
    factories.OfferFactory(venue=venue, title_en="Hidden one", visible=False)
    factories.OfferFactory(venue=venue, title_en="Old one", ends_on=today - datetime.timedelta(days=1))
    factories.OfferFactory(venue=venue, title_en="", title_fi="Vain suomeksi")

    holder_client.get(reverse("omakaiku:offers"))  # renders the filter bar, which is then kept
    with django_assert_num_queries(7) as small:
        page = holder_client.get(reverse("omakaiku:offers")).text

    assert "Free theatre" in page
    assert "Vain suomeksi" in page  # falls back to Finnish
    assert "Hidden one" not in page
    assert "Old one" not in page
    factories.OfferFactory.create_batch(10, venue=venue)
    with django_assert_num_queries(len(small.captured_queries)):
        holder_client.get(reverse("omakaiku:offers"))


def test_offers_filter_by_category_and_municipality(holder_client, venue):
    elsewhere = factories.VenueSiteFactory(municipality=factories.MunicipalityFactory(name="Espoo"))
    factories.OfferFactory(venue=venue, title_en="Concert", category="culture")
    factories.OfferFactory(venue=venue, title_en="Swimming", category="sports")
    factories.OfferFactory(venue=elsewhere, title_en="Museum", category="culture")

    by_category = holder_client.get(reverse("omakaiku:offers"), {"category": "sports"}).text
    by_place = holder_client.get(reverse("omakaiku:offers"), {"municipality": elsewhere.municipality_id}).text

    assert "Swimming" in by_category
    assert "Concert" not in by_category
    assert "Museum" in by_place
    assert "Concert" not in by_place


@pytest.mark.parametrize("asked", ["nowhere", "ended", "999999", "²"])
def test_a_municipality_without_current_offers_lists_none_not_every_offer(holder_client, venue, asked):
    # The home municipality's link may name a municipality with no offer: the page must not then
    # list every offer in the country as if they were there.
    factories.OfferFactory(venue=venue, title_en="Concert")
    nowhere = factories.MunicipalityFactory(name="Nokia")
    ended = factories.VenueSiteFactory(municipality=factories.MunicipalityFactory(name="Ylöjärvi"))
    factories.OfferFactory(venue=ended, title_en="Old", ends_on=timezone.localdate() - datetime.timedelta(days=1))
    value = {"nowhere": nowhere.pk, "ended": ended.municipality_id}.get(asked, asked)

    page = holder_client.get(reverse("omakaiku:offers"), {"municipality": value})

    assert "Concert" not in page.text
    assert "No current offers match." in page.text
    choices = [str(choice) for choice in page.context["filter"].form.fields["municipality"].queryset]
    assert choices == [str(venue.municipality)]
    assert f'<a href="{reverse("omakaiku:offers")}">Show all offers</a>' in page.text


def test_the_home_municipalitys_link_says_so_when_it_has_no_offers(holder_client, invited, venue):
    # Found in review: the filter bar said "All" and "All" above "no offers match", with no word of
    # the home municipality asked for (only municipalities with offers are the filter's choices).
    factories.OfferFactory(venue=factories.VenueSiteFactory(municipality=factories.MunicipalityFactory()))
    home = invited.holder.municipality

    page = holder_client.get(reverse("omakaiku:offers"), {"municipality": home.pk})

    assert f"There are no current offers in {home}, your home municipality, just now." in page.text
    assert f'<a href="{reverse("omakaiku:offers")}">Show all offers</a>' in page.text
    assert "No current offers match." not in page.text


def test_offers_filter_lists_a_new_offers_municipality_within_a_minute(holder_client, venue):
    factories.OfferFactory(venue=venue, title_en="Concert")
    holder_client.get(reverse("omakaiku:offers"))  # renders the filter bar, which is then kept
    elsewhere = factories.VenueSiteFactory(municipality=factories.MunicipalityFactory(name="Espoo"))
    factories.OfferFactory(venue=elsewhere, title_en="Museum")

    # The offers themselves are read anew on every request; the filter's list of municipalities
    # is kept for a minute.
    soon = holder_client.get(reverse("omakaiku:offers")).text
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=61)):
        later = holder_client.get(reverse("omakaiku:offers")).text

    option = f'<option value="{elsewhere.municipality_id}">Espoo</option>'
    assert "Museum" in soon
    assert option not in soon
    assert option in later


def test_mobile_card_shows_codes_validity_and_load_time(holder_client, invited):
    response = holder_client.get(reverse("omakaiku:mobile_card", args=[invited.pk]))

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.text.count("<svg") == 2
    assert (
        '<p class="mobile-card__state" role="status" data-state="valid" data-msg-expired="Not valid">Valid</p>'
        in response.text
    )
    assert "Page loaded" in response.text
    assert 'style="' not in response.text.split("<svg", 1)[1]  # CSP: no inline styles in the codes


def test_only_the_mobile_card_has_no_session_warning_over_it(holder_client, invited):
    # Shown at a venue's desk, perhaps offline: a "you will be logged out" must not cover it.
    card = holder_client.get(reverse("omakaiku:mobile_card", args=[invited.pk]))
    home = holder_client.get(reverse("omakaiku:home"))

    assert 'id="session-warning"' not in card.text
    assert 'id="session-warning"' in home.text


def test_mobile_card_of_invalid_card_says_not_valid(holder_client, invited):
    _expire(invited)

    response = holder_client.get(reverse("omakaiku:mobile_card", args=[invited.pk]))

    assert (
        '<p class="mobile-card__state" role="status" data-state="invalid" data-msg-expired="Not valid">Not valid</p>'
        in response.text
    )


def _short(day: datetime.date) -> str:
    return f"{day.day}.{day.month}.{day.year}"


def _card_section(page: str, card: Card) -> str:
    return re.search(rf'<section [^>]*aria-labelledby="card-{card.pk}">.*?</section>', page, re.S).group(0)


def test_an_inactive_card_says_since_when_it_is_out_of_use_not_a_validity(client, distributor, invited):
    new = services.card_replace(card=invited, actor=distributor, number="B7654321", reason="lost")
    client.force_login(new.holder.account)

    page = client.get(reverse("omakaiku:home")).text

    old_card, new_card = _card_section(page, invited), _card_section(page, new)
    assert f"<dt>Not in use since</dt><dd>{_short(timezone.localdate())}</dd>" in old_card
    assert "Valid until" not in old_card
    assert "Show mobile card" not in old_card
    assert f"<dt>Valid until</dt><dd>{_short(new.valid_until)}</dd>" in new_card
    assert "Not in use since" not in new_card


@pytest.mark.parametrize("mobile", [True, False])
def test_an_inactive_cards_mobile_page_says_it_is_out_of_use(client, distributor, invited, mobile):
    Card.objects.filter(pk=invited.pk).update(mobile_enabled=mobile)
    # The replaced card keeps its mobile flag as it was.
    new = services.card_replace(card=invited, actor=distributor, number="B7654321", reason="lost")
    client.force_login(new.holder.account)

    response = client.get(reverse("omakaiku:mobile_card", args=[invited.pk]))

    assert response.status_code == 404  # so that the service worker drops a stored copy of the card
    assert "<svg" not in response.text
    assert "<h1>Card no longer in use</h1>" in response.text
    assert (
        f"Card A1234567 was taken out of use on {_short(timezone.localdate())}, "
        "so it cannot be used as a mobile card." in response.text
    )
    assert "Your card distributor can enable it" not in response.text


def test_mobile_card_needs_mobile_enabled_and_own_card(holder_client, invited, site):
    Card.objects.filter(pk=invited.pk).update(mobile_enabled=False)
    other = factories.CardFactory(site=site, mobile_enabled=True)

    assert holder_client.get(reverse("omakaiku:mobile_card", args=[invited.pk])).status_code == 404
    assert holder_client.get(reverse("omakaiku:mobile_card", args=[other.pk])).status_code == 404


def test_my_data_download_has_everything_stored(holder_client, invited, venue):
    factories.CardUseFactory(card=invited, venue=venue)

    response = holder_client.get(reverse("omakaiku:my_data_download"))

    data = json.loads(response.content)
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert data["holder"]["year_of_birth"] == 1985
    assert data["omakaiku"]["email"] == "maija@example.com"
    assert data["cards"][0]["number"] == "A1234567"
    assert len(data["uses"]) == 1


def test_manifest_lets_a_phone_add_omakaiku_to_home_screen(client, db):
    response = client.get(reverse("omakaiku:manifest"))

    data = json.loads(response.content)
    assert data["start_url"] == reverse("omakaiku:home")
    assert any(icon["sizes"] == "192x192" for icon in data["icons"])


def test_activation_is_rate_limited(client, db):
    statuses = {client.get(reverse("omakaiku:activate", args=["zz", "bad-token"])).status_code for _ in range(25)}

    assert 429 in statuses


def test_login_gives_a_new_session_id(client, invited):
    _holder_client(invited)
    # An anonymous session exists before login (as after any form with a session write).
    session = client.session
    session["seen"] = True
    session.save()
    client.cookies["sessionid"] = before = session.session_key
    client.post(reverse("omakaiku:login"), {"login": "maija@example.com", "password": PASSWORD})

    assert client.cookies["sessionid"].value != before
    assert client.session.get_expiry_age() <= 30 * 60


def test_activation_and_the_data_download_are_in_the_security_log(client, invited, caplog, committed):
    from accounts.security_log import LOGGER_NAME

    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    with committed():
        _activate(client, _link(mail.outbox[0]))
    client.get(reverse("omakaiku:my_data_download"))

    logged = [json.loads(r.getMessage()) for r in caplog.records if r.name == LOGGER_NAME]
    user = User.objects.get(email="maija@example.com")
    assert {"account.activated", "my_data.downloaded"} <= {e["event"] for e in logged if e.get("user_id") == user.pk}
    assert "maija@example.com" not in caplog.text


def test_offers_show_address_link_access_and_booking_and_which_are_near(holder_client, invited, venue):
    from accounts.models import Municipality, Region
    from cards.models import Offer

    today = timezone.localdate()
    home = invited.holder.municipality
    near = factories.VenueSiteFactory(name="Near hall", municipality=home)
    other_region = Region.objects.create(name="Lappi")
    far = factories.VenueSiteFactory(
        name="Far hall", municipality=Municipality.objects.create(name="Inari", region=other_region)
    )
    for site, title in ((near, "Near concert"), (far, "Far concert")):
        Offer.objects.create(
            venue=site,
            category="culture",
            title_fi=title,
            title_en=title,
            address="Hämeenkatu 1, Tampere",
            web_link="https://example.fi/tickets",
            accessibility_en="Step-free entrance; induction loop",
            booking_en="Book by phone the day before",
            starts_on=today,
            ends_on=today,
        )

    page = holder_client.get(reverse("omakaiku:offers")).text

    near_offer = page[page.index("Near concert") : page.index("</article>", page.index("Near concert"))]
    far_offer = page[page.index("Far concert") : page.index("</article>", page.index("Far concert"))]
    assert "In your home municipality" in near_offer
    assert "In your home municipality" not in far_offer
    assert "In your region" not in far_offer
    for text in ("Hämeenkatu 1, Tampere", "Step-free entrance; induction loop", "Book by phone the day before"):
        assert text in near_offer
    assert 'href="https://example.fi/tickets" rel="noopener noreferrer external"' in near_offer
    only_home = holder_client.get(reverse("omakaiku:offers"), {"municipality": home.pk}).text
    assert "Near concert" in only_home
    assert "Far concert" not in only_home


def test_an_x_card_holders_pages_say_nothing_about_a_printed_card(client, distributor, site, customer_data, committed):
    with committed():
        card = services.card_register(
            site=site, actor=distributor, number="X", holder_data=customer_data, email="xholder@example.com"
        )
    user = card.holder.account
    user.activated_at = timezone.now()
    user.save()
    client.force_login(user)

    for path in (reverse("omakaiku:home"), reverse("omakaiku:mobile_card", args=[card.pk])):
        page = client.get(path).text.lower()
        assert card.number.lower() in page
        assert "printed" not in page
        assert "plastic" not in page


def test_a_missing_omakaiku_page_keeps_omakaiku_and_a_staff_one_kaikukanta(holder_client, client, distributor, site):
    other = factories.CardFactory(site=site, mobile_enabled=True)

    missing = holder_client.get(reverse("omakaiku:mobile_card", args=[other.pk]))

    assert missing.status_code == 404
    assert '<body class="omakaiku">' in missing.text
    assert '<a class="brand" href="/omakaiku/">OmaKaiku</a>' in missing.text
    client.force_login(distributor)
    staff_missing = client.get(reverse("cards:detail", args=[10**6]))
    assert staff_missing.status_code == 404
    assert '<body class="">' in staff_missing.text
    assert ">Kaikukanta</a>" in staff_missing.text


def test_logging_out_clears_the_stored_mobile_card_and_the_login_page_says_so(client, holder_client):
    # The stored copy outlives a session that merely ends (it is for the desk with no network).
    logged_out = holder_client.post(reverse("omakaiku:logout"))
    login = holder_client.get(reverse("omakaiku:login"))

    assert logged_out["Clear-Site-Data"] == '"cache", "storage"'
    assert (
        "On a shared or borrowed device, log out when you are done: your mobile card stays stored on the device "
        "until you do."
    ) in login.text


def test_the_invitation_names_the_site_with_its_organisation_and_the_mobile_card(invited, site, committed):
    # A unit's name alone ("Aikuissosiaalityö") does not say who writes.
    site.name, site.organisation.name = "Aikuissosiaalityö", "Tampereen kaupunki"
    site.save()
    site.organisation.save()
    plain = factories.CardFactory(
        site=site, number="A7654321", holder__account=factories.HolderUserFactory(activated_at=None, language="en")
    )
    mail.outbox.clear()

    with committed():
        services.omakaiku_invite(holder=invited.holder, actor=None)
        services.omakaiku_invite(holder=plain.holder, actor=None)

    mobile_mail, plain_mail = (message.body for message in mail.outbox)
    distributor = "Your Kaikukortti distributor Aikuissosiaalityö (Tampereen kaupunki) has activated OmaKaiku for you."
    assert distributor in mobile_mail
    assert distributor in plain_mail
    mobile = "Your Kaikukortti is also a mobile card: log in to OmaKaiku on your phone and choose Show mobile card"
    assert mobile in mobile_mail
    assert mobile not in plain_mail


def test_omakaiku_and_the_mobile_card_enabled_together_on_a_card_say_so_in_the_invitation(site, distributor, committed):
    # Found in review: the invitation went out before the mobile card was enabled, and said nothing of it.
    card = factories.CardFactory(site=site, number="A7654321")
    mail.outbox.clear()

    with committed():
        services.card_omakaiku_activate(
            card=card, actor=distributor, email="uusi@example.com", mobile=True, language="en"
        )

    card.refresh_from_db()
    assert card.mobile_enabled
    assert "Your Kaikukortti is also a mobile card: log in to OmaKaiku on your phone" in mail.outbox[-1].body


def test_the_invitation_of_a_mobile_only_card_says_there_is_no_plastic_card(site, committed):
    # Found in review: an X card's holder, who gave up the plastic card, read it was "also" a mobile card.
    x_card = factories.CardFactory(
        site=site,
        number="X0000001",
        kind=Card.Kind.X,
        mobile_enabled=True,
        holder__account=factories.HolderUserFactory(activated_at=None, language="en"),
    )
    mail.outbox.clear()

    with committed():
        services.omakaiku_invite(holder=x_card.holder, actor=None)

    body = mail.outbox[-1].body
    assert "Your Kaikukortti is a mobile card only, with no plastic card: log in to OmaKaiku on your phone" in body
    assert "also a mobile card" not in body


def test_a_holder_logs_out_of_omakaiku_from_any_page(holder_client, client, distributor):
    # Help and statistics are shared with staff: their logout is OmaKaiku's for a holder.
    for path in (reverse("help"), reverse("stats:public"), reverse("omakaiku:home")):
        page = holder_client.get(path).text
        assert re.search(r'<form action="([^"]+)" method="post" class="logout-form"', page).group(1) == reverse(
            "omakaiku:logout"
        ), path
    # An address typed by hand, or a staff member's logout: the stored pages go as well.
    assert holder_client.post(reverse("account_logout"))["Clear-Site-Data"] == '"cache", "storage"'
    client.force_login(distributor)
    assert client.post(reverse("account_logout"))["Clear-Site-Data"] == '"cache", "storage"'


def test_a_login_on_the_device_starts_with_nothing_stored(client, invited):
    _holder_client(invited)  # activated elsewhere

    refused = client.post(reverse("omakaiku:login"), {"login": "maija@example.com", "password": "wrong"})
    logged_in = client.post(reverse("omakaiku:login"), {"login": "maija@example.com", "password": PASSWORD})

    assert "Clear-Site-Data" not in refused
    # Someone else's mobile card, stored on this device before, is not for this person.
    assert logged_in.status_code == 302
    assert logged_in["Clear-Site-Data"] == '"cache", "storage"'


def test_a_login_by_the_activation_or_reset_link_also_starts_with_nothing_stored(client, invited):
    # Found in review: the link logged the holder in with another person's card still stored.
    page, activated = _activate(client, _link(mail.outbox[0]))

    assert activated.status_code == 302
    assert activated.url == reverse("omakaiku:home")
    assert activated["Clear-Site-Data"] == '"cache", "storage"'


def test_the_stored_mobile_card_page_holds_no_address(holder_client, invited):
    page = holder_client.get(reverse("omakaiku:mobile_card", args=[invited.pk])).text
    home = holder_client.get(reverse("omakaiku:home")).text

    assert "maija@example.com" not in page
    assert invited.number in page
    assert "maija@example.com" in home  # the other pages still say who is logged in


def test_a_login_page_posted_by_someone_already_in_clears_nothing(holder_client, client, distributor):
    # allauth sends an authenticated request on without a login: a stale login tab, or staff.
    stale_tab = holder_client.post(reverse("omakaiku:login"), {"login": "maija@example.com", "password": "wrong"})
    client.force_login(distributor)
    staff = client.post(reverse("omakaiku:login"), {"login": "maija@example.com", "password": "wrong"})

    assert "Clear-Site-Data" not in stale_tab
    assert "Clear-Site-Data" not in staff


def test_offers_upcoming_and_current_show_in_order_of_start_ended_ones_not(holder_client):
    today = timezone.localdate()
    day = datetime.timedelta(days=1)
    venue = factories.VenueSiteFactory()
    for title, starts, ends in (
        ("Next month", today + 30 * day, today + 40 * day),
        ("Running", today - 5 * day, today + 5 * day),
        ("Ended", today - 10 * day, today - day),
    ):
        factories.OfferFactory(venue=venue, title_en=title, starts_on=starts, ends_on=ends, visible=True)

    page = holder_client.get(reverse("omakaiku:offers")).text

    assert "Ended" not in page
    assert page.index("Running") < page.index("Next month")
    upcoming = page[page.index("Next month") : page.index("</article>", page.index("Next month"))]
    assert f"{today + 30 * day:%-d.%-m.%Y}" in upcoming  # its dates say it has not started
