"""The 403 page says whom a page is for: a staff person without the role is no cardholder."""

import re

import pytest
from django.urls import reverse

from tests import factories

OMAKAIKU_TEXT = "cardholders use OmaKaiku"


def _main(response) -> str:
    return re.search(r"<main.*?</main>", response.text, re.S).group(0)


@pytest.mark.parametrize(
    ("who", "url_name", "message"),
    [
        ("venue_user", "cards:list", "This page is for the staff of card distributors."),
        ("venue_user", "cards:register", "This page is for the staff of card distributors."),
        ("distributor", "venues:desk", "This page is for the staff of venues."),
        ("distributor", "accounts:region", "This page is for regional coordinators."),
    ],
)
def test_staff_without_the_role_are_told_whom_the_page_is_for(client, db, request, who, url_name, message):
    # ``db`` named here, not only reached through getfixturevalue: pytest-django orders a test by
    # the fixtures it names, and this one ran among the tests without a database, where the
    # connection its lazily set-up database opened stayed open past the test database's removal.
    client.force_login(request.getfixturevalue(who))

    response = client.get(reverse(url_name), headers={"accept-language": "en"})

    assert response.status_code == 403
    main = _main(response)
    assert f"<p>{message}</p>" in main
    assert OMAKAIKU_TEXT not in main
    # Their own start page, which sends a venue's staff to the desk.
    assert f'<a href="{reverse("home")}">Go to your start page in Kaikukanta</a>' in main


def test_the_site_transfer_says_it_is_for_coordinators_and_admins(client, distributor):
    client.force_login(distributor)

    response = client.get(reverse("cards:site_transfer", args=[1]), headers={"accept-language": "en"})

    assert response.status_code == 403
    assert "This page is for regional coordinators and Kaikukeskus administrators." in _main(response)


def test_staff_refused_elsewhere_get_no_cardholder_message(client, db):
    # A login with no site or region has no statistics to open (stats.views refuses it).
    client.force_login(factories.UserFactory())

    response = client.get(reverse("stats:dashboard"), headers={"accept-language": "en"})

    assert response.status_code == 403
    main = _main(response)
    assert "You do not have access to this page." in main
    assert OMAKAIKU_TEXT not in main


@pytest.mark.parametrize("url_name", ["cards:list", "venues:desk", "accounts:region"])
def test_a_holder_still_hears_about_omakaiku_where_staff_hear_whom_the_page_is_for(
    client, venue_user, distributor, url_name
):
    staff = venue_user if url_name == "cards:list" else distributor
    client.force_login(factories.HolderUserFactory())
    to_holder = _main(client.get(reverse(url_name), headers={"accept-language": "en"}))
    client.force_login(staff)
    to_staff = _main(client.get(reverse(url_name), headers={"accept-language": "en"}))

    assert OMAKAIKU_TEXT in to_holder
    assert "This page is for" not in to_holder
    assert OMAKAIKU_TEXT not in to_staff
