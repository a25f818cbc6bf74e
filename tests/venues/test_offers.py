import datetime
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import SiteMembership
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


def test_the_saved_message_names_the_offer_in_the_pages_language_where_it_has_one(client, venue_user, venue):
    client.force_login(venue_user)
    client.post(reverse("set_language"), {"language": "sv"})
    create = reverse("venues:offer_create") + f"?venue={venue.pk}"

    both = client.post(create, _offer_post(title_fi="Uimahalli", title_sv="Simhallen"), follow=True)
    finnish_only = client.post(create, _offer_post(title_fi="Kirjasto"), follow=True)

    messages = [[str(message) for message in response.context["messages"]] for response in (both, finnish_only)]
    assert messages == [["Erbjudandet Simhallen har sparats."], ["Erbjudandet Kirjasto har sparats."]]


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


@pytest.mark.parametrize("link", ["https://www.tampere-talo.fi@evil.example/liput", "https://user:pw@evil.fi"])
def test_a_web_link_that_hides_its_site_behind_an_at_is_refused(venue, venue_user, link):
    # Found in review: OmaKaiku showed the venue's address and the link opened evil.example.
    with pytest.raises(ValidationError) as excinfo:
        services.offer_save(venue=venue, actor=venue_user, data=_offer_data(web_link=link))

    assert "Remove the part before @" in excinfo.value.message_dict["web_link"][0]
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


def _form_values(page: str) -> dict:
    """The hidden inputs of the offer form as the browser would send them back."""
    return dict(re.findall(r'<input type="hidden" name="(token|version)" value="([^"]*)"', page))


def test_a_new_offer_sent_twice_is_one_offer(client, venue_user, venue):
    client.force_login(venue_user)
    url = reverse("venues:offer_create") + f"?venue={venue.pk}"
    sent = _offer_post(title_fi="Tuplaklikkaus") | _form_values(client.get(url).text)

    first = client.post(url, sent)
    second = client.post(url, sent)

    assert first.status_code == second.status_code == 302
    assert Offer.objects.filter(title_fi="Tuplaklikkaus").count() == 1
    # A new form is a new offer.
    client.post(url, _offer_post(title_fi="Tuplaklikkaus") | _form_values(client.get(url).text))
    assert Offer.objects.filter(title_fi="Tuplaklikkaus").count() == 2


def test_another_venues_form_token_does_not_find_this_venues_offer(venue, venue_user, municipality):
    other_venue = factories.VenueSiteFactory(municipality=municipality)
    other_user = factories.MembershipFactory(site=other_venue).user
    token = "ab" * 16
    mine = services.offer_save(venue=venue, actor=venue_user, data=_offer_data(), token=token)

    theirs = services.offer_save(venue=other_venue, actor=other_user, data=_offer_data(), token=token)

    assert theirs.pk != mine.pk
    assert theirs.venue == other_venue


def _post_of(offer, **overrides) -> dict:
    """The edit form of ``offer`` as the browser sends it, with ``overrides`` typed in."""
    values = {}
    for name in services.OFFER_FIELDS:
        value = getattr(offer, name)
        if name == "visible":
            if value:
                values[name] = "on"
        elif isinstance(value, datetime.date):
            values[name] = value.isoformat()
        else:
            values[name] = value
    return values | overrides


def test_an_old_tab_cannot_bring_back_an_offer_hidden_since(client, venue_user, venue):
    # Found in review: tab A opened the editor, tab B hid the offer, tab A saved a typo fix and
    # the offer was back in OmaKaiku.
    offer = factories.OfferFactory(venue=venue, visible=True, title_fi="Sinfoniakonsertti")
    client.force_login(venue_user)
    url = reverse("venues:offer_edit", args=[offer.pk])
    typed = _post_of(offer, title_fi="Sinfoniakonsertit") | _form_values(client.get(url).text)
    client.post(reverse("venues:offer_visibility", args=[offer.pk]), {"visible": "0"})

    refused = client.post(url, typed)

    offer.refresh_from_db()
    assert refused.status_code == 200
    assert (offer.visible, offer.title_fi) == (False, "Sinfoniakonsertti")
    message = re.search(r'<div class="error-summary".*?</div>', refused.text, re.DOTALL)[0]
    assert "This offer was changed after you opened it" in message
    undone = re.search(r"saving would undo these changes: ([^.]*)\.", message)[1]
    assert undone == "Visible to Kaikukortti holders in OmaKaiku"  # not the title this tab changes
    assert 'value="Sinfoniakonsertit"' in refused.text  # what was typed is kept
    # Saving again, having been told, replaces the saved values.
    assert client.post(url, typed | _form_values(refused.text)).status_code == 302
    offer.refresh_from_db()
    assert (offer.visible, offer.title_fi) == (True, "Sinfoniakonsertit")


def test_a_save_that_undoes_nothing_done_meanwhile_goes_through(client, venue_user, venue):
    # A colleague pressed "Show" on an offer already shown: nothing of theirs would be lost.
    offer = factories.OfferFactory(venue=venue, visible=True, title_fi="Konsertti")
    client.force_login(venue_user)
    url = reverse("venues:offer_edit", args=[offer.pk])
    typed = _post_of(offer, title_fi="Konsertti!") | _form_values(client.get(url).text)
    services.offer_set_visible(offer=offer, actor=venue_user, visible=True)

    assert client.post(url, typed).status_code == 302
    offer.refresh_from_db()
    assert (offer.title_fi, offer.visible) == ("Konsertti!", True)


def test_an_edited_version_is_checked_against_the_offer_as_it_is(client, venue_user, venue):
    # A version that is no version (edited, or from a form of before) finds no history: every
    # saved value the save would change is named.
    offer = factories.OfferFactory(venue=venue, visible=False, title_en="Concert")
    client.force_login(venue_user)
    url = reverse("venues:offer_edit", args=[offer.pk])

    refused = client.post(url, _post_of(offer, title_en="Gig") | {"version": "2026-01-01T00:00:00+00:00"})

    assert "saving would undo these changes: Title (English)." in refused.text
    offer.refresh_from_db()
    assert offer.title_en == "Concert"


def test_an_offer_deleted_since_the_form_was_opened_keeps_what_was_typed(client, venue_user, venue):
    offer = factories.OfferFactory(venue=venue, title_fi="Konsertti")
    client.force_login(venue_user)
    url = reverse("venues:offer_edit", args=[offer.pk])
    opened = _form_values(client.get(url).text)
    client.post(reverse("venues:offer_delete", args=[offer.pk]))

    response = client.post(url, _offer_post(title_fi="Kevätkonsertti") | opened)

    assert response.status_code == 200
    assert "This offer was deleted after you opened it" in response.text
    assert 'value="Kevätkonsertti"' in response.text
    action = re.search(r'<form method="post" class="form" novalidate action="([^"]*)"', response.text)[1]
    assert action.replace("&amp;", "&") == reverse("venues:offer_create") + f"?venue={venue.pk}"
    # Saved from there, it is a new offer.
    assert (
        client.post(
            action.replace("&amp;", "&"), _offer_post(title_fi="Kevätkonsertti") | _form_values(response.text)
        ).status_code
        == 302
    )
    assert Offer.objects.get().title_fi == "Kevätkonsertti"


def test_an_offer_of_a_venue_left_meanwhile_is_not_deleted_nor_saved_at_another_venue(client, venue, municipality):
    # Found in review: a person taken off the venue while its offer's form was open was told the
    # offer "was deleted", and Save then published a copy under their other venue.
    offer = factories.OfferFactory(venue=venue, title_fi="Konsertti", visible=True)
    person = factories.MembershipFactory(site=venue).user
    other_venue = factories.VenueSiteFactory(municipality=municipality)
    factories.MembershipFactory(site=other_venue, user=person)
    client.force_login(person)
    url = reverse("venues:offer_edit", args=[offer.pk])
    opened = _form_values(client.get(url).text)
    SiteMembership.objects.filter(user=person, site=venue).delete()

    saved = client.post(url, _offer_post(title_fi="Kevätkonsertti") | opened)
    hidden = client.post(reverse("venues:offer_visibility", args=[offer.pk]), {"visible": "0"})
    deleted = client.post(reverse("venues:offer_delete", args=[offer.pk]))

    assert [saved.status_code, hidden.status_code, deleted.status_code] == [404, 404, 404]
    assert "was deleted" not in saved.text
    assert list(Offer.objects.values_list("venue_id", "title_fi", "visible")) == [(venue.pk, "Konsertti", True)]


def test_another_venues_offer_or_one_that_never_was_is_not_called_deleted(client, venue_user, venue, municipality):
    theirs = factories.OfferFactory(venue=factories.VenueSiteFactory(municipality=municipality))
    client.force_login(venue_user)

    for pk in (theirs.pk, theirs.pk + 1000):
        assert client.post(reverse("venues:offer_delete", args=[pk])).status_code == 404
        assert client.post(reverse("venues:offer_visibility", args=[pk]), {"visible": "0"}).status_code == 404
        assert client.post(reverse("venues:offer_edit", args=[pk]), _offer_post()).status_code == 404
    assert Offer.objects.get() == theirs
    assert Offer.objects.get().visible


def test_an_offer_deleted_meanwhile_is_saved_again_at_its_own_venue_not_the_one_chosen_last(
    client, venue_user, venue, municipality
):
    offer = factories.OfferFactory(venue=venue, title_fi="Konsertti")
    other_venue = factories.VenueSiteFactory(municipality=municipality)
    factories.MembershipFactory(site=other_venue, user=venue_user)
    client.force_login(venue_user)
    url = reverse("venues:offer_edit", args=[offer.pk])
    opened = _form_values(client.get(url).text)
    client.post(reverse("venues:offer_delete", args=[offer.pk]))
    client.get(reverse("venues:offers") + f"?venue={other_venue.pk}")  # the other venue chosen since

    response = client.post(url, _offer_post(title_fi="Kevätkonsertti") | opened)

    assert "This offer was deleted after you opened it" in response.text
    action = re.search(r'<form method="post" class="form" novalidate action="([^"]*)"', response.text)[1]
    assert action.replace("&amp;", "&") == reverse("venues:offer_create") + f"?venue={venue.pk}"


def test_deleting_or_hiding_an_offer_deleted_meanwhile_says_so(client, venue_user, venue):
    offer = factories.OfferFactory(venue=venue)
    client.force_login(venue_user)
    client.post(reverse("venues:offer_delete", args=[offer.pk]))

    again = client.post(reverse("venues:offer_delete", args=[offer.pk]), follow=True)
    hidden = client.post(reverse("venues:offer_visibility", args=[offer.pk]), {"visible": "0"}, follow=True)

    assert "The offer was deleted." in again.text
    assert "This offer was deleted after you opened the page." in hidden.text
    # Another venue's offer, or one that never was, is still no page to open.
    assert client.get(reverse("venues:offer_delete", args=[offer.pk])).status_code == 404
