"""Pages opened from a mail link speak the mail's language; help texts, offers and password pages
are marked up so that screen readers read them right."""

import re
from html.parser import HTMLParser

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from accounts.models import User
from cards import services
from tests import factories

PASSWORD = "Kulttuuria-kaikille-42"
# Django's password rule for the length, as the help text and the error message say it.
LENGTH_RULE = "Your password must contain at least 10 characters."


def _in(language: str, message: str) -> str:
    with translation.override(language):
        return gettext(message)


def _lang(page) -> str:
    return re.search(r'<html lang="([^"]*)"', page.text).group(1)


# --- the language of a page opened from a mail link --------------------------------------------


@pytest.fixture
def swedish_invitation(distributor, site, customer_data, committed):
    """A holder whose distributor chose Swedish for the OmaKaiku invitation; the mail's link."""
    with committed():
        services.card_register(
            site=site,
            actor=distributor,
            number="A1234567",
            holder_data=customer_data,
            email="greta@example.com",
            mobile=True,
            language="sv",
        )
    return re.search(r"https?://\S+(/omakaiku/activate/\S+/)", mail.outbox[-1].body).group(1)


def test_the_activation_page_speaks_the_invitations_language_in_any_browser(client, swedish_invitation):
    page = client.get(swedish_invitation, follow=True, HTTP_ACCEPT_LANGUAGE="en")

    assert page.status_code == 200
    assert _lang(page) == "sv"
    assert page["Content-Language"] == "sv"
    assert f"<h1>{_in('sv', 'Welcome to OmaKaiku')}</h1>" in page.text
    # The form's errors too, also the password rules', which Django translates as it checks.
    errors = client.post(
        page.redirect_chain[-1][0],
        {"new_password1": "1234", "new_password2": "1234", "accept_privacy": "on"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert _lang(errors) == "sv"
    assert _in("sv", "Please check the form") in errors.text
    assert _in("sv", "This password is entirely numeric.") in errors.text

    # Once the password is set, OmaKaiku's home and the pages after it stay in the mail's language
    # on this device (the welcome message too), until the language menu says otherwise.
    data = {"new_password1": PASSWORD, "new_password2": PASSWORD, "accept_privacy": "on"}
    home = client.post(page.redirect_chain[-1][0], data, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert _lang(home) == "sv"
    assert _in("sv", "Welcome to OmaKaiku! Your password is set.") in home.text
    assert _lang(client.get(reverse("omakaiku:uses"), HTTP_ACCEPT_LANGUAGE="en")) == "sv"
    client.post(reverse("set_language"), {"language": "en"})
    assert _lang(client.get(reverse("omakaiku:uses"), HTTP_ACCEPT_LANGUAGE="fi")) == "en"


def test_a_password_set_after_the_language_menu_keeps_the_menus_choice(client, swedish_invitation):
    client.cookies["django_language"] = "en"
    page = client.get(swedish_invitation, follow=True)
    data = {"new_password1": PASSWORD, "new_password2": PASSWORD, "accept_privacy": "on"}

    home = client.post(page.redirect_chain[-1][0], data, follow=True, HTTP_ACCEPT_LANGUAGE="fi")

    assert _lang(home) == "en"
    assert "Welcome to OmaKaiku! Your password is set." in home.text
    assert "Welcome to OmaKaiku! Your password is set." in home.text


def test_only_a_language_chosen_on_the_site_wins_over_the_invitations(client, swedish_invitation):
    client.cookies["django_language"] = "de"  # no language of ours: no choice (LocaleMiddleware ignores it too)
    page = client.get(swedish_invitation, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert _lang(page) == "sv"

    client.cookies["django_language"] = "fi"  # as the language menu sets it
    page = client.get(page.redirect_chain[-1][0], HTTP_ACCEPT_LANGUAGE="en")

    assert _lang(page) == "fi"
    assert f"<h1>{_in('fi', 'Welcome to OmaKaiku')}</h1>" in page.text


def test_a_holders_reset_link_speaks_the_holders_language(client, db):
    from accounts.tokens import invitation_token_generator

    user = factories.HolderUserFactory(language="sv", activated_at=timezone.now())
    link = reverse(
        "omakaiku:activate",
        kwargs={"uidb36": _base36(user.pk), "key": invitation_token_generator.make_token(user)},
    )

    page = client.get(link, follow=True, HTTP_ACCEPT_LANGUAGE="fi")
    # A made-up link tells nothing of whose it could be, not even the language.
    made_up = client.get(f"/omakaiku/activate/{_base36(user.pk)}/abc-123/", HTTP_ACCEPT_LANGUAGE="fi")

    assert _lang(page) == "sv"
    assert f"<h1>{_in('sv', 'Choose a new password')}</h1>" in page.text
    assert made_up.status_code == 400
    assert _lang(made_up) == "fi"


def _base36(number: int) -> str:
    from django.utils.http import int_to_base36

    return int_to_base36(number)


@pytest.fixture
def swedish_staff_invitation(client, coordinator, site, committed):
    """A coordinator invites a distributor in Swedish; the link of the invitation mail."""
    client.force_login(coordinator)
    with committed():
        client.post(reverse("accounts:site", args=[site.pk]), {"email": "ny.utdelare@example.fi", "language": "sv"})
    client.logout()
    assert User.objects.get(email="ny.utdelare@example.fi").language == "sv"
    return re.search(r"https?://\S+(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body).group(1)


def test_the_staff_set_password_page_speaks_the_invitations_language(client, swedish_staff_invitation):
    page = client.get(swedish_staff_invitation, follow=True, HTTP_ACCEPT_LANGUAGE="fi")

    assert _lang(page) == "sv"
    assert f"<h1>{_in('sv', 'Set your password')}</h1>" in page.text
    assert f'<label for="id_password1">{_in("sv", "New password")} <span' in page.text

    # The language menu wins here too.
    client.cookies["django_language"] = "en"
    chosen = client.get(page.redirect_chain[-1][0], HTTP_ACCEPT_LANGUAGE="fi")
    assert _lang(chosen) == "en"
    assert "<h1>Set your password</h1>" in chosen.text
    # A link that does not work is in the browser's language, whoever's id it names.
    del client.cookies["django_language"]
    user = User.objects.get(email="ny.utdelare@example.fi")
    made_up = client.get(f"/accounts/password/reset/key/{_base36(user.pk)}-abc-123/", HTTP_ACCEPT_LANGUAGE="en")
    assert _lang(made_up) == "en"
    assert "This link no longer works" in made_up.text


def test_the_page_after_a_staff_password_is_set_speaks_the_invitations_language(client, swedish_staff_invitation):
    page = client.get(swedish_staff_invitation, follow=True, HTTP_ACCEPT_LANGUAGE="fi")
    data = {"password1": PASSWORD, "password2": PASSWORD}

    done = client.post(page.redirect_chain[-1][0], data, follow=True, HTTP_ACCEPT_LANGUAGE="fi")

    assert done.redirect_chain
    assert _lang(done) == "sv"
    assert _lang(client.get(reverse("account_login"), HTTP_ACCEPT_LANGUAGE="fi")) == "sv"


def test_the_staff_set_password_pages_refusals_speak_the_invitations_language(client, swedish_staff_invitation):
    page = client.get(swedish_staff_invitation, follow=True, HTTP_ACCEPT_LANGUAGE="fi")
    refused = client.post(
        page.redirect_chain[-1][0], {"password1": "short", "password2": "short"}, HTTP_ACCEPT_LANGUAGE="fi"
    )

    assert refused.status_code == 200
    assert refused["Content-Language"] == "sv"
    # Django's own password rule, in the mail's language (the browser asked for Finnish).
    assert "Det här lösenordet är för kort." in refused.text
    assert "Tämä salasana on liian lyhyt" not in refused.text


# --- the staff set-password page's words -------------------------------------------------------


def test_the_staff_set_password_page_uses_our_labels_and_says_the_password_is_set(client, swedish_staff_invitation):
    client.cookies["django_language"] = "en"
    page = client.get(swedish_staff_invitation, follow=True)
    form_url = page.redirect_chain[-1][0]

    assert '<label for="id_password1">New password <span' in page.text
    assert '<label for="id_password2">New password confirmation <span' in page.text
    assert "New Password" not in page.text  # allauth's label, and its placeholder copy
    errors = client.post(form_url, {"password1": PASSWORD, "password2": PASSWORD + "x"})
    assert '<a href="#id_password2">New password confirmation</a>' in errors.text  # the error summary

    done = client.post(form_url, {"password1": PASSWORD, "password2": PASSWORD}, follow=True)

    assert done.redirect_chain[-1][0] == reverse("account_reset_password_from_key_done")
    assert "<h1>Your password is set</h1>" in done.text
    # allauth's "Password successfully changed." ("Salasana vaihto onnistui.") would say it twice,
    # and call a first password a change.
    assert [str(message) for message in done.context["messages"]] == []


def test_a_staff_password_change_says_changed(client, distributor):
    client.force_login(distributor)

    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": factories.PASSWORD, "password1": PASSWORD, "password2": PASSWORD},
        follow=True,
    )

    assert "Your password is changed." in [str(message) for message in response.context["messages"]]


# --- password rules tied to the password field -------------------------------------------------


class _Elements(HTMLParser):
    """The text of the element with a given id, and any list or paragraph opened inside a <p>
    (where HTML ends the paragraph instead: the list would not be the paragraph's)."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self, element_id: str):
        super().__init__()
        self.element_id = element_id
        self.tag = ""
        self.text = ""
        self.depth = 0  # open elements inside the one with the id, itself included
        self.paragraphs = 0
        self.blocks_in_paragraphs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in {"ul", "ol", "div", "p"} and self.paragraphs:
            self.blocks_in_paragraphs.append(tag)
        if tag == "p":
            self.paragraphs += 1
        if self.depth:
            self.depth += tag not in self.VOID
        elif dict(attrs).get("id") == self.element_id:
            self.tag, self.depth = tag, 1

    def handle_endtag(self, tag):
        if tag == "p":
            self.paragraphs = max(0, self.paragraphs - 1)
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.text += data


def _described_by(html: str, field_id: str) -> _Elements:
    """The element the field's aria-describedby names, parsed from the page."""
    described_by = re.search(rf'<input [^>]*id="{field_id}"[^>]*>', html).group(0)
    help_id = re.search(r'aria-describedby="([^"]*)"', described_by).group(1).split()[0]
    parser = _Elements(help_id)
    parser.feed(html)
    return parser


def _assert_rules_describe(html: str, field_id: str) -> None:
    help_text = _described_by(html, field_id)
    assert help_text.tag == "div"
    assert LENGTH_RULE in help_text.text
    assert help_text.blocks_in_paragraphs == []


def test_the_activation_pages_password_rules_describe_the_password_field(client, swedish_invitation):
    client.cookies["django_language"] = "en"
    page = client.get(swedish_invitation, follow=True)

    _assert_rules_describe(page.text, "id_new_password1")


def test_the_staff_set_password_pages_rules_describe_the_password_field(client, swedish_staff_invitation):
    client.cookies["django_language"] = "en"
    page = client.get(swedish_staff_invitation, follow=True)

    _assert_rules_describe(page.text, "id_password1")


def test_the_settings_pages_password_rules_describe_the_new_password_field(client, db):
    client.force_login(factories.HolderUserFactory(activated_at=timezone.now()))
    page = client.get(reverse("omakaiku:settings"))

    _assert_rules_describe(page.text, "id_new_password1")
    # A help text of one sentence stays a paragraph.
    assert (
        '<p class="help" id="id_expiry_reminders_helptext">'
        "The reminder tells you the card&#x27;s last valid day and who renews the card.</p>"
    ) in page.text
    # The languages are named in themselves ("Suomi", "Svenska"): each is read in its language.
    for code, name in (("fi", "Suomi"), ("sv", "Svenska"), ("en", "English")):
        assert re.search(
            rf'<label class="radio" lang="{code}"><input [^>]*value="{code}"[^>]*> {name}</label>', page.text
        )


# --- offers: Finnish fallbacks say they are Finnish; the venue once ----------------------------


@pytest.fixture
def holder_client(client, municipality):
    client.force_login(
        factories.HolderFactory(municipality=municipality, account=factories.HolderUserFactory()).account
    )
    return client


def _article(page: str, title: str) -> str:
    start = page.rindex("<article", 0, page.index(f">{title}</h2>"))
    return page[start : page.index("</article>", start)]


def test_an_offers_text_shown_in_finnish_for_want_of_a_translation_is_marked_finnish(holder_client, venue):
    factories.OfferFactory(
        venue=venue,
        title_fi="Maksuttomat tiistait",
        title_en="Free Tuesdays",
        title_sv="Gratis tisdagar",
        description_fi="Maksuton sisäänpääsy tiistaisin.",
        conditions_fi="Näytä Kaikukortti kassalla.",
        accessibility_fi="Esteetön sisäänkäynti.",
        booking_fi="Varaa puhelimitse.",
    )
    factories.OfferFactory(venue=venue, title_fi="Vain suomeksi", title_en="", title_sv="")

    for language, title in (("en", "Free Tuesdays"), ("sv", "Gratis tisdagar")):
        holder_client.cookies["django_language"] = language
        page = holder_client.get(reverse("omakaiku:offers")).text
        translated = _article(page, title)
        assert re.search(r'<h2 id="offer-\d+">', translated)  # in the page's language
        assert '<p lang="fi">Maksuton sisäänpääsy tiistaisin.</p>' in translated
        for text in ("Näytä Kaikukortti kassalla.", "Esteetön sisäänkäynti.", "Varaa puhelimitse."):
            assert f'<dd lang="fi">{text}</dd>' in translated
        assert re.search(r'<h2 id="offer-\d+" lang="fi">Vain suomeksi</h2>', _article(page, "Vain suomeksi"))
    # On a Finnish page Finnish is no change of language.
    holder_client.cookies["django_language"] = "fi"
    page = holder_client.get(reverse("omakaiku:offers")).text
    assert 'lang="fi"' not in page[page.index("<main") :]


def test_an_offers_venue_shows_once(holder_client, venue):
    factories.OfferFactory(venue=venue, title_en="Same place", location=venue.name)
    factories.OfferFactory(venue=venue, title_en="Same place again", location=f" {venue.name.upper()}, Tampere")
    factories.OfferFactory(venue=venue, title_en="Elsewhere in it", location="Small stage")
    holder_client.cookies["django_language"] = "en"

    page = holder_client.get(reverse("omakaiku:offers")).text

    for title in ("Same place", "Same place again"):
        assert '<p class="offer__meta">Culture · Theatre, Tampere</p>' in _article(page, title)
    assert '<p class="offer__meta">Culture · Theatre, Tampere · Small stage</p>' in _article(page, "Elsewhere in it")


def test_a_bilingual_municipality_has_its_swedish_name_on_swedish_pages(holder_client, venue):
    municipality = venue.municipality
    municipality.name, municipality.name_sv = "Helsinki", "Helsingfors"
    municipality.save()
    factories.OfferFactory(venue=venue, title_fi="Museo", title_sv="Museet", title_en="Museum")

    pages = {}
    for language in ("fi", "sv", "en"):
        holder_client.cookies["django_language"] = language
        pages[language] = holder_client.get(reverse("omakaiku:offers")).text

    assert "Theatre, Helsingfors</p>" in pages["sv"]
    assert f'<option value="{municipality.pk}">Helsingfors</option>' in pages["sv"]
    assert "min hemkommun (Helsingfors)" in pages["sv"]  # the holder lives there too
    assert "Helsingfors" not in pages["fi"] + pages["en"]
    assert f'<option value="{municipality.pk}">Helsinki</option>' in pages["fi"]
