"""Offline records: bad files get a clear refusal, and a checked file waits server-side."""

import datetime
import hashlib
import re

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cards import services as card_services
from cards.models import Card, CardUse, ValidityPeriod
from tests import factories
from tests.concurrency import post_together
from venues import services

HEADER = "card_number,date,category,child_tickets,assistant_tickets,clients_under_16"


def _day() -> str:
    return (timezone.localdate() - datetime.timedelta(days=3)).isoformat()


def _csv(*rows: str, newline: str = "\n") -> bytes:
    return (newline.join([HEADER, *rows]) + newline).encode()


@pytest.fixture
def card(site):
    start = timezone.localdate() - datetime.timedelta(days=100)
    return factories.CardFactory(site=site, number="K1234567", issued_on=start, valid_from=start)


def _refusal(venue, venue_user, content) -> ValidationError:
    with pytest.raises(ValidationError) as excinfo:
        services.card_uses_import(venue=venue, actor=venue_user, content=content)
    assert not CardUse.objects.exists()
    return excinfo.value


def test_old_mac_line_endings_are_refused(venue, venue_user, card):
    error = _refusal(venue, venue_user, _csv(f"{card.number},{_day()},culture,0,0,0", newline="\r"))

    assert error.code == "old_mac_line_endings"


def test_windows_line_endings_are_accepted(venue, venue_user, card):
    content = _csv(f"{card.number},{_day()},culture,0,0,0", newline="\r\n")

    assert services.card_uses_import(venue=venue, actor=venue_user, content=content) == (1, 0, 0)


@pytest.mark.parametrize(
    "cell",
    [" =1+1", "  @SUM(A1)", '"\t=1"', '"\t+1"', " -1+1", "-2+3+cmd|' /C calc'!A0", "\u00a0=1", "\u3000@SUM(A1)",
     '"\n+A1"', '" \t-A1"', "+1.5x"],
)  # fmt: skip
def test_a_formula_after_leading_whitespace_is_refused(venue, venue_user, card, cell):
    error = _refusal(venue, venue_user, _csv(f"{card.number},{_day()},{cell},0,0,0"))

    assert error.code == "formula"


@pytest.mark.parametrize("cell", ["K123\x004567", "K1234567\u202e", "\ufeffK1234567", "K1234\u200b567"])
def test_control_and_format_characters_in_a_cell_are_refused(venue, venue_user, card, cell):
    # PostgreSQL refuses a NUL byte in text; the file gets a message, not a 500.
    error = _refusal(venue, venue_user, _csv(f"{card.number},{_day()},culture,0,0,0", f"{cell},{_day()},culture,0,0,0"))

    assert error.code == "control_character"
    assert "Row 3" in error.messages[0]


@pytest.mark.parametrize(
    ("cells", "words"),
    [
        ("K1234567,{day},culture,²,0,0", "child_tickets must be a whole number."),
        ("K1234567,{day},culture,0,٣,0", "assistant_tickets must be a whole number."),
        ("K1234567,{day},culture,0,0," + "9" * 5000, "clients_under_16 must be a whole number of at most 3 digits."),
        # A negative count is a number, not a formula: the row says what to fix, the file stays.
        ("K1234567,{day},culture,-1,0,0", "child_tickets must be 0 or more."),
        ("K1234567,{day},culture,0, -2 ,0", "assistant_tickets must be 0 or more."),
        ("Kß1234567,{day},culture,0,0,0", "A card number has only the letters A–Z"),
        ("K1234567,0001-01-01,culture,0,0,0", "The date cannot be before 1.1.2015."),
        ("K1234567,46327,culture,0,0,0", "46327 is a spreadsheet's day number, not a date: format the date column"),
        ("K1234567,463270,culture,0,0,0", "The date must be like 2025-03-31 or 31.3.2025."),
        ("K1234567,9999-12-31,culture,0,0,0", "The date of use cannot be in the future."),
        ("K" + "1" * 5000 + ",{day},culture,0,0,0", "Unknown card"),
    ],
)
def test_bad_cells_are_row_errors_not_crashes(venue, card, cells, words):
    preview = services.card_uses_import_preview(venue=venue, content=_csv(cells.format(day=_day())))

    (row,) = preview.rows
    assert words in " ".join(row.errors)
    assert not row.ok


def test_a_count_with_a_plus_sign_is_that_count(venue, card):
    # Found in review: "+2" was refused as "must be a whole number", which it is.
    preview = services.card_uses_import_preview(venue=venue, content=_csv(f"K1234567,{_day()},culture,+2,0,0"))

    (row,) = preview.rows
    assert row.ok
    assert row.data.child_tickets == 2


@pytest.mark.parametrize(
    ("cell", "code"),
    [(" -1+1", "formula"), ("@A1", "formula"), (" -1", "control_character"), (" - ", "control_character")],
)
def test_a_file_with_an_invisible_character_judges_formulas_the_same(venue, venue_user, card, cell, code):
    # Such a file is read cell by cell, not row by row: the verdict on a cell must not change.
    rows = (f"{card.number},{_day()},culture,{cell},0,0", f"{card.number}\u200b,{_day()},culture,0,0,0")

    assert _refusal(venue, venue_user, _csv(*rows)).code == code


def test_the_byte_order_mark_excel_writes_is_accepted(venue, venue_user, card):
    content = b"\xef\xbb\xbf" + _csv(f"{card.number},{_day()},culture,0,0,0")

    assert services.card_uses_import(venue=venue, actor=venue_user, content=content) == (1, 0, 0)


def test_a_control_character_in_the_header_row_says_so(venue, venue_user):
    error = _refusal(venue, venue_user, b"\x00" + _csv(f"K1234567,{_day()},culture,0,0,0"))

    assert error.code == "control_character"
    assert "Row 1" in error.messages[0]


def test_whole_file_errors_carry_codes(venue, venue_user):
    codes = {
        b"": "empty",
        b"card_number,date\nK1,2025-01-01\n": "wrong_columns",
        _csv(): "no_rows",
        _csv("K1,2025-01-01,culture,0"): "wrong_column_count",
        "card_number,date\nKÄÄ,2025-01-01\n".encode("latin-1"): "not_utf8",
    }
    for content, code in codes.items():
        assert _refusal(venue, venue_user, content).code == code


def test_a_cell_too_long_for_csv_names_its_row(client, venue_user, venue, card):
    client.force_login(venue_user)
    content = _csv(f"{card.number},{_day()},culture,0,0,0", f"{card.number},{_day()},{'a' * 200_000},0,0,0")

    response = _upload(client, venue, content)

    assert "Row 3 has a cell of over 131,072 characters." in response.text
    assert not CardUse.objects.exists()


def test_a_cell_too_long_is_named_by_its_row_not_its_line(client, venue_user, venue, card):
    # A quoted cell with a line break: two lines, one row, as every other message counts them.
    client.force_login(venue_user)
    content = _csv(f'{card.number},{_day()},"cul\nture",0,0,0', f"{card.number},{_day()},{'a' * 200_000},0,0,0")

    response = _upload(client, venue, content)

    assert "Row 3 has a cell of over 131,072 characters." in response.text


def _upload(client, venue, content):
    return client.post(
        reverse("venues:import"), {"venue": venue.pk, "file": SimpleUploadedFile("uses.csv", content, "text/csv")}
    )


def test_the_checked_file_waits_server_side_not_in_the_session(client, venue_user, venue, card):
    client.force_login(venue_user)
    content = _csv(f"{card.number},{_day()},culture,0,0,0")

    preview = _upload(client, venue, content)

    token = preview.context["token"]
    assert f'name="token" value="{token}"' in preview.text
    assert not any(card.number in str(value) for value in client.session.values())
    done = client.post(reverse("venues:import_confirm"), {"token": token}, follow=True)
    assert "Imported: 1." in done.text
    # Used once: the same token again (the back button, a second click) imports nothing and says why.
    again = client.post(reverse("venues:import_confirm"), {"token": token}, follow=True)
    assert again.redirect_chain[-1][0] == reverse("venues:uses")
    assert "This file has been imported already: its uses are in the list. Nothing was recorded twice." in (again.text)
    assert CardUse.objects.count() == 1


def test_a_checked_file_is_imported_at_its_venue_whichever_venue_was_chosen_since(client, venue_user, venue, card):
    # Found in review (a regression of this session's): the confirmation took the venue chosen
    # last in another tab, and the file's uses were credited to the other venue.
    other_venue = factories.VenueSiteFactory(municipality=venue.municipality)
    factories.MembershipFactory(site=other_venue, user=venue_user)
    client.force_login(venue_user)
    token = _upload(client, venue, _csv(f"{card.number},{_day()},culture,0,0,0")).context["token"]
    client.get(reverse("venues:desk"), {"venue": other_venue.pk})  # another tab

    done = client.post(reverse("venues:import_confirm"), {"token": token})

    assert done.url == reverse("venues:uses") + f"?venue={venue.pk}"
    assert list(CardUse.objects.values_list("venue_id", flat=True)) == [venue.pk]


def test_a_failed_import_sent_again_is_not_said_to_be_imported(client, venue_user, venue, card, monkeypatch):
    client.force_login(venue_user)
    token = _upload(client, venue, _csv(f"{card.number},{_day()},culture,0,0,0")).context["token"]

    def fails(**kwargs):
        raise ValidationError("The register changed while the file waited.", code="import_race")

    monkeypatch.setattr(services, "card_uses_import", fails)
    client.post(reverse("venues:import_confirm"), {"token": token})
    again = client.post(reverse("venues:import_confirm"), {"token": token}, follow=True)

    assert "has been imported already" not in again.text
    assert "The checked file is no longer available" in again.text


def test_an_import_that_crashed_is_not_said_to_be_imported_with_a_cache_outside_the_database(
    client, venue_user, venue, card, monkeypatch, settings
):
    # Found in review: with Redis (here the process's own cache, which no rollback touches
    # either) a confirmation whose import crashed left its claim, and the retry said "imported".
    settings.CACHES = settings.CACHES | {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    client.force_login(venue_user)
    token = _upload(client, venue, _csv(f"{card.number},{_day()},culture,0,0,0")).context["token"]

    def crashes(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "card_uses_import", crashes)
    with pytest.raises(RuntimeError):
        client.post(reverse("venues:import_confirm"), {"token": token})
    again = client.post(reverse("venues:import_confirm"), {"token": token}, follow=True)

    assert "has been imported already" not in again.text
    assert not CardUse.objects.exists()


@pytest.mark.parametrize("token", ["None", ""])
def test_a_token_of_none_is_no_file(client, venue_user, venue, card, token):
    client.force_login(venue_user)
    done = _upload(client, venue, _csv(f"{card.number},{_day()},culture,0,0,0")).context["token"]
    client.post(reverse("venues:import_confirm"), {"token": done})

    page = client.post(reverse("venues:import_confirm"), {"token": token}, follow=True)

    assert page.status_code == 200
    assert "The checked file is no longer available" in page.text


def test_the_confirm_address_opened_after_logging_in_again_says_what_to_do(client, venue_user, venue, card):
    # The session ended between the check and the import; the login page sends the person on
    # to the confirm address, by GET.
    client.force_login(venue_user)

    page = client.get(reverse("venues:import_confirm"), follow=True)

    assert page.redirect_chain[-1][0] == reverse("venues:import")
    assert "Nothing was imported yet. Choose the file again and check it." in page.text


def test_an_expired_preview_gives_a_clear_message(client, venue_user, venue, card):
    client.force_login(venue_user)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        token = _upload(client, venue, _csv(f"{card.number},{_day()},culture,0,0,0")).context["token"]
        traveller.shift(datetime.timedelta(seconds=services.IMPORT_PREVIEW_SECONDS + 1))
        client.force_login(venue_user)

        done = client.post(reverse("venues:import_confirm"), {"token": token}, follow=True)

    assert "The checked file is no longer available (it is kept for one hour)" in done.text
    assert not CardUse.objects.exists()


@pytest.mark.parametrize("token", ["", "nope", "x" * 5000, "a\x00b" * 10, "²" * 43])
def test_a_missing_or_malformed_token_gives_a_clear_message(client, venue_user, token):
    client.force_login(venue_user)

    done = client.post(reverse("venues:import_confirm"), {"token": token}, follow=True)

    assert done.status_code == 200
    assert "The checked file is no longer available" in done.text


def test_a_person_has_one_checked_file_waiting_however_many_they_upload(client, venue_user, venue, card):
    """Each check replaces the last: uploads cannot fill the cache the login limits live in."""
    client.force_login(venue_user)
    first = _upload(client, venue, _csv(f"{card.number},{_day()},culture,0,0,0")).context["token"]
    for _ in range(3):  # in other tabs, say
        last = _upload(client, venue, _csv(f"{card.number},{_day()},sports,0,0,0")).context["token"]

    assert len([key for key in cache._cache if "import-preview" in key]) == 1
    earlier = client.post(reverse("venues:import_confirm"), {"token": first}, follow=True)
    assert "You have checked another file since, and only the last file checked waits." in earlier.text
    # A token that was never this person's is no file they replaced.
    made_up = client.post(reverse("venues:import_confirm"), {"token": "A" * 43}, follow=True)
    assert "The checked file is no longer available" in made_up.text
    done = client.post(reverse("venues:import_confirm"), {"token": last}, follow=True)
    assert "Imported: 1." in done.text
    assert CardUse.objects.get().category == CardUse.Category.SPORTS


def test_another_persons_token_does_not_work(client, venue_user, venue, card):
    client.force_login(venue_user)
    token = _upload(client, venue, _csv(f"{card.number},{_day()},culture,0,0,0")).context["token"]
    colleague = factories.MembershipFactory(site=venue).user
    client.force_login(colleague)

    done = client.post(reverse("venues:import_confirm"), {"token": token}, follow=True)

    assert "The checked file is no longer available" in done.text
    assert not CardUse.objects.exists()
    with pytest.raises(ValidationError) as excinfo:
        services.import_preview_take(user=colleague, token=token)
    assert excinfo.value.code == "preview_expired"


def test_bad_file_on_the_page_is_a_form_error(client, venue_user, venue, card):
    client.force_login(venue_user)

    response = _upload(client, venue, _csv(f"{card.number},{_day()},culture,0,0,0", newline="\r"))

    assert response.status_code == 200
    assert "The file has old Mac line endings." in response.text
    assert response.context["token"] is None


def test_imported_uses_are_written_with_their_history(venue, venue_user, card):
    # On PostgreSQL the rows go in with COPY: every column, and a history row naming each use.
    content = _csv(f"K1234567,{_day()},culture,0,1,0", f"K 1234-567,{_day()},sports,0,0,0")

    recorded, already, refused = services.card_uses_import(venue=venue, actor=venue_user, content=content)

    assert (recorded, already, refused) == (2, 0, 0)
    uses = list(CardUse.objects.order_by("pk"))
    assert [(u.card, u.venue, u.category, u.assistant_tickets, u.source) for u in uses] == [
        (card, venue, "culture", 1, CardUse.Source.IMPORT),
        (card, venue, "sports", 0, CardUse.Source.IMPORT),
    ]
    assert all(u.recorded_by == venue_user and u.created_at and u.cancelled_at is None for u in uses)
    for use in uses:
        (record,) = use.history.all()
        assert (record.history_type, record.history_user, record.history_change_reason) == (
            "+",
            venue_user,
            services.REASON_IMPORTED,
        )
    # The ids came from the table's own sequence: the desk records the next use without a clash,
    # and an imported use can be cancelled like any other.
    use, created = services.card_use_record(
        venue=venue,
        actor=venue_user,
        data=services.UseData(number="K1234567", used_on=timezone.localdate(), category="culture"),
        idempotency_key="a" * 32,
    )
    assert created
    assert use.pk > uses[-1].pk
    services.card_use_cancel(use=uses[0], actor=venue_user, reason="wrong day")
    assert uses[0].history.count() == 2


def test_the_same_file_twice_imports_its_rows_once(venue, venue_user, card):
    content = _csv(f"K1234567,{_day()},culture,0,0,0", f"K1234567,{_day()},culture,0,0,0")

    assert services.card_uses_import(venue=venue, actor=venue_user, content=content) == (2, 0, 0)
    assert services.card_uses_import(venue=venue, actor=venue_user, content=content) == (0, 2, 0)
    assert CardUse.objects.count() == 2


def test_cells_of_only_spaces_are_no_formula(venue, venue_user, card):
    content = _csv(f"{card.number},{_day()},culture, ,\u00a0,\u3000")

    assert services.card_uses_import(venue=venue, actor=venue_user, content=content) == (1, 0, 0)


def test_a_lone_dash_is_a_count_of_none_not_a_formula(venue, venue_user, card):
    # Spreadsheets write "-" for none; it runs nothing, so the file is not refused for it.
    dashes = _csv(f"{card.number},{_day()},culture,-, - ,-")

    assert services.card_uses_import(venue=venue, actor=venue_user, content=dashes) == (1, 0, 0)
    use = CardUse.objects.get()
    assert (use.child_tickets, use.assistant_tickets, use.clients_under_16) == (0, 0, 0)
    # The same visit sent again with zeros is the same row.
    zeros = _csv(f"{card.number},{_day()},culture,0,0,0")
    assert services.card_uses_import(venue=venue, actor=venue_user, content=zeros) == (0, 1, 0)


@pytest.mark.parametrize(
    ("cells", "words"),
    [("-,{day},culture,0,0,0", "card number"), ("K1234567,-,culture,0,0,0", "The date must be like")],
)
def test_a_lone_dash_where_a_value_is_needed_is_that_rows_error(venue, card, cells, words):
    preview = services.card_uses_import_preview(venue=venue, content=_csv(cells.format(day=_day())))

    (row,) = preview.rows
    assert words in " ".join(row.errors)


def test_the_one_time_keys_of_a_row_are_unchanged(venue, card):
    # Files imported before must still be recognised: the keys' recipes may not change.
    day = _day()
    content = _csv(f"k 1234-567,{day},Kulttuuri, 1 ,,0", f"K1234567,{day},culture,1,,0")

    preview = services.card_uses_import_preview(venue=venue, content=content)

    def keys(recipe, signature):
        return [hashlib.sha256(f"{recipe}|{signature}|{n}".encode()).hexdigest() for n in (1, 2)]

    assert [row.key for row in preview.rows] == keys("import2", f"{venue.pk}|K1234567|{day}|culture|1|0|0")
    # Until 2026-11 the counts were keyed as typed: those keys are still recognised.
    assert [row.typed_key for row in preview.rows] == keys("import", f"{venue.pk}|K1234567|{day}|culture|1||0")


def test_a_refused_row_removed_from_the_file_leaves_the_other_rows_keys(venue, venue_user, card):
    # The preview says to fix or remove a refused row; the file is then sent again.
    day = _day()
    first = _csv(f"K1234567,{day},culture,1,x,", f"K1234567,{day},culture,1,,")
    assert services.card_uses_import(venue=venue, actor=venue_user, content=first) == (1, 0, 1)

    fixed = _csv(f"K1234567,{day},culture,1,,")
    assert services.card_uses_import(venue=venue, actor=venue_user, content=fixed) == (0, 1, 0)
    assert CardUse.objects.count() == 1


def test_a_second_visit_is_not_taken_for_a_row_imported_before(venue, venue_user, card):
    # The earlier recipe's keys and the new ones never meet, however the counts are written.
    day = _day()
    services.card_uses_import(venue=venue, actor=venue_user, content=_csv(f"K1234567,{day},culture,1,0,0"))

    for rows in (
        [f"K1234567,{day},culture,1,,", f"K1234567,{day},culture,1,0,0"],
        [f"K1234567,{day},culture,1,0,0"] * 2,
    ):
        preview = services.card_uses_import_preview(venue=venue, content=_csv(*rows))
        assert [row.duplicate for row in preview.rows] == [True, False]


def test_the_same_uses_with_counts_written_otherwise_are_not_imported_again(venue, venue_user, card):
    # A worker who filled the empty cells with 0 while fixing refused rows sends the file again.
    assert services.card_uses_import(venue=venue, actor=venue_user, content=_csv(f"K1234567,{_day()},culture,,,")) == (
        1,
        0,
        0,
    )

    for counts in ("0,0,0", "00,0,", " 0 ,, 0"):
        again = _csv(f"K1234567,{_day()},culture,{counts}")
        assert services.card_uses_import(venue=venue, actor=venue_user, content=again) == (0, 1, 0)
    assert CardUse.objects.count() == 1


def test_a_row_imported_under_the_earlier_key_is_still_recognised(venue, venue_user, card):
    content = _csv(f"K1234567,{_day()},culture,,,")
    services.card_uses_import(venue=venue, actor=venue_user, content=content)
    typed = services.card_uses_import_preview(venue=venue, content=content).rows[0].typed_key
    CardUse.objects.update(idempotency_key=typed)  # as the import stored it before 2026-11

    assert services.card_uses_import(venue=venue, actor=venue_user, content=content) == (0, 1, 0)


def test_a_card_inactivated_after_the_preview_is_refused_by_the_import(venue, venue_user, card, distributor):
    # The confirming click checks the file again against the register of that moment.
    content = _csv(f"{card.number},{timezone.localdate().isoformat()},culture,0,0,0")
    assert len(services.card_uses_import_preview(venue=venue, content=content).valid_rows) == 1

    card_services.card_inactivate(card=card, actor=distributor, reason="lost")

    assert services.card_uses_import(venue=venue, actor=venue_user, content=content) == (0, 0, 1)
    assert not CardUse.objects.exists()


def test_an_import_judges_every_row_as_the_desk_would(venue, site):
    # The import reads the cards of a whole file in one query, not as models: its verdicts must
    # be the desk's rules on the real cards, for every kind of card, day and ticket count.
    today = timezone.localdate()

    def ago(days: int) -> datetime.date:
        return today - datetime.timedelta(days=days)

    fresh = factories.CardFactory(site=site, issued_on=ago(100), valid_from=ago(100))
    expired = factories.CardFactory(site=site, expired=True)
    ended = factories.CardFactory(
        site=site, inactive=True, issued_on=ago(100), valid_from=ago(100), inactivated_on=ago(10)
    )
    organisation = factories.CardFactory(
        site=site, holder=factories.OrganisationHolderFactory(), issued_on=ago(100), valid_from=ago(100)
    )
    # Expired for a while, then renewed: the gap stays refused.
    renewed = factories.CardFactory(site=site, issued_on=ago(500), valid_from=ago(30), periods=True)
    ValidityPeriod.objects.create(
        card=renewed, valid_from=ago(500), valid_until=ago(136), cause="registered", site=site
    )
    ValidityPeriod.objects.create(
        card=renewed, valid_from=ago(30), valid_until=renewed.valid_until, cause="renewed", site=site
    )
    # Inactivated 100 days ago, reactivated 50 days ago: the days between stay refused.
    reactivated = factories.CardFactory(site=site, issued_on=ago(300), valid_from=ago(50), periods=True)
    ValidityPeriod.objects.create(
        card=reactivated, valid_from=ago(300), valid_until=ago(-64), ended_on=ago(100), cause="registered", site=site
    )
    ValidityPeriod.objects.create(
        card=reactivated, valid_from=ago(50), valid_until=ago(-64), cause="reactivated", site=site
    )
    cards = [fresh, expired, ended, organisation, renewed, reactivated]
    rows = [
        f"{card.number},{ago(days).isoformat()},{category},{child},0,{clients}"
        for card in cards
        for days in (-1, 0, 5, 20, 60, 75, 100, 101, 200, 450, 600)
        for category in ("culture", "education")
        for child, clients in ((0, 0), (1, 0), (3, 0), (0, 4))
    ]

    preview = services.card_uses_import_preview(venue=venue, content=_csv(*rows))

    desk = {
        card.number: Card.objects.select_related("holder").prefetch_related("periods").get(pk=card.pk) for card in cards
    }
    for row in preview.rows:
        card = desk[row.data.number]
        found = services.card_use_validate(data=row.data, card=card, today=today)
        assert (row.card_id, row.errors) == (card.pk, [m for messages in found.values() for m in messages]), row.line
    assert len(preview.valid_rows) > 10
    assert len(preview.invalid_rows) > 10


def test_copy_text_escapes_what_copy_would_misread():
    assert services._copy_text("a\\b\tc\nd\re") == "a\\\\b\\tc\\nd\\re"
    values = [None, True, 7, CardUse.Source.IMPORT, datetime.date(2025, 3, 1)]
    assert [services._copy_text(value) for value in values] == ["\\N", "t", "7", "import", "2025-03-01"]
    with pytest.raises(TypeError):
        services._copy_text(datetime.datetime(2025, 3, 1))  # noqa: DTZ001 (naive on purpose)
    with pytest.raises(TypeError):
        services._copy_text(1.5)


def test_empty_cells_after_the_last_column_are_ignored(venue, venue_user, card):
    # Excel and LibreOffice write them once a cell beyond the last column was touched.
    content = f"{HEADER},,\n{card.number},{_day()},culture,0,0,0,,\n{card.number},{_day()},sports,0,0,0\n".encode()

    assert services.card_uses_import(venue=venue, actor=venue_user, content=content) == (2, 0, 0)


def test_a_rows_count_error_names_its_column_and_an_empty_number_asks_for_it(venue, card):
    content = _csv(f"{card.number},{_day()},culture,0,11,0", f",{_day()},culture,0,0,0")

    preview = services.card_uses_import_preview(venue=venue, content=content)

    assert preview.rows[0].errors == ["assistant_tickets: Enter a number between 0 and 10."]
    assert preview.rows[1].errors == ["Enter the card number: its letters and digits."]


def test_the_preview_lists_first_the_cards_already_recorded_here_that_day(client, venue_user, venue, card):
    # Recorded on paper while the network was down, and at the desk once it came back.
    day = timezone.localdate() - datetime.timedelta(days=3)
    factories.CardUseFactory(card=card, venue=venue, used_on=day)
    factories.CardUseFactory(
        card=card,
        venue=venue,
        used_on=day - datetime.timedelta(days=1),
        cancelled_at=timezone.now(),
        cancel_reason="wrong card",
    )
    client.force_login(venue_user)
    earlier = (day - datetime.timedelta(days=1)).isoformat()

    preview = _upload(
        client, venue, _csv(f"{card.number},{day.isoformat()},sports,0,0,0", f"{card.number},{earlier},culture,0,0,0")
    )

    assert [row.line for row in preview.context["recorded_that_day"]] == [2]  # the cancelled one is no visit
    assert "Cards already recorded here on the same day" in preview.text
    assert len(preview.context["preview"].valid_rows) == 2  # still imported, as the desk would record them


def test_a_date_and_time_at_midnight_and_look_alike_spaces_and_dashes_are_read(venue, card):
    # LibreOffice writes a date cell as a date and time; Finnish number formats group digits
    # with a no-break space, and word processors turn a dash into an en dash.
    day = _day()
    content = _csv(f"K\u00a0123\u00a04567,{day} 00:00:00,culture,0,0,0", f"K\u20131234567,{day}T00:00,sports,0,0,0")

    preview = services.card_uses_import_preview(venue=venue, content=content)

    assert [row.errors for row in preview.rows] == [[], []]
    assert [row.data.number for row in preview.rows] == ["K1234567", "K1234567"]


def test_a_time_other_than_midnight_is_no_date(venue, card):
    preview = services.card_uses_import_preview(venue=venue, content=_csv(f"K1234567,{_day()} 14:30,culture,0,0,0"))

    assert preview.rows[0].errors == ["The date must be like 2025-03-31 or 31.3.2025."]


def test_the_rows_to_import_are_shown_as_they_will_be_recorded(client, venue_user, venue, card):
    client.force_login(venue_user)
    day = timezone.localdate() - datetime.timedelta(days=3)

    preview = _upload(client, venue, _csv(f"k 123 4567,{day.isoformat()} 00:00:00,Tiede,,1,"))

    row = re.search(r'<h3 id="valid-heading">.*?<tbody>(.*?)</tbody>', preview.text, re.S).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    assert cells == ["2", "K1234567", f"{day.day}.{day.month}.{day.year}", "Science", "0", "1", "0"]


@pytest.mark.parametrize("typed", ["31.2.2026", "2026-02-30", "29.2.25"])
def test_a_day_that_does_not_exist_is_said_so(venue, card, typed):
    preview = services.card_uses_import_preview(venue=venue, content=_csv(f"K1234567,{typed},culture,0,0,0"))

    assert preview.rows[0].errors == [f"There is no such day as {typed}."]


def test_a_rows_long_cells_are_shown_cut_short(client, venue_user, venue, card):
    # A pasted paragraph in the number column: the table says what to fix, not the paragraph.
    client.force_login(venue_user)

    preview = _upload(client, venue, _csv(f"{'K' * 5000},{_day()},culture,0,0,0"))

    assert "K" * 39 + "…" in preview.text
    assert "K" * 41 not in preview.text


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises all writers; the race needs PostgreSQL")
def test_a_file_confirmed_twice_at_the_same_moment_is_imported_once():
    # Found in review: a double click during a long import ran the whole import twice; the
    # second said "Already imported before: 8000", as if someone had imported the file earlier.
    venue = factories.VenueSiteFactory()
    user = factories.MembershipFactory(site=venue).user
    start = timezone.localdate() - datetime.timedelta(days=100)
    card = factories.CardFactory(number="K1234567", issued_on=start, valid_from=start)
    clients = [Client(), Client()]
    for each in clients:
        each.force_login(user)
    token = _upload(clients[0], venue, _csv(*[f"{card.number},{_day()},culture,0,0,0"] * 50)).context["token"]

    responses = post_together(reverse("venues:import_confirm"), [(each, {"token": token}) for each in clients])

    assert CardUse.objects.count() == 50
    said = [" ".join(str(m) for m in get_messages(response.wsgi_request)) for response in responses]
    assert sorted("Imported: 50." in text for text in said) == [False, True]
    assert any("This file has been imported already" in text for text in said), said


def test_a_file_of_too_many_rows_says_the_limit_as_numbers_are_written(venue, venue_user, card):
    rows = [f"{card.number},{_day()},culture,0,0,0"] * (services.MAX_IMPORT_ROWS + 1)

    error = _refusal(venue, venue_user, _csv(*rows))

    assert error.code == "too_many_rows"
    assert error.messages == ["The file has more than 20,000 rows. Split it into smaller files."]
