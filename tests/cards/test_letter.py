"""The client's letter: the card's details in the chosen language, nothing else personal, no change."""

import re

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import InvitationDelivery
from cards import services
from cards.models import Card
from tests import factories


@pytest.fixture
def card(distributor, site, customer_data):
    return services.card_register(site=site, actor=distributor, number="A1234567", holder_data=customer_data)


def _letter(client, card, **params) -> str:
    response = client.get(reverse("cards:letter", args=[card.pk]), params)
    assert response.status_code == 200
    match = re.search(r'<article class="letter" lang="(\w+)".*?</article>', response.text, re.S)
    assert match, "no letter on the page"
    return match.group(1), match.group(0)


@pytest.mark.parametrize(
    ("lang", "html_lang", "words"),
    [
        ("fi", "fi", "Kaikukorttisi"),
        ("fi_plain", "fi", "Sinulla on nyt Kaikukortti."),
        ("sv", "sv", "Ditt Kaikukort"),
        ("en", "en", "Your Kaikukortti card"),
    ],
)
def test_the_letter_in_each_language(distributor_client, card, lang, html_lang, words):
    got_lang, letter = _letter(distributor_client, card, lang=lang)

    assert got_lang == html_lang
    assert words in letter
    assert "A1234567" in letter
    assert card.valid_until.strftime("%-d.%-m.%Y") in letter


def test_the_letter_follows_the_page_language_unless_chosen(distributor_client, card):
    got_lang, letter = _letter(distributor_client, card)  # the tests' page language is English

    assert got_lang == "en"
    assert _letter(distributor_client, card, lang="nonsense")[0] == "en"


def test_the_letter_holds_no_other_personal_data(distributor, distributor_client, site, municipality, committed):
    data = services.HolderData(
        kind="customer", birth_year=1961, children_count=3, postal_code="33980", municipality=municipality
    )
    with committed():
        card = services.card_register(
            site=site, actor=distributor, number="A7654321", holder_data=data, email="holder@example.com", mobile=True
        )

    for lang in ("fi", "fi_plain", "sv", "en"):
        _got, letter = _letter(distributor_client, card, lang=lang)
        for private in ("holder@example.com", "1961", "33980", str(municipality.name)):
            assert private not in letter, (lang, private)


def test_omakaiku_login_is_explained_only_when_activated(distributor_client, card, committed, distributor):
    _got, before = _letter(distributor_client, card, lang="en")
    assert "Log in to OmaKaiku at" not in before

    account = factories.UserFactory(kind="holder", activated_at=timezone.now())
    card.holder.account = account
    card.holder.save()
    _got, after = _letter(distributor_client, card, lang="en")
    assert "Log in to OmaKaiku at" in after
    assert "/omakaiku/" in after


def test_a_holder_invited_to_omakaiku_is_told_where_the_invitation_went(distributor_client, card):
    card.holder.account = factories.UserFactory(kind="holder", activated_at=None)
    card.holder.save()

    _got, letter = _letter(distributor_client, card, lang="en")

    assert "An invitation to OmaKaiku has been sent to your email." in letter
    assert "You can start using it through the people who gave you the card." not in letter
    assert "Log in to OmaKaiku at" not in letter
    for lang, words in [
        ("fi", "Sähköpostiisi on lähetetty kutsu"),
        ("fi_plain", "Sait sähköpostiisi kutsun"),
        ("sv", "En inbjudan till OmaKaiku har skickats"),
    ]:
        assert words in _letter(distributor_client, card, lang=lang)[1], lang


@pytest.mark.parametrize(("state", "warned"), [("failed", True), ("sent", False), ("queued", False)])
def test_the_letter_warns_before_printing_when_its_invitation_was_not_sent(distributor_client, card, state, warned):
    account = factories.UserFactory(kind="holder", activated_at=None)
    InvitationDelivery.objects.create(user=account, state=state)
    card.holder.account = account
    card.holder.save()

    page = distributor_client.get(reverse("cards:letter", args=[card.pk]), {"lang": "sv"}).text
    warning = re.search(r'<p class="notice notice--warning" role="alert">(.*?)</p>', page, re.S)

    assert (warning is not None) is warned
    if warned:
        assert "The OmaKaiku invitation could not be sent" in warning.group(1)
        assert reverse("cards:detail", args=[card.pk]) in warning.group(1)
        # On the screen only: the printed letter is the holder's, the warning the distributor's.
        assert warning.start() < page.index('<article class="letter"')


def test_opening_the_letter_changes_nothing(distributor_client, card, django_assert_max_num_queries):
    history = card.history.count()
    holder_history = card.holder.history.count()
    with django_assert_max_num_queries(12):
        _letter(distributor_client, card, lang="fi")

    assert card.history.count() == history
    assert card.holder.history.count() == holder_history


def test_another_sites_card_has_no_letter(client, other_distributor, card):
    client.force_login(other_distributor)

    assert client.get(reverse("cards:letter", args=[card.pk])).status_code == 404


def test_an_inactive_card_has_no_letter(distributor_client, card, distributor):
    services.card_inactivate(card=card, actor=distributor, reason="lost")
    card.refresh_from_db()
    assert card.status == Card.Status.INACTIVE

    response = distributor_client.get(reverse("cards:letter", args=[card.pk]))

    assert response.status_code == 200
    assert '<article class="letter"' not in response.text
    assert "no letter" in response.text


def test_the_letter_gives_the_sites_public_contact(distributor_client, card, site):
    site.contact_phone = "03 565 6000"
    site.contact_email = "kaikukortti@sosiaalipalvelut.example.fi"
    site.save()

    for lang, label in (("fi", "Puhelin"), ("sv", "Telefon"), ("en", "Phone")):
        _got, letter = _letter(distributor_client, card, lang=lang)
        assert f"<dt>{label}</dt><dd>03 565 6000</dd>" in letter
        assert "kaikukortti@sosiaalipalvelut.example.fi" in letter


@pytest.mark.parametrize(
    ("lang", "organisation", "customer"),
    [
        ("fi", "Kortti on organisaationne", "Kortti on henkilökohtainen."),
        ("fi_plain", "Kortti on organisaation.", "Kortti on vain sinun."),
        ("sv", "Kortet tillhör er organisation", "Kortet är personligt."),
        ("en", "The card is your organisation", "The card is personal."),
    ],
)
def test_an_organisations_letter_speaks_of_its_clients_not_of_a_person(
    distributor, distributor_client, site, organisation_data, card, lang, organisation, customer
):
    # An organisation's card is used by its employees for groups of clients under 16.
    org_card = services.card_register(site=site, actor=distributor, number="A7654321", holder_data=organisation_data)
    org_letter = _letter(distributor_client, org_card, lang=lang)[1]
    assert organisation in org_letter
    assert customer not in org_letter
    assert "16" in org_letter
    customer_letter = _letter(distributor_client, card, lang=lang)[1]
    assert customer in customer_letter
    assert organisation not in customer_letter


@pytest.mark.parametrize(
    ("lang", "physical_only"),
    [("fi", "katoaa tai rikkoutuu"), ("fi_plain", "katoaa"), ("sv", "försvinner"), ("en", "lost or broken")],
)
def test_a_mobile_only_cards_letter_does_not_speak_of_losing_a_plastic_card(
    distributor, distributor_client, site, customer_data, card, lang, physical_only
):
    x_card = services.card_register(
        site=site, actor=distributor, number="X", holder_data=customer_data, email="maija@example.com"
    )
    assert physical_only not in _letter(distributor_client, x_card, lang=lang)[1]
    assert physical_only in _letter(distributor_client, card, lang=lang)[1]


def test_the_letters_languages_are_named_in_themselves(distributor_client, site):
    # Found in review: "Finska, Lättläst finska, …" on a Swedish page, the one language choice
    # not named and marked in its own language.
    card = factories.CardFactory(site=site)
    distributor_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "sv"

    page = distributor_client.get(reverse("cards:letter", args=[card.pk])).content.decode()

    select = re.search(r'<select id="letter-lang"[^>]*>(.*?)</select>', page, re.S)[1]
    assert re.findall(r'lang="(\w+)"[^>]*>([^<]+)</option>', select) == [
        ("fi", "Suomi"),
        ("fi", "Selkosuomi"),
        ("sv", "Svenska"),
        ("en", "English"),
    ]
