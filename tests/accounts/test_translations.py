"""Finnish and Swedish are complete: every extracted string has a reviewed translation."""

import datetime
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format, localize
from django.views.i18n import JavaScriptCatalog

from tests import factories

PLACEHOLDER = re.compile(r"%\(\w+\)s|%s")


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_catalogue_is_complete_and_keeps_placeholders(language):
    path = Path(settings.BASE_DIR) / "locale" / language / "LC_MESSAGES" / "django.po"
    with path.open("rb") as po_file:
        catalog = read_po(po_file)

    problems = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(f"untranslated or fuzzy: {ids[0]!r}")
            continue
        expected = sorted(set(PLACEHOLDER.findall(ids[-1])))
        for string in strings:
            if sorted(set(PLACEHOLDER.findall(string))) != expected:
                problems.append(f"placeholders differ: {ids[0]!r} -> {string!r}")
    assert not problems, "\n".join(problems)
    assert len(catalog) > 400


# Our catalogue (LOCALE_PATHS) wins over every package's. A msgid we share with Django by
# accident, such as the card form's "Home" fieldset, renamed the admin's breadcrumb too.
DJANGO_WORDS = {
    "fi": {"Home": "Etusivu", "Change": "Muokkaa", "Filter": "Suodatin", "Save": "Tallenna ja poistu"},
    "sv": {"Home": "Hem", "Change": "Ändra", "Filter": "Filtrera", "Save": "Spara"},
}


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_django_admin_words_are_djangos_own(language):
    with translation.override(language):
        assert {word: translation.gettext(word) for word in DJANGO_WORDS[language]} == DJANGO_WORDS[language]


@pytest.mark.parametrize(("language", "home", "change"), [("fi", "Etusivu", "Muokkaa"), ("sv", "Hem", "Ändra")])
def test_admin_pages_show_djangos_breadcrumb_and_links(client, admin_user, language, home, change):
    factories.CardFactory()
    client.force_login(admin_user)

    changelist = client.get(reverse("admin:cards_card_changelist"), HTTP_ACCEPT_LANGUAGE=language)
    index = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE=language)

    breadcrumbs = re.search(r'<ol class="breadcrumbs">(.*?)</ol>', changelist.text, re.S).group(1)
    assert re.findall(r"<li>(?:<a [^>]*>)?([^<]*)", breadcrumbs)[0] == home
    assert f">{change}</a>" in index.text


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_the_state_valid_and_the_label_valid_until_differ(language):
    with translation.override(language):
        assert translation.gettext("Valid") != translation.gettext("Valid until")
        assert translation.gettext("Valid") != translation.gettext("Validity")


def test_renew_does_not_read_as_new_in_finnish():
    with translation.override("fi"):
        assert translation.gettext("Renew") == "Uusi voimassaolo"
        assert translation.gettext("Renew") != translation.gettext("New card").split()[0]


def test_the_card_lists_mobile_filter_offers_all_not_unknown(distributor_client, site):
    response = distributor_client.get(reverse("cards:list"), HTTP_ACCEPT_LANGUAGE="fi")

    mobile = re.search(r'<select name="mobile"[^>]*>(.*?)</select>', response.text, re.S).group(1)
    assert re.findall(r"<option[^>]*>([^<]*)</option>", mobile) == ["Kaikki", "Kyllä", "Ei"]


def test_the_mobile_filter_still_filters(distributor_client, site):
    factories.CardFactory(site=site, number="MOBILE01", mobile_enabled=True)
    factories.CardFactory(site=site, number="PLAIN001", mobile_enabled=False)

    mobile = distributor_client.get(reverse("cards:list"), {"mobile": "true"}).text
    plain = distributor_client.get(reverse("cards:list"), {"mobile": "false"}).text

    assert "MOBILE01" in mobile
    assert "PLAIN001" not in mobile
    assert "PLAIN001" in plain
    assert "MOBILE01" not in plain


@pytest.mark.parametrize(("language", "label"), [("fi", "– Valitse –"), ("sv", "– Välj –")])
def test_the_offer_forms_empty_choice_is_translated(client, venue_user, language, label):
    client.force_login(venue_user)

    response = client.get(reverse("venues:offer_create"), HTTP_ACCEPT_LANGUAGE=language)

    assert re.search(rf'<option value=""( selected)?>{label}</option>', response.text)
    assert "Select an option" not in response.text


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_one_date_format_in_every_language(language):
    day = datetime.date(2026, 3, 1)
    with translation.override(language):
        assert {date_format(day), date_format(day, "SHORT_DATE_FORMAT")} == {"1.3.2026"}
        assert localize(datetime.datetime(2026, 3, 1, 9, 5)) == "1.3.2026 09:05"


@pytest.mark.parametrize(("language", "home"), [("fi", "Etusivu"), ("sv", "Hem")])
def test_admin_history_page_is_translated(client, admin_user, language, home):
    card = factories.CardFactory()
    client.force_login(admin_user)

    response = client.get(reverse("admin:cards_card_history", args=[card.pk]), HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 200
    for english in ["Changed by", "Change reason", "Choose a date from the list below"]:
        assert english not in response.text


@pytest.mark.parametrize(("language", "today"), [("fi", "Tänään"), ("sv", "I dag")])
def test_admin_date_shortcuts_are_named_in_the_pages_language(rf, language, today):
    # The admin's "Today" link is named "Today (28.11.2026)" for screen readers; Django 6.1 has no
    # Finnish or Swedish for that, and a name without the visible word fails WCAG 2.5.3.
    with translation.override(language):
        response = JavaScriptCatalog.as_view(packages=["django.contrib.admin"])(rf.get("/"))
    catalog = json.loads(re.search(r"const newcatalog = (\{.*?\});", response.text, re.S).group(1))

    assert catalog["Today (%(date)s)"].startswith(today)
    assert catalog["Today"] == today


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_javascript_catalogue_keeps_placeholders(language):
    path = Path(settings.BASE_DIR) / "locale" / language / "LC_MESSAGES" / "djangojs.po"
    with path.open("rb") as po_file:
        catalog = read_po(po_file)

    for message in catalog:
        if message.id:
            assert message.string, message.id
            assert sorted(PLACEHOLDER.findall(message.string)) == sorted(PLACEHOLDER.findall(message.id))


def test_the_swedish_login_error_spells_e_post_as_every_other_page(client, distributor):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "sv"

    page = client.post(reverse("account_login"), {"login": distributor.email, "password": "wrong"})

    # And it says what to do next (allauth's own says only that something is wrong).
    assert "E-postadressen eller lösenordet är fel. Kontrollera dem och försök igen." in page.text


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_the_catalogue_is_valid_for_gettexts_own_tools(language):
    # `make messages` runs msgmerge, which refuses a file our own compiler would still read.
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("gettext's msgfmt is not installed")
    path = Path(settings.BASE_DIR) / "locale" / language / "LC_MESSAGES" / "django.po"
    checked = subprocess.run([msgfmt, "--check", "-o", "/dev/null", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize(
    "path", ["/accounts/login/", "/omakaiku/login/", "/accounts/password/reset/", "/omakaiku/password/reset/"]
)
def test_the_login_and_reset_fields_have_no_placeholder_repeating_their_label(client, db, path):
    # Found in review: allauth's Swedish placeholder "Epost-adress" sat under our label "E-post".
    page = client.get(path, HTTP_ACCEPT_LANGUAGE="sv").content.decode()

    assert "<input" in page
    assert "placeholder=" not in page


def test_every_choice_of_a_language_names_it_alike(distributor_client):
    # Found in review: "Finska" in the card form, "suomi" in OmaKaiku's settings, "Suomi" in the
    # language switcher. Each language is named in itself, wherever it is chosen.
    distributor_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "sv"

    page = distributor_client.get(reverse("cards:register")).content.decode()

    select = re.search(r'<select name="language"[^>]*>(.*?)</select>', page, re.S)[1]
    assert re.findall(r">([^<]+)</option>", select) == ["Suomi", "Svenska", "English"]
    # Each read in its own language (WCAG 3.1.2), as in the switcher.
    assert re.findall(r'<option value="(\w+)"[^>]*lang="(\w+)"', select) == [("fi", "fi"), ("sv", "sv"), ("en", "en")]
    switcher = re.search(r'<select id="lang-select"[^>]*>(.*?)</select>', page, re.S)[1]
    assert re.findall(r">([^<]+)</option>", switcher) == ["Suomi", "Svenska", "English"]
