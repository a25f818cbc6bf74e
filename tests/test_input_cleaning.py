"""Typed text is cleaned, numbers are digits, dates are plausible, card numbers are ASCII."""

import datetime
import importlib
import inspect
import re
import uuid

import pytest
from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.forms import CleanTextMixin, DatePicker, WholeNumberField
from accounts.text import text_clean
from cards.forms import CardNumberField, CardRegisterForm, CardSearchForm, CardUpdateForm
from cards.models import Card, CardUse, Holder, Offer
from tests import factories
from venues.forms import OfferForm, UseRecordForm


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Nuoriso\x00talo", "Nuorisotalo"),
        ("\ufeffKirjasto", "Kirjasto"),
        ("abc\u202edef\u202c", "abcdef"),
        ("\u2066isolated\u2069", "isolated"),
        ("zero\u200bwidth\u200d", "zerowidth"),
        ("bell\x07 and escape\x1b[31m", "bell and escape[31m"),
        ("C1\x85\x9bcontrol", "C1\ncontrol".replace("\n", " ")),
        ("Ha\u0308meenlinna", "Hämeenlinna"),
        ("one\ttab\nand line", "one tab and line"),
    ],
)
def test_one_line_text_is_cleaned(typed, stored):
    assert text_clean(typed) == stored


def test_multi_line_text_keeps_line_breaks_and_tabs():
    assert text_clean("first\r\nsecond\rthird\u2028fourth\tx\x00", multiline=True) == "first\nsecond\nthird\nfourth\tx"


def test_nfc_makes_the_length_the_stored_length():
    form = CardRegisterForm(data={"organisation_name": "a\u0308" * 200}, sites=factories.Site.objects.none())
    form.is_valid()
    assert "organisation_name" not in form.errors
    assert form.cleaned_data["organisation_name"] == "ä" * 200


def _project_forms():
    for module_name in ("accounts.forms", "cards.forms", "venues.forms", "omakaiku.forms"):
        module = importlib.import_module(module_name)
        for _name, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, forms.BaseForm) and value.__module__ == module_name:
                yield value


def test_every_form_of_the_project_cleans_its_text():
    found = list(_project_forms())

    assert len(found) >= 12
    assert [form for form in found if not issubclass(form, CleanTextMixin)] == []


@pytest.mark.parametrize(
    ("typed", "code"),
    [("²", "invalid"), ("١٢", "invalid"), ("1_000", "invalid"), ("1.5", "invalid"), ("9" * 5000, "too_long")],
)
def test_whole_numbers_are_ascii_digits(typed, code):
    field = WholeNumberField(max_digits=4)

    with pytest.raises(forms.ValidationError) as excinfo:
        field.clean(typed)

    assert excinfo.value.code == code


def test_a_whole_number_is_still_a_number():
    assert WholeNumberField(max_digits=4, min_value=0).clean(" 12 ") == 12


@pytest.mark.parametrize("typed", ["Kß12345", "K123\x004567", "K1234567\u202e", "К1234567", "K1234567\u2066", "K12;34"])
def test_card_numbers_are_ascii_letters_digits_spaces_and_dashes(typed):
    with pytest.raises(forms.ValidationError) as excinfo:
        CardNumberField().clean(typed)

    assert excinfo.value.code == "invalid_characters"


@pytest.mark.parametrize("typed", ["-", " - - ", "--"])
def test_a_card_number_of_only_dashes_asks_for_the_number(typed):
    with pytest.raises(forms.ValidationError) as excinfo:
        CardNumberField().clean(typed)

    assert excinfo.value.code == "no_number"


def test_the_desk_says_what_to_type_for_a_number_of_only_dashes(client, venue_user, venue):
    client.force_login(venue_user)

    page = client.get(reverse("venues:desk"), {"venue": venue.pk, "number": "-"})

    assert page.context["lookup"].errors["number"] == ["Enter the card number: its letters and digits."]
    assert "Card  " not in page.text


def test_a_card_number_as_read_aloud_is_accepted():
    assert CardNumberField().clean(" k123-456 7 ") == "k123-456 7"


def test_card_search_with_a_nul_byte_says_what_is_wrong(client, distributor):
    client.force_login(distributor)

    response = client.get(reverse("cards:check"), {"number": "K12\x0034"})

    assert response.status_code == 200
    assert response.context["search"].errors["number"] == [
        "A card number has only the letters A–Z, the digits 0–9, spaces and dashes."
    ]


@pytest.fixture
def card(site):
    start = timezone.localdate() - datetime.timedelta(days=100)
    return factories.CardFactory(site=site, number="K1234567", issued_on=start, valid_from=start)


def test_desk_refuses_an_eszett_with_a_message(client, venue_user, venue, card):
    client.force_login(venue_user)

    response = client.get(reverse("venues:desk"), {"number": "Kß1234567"})

    assert response.status_code == 200
    assert "A card number has only the letters A–Z, the digits 0–9, spaces and dashes." in response.text
    assert response.context["check"] is None


def test_desk_record_with_a_nul_byte_in_the_number_records_nothing(client, venue_user, venue, card):
    client.force_login(venue_user)

    response = client.post(
        reverse("venues:record"),
        {
            "venue": venue.pk,
            "number": "K123\x004567",
            "token": uuid.uuid4().hex,
            "used_on": timezone.localdate().isoformat(),
            "category": "culture",
        },
    )

    assert response.status_code == 200
    assert "A card number has only the letters A–Z" in response.text
    assert not CardUse.objects.exists()


@pytest.mark.parametrize("value", ["²", "١", "9" * 5000, "\x00", "-1"])
def test_desk_venue_parameter_of_any_shape_is_no_500(client, venue_user, venue, value):
    client.force_login(venue_user)

    response = client.get(reverse("venues:desk"), {"venue": value})

    assert response.status_code == 200
    assert response.context["venue"] == venue


@pytest.mark.parametrize(("typed", "code"), [("0001-01-01", "too_early"), ("2014-12-31", "too_early")])
def test_a_date_of_use_before_2015_is_refused(typed, code):
    form = UseRecordForm(data={"number": "K1", "token": "a" * 32, "used_on": typed, "category": "culture"})

    assert not form.is_valid()
    assert [error.code for error in form.errors.as_data()["used_on"]] == [code]


@pytest.mark.parametrize(("typed", "code"), [("0001-01-01", "too_early"), ("9999-12-31", "too_late")])
def test_offer_dates_are_bounded(typed, code):
    today = timezone.localdate().isoformat()
    form = OfferForm(data={"title_fi": "Konsertti", "category": "culture", "starts_on": typed, "ends_on": today})

    assert not form.is_valid()
    assert [error.code for error in form.errors.as_data()["starts_on"]] == [code]


def test_offer_text_is_cleaned_when_saved(client, venue_user, venue):
    client.force_login(venue_user)
    today = timezone.localdate().isoformat()

    client.post(
        reverse("venues:offer_create"),
        {
            "venue": venue.pk,
            "title_fi": "\u202eKonsertti\x00",
            "category": "culture",
            "description_fi": "Rivi 1\r\nRivi\u200b 2",
            "starts_on": today,
            "ends_on": today,
        },
    )

    offer = Offer.objects.get()
    assert (offer.title_fi, offer.description_fi) == ("Konsertti", "Rivi 1\nRivi 2")


def test_a_form_shown_again_shows_the_text_as_it_will_be_stored(client, venue_user, venue):
    """A NUL byte sent back to the browser comes back as "\ufffd", which would then be saved."""
    client.force_login(venue_user)

    page = client.post(
        reverse("venues:offer_create"),
        {"venue": venue.pk, "title_fi": "Konsertti\x00", "category": "culture", "description_fi": "rivi1\x00rivi2"},
    )

    assert page.status_code == 200
    assert page.context["form"].errors["starts_on"]
    assert ">\nrivi1rivi2</textarea>" in page.text
    assert 'value="Konsertti"' in page.text
    assert "\x00" not in page.text
    assert not Offer.objects.exists()


def test_children_count_has_no_default_and_an_empty_one_is_required(client, distributor, site, municipality):
    client.force_login(distributor)

    page = client.get(reverse("cards:register"))
    assert page.context["form"]["children_count"].value() is None
    response = client.post(
        reverse("cards:register"),
        {
            "number": "F1234567",
            "site": site.pk,
            "kind": "customer",
            "birth_year": "1980",
            "children_count": "",
            "postal_code": "33100",
            "municipality": municipality.pk,
        },
    )

    assert response.context["form"].errors["children_count"] == ["Enter the number of children under 18 (0 if none)."]
    assert not Holder.objects.exists()
    assert not Card.objects.exists()


def test_the_desk_prefills_today_and_requires_a_date(client, venue_user, venue, card):
    client.force_login(venue_user)

    page = client.get(reverse("venues:desk"), {"number": card.number})
    assert page.context["form"]["used_on"].value() == timezone.localdate()
    assert page.context["form"].fields["used_on"].required
    emptied = client.post(
        reverse("venues:record"),
        {"venue": venue.pk, "number": card.number, "token": uuid.uuid4().hex, "used_on": "", "category": "culture"},
    )

    assert emptied.context["form"].errors["used_on"] == ["This field is required."]
    assert not CardUse.objects.exists()


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_the_desks_date_reaches_the_browser_as_a_date_in_every_language(client, venue_user, card, language):
    """``<input type="date">`` reads 2026-03-31 only: 29.11.2026 would show an empty field."""
    client.force_login(venue_user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    page = client.get(reverse("venues:desk"), {"number": card.number})

    assert f'<html lang="{language}"' in page.text
    (field,) = re.findall(r'<input[^>]*name="used_on"[^>]*>', page.text)
    assert 'type="date"' in field
    assert f'value="{timezone.localdate().isoformat()}"' in field


def _date_fields():
    for module_name in ("accounts.forms", "cards.forms", "venues.forms", "omakaiku.forms", "stats.filters"):
        module = importlib.import_module(module_name)
        for name, form in inspect.getmembers(module, inspect.isclass):
            if issubclass(form, forms.BaseForm) and form.__module__ == module_name:
                for field_name, field in form.base_fields.items():
                    if isinstance(field, forms.DateField):
                        yield f"{name}.{field_name}", field


def test_every_date_field_is_the_date_picker_written_as_iso():
    found = dict(_date_fields())

    assert len(found) >= 5  # the desk, the offer editor (two, and the admin's two), the statistics (two)
    assert [name for name, field in found.items() if not isinstance(field.widget, DatePicker)] == []
    assert {field.widget.format for field in found.values()} == {"%Y-%m-%d"}


def test_update_form_reason_is_at_most_100_characters():
    assert CardUpdateForm.base_fields["reason"].max_length == 100
    assert CardSearchForm.base_fields["number"].max_length == 40


@pytest.mark.parametrize("parameter", ["category", "preset", "region"])
def test_a_choice_edited_into_the_address_is_refused_without_echoing_it(client, db, parameter):
    typed = "A" * 5000

    page = client.get(reverse("stats:public"), {parameter: typed})

    assert page.status_code == 200
    assert page.context["form"].errors[parameter] == [
        "Select a valid choice. That choice is not one of the available choices."
    ]
    assert f"{typed} is not one" not in page.text


def test_text_with_unreadable_bytes_is_refused_not_stored(client, venue_user, venue):
    # A request in another encoding than UTF-8 (or a crafted one): Django reads each byte it
    # cannot decode as "\ufffd", and the character the person typed is lost.
    client.force_login(venue_user)
    today = timezone.localdate().isoformat()
    body = (
        f"venue={venue.pk}&title_fi=Te%ED%A0%80sti&category=culture&description_fi=&starts_on={today}&ends_on={today}"
    )

    page = client.post(reverse("venues:offer_create"), body, content_type="application/x-www-form-urlencoded")

    assert page.status_code == 200
    assert page.context["form"].errors["title_fi"] == [
        "Some characters could not be read (shown as \ufffd). Type the text again."
    ]
    assert not Offer.objects.exists()


@pytest.mark.parametrize("typed", ["maija\x00@example.com", "maija@exa\u200bmple.com", "mai\u202eja@example.com"])
def test_an_invisible_character_inside_an_email_address_is_refused(distributor_client, site, municipality, typed):
    # Removed, it would leave another address than the one the person typed ("maija\x00@…" is
    # not "maija@…"): the invitation would go to whoever has that one.
    from tests.cards.test_views import _form

    data = _form(municipality, site=site.pk, activate_omakaiku="on", email=typed)

    page = distributor_client.post(reverse("cards:register"), data)

    assert page.status_code == 200
    assert page.context["form"].errors["email"] == [
        "The address has an invisible character inside it (copied from another program, say). Type the address again."
    ]
    assert not Card.objects.exists()


def test_an_invisible_character_around_an_email_address_is_dropped(distributor_client, site, municipality):
    from tests.cards.test_views import _form

    data = _form(municipality, site=site.pk, activate_omakaiku="on", email="\u200b maija@example.com\ufeff")

    distributor_client.post(reverse("cards:register"), data)

    assert Card.objects.get().holder.account.email == "maija@example.com"
