"""The public help page and accessibility statement, in both portals (kaikukanta/pages.py)."""

import re
from html.parser import HTMLParser

import pytest

from tests import factories

KAIKUKANTA_PAGES = ["/help/", "/accessibility/"]
OMAKAIKU_PAGES = ["/omakaiku/help/", "/omakaiku/accessibility/"]
PAGES = KAIKUKANTA_PAGES + OMAKAIKU_PAGES


class _Outline(HTMLParser):
    """The heading levels of the page's main content, in order."""

    def __init__(self):
        super().__init__()
        self.levels: list[int] = []
        self._in_main = False

    def handle_starttag(self, tag, attrs):
        if tag == "main":
            self._in_main = True
        elif self._in_main and re.fullmatch(r"h[1-6]", tag):
            self.levels.append(int(tag[1]))

    def handle_endtag(self, tag):
        if tag == "main":
            self._in_main = False


def _outline(html: str) -> list[int]:
    parser = _Outline()
    parser.feed(html)
    return parser.levels


def _footer(response) -> str:
    return response.content.decode().split("<footer", 1)[1]


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
@pytest.mark.parametrize("path", PAGES)
def test_pages_open_without_login_in_every_language(client, db, path, language):
    response = client.get(path, headers={"accept-language": language})
    assert response.status_code == 200
    assert f'<html lang="{language}">' in response.content.decode()


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_one_h1_and_no_skipped_heading_levels(client, db, path):
    levels = _outline(client.get(path).content.decode())
    assert levels[0] == 1
    assert levels.count(1) == 1
    assert all(later <= earlier + 1 for earlier, later in zip(levels, levels[1:], strict=False)), levels


@pytest.mark.parametrize(
    ("path", "brand_link"),
    [(p, 'href="/">Kaikukanta<') for p in KAIKUKANTA_PAGES]
    + [(p, 'href="/omakaiku/">OmaKaiku<') for p in OMAKAIKU_PAGES],
)
def test_each_portal_keeps_its_own_look(client, db, path, brand_link):
    assert brand_link in client.get(path).content.decode()


def test_staff_pages_link_to_the_kaikukanta_pages_in_the_footer(client, db):
    footer = _footer(client.get("/accounts/login/"))
    assert 'href="/help/"' in footer
    assert 'href="/accessibility/"' in footer


def test_omakaiku_pages_link_to_the_omakaiku_pages_in_the_footer(client, db):
    footer = _footer(client.get("/omakaiku/login/"))
    assert 'href="/omakaiku/help/"' in footer
    assert 'href="/omakaiku/accessibility/"' in footer
    assert 'href="/help/"' not in footer


def test_help_and_statement_link_to_each_other_in_the_same_portal(client, db):
    assert 'href="/omakaiku/accessibility/"' in client.get("/omakaiku/help/").content.decode().split("<footer")[0]
    assert 'href="/omakaiku/help/"' in client.get("/omakaiku/accessibility/").content.decode().split("<footer")[0]
    assert 'href="/accessibility/"' in client.get("/help/").content.decode().split("<footer")[0]


@pytest.mark.parametrize("path", PAGES)
def test_pages_read_nothing_from_the_database(client, db, django_assert_num_queries, path):
    with django_assert_num_queries(0):
        assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", OMAKAIKU_PAGES)
def test_a_logged_in_holder_sees_them_too(client, db, path):
    client.force_login(factories.HolderUserFactory())
    response = client.get(path)
    assert response.status_code == 200
    assert 'href="/omakaiku/uses/"' in response.content.decode()  # OmaKaiku's own menu


@pytest.mark.parametrize("path", PAGES)
def test_the_contact_address_comes_from_the_setting(client, db, settings, path):
    settings.SERVICE_CONTACT_EMAIL = "kaikukortti@kunta.example"
    assert 'href="mailto:kaikukortti@kunta.example"' in client.get(path).content.decode()


def test_the_statement_has_what_the_law_asks_for(client, db):
    html = client.get("/accessibility/").content.decode()
    assert "partially meet the accessibility requirements" in html
    assert "administration pages" in html  # the known gaps are named
    assert "Every chart has the same figures in a table" in html
    assert re.search(r"prepared on \d{1,2}\.\d{1,2}\.20\d\d", html)
    assert "Finnish Transport and Communications Agency Traficom" in html  # the supervisor since 2025
    # The supervisor's site in the reader's language.
    assert 'href="https://www.webaccessibility.fi/"' in html
    for language, address in (("fi", "saavutettavuusvaatimukset"), ("sv", "tillganglighetskrav")):
        page = client.get("/accessibility/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert f'href="https://www.{address}.fi/"' in page


def test_help_tells_a_holder_where_to_turn_with_an_expired_or_lost_card(client, db):
    html = client.get("/omakaiku/help/").content.decode()
    assert "If your card has expired, or you have lost it, contact the card distributor" in html
    assert "ticket office" in html


@pytest.mark.parametrize("path", PAGES)
def test_pages_only_answer_get(client, db, path):
    assert client.post(path).status_code == 405
