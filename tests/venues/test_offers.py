import datetime
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from cards.models import Offer
from tests import factories
from venues import services


def _offer_data(**overrides):
    today = timezone.localdate()
    return {
        "category": "culture",
        "title_fi": "Ilmainen konsertti",
        "title_sv": "",
        "title_en": "Free concert",
        "starts_on": today,
        "ends_on": today + datetime.timedelta(days=30),
        "visible": True,
    } | overrides


def test_venue_creates_edits_hides_and_deletes_an_offer(venue, venue_user):
    offer = services.offer_save(venue=venue, actor=venue_user, data=_offer_data())
    services.offer_save(venue=venue, actor=venue_user, data=_offer_data(title_fi="Konsertti"), offer=offer)
    services.offer_set_visible(offer=offer, actor=venue_user, visible=False)

    offer.refresh_from_db()
    assert offer.title_fi == "Konsertti"
    assert offer.visible is False
    services.offer_delete(offer=offer, actor=venue_user)
    assert not Offer.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"title_fi": " "}, "title_fi"), ({"ends_on": timezone.localdate() - datetime.timedelta(days=1)}, "ends_on")],
)
def test_offer_refusals(venue, venue_user, overrides, field):
    with pytest.raises(ValidationError) as excinfo:
        services.offer_save(venue=venue, actor=venue_user, data=_offer_data(**overrides))

    assert field in excinfo.value.message_dict


def test_another_venue_cannot_touch_the_offer(venue, venue_user, municipality):
    offer = factories.OfferFactory(venue=venue)
    other = factories.MembershipFactory(site=factories.VenueSiteFactory(municipality=municipality)).user

    with pytest.raises(PermissionDenied):
        services.offer_set_visible(offer=offer, actor=other, visible=False)
    with pytest.raises(PermissionDenied):
        services.offer_delete(offer=offer, actor=other)


def test_a_closed_venues_offers_are_not_offered_for_editing(client, venue_user, venue, municipality):
    # The person also works at an open venue, so they still log in and reach the venue pages.
    factories.MembershipFactory(user=venue_user, site=factories.VenueSiteFactory(municipality=municipality))
    offer = factories.OfferFactory(venue=venue)
    venue.is_active = False
    venue.save()
    client.force_login(venue_user)

    for name in ("offer_edit", "offer_delete"):
        assert client.get(reverse(f"venues:{name}", args=[offer.pk])).status_code == 404, name


def _offer_post(**overrides) -> dict:
    """The offer editor's form as a venue posts it."""
    today = timezone.localdate()
    return {
        "category": "sports",
        "title_fi": "Uimahalli",
        "starts_on": today.isoformat(),
        "ends_on": (today + datetime.timedelta(days=5)).isoformat(),
    } | overrides


def test_offer_pages(client, venue_user, venue, django_assert_num_queries):
    client.force_login(venue_user)
    response = client.post(reverse("venues:offer_create") + f"?venue={venue.pk}", _offer_post(visible="on"))
    assert response.status_code == 302
    offer = Offer.objects.get()
    assert offer.venue == venue

    other = factories.OfferFactory(venue=factories.VenueSiteFactory())
    assert client.get(reverse("venues:offer_edit", args=[other.pk])).status_code == 404

    client.post(reverse("venues:offer_visibility", args=[offer.pk]), {"visible": "0"})
    offer.refresh_from_db()
    assert offer.visible is False

    # Session, user, roles (which hold the venue), BEGIN, count and page of offers, COMMIT.
    with django_assert_num_queries(7) as small:
        client.get(reverse("venues:offers"))
    factories.OfferFactory.create_batch(10, venue=venue)
    with django_assert_num_queries(len(small.captured_queries)):
        client.get(reverse("venues:offers"))


def test_the_offer_editor_names_its_venue_and_marks_the_languages_of_the_texts_not_the_labels(
    client, venue_user, venue
):
    client.force_login(venue_user)

    page = client.get(reverse("venues:offer_create"), {"venue": venue.pk}).text

    assert re.search(rf"<h1>New offer <span class=\"subtle\">· {re.escape(venue.name)}</span></h1>", page)
    assert '<fieldset class="group" lang=' not in page  # its labels are in English here
    assert '<legend lang="sv">På svenska</legend>' in page
    assert re.search(r'<input[^>]*name="title_sv"[^>]*lang="sv"|<input[^>]*lang="sv"[^>]*name="title_sv"', page)


def test_the_offer_editor_says_every_problem_on_the_first_save(client, venue_user, venue):
    # Found in review: the missing title first, the link and the dates only on the next save.
    client.force_login(venue_user)
    typed = _offer_post(
        title_fi="", web_link="ftp://tampere-talo.example", starts_on="2026-12-10", ends_on="2026-12-01"
    )

    refused = client.post(reverse("venues:offer_create") + f"?venue={venue.pk}", typed)

    errors = refused.context["form"].errors
    assert set(errors) >= {"title_fi", "web_link", "ends_on"}
    assert errors["web_link"] == ["Enter a web address that starts with https:// (or http://)."]
    assert errors["ends_on"] == ["The offer cannot end before it starts."]
    assert len(errors["title_fi"]) == 1  # its own refusal, not the rule's as well
    assert 'value="ftp://tampere-talo.example"' in refused.text
    assert not Offer.objects.exists()


def test_an_offers_finnish_title_is_marked_finnish_and_escaped_in_other_languages(client, venue_user, venue):
    offer = factories.OfferFactory(venue=venue, title_fi="Kevään <b>konsertti</b>")
    client.force_login(venue_user)
    client.post(reverse("set_language"), {"language": "sv"})

    listed = client.get(reverse("venues:offers")).text
    deleting = client.get(reverse("venues:offer_delete", args=[offer.pk])).text

    for page in (listed, deleting):
        assert '<span lang="fi">Kevään &lt;b&gt;konsertti&lt;/b&gt;</span>' in page
        assert "<b>konsertti</b>" not in page


def test_hidden_offer_never_reaches_omakaiku(venue, venue_user):
    from omakaiku.selectors import offers_current

    offer = services.offer_save(venue=venue, actor=venue_user, data=_offer_data())
    assert offer in offers_current()
    services.offer_set_visible(offer=offer, actor=venue_user, visible=False)
    assert offer not in offers_current()


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", "file:///etc/passwd", "www.example.fi", "https://", "ftp://x.fi"]
)
def test_an_offers_web_link_is_a_web_address_only(venue, venue_user, link):
    with pytest.raises(ValidationError) as caught:
        services.offer_save(venue=venue, actor=venue_user, data=_offer_data(web_link=link))

    assert "web_link" in caught.value.message_dict
    assert not Offer.objects.exists()


def test_a_web_address_in_capitals_is_a_web_address_too(venue, venue_user):
    offer = services.offer_save(venue=venue, actor=venue_user, data=_offer_data(web_link="HTTPS://Example.fi/Liput"))

    assert offer.web_link == "HTTPS://Example.fi/Liput"


def test_an_offer_keeps_its_address_link_accessibility_and_booking(venue, venue_user):
    data = _offer_data(
        address="Hämeenkatu 1",
        web_link="https://example.fi/liput",
        accessibility_fi="Esteetön sisäänkäynti",
        booking_fi="Varaa puhelimitse",
        booking_en="Book by phone",
    )
    offer = services.offer_save(venue=venue, actor=venue_user, data=data)

    offer.refresh_from_db()
    assert (offer.address, offer.web_link) == ("Hämeenkatu 1", "https://example.fi/liput")
    assert offer.accessibility_in("sv") == "Esteetön sisäänkäynti"  # Finnish is the fallback
    assert offer.booking_in("en") == "Book by phone"


def test_a_too_long_web_address_is_refused_with_the_limit_the_user_can_act_on(client, venue_user, venue):
    # Typed without https://, which the form adds before it counts.
    link = "example.fi/" + "a" * 289
    client.force_login(venue_user)
    response = client.post(reverse("venues:offer_create") + f"?venue={venue.pk}", _offer_post(web_link=link))

    assert response.status_code == 200
    assert not Offer.objects.exists()
    assert response.context["form"].errors["web_link"] == [
        "Shorten the web address to at most 300 characters, https:// included."
    ]
    assert f'value="{link}"' in response.text  # as typed


@pytest.mark.parametrize(
    "link",
    [
        "a" * 301,  # one host name of 301 letters: not a valid address either
        "https://example.fi/" + "a" * 3000,  # over the URL validator's own cap too
    ],
)
def test_a_too_long_web_address_gets_only_the_length_message(client, venue_user, venue, link):
    # Shortening is what the user must do first; "Enter a valid URL" beside it sent them
    # looking for a typo.
    client.force_login(venue_user)
    response = client.post(reverse("venues:offer_create") + f"?venue={venue.pk}", _offer_post(web_link=link))

    assert response.context["form"].errors["web_link"] == [
        "Shorten the web address to at most 300 characters, https:// included."
    ]
    assert not Offer.objects.exists()


def test_only_a_too_long_web_address_loses_the_validity_message(client, venue_user, venue):
    client.force_login(venue_user)
    url = reverse("venues:offer_create") + f"?venue={venue.pk}"

    short = client.post(url, _offer_post(web_link="a b")).context["form"].errors["web_link"]
    long = client.post(url, _offer_post(web_link="a b" * 101)).context["form"].errors["web_link"]

    assert short == ["Enter a valid URL."]
    assert long == ["Shorten the web address to at most 300 characters, https:// included."]
