"""Property-based fuzzing: no input gives a 500, and a refused input writes nothing.

Every form of every role is posted with valid values where some fields are replaced by
arbitrary text (NUL, "²", other scripts' digits, huge numbers, bidirectional overrides,
very long strings), and every page is opened with such query parameters. Bounded to run
in seconds; run it on PostgreSQL too, which refuses NUL bytes and over-long text where
SQLite does not.
"""

import datetime
import uuid

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import factories

NASTY = [
    "\x00",
    "K123\x004567",
    "²",
    "١٢",
    "1_000",
    "9" * 5000,
    "-1",
    "0",
    "1",
    "99999",
    "",
    " ",
    "x" * 5000,
    "\u202eevil",
    "\ufeffbom",
    "zero\u200bwidth",
    "ß",
    "0001-01-01",
    "9999-12-31",
    "99999-01-01",
    "2025-02-30",
    "1e5",
    "NaN",
    "on",
    "true",
    "customer",
    "organisation",
    "culture",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "a@b.c",
    ("a" * 250) + "@example.fi",
    "%00",
    "\r\n\r\n",
    "\x1b[31m",
]
# The values behind the 500s found in review, tried on every field and parameter in turn.
KNOWN_BAD = ["\x00", "²", "9" * 5000, "\u202eevil", "ß", "0001-01-01", "x" * 5000]
VALUES = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.tuples(st.sampled_from(NASTY), st.text(max_size=10)).map("".join),
)

# Models whose rows must not change when an answer is an error.
COUNTED_APPS = ("accounts", "cards", "omakaiku", "venues", "account", "mfa")

FUZZ_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _row_counts() -> dict[str, int]:
    # One query for all tables: the fuzz makes hundreds of requests.
    tables = sorted(
        {
            model._meta.db_table
            for model in apps.get_models()
            if model._meta.app_label in COUNTED_APPS and not model._meta.proxy
        }
    )
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {quote(table)})" for table in tables))
        return dict(zip(tables, cursor.fetchone(), strict=True))


class World:
    """One of everything, so that every page has something to show and to refuse."""

    def __init__(self, municipality, site, venue):
        today = timezone.localdate()
        start = today - datetime.timedelta(days=100)
        self.municipality = municipality
        self.site, self.venue = site, venue
        self.distributor = factories.MembershipFactory(site=site).user
        self.venue_user = factories.MembershipFactory(site=venue).user
        # Coordinators must use two-step verification; without it every page sends them to set it up.
        self.coordinator = factories.with_totp(factories.CoordinatorFactory(region=municipality.region).user)
        self.holder_user = factories.HolderUserFactory()
        self.card = factories.CardFactory(
            site=site,
            number="K7654321",
            issued_on=start,
            valid_from=start,
            mobile_enabled=True,
            holder__account=self.holder_user,
        )
        self.plain_card = factories.CardFactory(site=site, issued_on=start, valid_from=start)
        self.use = factories.CardUseFactory(card=self.card, venue=venue, used_on=today)
        self.offer = factories.OfferFactory(venue=venue)
        self.membership = factories.MembershipFactory(site=site)


@pytest.fixture
def world(municipality, site, venue):
    return World(municipality, site, venue)


def _holder_form(w: World) -> dict:
    return {
        "kind": "customer",
        "birth_year": "1980",
        "children_count": "1",
        "gender": "",
        "life_situation": "",
        "organisation_name": "",
        "representative_role": "",
        "postal_code": "33100",
        "municipality": str(w.municipality.pk),
    }


def _get_pages(role: str, w: World) -> list[tuple[str, list[str]]]:
    """(path, query parameter names) of every page of the role."""
    card = w.card.pk
    pages = {
        "distributor": [
            (reverse("cards:list"), ["number", "state", "kind", "mobile", "after", "before"]),
            (reverse("cards:check"), ["number"]),
            (reverse("cards:register"), ["holder_from"]),
            (reverse("cards:detail", args=[card]), []),
            (reverse("cards:letter", args=[card]), ["lang"]),
            (reverse("cards:expiring"), ["card"]),
            (reverse("cards:expiring_renew"), ["card"]),
            (reverse("cards:update", args=[card]), []),
            (reverse("cards:renew", args=[card]), []),
            (reverse("cards:inactivate", args=[card]), []),
            (reverse("cards:omakaiku", args=[card]), ["mobile"]),
            (reverse("cards:switch", args=[card]), []),
            (reverse("cards:omakaiku_email", args=[card]), []),
            (reverse("cards:omakaiku_close", args=[card]), []),
            (reverse("home"), []),
        ],
        "venue": [
            (reverse("venues:desk"), ["venue", "number"]),
            (reverse("venues:uses"), ["venue", "after", "before"]),
            (reverse("venues:use_cancel", args=[w.use.pk]), ["venue"]),
            (reverse("venues:import"), ["venue"]),
            (reverse("venues:import_template"), ["venue"]),
            (reverse("venues:offers"), ["venue", "page"]),
            (reverse("venues:offer_create"), ["venue"]),
            (reverse("venues:offer_edit", args=[w.offer.pk]), ["venue"]),
            (reverse("venues:offer_delete", args=[w.offer.pk]), ["venue"]),
            (reverse("cards:check"), ["number"]),
        ],
        "coordinator": [
            (reverse("accounts:region"), []),
            (reverse("accounts:site_create"), []),
            (reverse("accounts:site", args=[w.site.pk]), []),
            (reverse("cards:check"), ["number"]),
        ],
        "holder": [
            (reverse("omakaiku:home"), []),
            (reverse("omakaiku:uses"), ["page"]),
            (reverse("omakaiku:offers"), ["category", "municipality", "page"]),
            (reverse("omakaiku:mobile_card", args=[card]), []),
            (reverse("omakaiku:my_data"), []),
            (reverse("omakaiku:my_data_download"), []),
            (reverse("omakaiku:privacy"), []),
            (reverse("omakaiku:settings"), []),
        ],
        "anonymous": [
            (reverse("home"), []),
            (reverse("account_login"), ["next"]),
            (reverse("account_reset_password"), []),
            (reverse("omakaiku:login"), ["next"]),
            (reverse("omakaiku:password_reset"), []),
            (reverse("omakaiku:password_reset_done"), []),
            (reverse("omakaiku:privacy"), []),
            (reverse("omakaiku:activate", args=["1", "nope"]), []),
            (reverse("omakaiku:offers"), ["category", "municipality", "page"]),
        ],
    }
    return pages[role]


def _forms(role: str, w: World) -> list[tuple[str, dict]]:
    """(path, valid-looking data) of every form of the role."""
    card, venue = w.card.pk, w.venue.pk
    language = {"language": "fi", "next": "/"}
    forms = {
        "distributor": [
            (
                reverse("cards:register"),
                {
                    "number": "F1234567",
                    "site": str(w.site.pk),
                    "activate_omakaiku": "",
                    "email": "",
                    "mobile": "",
                    **_holder_form(w),
                    "language": "fi",
                },
            ),
            (reverse("cards:update", args=[card]), {"number": "K7654321", "reason": "typo", **_holder_form(w)}),
            (reverse("cards:inactivate", args=[w.plain_card.pk]), {"reason": "other", "note": ""}),
            (reverse("cards:omakaiku", args=[card]), {"email": "", "language": "fi", "mobile": "on"}),
            (reverse("cards:switch", args=[w.plain_card.pk]), {"email": "new@example.com", "language": "fi"}),
            (reverse("cards:omakaiku_email", args=[card]), {"email": "other@example.com", "language": "fi"}),
            (reverse("cards:omakaiku_close", args=[card]), {"confirm": ""}),
            (reverse("cards:resend", args=[card]), {}),
            (reverse("cards:renew", args=[card]), {}),
            (reverse("cards:expiring_renew"), {"card": str(card)}),
            (reverse("cards:expiring_renew_one", args=[card]), {}),
            (reverse("cards:replace", args=[w.plain_card.pk]), {"number": "K7654329", "reason": "lost"}),
            (reverse("set_language"), language),
        ],
        "venue": [
            (
                reverse("venues:record"),
                {
                    "venue": str(venue),
                    "number": w.card.number,
                    "token": "",
                    "used_on": timezone.localdate().isoformat(),
                    "category": "culture",
                    "child_tickets": "0",
                    "assistant_tickets": "0",
                    "clients_under_16": "0",
                },
            ),
            (reverse("venues:use_cancel", args=[w.use.pk]), {"reason": "wrong card"}),
            (reverse("venues:import"), {"venue": str(venue), "file": ""}),
            (reverse("venues:import_confirm"), {"token": "", "venue": str(venue)}),
            (
                reverse("venues:offer_create"),
                {
                    "venue": str(venue),
                    "title_fi": "Konsertti",
                    "title_sv": "",
                    "title_en": "",
                    "category": "culture",
                    "description_fi": "Kuvaus\nrivillä",
                    "description_sv": "",
                    "description_en": "",
                    "conditions_fi": "",
                    "conditions_sv": "",
                    "conditions_en": "",
                    "location": "Sali",
                    "starts_on": timezone.localdate().isoformat(),
                    "ends_on": timezone.localdate().isoformat(),
                    "visible": "on",
                },
            ),
            (reverse("venues:offer_visibility", args=[w.offer.pk]), {"visible": "1"}),
            (reverse("set_language"), language),
        ],
        "coordinator": [
            (
                reverse("accounts:site_create"),
                {"organisation_name": "Kirjasto", "name": "", "kind": "distributor", "municipality": ""},
            ),
            (reverse("accounts:site", args=[w.site.pk]), {"email": "new.staff@example.fi", "language": "fi"}),
            (reverse("set_language"), language),
        ],
        "holder": [
            (reverse("omakaiku:settings"), {"language": "sv", "expiry_reminders": "on"}),
            (
                reverse("omakaiku:password_change"),
                {"old_password": "wrong", "new_password1": "x", "new_password2": "y"},
            ),
            (reverse("omakaiku:logout"), {}),
            (reverse("set_language"), language),
        ],
        "anonymous": [
            (reverse("account_login"), {"login": "nobody@example.fi", "password": "wrong"}),
            (reverse("account_reset_password"), {"email": "nobody@example.fi"}),
            (reverse("omakaiku:login"), {"login": "nobody@example.com", "password": "wrong"}),
            (reverse("omakaiku:password_reset"), {"email": "nobody@example.com"}),
            (
                reverse("omakaiku:activate", args=["1", "nope"]),
                {"new_password1": "x", "new_password2": "x", "accept_privacy": "on"},
            ),
            (reverse("set_language"), language),
        ],
    }
    return forms[role]


ROLES = ["distributor", "venue", "coordinator", "holder", "anonymous"]


def _log_in(client, role: str, w: World) -> None:
    user = {
        "distributor": w.distributor,
        "venue": w.venue_user,
        "coordinator": w.coordinator,
        "holder": w.holder_user,
    }.get(role)
    if user is None:
        client.logout()
    else:
        client.force_login(user)


def _csv_upload(cells: list[str]):
    from django.core.files.uploadedfile import SimpleUploadedFile

    header = "card_number,date,category,child_tickets,assistant_tickets,clients_under_16"
    row = ",".join(cells + ["0"] * (6 - len(cells)))
    return SimpleUploadedFile("uses.csv", f"{header}\n{row}\n".encode(errors="surrogatepass"), "text/csv")


def _get_and_check(client, path, params):
    before = _row_counts()
    response = client.get(path, params)
    assert response.status_code < 500, (path, params)
    if response.status_code >= 400:
        assert _row_counts() == before, (path, params)


def _post_and_check(client, path, post):
    before = _row_counts()
    response = client.post(path, post)
    assert response.status_code < 500, (path, post)
    # A form that answers with itself (200) or an error status refused the input.
    if response.status_code == 200 or response.status_code >= 400:
        assert _row_counts() == before, (path, post)


def _fresh(path: str, post: dict) -> dict:
    post = dict(post)
    if path == reverse("venues:record"):
        post["token"] = uuid.uuid4().hex
    return post


@pytest.mark.parametrize("role", ROLES)
def test_every_query_parameter_with_each_known_bad_value(client, world, role):
    _log_in(client, role, world)
    for path, names in _get_pages(role, world):
        for name in names:
            for value in KNOWN_BAD:
                _get_and_check(client, path, {name: value})


# What a browser (or anyone) sends besides the query: every cookie the service reads and the
# headers it looks at. Header values arrive as ISO-8859-1 bytes, so only such characters; a
# NUL byte reaches a cookie as a quoted octal escape, which Django's cookie parser decodes.
COOKIES = ["sessionid", "csrftoken", "django_language", "messages", "mfa_trusted"]
HEADERS = ["HTTP_X_FORWARDED_FOR", "HTTP_USER_AGENT", "HTTP_ACCEPT_LANGUAGE", "HTTP_REFERER", "HTTP_HX_REQUEST"]
HEADER_BAD = [value for value in KNOWN_BAD if all(ord(char) < 256 for char in value)]
HEADER_BAD += ["abc\x00defghijklmnop"]  # long enough to pass for a session key


@pytest.mark.parametrize("role", ROLES)
def test_every_cookie_and_header_with_each_known_bad_value(client, world, role, settings):
    settings.TRUSTED_PROXY_COUNT = settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    pages = [path for path, _names in _get_pages(role, world)]
    turn = 0
    for kind, names in (("cookie", COOKIES), ("header", HEADERS)):
        for name in names:
            for value in HEADER_BAD:
                _log_in(client, role, world)
                path, turn = pages[turn % len(pages)], turn + 1
                if kind == "cookie":
                    client.cookies[name] = value
                    response = client.get(path)
                    del client.cookies[name]
                else:
                    response = client.get(path, **{name: value})
                assert response.status_code < 500, (kind, name, value[:20], path)


@pytest.mark.parametrize("role", ROLES)
def test_every_form_field_with_each_known_bad_value(client, world, role):
    for path, valid in _forms(role, world):
        for name in valid:
            for value in KNOWN_BAD:
                _log_in(client, role, world)
                post = _fresh(path, valid) | {name: value}
                if "file" in post:
                    post["file"] = _csv_upload([value] * 6 if name == "file" else [world.card.number])
                _post_and_check(client, path, post)


@pytest.mark.parametrize("role", ROLES)
@FUZZ_SETTINGS
@given(data=st.data())
def test_no_page_answers_500_to_any_query_parameter(client, world, role, data):
    path, names = data.draw(st.sampled_from(_get_pages(role, world)), label="page")
    params = data.draw(st.dictionaries(st.sampled_from([*names, "q"]), VALUES, max_size=4), label="params")
    _log_in(client, role, world)

    _get_and_check(client, path, params)


@pytest.mark.parametrize("role", ROLES)
@FUZZ_SETTINGS
@given(data=st.data())
def test_no_form_answers_500_and_a_refusal_writes_nothing(client, world, role, data):
    path, valid = data.draw(st.sampled_from(_forms(role, world)), label="form")
    post = _fresh(path, valid)
    names = sorted(post) or ["x"]
    post |= data.draw(st.dictionaries(st.sampled_from(names), VALUES, min_size=1, max_size=4), label="fuzzed")
    if "file" in post:
        cells = data.draw(st.lists(VALUES, min_size=1, max_size=6), label="csv cells")
        post["file"] = _csv_upload([world.card.number, timezone.localdate().isoformat(), *cells][:6])
    _log_in(client, role, world)

    _post_and_check(client, path, post)


# --- the national admin ---------------------------------------------------------------------------


def _admin_queries() -> list[tuple[str, str]]:
    """(address, parameter name) for every list of the admin, its search, its filters and its
    paging and sorting, and every field the admin's autocomplete searches for."""
    from django.contrib import admin

    found = []
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        found += [(changelist, name) for name in ("q", "o", "p", "e")]
        for entry in model_admin.list_filter:
            if isinstance(entry, str):
                found += [(changelist, f"{entry}__exact"), (changelist, f"{entry}__id__exact")]
        for holder in [model_admin, *(inline(model, admin.site) for inline in model_admin.inlines)]:
            for field in holder.autocomplete_fields:
                owner = holder.model._meta
                query = f"app_label={owner.app_label}&model_name={owner.model_name}&field_name={field}&term"
                found.append((f"{reverse('admin:autocomplete')}?{query}", "term"))
    return found


def test_every_admin_list_filter_and_search_with_each_known_bad_value(client, world, admin_user):
    client.force_login(admin_user)
    queries = _admin_queries()

    assert len(queries) > 40
    for address, name in queries:
        path, _, fixed = address.partition("?")
        params = dict(part.split("=", 1) if "=" in part else (part, "") for part in fixed.split("&") if part)
        for value in KNOWN_BAD:
            _get_and_check(client, path, params | {name: value})
