"""Choosing where a closed site's cards go: nothing is preselected on the coordinator's page, and
the admin's "move" action offers no site all the selected cards are at."""

import re

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from cards import services
from cards.models import Card
from tests import factories


def _options(html: str, name: str) -> list[tuple[str, str]]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select)


def test_the_move_page_preselects_no_site(client, coordinator, site, other_site):
    factories.CardFactory(site=site)
    site.is_active = False
    site.save()
    client.force_login(coordinator)

    page = client.get(reverse("cards:site_transfer", args=[site.pk]))

    options = _options(page.text, "to_site")
    assert options == [("", "–"), (str(other_site.pk), str(other_site))]
    assert re.search(r'<option value=""[^>]*selected', page.text)


def test_the_move_page_asks_for_a_site_and_moves_nothing_without_one(client, coordinator, site, other_site):
    card = factories.CardFactory(site=site)
    site.is_active = False
    site.save()
    client.force_login(coordinator)

    response = client.post(reverse("cards:site_transfer", args=[site.pk]), {"to_site": "", "reason": "closed"})

    assert response.status_code == 200
    assert response.context["form"].errors["to_site"] == ["Choose the site that takes over the cards."]
    assert "Please check the form" in response.text
    card.refresh_from_db()
    assert card.site == site


def test_the_admins_move_action_offers_no_site_all_selected_cards_are_at(client, admin_user, site, other_site):
    first = factories.CardFactory(site=site)
    second = factories.CardFactory(site=other_site)
    third_site = factories.SiteFactory(name="Third distributor", municipality=site.municipality)
    client.force_login(admin_user)
    changelist = reverse("admin:cards_card_changelist")

    one = client.post(changelist, {"action": "transfer", "_selected_action": [first.pk]})
    both = client.post(changelist, {"action": "transfer", "_selected_action": [first.pk, second.pk]})

    assert {pk for pk, _label in _options(one.text, "to_site") if pk} == {str(other_site.pk), str(third_site.pk)}
    # Cards of two sites may each go to the other's: every site is offered, and the card already
    # there is refused by itself.
    assert {pk for pk, _label in _options(both.text, "to_site") if pk} == {
        str(site.pk),
        str(other_site.pk),
        str(third_site.pk),
    }
    moved = client.post(
        changelist,
        {"action": "transfer", "_selected_action": [first.pk, second.pk], "apply": "1", "to_site": site.pk},
        follow=True,
    )
    second.refresh_from_db()
    first.refresh_from_db()
    assert (first.site, second.site) == (site, site)
    assert "The card is already at this site." in moved.text


def test_the_admin_cannot_move_a_card_to_its_own_site(client, admin_user, site):
    card = factories.CardFactory(site=site)
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:cards_card_changelist"),
        {"action": "transfer", "_selected_action": [card.pk], "apply": "1", "to_site": site.pk},
    )

    # The form refuses the choice before any card is tried: the page is shown again.
    assert response.status_code == 200
    assert response.context["form"].errors["to_site"]
    card.refresh_from_db()
    assert (card.site, card.status) == (site, Card.Status.ACTIVE)


def test_with_no_site_to_take_the_cards_the_page_says_to_add_one(client, coordinator, site):
    factories.CardFactory(site=site)
    site.is_active = False
    site.save()
    client.force_login(coordinator)

    page = client.get(reverse("cards:site_transfer", args=[site.pk]))

    assert 'name="to_site"' not in page.text  # no choice that cannot be made
    assert "No other open distributor site in your region can take over the cards." in page.text
    assert reverse("accounts:site_create") in page.text


def test_moving_a_sites_cards_again_moves_nothing_and_says_so(client, coordinator, site, other_site):
    factories.CardFactory(site=site)
    site.is_active = False
    site.save()
    client.force_login(coordinator)
    url = reverse("cards:site_transfer", args=[site.pk])
    data = {"to_site": str(other_site.pk), "reason": "closed"}

    first = client.post(url, data)
    again = client.post(url, data)  # a second tab

    assert first.status_code == 302
    assert again.status_code == 200
    assert "The site has no active cards left to move." in again.text
    assert "were moved" not in again.text


def test_an_open_sites_cards_are_not_moved_all_at_once_even_by_an_admin(client, admin_user, site, other_site):
    # Found in review: an admin emptied an open site, whose staff kept registering cards while
    # its holders belonged elsewhere. One holder who moved is moved card by card.
    card = factories.CardFactory(site=site)
    client.force_login(admin_user)

    page = client.get(reverse("cards:site_transfer", args=[site.pk]))
    sent = client.post(reverse("cards:site_transfer", args=[site.pk]), {"to_site": other_site.pk, "reason": "x"})

    assert page.status_code == sent.status_code == 404
    with pytest.raises(PermissionDenied):
        services.site_cards_transfer(from_site=site, to_site=other_site, actor=admin_user)
    card.refresh_from_db()
    assert card.site == site
