"""The national admin's lists of cards, holders and uses at national scale: newest first, sorted
only by an indexed column, found by whole numbers and addresses, and the same queries whatever
the number of rows (their speed at a million rows is measured by bench/bench_pages.py)."""

import datetime

import pytest
from django.urls import reverse

from cards.models import ValidityPeriod
from tests import factories


def _rows(page) -> list:
    return list(page.context["cl"].result_list)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_the_admins_card_list_shows_the_newest_card_first(admin_client, site):
    cards = [factories.CardFactory(site=site, number=number) for number in ("C0000003", "A0000001", "B0000002")]

    page = admin_client.get(reverse("admin:cards_card_changelist"))

    assert _rows(page) == cards[::-1]


def test_the_admins_card_list_sorts_by_number_and_by_no_column_without_an_index(admin_client, site):
    cards = [factories.CardFactory(site=site, number=number) for number in ("C0000003", "A0000001", "B0000002")]
    changelist = reverse("admin:cards_card_changelist")

    by_number = admin_client.get(changelist, {"o": "1"})  # list_display's "number", after the checkbox
    assert [card.number for card in _rows(by_number)] == ["A0000001", "B0000002", "C0000003"]
    assert 'class="sortable column-number' in by_number.text
    assert 'class="column-status"' in by_number.text  # no link to sort by it

    # "status" is not sortable: an address asking for it gets the newest first.
    by_status = admin_client.get(changelist, {"o": "3"})
    assert _rows(by_status) == cards[::-1]


@pytest.mark.parametrize("term", ["c00 000-03", "C0000003", " c0000003 ", "C000\u20130003", "C000\u22120003"])
def test_the_admin_finds_a_card_and_its_uses_by_the_whole_number_as_typed(admin_client, site, term):
    card = factories.CardFactory(site=site, number="C0000003")
    other = factories.CardFactory(site=site, number="C0000004")
    use = factories.CardUseFactory(card=card)
    factories.CardUseFactory(card=other)

    assert _rows(admin_client.get(reverse("admin:cards_card_changelist"), {"q": term})) == [card]
    assert _rows(admin_client.get(reverse("admin:cards_carduse_changelist"), {"q": term})) == [use]
    assert _rows(admin_client.get(reverse("admin:cards_holder_changelist"), {"q": term})) == [card.holder]


def test_the_admin_finds_no_card_by_a_part_of_its_number_and_says_what_to_type(admin_client, site):
    factories.CardFactory(site=site, number="C0000003")

    page = admin_client.get(reverse("admin:cards_card_changelist"), {"q": "0000003"})

    assert _rows(page) == []
    assert "A whole card number" in page.text


def test_the_admin_finds_an_organisation_by_a_part_of_its_name_and_a_holder_by_email(admin_client, site):
    youth = factories.CardFactory(site=site, holder=factories.OrganisationHolderFactory(organisation_name="Nuotta ry"))
    factories.CardFactory(site=site, holder=factories.OrganisationHolderFactory(organisation_name="Kipinä ry"))
    # A customer has no organisation name to match, whatever else they have.
    account = factories.HolderUserFactory(email="nuotta@example.com")
    customer = factories.CardFactory(site=site, holder__account=account)
    holders = reverse("admin:cards_holder_changelist")

    assert _rows(admin_client.get(holders, {"q": "NUOTTA"})) == [youth.holder]
    assert _rows(admin_client.get(holders, {"q": "Nuotta@Example.com"})) == [customer.holder]
    assert _rows(admin_client.get(reverse("admin:cards_card_changelist"), {"q": "Nuotta@Example.com"})) == [customer]


@pytest.mark.parametrize(
    ("name", "queries"),
    [("card", 8), ("holder", 8), ("carduse", 7)],
)
def test_the_admins_big_lists_run_the_same_queries_for_few_rows_and_many(
    admin_client, site, venue, name, queries, django_assert_num_queries
):
    url = reverse(f"admin:cards_{name}_changelist")
    factories.CardUseFactory.create_batch(2, card__site=site, venue=venue)
    admin_client.get(url)  # the session's first read
    with django_assert_num_queries(queries):
        assert len(_rows(admin_client.get(url))) == 2
    factories.CardUseFactory.create_batch(10, card__site=site, venue=venue)
    with django_assert_num_queries(queries):
        assert len(_rows(admin_client.get(url))) == 12


def test_a_period_and_a_use_are_named_with_days_as_written_everywhere(db):
    # Found in review: the admin's inline rows and page titles read "8: 2025-12-20–2026-12-19"
    # (the card's database id) and "KK654999 2026-09-24".
    use = factories.CardUseFactory(card__number="KK654999", used_on=datetime.date(2026, 9, 24))
    period = ValidityPeriod(
        card=use.card, valid_from=datetime.date(2025, 12, 20), valid_until=datetime.date(2026, 12, 19)
    )

    assert str(period) == "20.12.2025–19.12.2026"
    assert str(use) == "KK654999 24.9.2026"
