"""The expiry work list: which cards a distributor is reminded of, and renewing them from there."""

import datetime
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from cards.models import Card, ValidityPeriod
from cards.services import validity_period
from tests import factories

LIST = reverse("cards:expiring")
CONFIRM = reverse("cards:expiring_renew")
TODAY = datetime.date(2026, 3, 10)


@pytest.fixture
def on_today():
    """Every test here runs on TODAY, at noon in Helsinki."""
    noon = datetime.datetime(2026, 3, 10, 12, tzinfo=datetime.UTC) - datetime.timedelta(hours=2)
    with time_machine.travel(noon, tick=False) as traveller:
        yield traveller


def card_until(site, until: datetime.date, number: str, **kwargs) -> Card:
    """A card whose last valid day is ``until``; renewed about a year before it."""
    return factories.CardFactory(
        site=site,
        number=number,
        valid_from=until - datetime.timedelta(days=364),
        valid_until=until,
        **kwargs,
    )


def days(n: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=n)


def sections(response) -> tuple[str, str]:
    """The text of "Expiring soon" and of "Expired in the last 90 days"."""
    text = response.text
    soon, _sep, expired = text.partition('id="expired-heading"')
    return soon.split('id="expiring-heading"')[1], expired


def renewed_periods(card: Card) -> int:
    return ValidityPeriod.objects.filter(card=card, cause=ValidityPeriod.Cause.RENEWED).count()


def test_lists_active_cards_expiring_within_30_days_and_expired_within_90(
    on_today, distributor_client, site, other_site
):
    card_until(site, days(0), "TODAY001")
    card_until(site, days(30), "SOON0030")
    card_until(site, days(31), "LATER031")
    card_until(site, days(-1), "PAST0001")
    card_until(site, days(-90), "PAST0090")
    card_until(site, days(-91), "PAST0091")
    card_until(site, days(5), "GONE0005", inactive=True)
    card_until(other_site, days(5), "OTHER005")
    card_until(other_site, days(-5), "OTHER995")

    response = distributor_client.get(LIST)

    soon, expired = sections(response)
    assert response.status_code == 200
    assert re.search(r"TODAY001.*SOON0030", soon, re.S), "soonest first"
    assert "LATER031" not in response.text
    assert re.search(r"PAST0090.*PAST0001", expired, re.S)
    assert "PAST0001" not in soon
    assert "PAST0091" not in response.text
    assert "GONE0005" not in response.text, "inactive cards are not renewed"
    assert "OTHER" not in response.text, "another site's cards never appear"


def test_the_windows_move_with_the_calendar(on_today, distributor_client, distributor, site):
    card_until(site, days(31), "LATER031")
    card_until(site, days(-90), "PAST0090")
    card_until(site, days(0), "TODAY001")

    on_today.shift(datetime.timedelta(days=1))
    distributor_client.force_login(distributor)  # yesterday's session has expired
    response = distributor_client.get(LIST)

    soon, expired = sections(response)
    assert "LATER031" in soon
    assert "PAST0090" not in response.text
    assert "TODAY001" in expired


def test_rows_show_the_card_holder_and_a_renew_button_for_each(on_today, distributor_client, site):
    card = card_until(site, days(3), "SOON0003", holder__municipality__name="Tampere", mobile_enabled=True)

    response = distributor_client.get(LIST)

    assert f'href="{reverse("cards:detail", args=[card.pk])}"' in response.text
    assert "Customer born 1980, Tampere" in response.text
    assert "13.3.2026" in response.text
    assert f'action="{reverse("cards:expiring_renew_one", args=[card.pk])}"' in response.text
    assert "card SOON0003</span></button>" in response.text
    assert "csrfmiddlewaretoken" in response.text


def test_one_click_renewal_renews_for_twelve_months_and_twice_is_once(on_today, distributor_client, site):
    card = card_until(site, days(4), "SOON0004")
    url = reverse("cards:expiring_renew_one", args=[card.pk])

    first = distributor_client.post(url, follow=True)
    distributor_client.post(url)

    card.refresh_from_db()
    assert first.redirect_chain[-1][0] == LIST
    assert card.valid_from == TODAY
    assert card.valid_until == validity_period(TODAY)[1] == datetime.date(2027, 3, 9)
    assert "Card SOON0004 was renewed: valid until 9.3.2027." in first.text
    assert renewed_periods(card) == 1
    assert "SOON0004</a>" not in first.text, "a renewed card leaves the list"
    assert "No cards expire in the next 30 days." in first.text


def test_one_click_renewal_of_another_sites_card_is_not_found(on_today, distributor_client, other_site):
    card = card_until(other_site, days(4), "OTHER004")

    response = distributor_client.post(reverse("cards:expiring_renew_one", args=[card.pk]))

    card.refresh_from_db()
    assert response.status_code == 404
    assert card.valid_until == days(4)


def test_one_click_renewal_is_post_only(on_today, distributor_client, site):
    card = card_until(site, days(4), "SOON0004")

    response = distributor_client.get(reverse("cards:expiring_renew_one", args=[card.pk]))

    card.refresh_from_db()
    assert response.status_code == 405
    assert card.valid_until == days(4)


def test_one_click_renewal_of_an_inactive_card_says_why(on_today, distributor_client, site):
    card = card_until(site, days(4), "GONE0004", inactive=True)

    response = distributor_client.post(reverse("cards:expiring_renew_one", args=[card.pk]), follow=True)

    assert "Card GONE0004: This card is inactive" in response.text
    assert renewed_periods(card) == 0


def test_renew_selected_confirms_the_cards_then_renews_them_all(on_today, distributor_client, site):
    soon = card_until(site, days(2), "SOON0002")
    past = card_until(site, days(-20), "PAST0020")
    untouched = card_until(site, days(9), "SOON0009")

    page = distributor_client.get(CONFIRM, {"card": [soon.pk, past.pk]})
    response = distributor_client.post(CONFIRM, {"card": [soon.pk, past.pk]}, follow=True)

    assert "SOON0002" in page.text
    assert "PAST0020" in page.text
    assert "SOON0009" not in page.text
    assert "9.3.2027" in page.text, "the new last valid day is shown before confirming"
    assert "Confirm renewal of 2 cards" in page.text
    for card in (soon, past, untouched):
        card.refresh_from_db()
    assert soon.valid_until == past.valid_until == datetime.date(2027, 3, 9)
    assert untouched.valid_until == days(9)
    assert response.redirect_chain[-1][0] == LIST
    assert "2 cards were renewed until 9.3.2027: PAST0020, SOON0002." in response.text


def test_the_confirmation_names_a_card_that_cannot_be_renewed_and_offers_nothing(on_today, distributor_client, site):
    active = card_until(site, days(2), "SOON0002")
    inactive = card_until(site, days(8), "GONE0008", inactive=True)

    page = distributor_client.get(CONFIRM, {"card": [active.pk, inactive.pk]})

    assert page.status_code == 200
    assert "Card GONE0008: This card is inactive" in page.text
    assert "Confirm renewal of" not in page.text
    assert "Valid until after renewal" not in page.text


def test_renew_selected_is_all_or_nothing(on_today, distributor_client, site):
    active = card_until(site, days(2), "SOON0002")
    # Renewed after the active one: the refusal comes when the first card is already renewed.
    inactive = card_until(site, days(8), "GONE0008", inactive=True)

    response = distributor_client.post(CONFIRM, {"card": [active.pk, inactive.pk]})

    active.refresh_from_db()
    assert response.status_code == 200
    assert "Nothing was renewed. Card GONE0008 could not be renewed: This card is inactive" in response.text
    assert active.valid_until == days(2)
    assert renewed_periods(active) == 0


def test_another_sites_card_in_the_selection_is_refused_and_nothing_renewed(
    on_today, distributor_client, site, other_site
):
    own = card_until(site, days(2), "SOON0002")
    foreign = card_until(other_site, days(3), "OTHER003")

    confirm = distributor_client.get(CONFIRM, {"card": [own.pk, foreign.pk]})
    response = distributor_client.post(CONFIRM, {"card": [own.pk, foreign.pk]})

    for card in (own, foreign):
        card.refresh_from_db()
        assert renewed_periods(card) == 0
    assert own.valid_until == days(2)
    assert foreign.valid_until == days(3)
    for page in (confirm, response):
        assert page.status_code == 200
        assert "not one of your site&#x27;s cards" in page.text
        assert "OTHER003" not in page.text
        assert "Confirm renewal" not in page.text


def test_an_empty_selection_goes_back_to_the_list(on_today, distributor_client, site):
    card_until(site, days(2), "SOON0002")

    response = distributor_client.get(CONFIRM, follow=True)
    posted = distributor_client.post(CONFIRM, {})

    assert response.redirect_chain[-1][0] == LIST
    assert "Select at least one card to renew." in response.text
    assert posted.status_code == 200
    assert "Select at least one card to renew." in posted.text


def test_back_to_the_list_keeps_the_selection(on_today, distributor_client, site):
    first = card_until(site, days(2), "SOON0002")
    second = card_until(site, days(-3), "PAST0003")
    third = card_until(site, days(4), "SOON0004")

    confirm = distributor_client.get(CONFIRM, {"card": [first.pk, second.pk]})
    back = re.search(r'<a href="([^"]+)">Back to the list</a>', confirm.text).group(1).replace("&amp;", "&")
    response = distributor_client.get(back)

    assert back == f"{LIST}?card={first.pk}&card={second.pk}"
    for card, checked in [(first, True), (second, True), (third, False)]:
        tag = re.search(rf'<input type="checkbox" name="card" value="{card.pk}"[^>]*>', response.text).group(0)
        assert ("checked" in tag) is checked


@pytest.mark.parametrize(
    "values",
    [["abc"], ["\x00"], ["1\x002"], ["²"], ["٣"], ["9" * 40], ["9" * 5000], ["-1"], [""], ["1.5"], ["\ufeff1"]],
)
def test_bad_selections_are_form_errors_not_crashes(on_today, distributor_client, site, values):
    card = card_until(site, days(2), "SOON0002")

    listed = distributor_client.get(LIST, {"card": values})
    confirm = distributor_client.get(CONFIRM, {"card": [card.pk, *values]})
    posted = distributor_client.post(CONFIRM, {"card": [card.pk, *values]})

    card.refresh_from_db()
    assert listed.status_code == 200
    assert confirm.status_code == 200
    assert posted.status_code == 200
    assert "Confirm renewal" not in posted.text
    assert renewed_periods(card) == 0


def test_too_large_a_selection_is_refused(on_today, distributor_client, site):
    card = card_until(site, days(2), "SOON0002")

    response = distributor_client.post(CONFIRM, {"card": [card.pk] + [str(n) for n in range(10**6, 10**6 + 400)]})

    assert "Select at most 400 cards at a time." in response.text
    assert renewed_periods(card) == 0


def test_only_distributors_open_the_list(on_today, client, venue_user):
    client.force_login(venue_user)

    assert client.get(LIST).status_code == 403
    assert client.get(CONFIRM, {"card": ["1"]}).status_code == 403


def test_the_navigation_links_to_the_list(on_today, distributor_client):
    response = distributor_client.get(reverse("cards:list"))

    assert f'<a href="{LIST}">Expiring cards</a>' in response.text


def test_list_query_count_does_not_grow_with_rows(on_today, distributor_client, site, django_assert_num_queries):
    card_until(site, days(3), "SOON0003")
    card_until(site, days(-3), "PAST0003")
    with django_assert_num_queries(7) as small:
        distributor_client.get(LIST)
    for n in range(10):
        card_until(site, days(n), f"SOONX{n:03d}", holder__municipality=factories.MunicipalityFactory())
        card_until(site, days(-n - 1), f"PASTX{n:03d}", holder__municipality=factories.MunicipalityFactory())
    with django_assert_num_queries(len(small.captured_queries)):
        response = distributor_client.get(LIST)
    assert response.text.count("SOONX") + response.text.count("PASTX") >= 20


def test_confirmation_query_count_does_not_grow_with_the_selection(
    on_today, distributor_client, site, django_assert_num_queries
):
    cards = [card_until(site, days(n), f"SOON{n:04d}") for n in range(12)]
    with django_assert_num_queries(6) as small:
        distributor_client.get(CONFIRM, {"card": [cards[0].pk]})
    with django_assert_num_queries(len(small.captured_queries)):
        response = distributor_client.get(CONFIRM, {"card": [card.pk for card in cards]})
    assert "Confirm renewal of 12 cards" in response.text


def test_a_long_section_is_cut_with_a_note(on_today, distributor_client, site, monkeypatch):
    from cards import views_worklist

    monkeypatch.setattr(views_worklist, "SECTION_LIMIT", 2)
    for n in range(3):
        card_until(site, days(n), f"SOON{n:04d}")

    response = distributor_client.get(LIST)

    assert "SOON0002" not in response.text
    assert "Only the first 2 are shown." in response.text


def test_today_is_helsinki_today(distributor_client, site):
    """Late in the evening UTC it is already tomorrow in Finland: the list follows Finland."""
    with time_machine.travel(datetime.datetime(2026, 3, 9, 22, 30, tzinfo=datetime.UTC), tick=False):
        assert timezone.localdate() == TODAY
        card_until(site, days(-1), "PAST0001")
        soon, expired = sections(distributor_client.get(LIST))
    assert "PAST0001" in expired


def test_the_bulk_renewal_service_renews_all_or_none(on_today, distributor, site, other_site):
    from django.core.exceptions import ValidationError

    from cards import services

    ours = card_until(site, days(10), "K2000001")
    theirs = card_until(other_site, days(10), "K2000002")

    with pytest.raises(ValidationError) as caught:
        services.cards_renew(cards=[ours, theirs], actor=distributor)

    assert caught.value.code == "renew_not_permitted"
    assert "K2000002" in " ".join(caught.value.messages)
    assert renewed_periods(ours) == 0
    assert [c.pk for c in services.cards_renew(cards=[ours], actor=distributor)] == [ours.pk]
    assert renewed_periods(ours) == 1
