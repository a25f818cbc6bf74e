"""Recording uses at the venue: the rules of docs/rules.md, idempotency, offline imports."""

import datetime
import re
import uuid

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from cards.models import Card, CardUse
from tests import factories
from venues import services
from venues.services import IMPORT_COLUMNS, UseData


def _today():
    return timezone.localdate()


def _data(card, **overrides):
    values = {"number": card.number, "used_on": _today(), "category": "culture"} | overrides
    return UseData(**values)


def _record(venue, actor, data, key=None):
    return services.card_use_record(venue=venue, actor=actor, data=data, idempotency_key=key or uuid.uuid4().hex)


@pytest.fixture
def card(site):
    return factories.CardFactory(
        site=site,
        number="K1234567",
        issued_on=_today() - datetime.timedelta(days=100),
        valid_from=_today() - datetime.timedelta(days=100),
        holder__children_count=2,
    )


def test_valid_use_is_recorded(venue, venue_user, card):
    use, created = _record(venue, venue_user, _data(card, child_tickets=2, assistant_tickets=1))

    assert created
    assert use.card == card
    assert use.child_tickets == 2
    assert use.history.get().history_user == venue_user


def test_number_is_matched_case_insensitively(venue, venue_user, card):
    use, _created = _record(venue, venue_user, _data(card, number=" k123 4567 "))

    assert use.card == card


@pytest.mark.parametrize(
    ("setup", "field", "words"),
    [
        (lambda c: {"number": "NOPE0000"}, "number", "Unknown card"),
        (lambda c: {"used_on": _today() + datetime.timedelta(days=1)}, "used_on", "future"),
        (lambda c: {"used_on": c.issued_on - datetime.timedelta(days=1)}, "used_on", "issued on"),
        (lambda c: {"child_tickets": 3}, "child_tickets", "2 children registered"),
        (lambda c: {"category": "education", "child_tickets": 1}, "child_tickets", "education category"),
        (lambda c: {"clients_under_16": 4}, "clients_under_16", "organisation cards"),
        (lambda c: {"category": "bingo"}, "category", "Choose a category"),
    ],
)
def test_refusals_say_what_is_wrong(venue, venue_user, card, setup, field, words):
    with pytest.raises(ValidationError) as excinfo:
        _record(venue, venue_user, _data(card, **setup(card)))

    assert words in " ".join(excinfo.value.message_dict[field])
    assert not CardUse.objects.exists()


def test_expired_card_is_refused(venue, venue_user, site):
    expired = factories.CardFactory(site=site, expired=True)

    with pytest.raises(ValidationError) as excinfo:
        _record(venue, venue_user, _data(expired))

    assert "expired" in " ".join(excinfo.value.message_dict["number"])


def test_a_day_between_validity_periods_is_an_error_of_the_date(venue, venue_user, site):
    # Issued 100 days ago, but its only period (a reactivation, say) started 10 days ago.
    card = factories.CardFactory(
        site=site, issued_on=_today() - datetime.timedelta(days=100), valid_from=_today() - datetime.timedelta(days=10)
    )

    with pytest.raises(ValidationError) as excinfo:
        _record(venue, venue_user, _data(card, used_on=_today() - datetime.timedelta(days=50)))

    assert list(excinfo.value.message_dict) == ["used_on"]
    assert "was not valid on" in excinfo.value.message_dict["used_on"][0]


def test_use_before_expiry_is_accepted_afterwards(venue, venue_user, site):
    expired = factories.CardFactory(site=site, expired=True)

    use, _created = _record(venue, venue_user, _data(expired, used_on=expired.valid_until))

    assert use.used_on == expired.valid_until


def test_the_day_after_the_last_valid_day_is_refused(venue, venue_user, site):
    expired = factories.CardFactory(site=site, expired=True)

    with pytest.raises(ValidationError) as excinfo:
        _record(venue, venue_user, _data(expired, used_on=expired.valid_until + datetime.timedelta(days=1)))

    assert excinfo.value.messages == [
        f"The card expired on {expired.valid_until:%-d.%-m.%Y}. The holder can renew it where it was issued."
    ]


def test_inactive_card_is_refused_but_an_earlier_offline_use_is_not(venue, venue_user, card):
    Card.objects.filter(pk=card.pk).update(
        status="inactive", inactivation_reason="lost", inactivated_on=_today() - datetime.timedelta(days=5)
    )
    card.refresh_from_db()

    with pytest.raises(ValidationError) as excinfo:
        _record(venue, venue_user, _data(card))
    assert "inactive" in " ".join(excinfo.value.message_dict["number"])

    use, _created = _record(venue, venue_user, _data(card, used_on=_today() - datetime.timedelta(days=10)))
    assert use.pk


def test_a_past_use_of_a_card_inactive_now_is_held_to_the_childrens_count_of_its_own_time(
    client, venue, venue_user, distributor, card
):
    # Found in review: the refusal of too many child tickets, and the desk form's limit, told the
    # venue the holder's children count as a later site registered it.
    from cards import services as card_services
    from cards.models import Holder

    card_services.card_inactivate(card=card, actor=distributor, reason="given_up")
    Holder.objects.filter(pk=card.holder_id).update(children_count=7)  # a later site's count
    earlier = _today() - datetime.timedelta(days=3)

    with pytest.raises(ValidationError) as excinfo:
        _record(venue, venue_user, _data(card, used_on=earlier, child_tickets=5))
    imported = services.card_uses_import_preview(
        venue=venue, content=_csv(f"{card.number},{earlier.isoformat()},culture,5,0,0")
    )
    client.force_login(venue_user)
    desk = _desk_post(client, venue, card, language="en", used_on=earlier.isoformat(), child_tickets="5")

    for message in (" ".join(excinfo.value.message_dict["child_tickets"]), " ".join(imported.rows[0].errors)):
        assert "At most 2 child tickets: the card has 2 children registered." in message
        assert "7" not in message
    assert "At most 2 child tickets" in desk.text
    assert 'max="7"' not in desk.text
    _record(venue, venue_user, _data(card, used_on=earlier, child_tickets=2))  # within its own count


def test_the_childrens_count_of_cards_inactive_now_is_read_once_per_card_and_only_for_child_tickets(venue, site):
    # Found in review: a file of paper records of cards inactive now read three queries a row
    # (40 s for 10,000 rows).
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cards = [
        factories.CardFactory(site=site, inactive=True, valid_from=_today() - datetime.timedelta(days=200))
        for _ in range(4)
    ]

    def queries(days, child_tickets):
        lines = [
            f"{card.number},{(_today() - datetime.timedelta(days=100 + day)).isoformat()},culture,{child_tickets},0,0"
            for card in cards
            for day in range(days)
        ]
        with CaptureQueriesContext(connection) as captured:
            services.card_uses_import_preview(venue=venue, content=_csv(*lines))
        return len(captured)

    without_children = queries(5, 0)
    assert queries(10, 0) == without_children
    assert queries(5, 1) == queries(10, 1) <= without_children + 3 * len(cards)


def test_organisation_card_records_clients_not_children(venue, venue_user, site):
    org_card = factories.CardFactory(site=site, holder=factories.OrganisationHolderFactory())

    use, _created = _record(venue, venue_user, _data(org_card, clients_under_16=8))
    assert use.clients_under_16 == 8
    with pytest.raises(ValidationError):
        _record(venue, venue_user, _data(org_card, child_tickets=1))


def test_venue_user_cannot_record_for_another_venue(venue_user, card, municipality):
    other_venue = factories.VenueSiteFactory(municipality=municipality)

    with pytest.raises(PermissionDenied):
        _record(other_venue, venue_user, _data(card))


def test_distributor_cannot_record_uses(distributor, site, card):
    with pytest.raises(PermissionDenied):
        _record(site, distributor, _data(card))


def test_the_same_submission_twice_records_one_use(venue, venue_user, card):
    key = uuid.uuid4().hex
    first, created_first = _record(venue, venue_user, _data(card), key)
    second, created_second = _record(venue, venue_user, _data(card), key)

    assert (created_first, created_second) == (True, False)
    assert first.pk == second.pk
    assert CardUse.objects.count() == 1


def test_another_venues_form_key_is_only_that_venues(venue, venue_user, card, municipality):
    """The same token at another venue records that venue's own use: no refusal that would tell
    the other venue's staff that this card was used here."""
    key = uuid.uuid4().hex
    first, _created = _record(venue, venue_user, _data(card), key)
    other = factories.VenueSiteFactory(municipality=municipality)
    other_user = factories.MembershipFactory(site=other).user

    use, created = _record(other, other_user, _data(card), key)

    assert created
    assert (first.venue, use.venue) == (venue, other)
    assert CardUse.objects.count() == 2


def test_a_desk_token_cannot_take_the_key_of_a_row_another_venue_imports(venue, venue_user, card, municipality):
    other = factories.VenueSiteFactory(municipality=municipality)
    other_user = factories.MembershipFactory(site=other).user
    content = f"{','.join(services.IMPORT_COLUMNS)}\n{card.number},{_today().isoformat()},culture,0,0,0\n".encode()
    [row] = services._import_rows_parse(services._import_rows_read(content), venue=other)

    _record(venue, venue_user, _data(card), row.key)  # the key the other venue's row will have

    assert services.card_uses_import(venue=other, actor=other_user, content=content) == (1, 0, 0)
    assert CardUse.objects.filter(venue=other).count() == 1


def test_double_post_from_the_desk_records_once(client, venue_user, venue, card):
    client.force_login(venue_user)
    desk = client.get(reverse("venues:desk"), {"number": card.number})
    token = desk.context["form"].initial["token"]
    data = {
        "venue": venue.pk,
        "number": card.number,
        "token": token,
        "used_on": _today().isoformat(),
        "category": "culture",
        "child_tickets": "1",
        "assistant_tickets": "0",
    }

    first = client.post(reverse("venues:record"), data, follow=True)
    second = client.post(reverse("venues:record"), data, follow=True)

    assert "Recorded: card K1234567" in first.text
    assert "already recorded" in second.text
    assert CardUse.objects.count() == 1


def test_desk_shows_why_a_card_is_not_valid(client, venue_user, site):
    expired = factories.CardFactory(site=site, expired=True)
    client.force_login(venue_user)

    page = client.get(reverse("venues:desk"), {"number": expired.number})
    unknown = client.get(reverse("venues:desk"), {"number": "zz-999"})

    assert "is not valid" in page.text
    assert "expired" in page.text
    assert "Record use" not in page.text
    # A visit from while it was valid (a paper record) has a way in: the import.
    hint = "A visit from a day when the card was still valid is recorded with the offline import."
    assert hint in page.text
    assert f'href="{reverse("venues:import")}?venue=' in page.text
    assert "Unknown card" in unknown.text
    assert hint not in unknown.text
    # A number nobody has is no card that has run out.
    assert "No card has the number ZZ999" in unknown.text
    assert "is not valid" not in unknown.text


def test_the_desk_and_the_card_check_give_an_inactive_card_no_valid_until_date(
    client, venue_user, distributor, site, card
):
    # Its last valid day is still to come; next to "not valid" it would read as valid until then.
    Card.objects.filter(pk=card.pk).update(status="inactive", inactivation_reason="lost", inactivated_on=_today())
    client.force_login(venue_user)
    desk = client.get(reverse("venues:desk"), {"number": card.number})
    client.force_login(distributor)
    check = client.get(reverse("cards:check"), {"number": card.number})

    for page in (desk, check):
        facts = re.search(r'<dl class="facts">(.*?)</dl>', page.text, re.S).group(1)
        assert "Valid until" not in facts
        assert f"<dt>Inactivated</dt><dd>{_today():%-d.%-m.%Y}</dd>" in facts


@pytest.mark.parametrize("state", ["inactive", "expired"])
def test_a_card_that_cannot_be_used_shows_the_desk_no_holder_details(client, venue_user, site, state):
    # The holder's details are today's, possibly another site's later ones: a card that cannot
    # be used is checked for its status and dates only.
    customer = factories.CardFactory(site=site, holder__children_count=3, **{state: True})
    organisation = factories.CardFactory(
        site=site, holder=factories.OrganisationHolderFactory(organisation_name="Nuorisotalo Kipinä"), **{state: True}
    )
    client.force_login(venue_user)

    for card in (customer, organisation):
        page = client.get(reverse("venues:desk"), {"number": card.number})
        facts = re.search(r'<dl class="facts">(.*?)</dl>', page.text, re.S).group(1)
        assert "is not valid" in page.text
        assert "<dt>Card type</dt>" in facts
        assert "Children registered" not in facts
        assert "Kipinä" not in page.text
        assert "<dt>Holder</dt>" not in facts


def test_a_valid_card_shows_the_desk_its_children_or_organisation(client, venue_user, site, card):
    organisation = factories.CardFactory(
        site=site, holder=factories.OrganisationHolderFactory(organisation_name="Nuorisotalo Kipinä")
    )
    client.force_login(venue_user)

    customer_page = client.get(reverse("venues:desk"), {"number": card.number})
    organisation_page = client.get(reverse("venues:desk"), {"number": organisation.number})

    assert "<dt>Children registered</dt><dd>2</dd>" in customer_page.text
    assert "<dt>Holder</dt><dd>Organisation: Nuorisotalo Kipinä</dd>" in organisation_page.text


def test_desk_refusal_keeps_the_input(client, venue_user, venue, card):
    client.force_login(venue_user)

    response = _desk_post(client, venue, card, language="en", child_tickets="5", assistant_tickets="2")

    assert response.status_code == 200
    assert "At most 2 child tickets" in response.text
    assert 'value="5"' in response.text
    assert 'value="2"' in response.text


def _desk_post(client, venue, card, language="fi", **overrides):
    data = {
        "venue": venue.pk,
        "number": card.number,
        "token": uuid.uuid4().hex,
        "used_on": _today().isoformat(),
        "category": "culture",
        "child_tickets": "0",
        "assistant_tickets": "0",
    } | overrides
    return client.post(reverse("venues:record"), data, headers={"accept-language": language})


def _error_summary(page: str) -> str:
    return re.search(r'<div class="error-summary".*?</div>', page, re.S).group(0)


@pytest.mark.parametrize(
    ("language", "label", "message"),
    [("fi", "Käyttöpäivä", "Kortti on myönnetty vasta"), ("sv", "Användningsdatum", "Kortet utfärdades först")],
)
def test_desk_date_before_issue_points_to_the_date_of_use(client, venue_user, venue, card, language, label, message):
    client.force_login(venue_user)

    page = _desk_post(client, venue, card, language, used_on=(card.issued_on - datetime.timedelta(days=1)).isoformat())

    issued = f"{card.issued_on.day}.{card.issued_on.month}.{card.issued_on.year}"
    summary = _error_summary(page.text)
    assert f'<a href="#id_used_on">{label}</a>: {message} {issued}' in summary
    assert "Number" not in summary
    assert "#id_number" not in summary
    date_input = re.search(r'<input[^>]*name="used_on"[^>]*>', page.text).group(0)
    assert 'aria-invalid="true"' in date_input
    assert re.search(r'aria-describedby="[^"]*\bid_used_on_error\b', date_input)
    assert f'<p class="error" id="id_used_on_error">{message} {issued}' in page.text


def test_desk_refusal_of_the_card_itself_is_shown_without_a_field_label(client, venue_user, venue, card):
    client.force_login(venue_user)
    # Inactivated after the desk looked it up, before "Record use" was pressed.
    Card.objects.filter(pk=card.pk).update(status="inactive", inactivation_reason="lost", inactivated_on=_today())

    page = _desk_post(client, venue, card, "fi")

    summary = _error_summary(page.text)
    assert "<li>Kortti on passiivinen eikä sitä voi käyttää.</li>" in summary
    assert "Number" not in summary
    assert "<a href" not in summary
    assert not CardUse.objects.exists()


@pytest.mark.parametrize("token", [None, "", "f" * 65])
def test_desk_form_without_its_token_says_what_to_do_and_keeps_the_input(client, venue_user, venue, card, token):
    # The token makes a form sent twice record one use; a form that lost it records nothing,
    # and says so in words, not as "Token: This field is required."
    client.force_login(venue_user)
    data = {
        "venue": venue.pk,
        "number": card.number,
        "used_on": _today().isoformat(),
        "category": "culture",
        "child_tickets": "1",
        "assistant_tickets": "2",
    } | ({} if token is None else {"token": token})

    page = client.post(reverse("venues:record"), data, headers={"accept-language": "fi"})

    assert page.status_code == 200
    summary = _error_summary(page.text)
    assert "<li>Lomake on vanhentunut. Hae kortti uudelleen.</li>" in summary
    assert "Token" not in summary
    assert "<a href" not in summary
    assert re.search(r'<input[^>]*name="assistant_tickets"[^>]*value="2"', page.text)
    assert re.search(r'<input[^>]*name="child_tickets"[^>]*value="1"', page.text)
    assert not CardUse.objects.exists()


def test_desk_recent_list_says_which_uses_are_cancelled(client, venue_user, venue, card):
    factories.CardUseFactory(venue=venue, card=card)
    factories.CardUseFactory(venue=venue, card=card, cancelled_at=timezone.now(), cancel_reason="recorded twice")
    client.force_login(venue_user)

    page = client.get(reverse("venues:desk")).text

    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S).group(1)
    rows = re.findall(r"<tr(.*?)</tr>", body, re.S)
    # Newest first: the cancelled use, then the one that stands.
    cancelled_badge = '<span class="badge badge--inactive">Cancelled</span>'
    assert [("is-cancelled" in row, cancelled_badge in row) for row in rows] == [(True, True), (False, False)]


def test_desk_and_lists_query_counts_are_constant(client, venue_user, venue, card, django_assert_num_queries):
    client.force_login(venue_user)
    factories.CardUseFactory.create_batch(3, venue=venue, card=card)
    # A cancelled use is labelled from what the list already reads: no query more.
    factories.CardUseFactory(venue=venue, card=card, cancelled_at=timezone.now(), cancel_reason="recorded twice")
    client.get(reverse("venues:desk"))  # the first visit remembers the venue in the session
    with django_assert_num_queries(8) as desk_small:
        client.get(reverse("venues:desk"), {"number": card.number})
    with django_assert_num_queries(7) as uses_small:
        client.get(reverse("venues:uses"))
    factories.CardUseFactory.create_batch(20, venue=venue, card=card)
    with django_assert_num_queries(len(desk_small.captured_queries)):
        client.get(reverse("venues:desk"), {"number": card.number})
    with django_assert_num_queries(len(uses_small.captured_queries)):
        client.get(reverse("venues:uses"))


def test_the_uses_list_finds_one_cards_uses_here(client, venue_user, venue, card, django_assert_num_queries):
    # Found in review: after an offline file of thousands of rows, a use recorded by mistake had
    # to be found page by page to cancel it within its days.
    other_card = factories.CardFactory(number="K7777777")
    factories.CardUseFactory.create_batch(30, venue=venue, card=other_card)
    mine = factories.CardUseFactory(venue=venue, card=card, used_on=timezone.localdate())
    factories.CardUseFactory(venue=factories.VenueSiteFactory(municipality=venue.municipality), card=card)
    client.force_login(venue_user)
    client.get(reverse("venues:uses"))  # the first visit remembers the venue in the session

    with django_assert_num_queries(7):  # as the whole list (test_desk_and_lists_query_counts_are_constant)
        page = client.get(reverse("venues:uses"), {"venue": venue.pk, "number": card.number.lower()}).text

    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S).group(1)
    assert re.findall(r"<tr", body) == ["<tr"]  # this venue's one use of the card, not another venue's
    assert card.number in body
    assert reverse("venues:use_cancel", args=[mine.pk]) in body
    assert "1 in all" in page
    assert "Show every use" in page


def test_the_uses_lists_search_says_what_it_did_not_find_and_keeps_what_was_typed(client, venue_user, venue, card):
    factories.CardUseFactory(venue=venue, card=card)
    client.force_login(venue_user)

    none = client.get(reverse("venues:uses"), {"venue": venue.pk, "number": "K0000001"}).text
    bad = client.get(reverse("venues:uses"), {"venue": venue.pk, "number": "K12²\x00"})

    assert "No uses of card K0000001 recorded here." in none
    assert "<tbody>" not in none
    assert bad.status_code == 200
    assert 'value="K12²"' in bad.text  # as typed, without the control character
    assert 'class="error"' in bad.text
    assert card.number in bad.text  # the whole list, under the message


def test_cancel_within_14_days_with_reason(venue, venue_user, card):
    use, _ = _record(venue, venue_user, _data(card))

    with pytest.raises(ValidationError):
        services.card_use_cancel(use=use, actor=venue_user, reason=" ")
    services.card_use_cancel(use=use, actor=venue_user, reason="wrong card")

    use.refresh_from_db()
    assert use.cancelled_at is not None
    assert use.history.first().history_change_reason == "Use cancelled"


def test_cancel_after_14_days_is_refused(venue, venue_user, card):
    use, _ = _record(venue, venue_user, _data(card))

    with time_machine.travel(datetime.timedelta(days=15)), pytest.raises(ValidationError):
        services.card_use_cancel(use=use, actor=venue_user, reason="late")


def test_another_venue_cannot_cancel(venue, venue_user, card, municipality):
    use, _ = _record(venue, venue_user, _data(card))
    other = factories.MembershipFactory(site=factories.VenueSiteFactory(municipality=municipality)).user

    with pytest.raises(PermissionDenied):
        services.card_use_cancel(use=use, actor=other, reason="not mine")


def test_distributor_cannot_open_venue_pages(distributor_client):
    assert distributor_client.get(reverse("venues:desk")).status_code == 403
    assert distributor_client.get(reverse("venues:import")).status_code == 403
    assert distributor_client.get(reverse("venues:offers")).status_code == 403


# --- offline records -----------------------------------------------------------------


def _csv(*rows, header="card_number,date,category,child_tickets,assistant_tickets,clients_under_16"):
    return ("\n".join([header, *rows]) + "\n").encode()


def test_preview_checks_every_row_and_writes_nothing(venue, card):
    day = (_today() - datetime.timedelta(days=3)).isoformat()
    preview = services.card_uses_import_preview(
        venue=venue,
        content=_csv(
            f"{card.number},{day},culture,1,0,0", f"NOPE,{day},culture,0,0,0", f"{card.number},31.2.2025,sports,0,0,0"
        ),
    )

    assert [row.ok for row in preview.rows] == [True, False, False]
    assert "Unknown card" in " ".join(preview.rows[1].errors)
    assert preview.rows[2].errors == ["There is no such day as 31.2.2025."]
    assert not CardUse.objects.exists()


def test_import_records_valid_rows_once_even_when_reimported(venue, venue_user, card):
    day = (_today() - datetime.timedelta(days=3)).isoformat()
    content = _csv(
        f"{card.number},{day},culture,1,0,0", f"{card.number},{day},culture,1,0,0", f"NOPE,{day},culture,0,0,0"
    )

    assert services.card_uses_import(venue=venue, actor=venue_user, content=content) == (2, 0, 1)
    assert services.card_uses_import(venue=venue, actor=venue_user, content=content) == (0, 2, 1)
    assert CardUse.objects.filter(source="import").count() == 2
    assert CardUse.history.filter(history_type="+").count() == 2


def test_import_accepts_semicolons_finnish_dates_and_category_words(venue, venue_user, card):
    content = f"card_number;date;category;child_tickets;assistant_tickets;clients_under_16\nK1234567;1.{_today().month}.{_today().year};liikunta;0;0;0\n".encode(
        "utf-8-sig"
    )

    assert services.card_uses_import(venue=venue, actor=venue_user, content=content)[0] == 1
    assert CardUse.objects.get().category == "sports"


@pytest.mark.parametrize("separator", [";", "\t", ","])
@pytest.mark.parametrize(("end", "blank_lines"), [("\n", 1), ("\n", 3), ("\r\n", 2)])
def test_a_small_file_with_blank_lines_is_read_with_its_own_separator(
    venue, venue_user, site, separator, end, blank_lines
):
    # Excel in a Finnish locale writes semicolons; a sniffer's guess failed on a blank line.
    cards = [factories.CardFactory(site=site, number=number) for number in ("K1111111", "K2222222")]
    day = f"{_today().day}.{_today().month}.{_today().year}"
    header = separator.join(IMPORT_COLUMNS)
    rows = [separator.join([card.number, day, "liikunta", "0", "0", "0"]) for card in cards]
    content = header + end + rows[0] + end * (1 + blank_lines) + rows[1] + end * (1 + blank_lines)

    assert services.card_uses_import(venue=venue, actor=venue_user, content=content.encode("utf-8-sig"))[0] == 2


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty"),
        # Chosen by mistake: a PDF (this one with no byte outside ASCII), an xlsx (a zip), an old xls.
        (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ncard_number\n", "not a CSV file"),
        (b"PK\x03\x04\x14\x00\x06\x00[Content_Types].xml", "not a CSV file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "not a CSV file"),
        (b"card_number,date\nK1,2025-01-01\n", "columns must be"),
        (b"card_number,date,category,child_tickets,assistant_tickets,clients_under_16\n", "no rows"),
        (
            b"card_number,date,category,child_tickets,assistant_tickets,clients_under_16\n=HYPERLINK(1),2025-01-01,culture,0,0,0\n",
            "formula",
        ),
        (
            b"card_number,date,category,child_tickets,assistant_tickets,clients_under_16\nK1,2025-01-01,@SUM(1),0,0,0\n",
            "formula",
        ),
        (
            "card_number,date,category,child_tickets,assistant_tickets,clients_under_16\nKÄÄ,2025-01-01,kulttuuri,0,0,0\n".encode(
                "latin-1"
            ),
            "UTF-8",
        ),
        (
            b"card_number,date,category,child_tickets,assistant_tickets,clients_under_16\nK1,2025-01-01,culture,0\n",
            "columns",
        ),
    ],
)
def test_malformed_files_get_a_clear_error_and_change_nothing(venue, venue_user, content, words):
    with pytest.raises(ValidationError) as excinfo:
        services.card_uses_import(venue=venue, actor=venue_user, content=content)

    assert words in " ".join(excinfo.value.messages)
    assert not CardUse.objects.exists()


def test_import_page_previews_then_imports(client, venue_user, venue, card):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(venue_user)
    day = (_today() - datetime.timedelta(days=2)).isoformat()
    upload = SimpleUploadedFile(
        "uses.csv", _csv(f"{card.number},{day},culture,0,0,0", f"NOPE,{day},culture,0,0,0"), "text/csv"
    )

    preview = client.post(reverse("venues:import"), {"venue": venue.pk, "file": upload})
    assert "1 row can be imported" in preview.text
    assert "Unknown card" in preview.text
    assert not CardUse.objects.exists()

    done = client.post(reverse("venues:import_confirm"), {"token": preview.context["token"]}, follow=True)
    assert "Imported: 1." in done.text
    assert CardUse.objects.count() == 1


def test_the_import_preview_lists_the_rows_to_import_and_those_imported_before(client, venue_user, venue, site):
    from django.core.files.uploadedfile import SimpleUploadedFile

    start = _today() - datetime.timedelta(days=100)
    first, second = (
        factories.CardFactory(site=site, number=number, issued_on=start, valid_from=start)
        for number in ("K1111111", "K2222222")
    )
    day_date = _today() - datetime.timedelta(days=2)
    day = day_date.isoformat()
    services.card_uses_import(venue=venue, actor=venue_user, content=_csv(f"{first.number},{day},culture,0,1,0"))
    client.force_login(venue_user)
    upload = SimpleUploadedFile(
        "uses.csv", _csv(f"{first.number},{day},culture,0,1,0", f"{second.number},{day},sports,2,0,0"), "text/csv"
    )

    page = client.post(reverse("venues:import"), {"venue": venue.pk, "file": upload}).text

    def rows_under(heading: str) -> list[list[str]]:
        table = page.split(f">{heading}</h3>", 1)[1].split("</table>", 1)[0]
        return [re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in re.findall(r"<tr><td.*?</tr>", table)]

    # As they are recorded: the date in Finnish order, the category by its name.
    shown = f"{day_date.day}.{day_date.month}.{day_date.year}"
    assert rows_under("Rows imported before") == [["2", "K1111111", shown, "Culture", "0", "1", "0"]]
    assert rows_under("Rows to import") == [["3", "K2222222", shown, "Sports", "2", "0", "0"]]


def test_import_template_downloads(client, venue_user):
    client.force_login(venue_user)

    response = client.get(reverse("venues:import_template"))

    # The header only: example rows of real-looking numbers, left in, would record real uses.
    assert response.text.splitlines() == [",".join(IMPORT_COLUMNS)]


def test_ten_thousand_rows_import(venue, venue_user, site):
    cards = factories.CardFactory.create_batch(
        50,
        site=site,
        issued_on=_today() - datetime.timedelta(days=200),
        valid_from=_today() - datetime.timedelta(days=200),
    )
    rows = [
        f"{cards[i % 50].number},{(_today() - datetime.timedelta(days=i % 150)).isoformat()},culture,0,0,0"
        for i in range(10_000)
    ]

    recorded, duplicates, refused = services.card_uses_import(venue=venue, actor=venue_user, content=_csv(*rows))

    assert (recorded, duplicates, refused) == (10_000, 0, 0)


def test_staff_of_two_venues_switch_and_the_choice_is_remembered(client, venue_user, venue, municipality):
    second = factories.VenueSiteFactory(name="Swimming hall", municipality=municipality)
    factories.MembershipFactory(user=venue_user, site=second)
    foreign = factories.VenueSiteFactory(name="Not mine", municipality=municipality)
    client.force_login(venue_user)

    first_page = client.get(reverse("venues:desk"))
    assert 'id="venue-switch"' in first_page.text
    client.get(reverse("venues:desk"), {"venue": second.pk})
    again = client.get(reverse("venues:uses"))

    assert again.context["venue"] == second
    assert client.get(reverse("venues:desk"), {"venue": foreign.pk}).status_code == 404


def test_the_desk_points_out_a_use_just_recorded_for_the_card(client, venue_user, venue, card):
    client.force_login(venue_user)
    page = client.get(reverse("venues:desk"), {"number": card.number}).text
    assert "data-recent-use" not in page
    factories.CardUseFactory(venue=venue, card=card)
    page = client.get(reverse("venues:desk"), {"number": card.number}).text
    assert "A use of this card was recorded here at" in page


def test_an_earlier_days_use_imported_a_moment_ago_is_no_visit_at_the_desk(client, venue_user, venue, card):
    # An offline file records earlier days' visits: the holder at the desk now has not been here today.
    factories.CardUseFactory(
        venue=venue, card=card, used_on=timezone.localdate() - datetime.timedelta(days=3), source=CardUse.Source.IMPORT
    )
    client.force_login(venue_user)

    page = client.get(reverse("venues:desk"), {"number": card.number}).text

    assert "A use of this card was recorded here at" not in page


def test_the_venue_worked_for_comes_from_the_persons_own_active_venues(client, venue_user, venue, municipality):
    """Only an active venue of one's own can be chosen; the desk preselects its usual category."""
    second = factories.VenueSiteFactory(name="Aaa swimming hall", municipality=municipality, default_category="sports")
    factories.MembershipFactory(user=venue_user, site=second)
    closed = factories.VenueSiteFactory(name="Aaa closed hall", municipality=municipality, is_active=False)
    factories.MembershipFactory(user=venue_user, site=closed)
    distributor = factories.SiteFactory(name="Aaa office", municipality=municipality)
    factories.MembershipFactory(user=venue_user, site=distributor)
    client.force_login(venue_user)

    # No choice yet: the first active venue by name, never the closed one or the distributor site.
    assert client.get(reverse("venues:desk")).context["venue"] == second
    for not_a_venue_of_mine in (closed.pk, distributor.pk, 10**17):
        assert client.get(reverse("venues:desk"), {"venue": not_a_venue_of_mine}).status_code == 404
    client.get(reverse("venues:desk"), {"venue": venue.pk})
    for not_a_number in ("²", "1\x00", "x" * 5000):
        # Not a venue number at all: the venue chosen last time.
        assert client.get(reverse("venues:desk"), {"venue": not_a_number}).context["venue"] == venue

    card = factories.CardFactory()
    page = client.get(reverse("venues:desk"), {"venue": second.pk, "number": card.number})
    assert page.context["form"].initial["category"] == "sports"
    page = client.get(reverse("venues:desk"), {"venue": venue.pk, "number": card.number})
    assert page.context["form"].initial["category"] == venue.default_category


def test_an_empty_look_up_says_what_to_type(client, venue_user):
    client.force_login(venue_user)

    page = client.get(reverse("venues:desk"), {"number": ""})

    assert "Type or scan a card number." in page.text
    assert "This field is required." not in page.text


@pytest.mark.parametrize(
    "typed",
    [
        "K123\u20134567",
        "K1234\u00a0567",
        "K\u2212 1234567",
        "K123\u20144567",
        "K1234567\u200b",
        "\ufeffK1234567",
        "\u200eK1234567\u200e",
        "K123\u00ad4567",
        "K123\u20104567",
        "K123\uff0d4567",
        "K123\u20094567",
    ],
)
def test_the_desk_reads_a_dash_or_space_written_otherwise_as_the_import_does(client, venue_user, venue, card, typed):
    # Found in review: the import read an en dash or a no-break space as a dash or a space, the
    # desk refused them saying "spaces and dashes" are allowed.
    client.force_login(venue_user)

    desk = client.get(reverse("venues:desk"), {"number": typed})

    assert desk.context["check"].card == card


def test_the_desk_shows_a_refused_number_back_without_its_control_characters(client, venue_user, venue, card):
    client.force_login(venue_user)

    desk = client.get(reverse("venues:desk"), {"number": "K1234567\x00"})

    assert "\x00" not in desk.text
    assert 'value="K1234567"' in desk.text
    assert "A card number has only the letters A–Z" in desk.text


def _described_by(page: str, name: str) -> list[str]:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)[0]
    return re.search(r'aria-describedby="([^"]*)"', tag)[1].split()


def test_the_desks_result_describes_the_field_that_has_the_keyboard(client, venue_user, venue, card):
    # Found in review: the result was a live region already in the page when it loaded, so a
    # screen reader said nothing; the keyboard stays in the number field (a refusal) or moves to
    # the first ticket field (a valid card), which now name the result.
    client.force_login(venue_user)

    unknown = client.get(reverse("venues:desk"), {"number": "ZZ999999"}).text
    valid = client.get(reverse("venues:desk"), {"number": card.number}).text

    assert _described_by(unknown, "number")[0] == "check-heading"
    assert 'id="check-heading"' in unknown
    assert _described_by(valid, "child_tickets")[:1] == ["check-heading"]
    _record(venue, venue_user, _data(card))
    again = client.get(reverse("venues:desk"), {"number": card.number}).text
    assert _described_by(again, "child_tickets")[:2] == ["check-heading", "recent-use"]
    assert 'id="recent-use"' in again
