"""A closed site (``Site.is_active = False``): nobody new joins its staff, its own staff are told it
closed, the region page marks it, and a staff member is removed only after a confirmation."""

import pytest
from django.core import mail
from django.urls import reverse

from accounts import services
from accounts.models import Site, SiteMembership, User
from tests import factories


def _close(site: Site) -> Site:
    site.is_active = False
    site.save()
    return site


# --- no invitations or new memberships to a closed site -----------------------------------------


def test_staff_invite_refuses_a_closed_site(coordinator, site, committed):
    _close(site)

    with committed(), pytest.raises(services.ValidationError) as excinfo:
        services.staff_invite(actor=coordinator, site=site, email="uusi@example.fi")

    assert [error.code for error in excinfo.value.error_list] == ["site_closed"]
    assert excinfo.value.messages == ["This site has closed; no staff can be added to it."]
    assert not User.objects.filter(email="uusi@example.fi").exists()
    assert not site.memberships.exists()
    assert mail.outbox == []


def test_staff_invite_checks_again_under_the_sites_lock(coordinator, site):
    # The coordinator's page was read while the site was open; an admin closed it meanwhile.
    stale = Site.objects.get(pk=site.pk)
    _close(site)

    with pytest.raises(services.ValidationError) as excinfo:
        services.staff_invite(actor=coordinator, site=stale, email="uusi@example.fi")

    assert [error.code for error in excinfo.value.error_list] == ["site_closed"]
    assert not site.memberships.exists()


def test_a_closed_sites_page_offers_no_invitation_and_a_post_invites_nobody(
    client, coordinator, site, other_site, committed
):
    _close(site)
    client.force_login(coordinator)
    url = reverse("accounts:site", args=[site.pk])

    open_page = client.get(reverse("accounts:site", args=[other_site.pk]))
    page = client.get(url)
    with committed():
        posted = client.post(url, {"email": "uusi@example.fi", "language": "en"})

    assert 'name="email"' in open_page.text
    assert "no staff can be added" not in open_page.text
    assert page.status_code == 200
    assert 'name="email"' not in page.text
    assert "Invite a staff member" not in page.text
    assert "This site has closed; no staff can be added to it." in page.text
    assert posted.status_code == 200
    assert posted.context["form"].non_field_errors() == ["This site has closed; no staff can be added to it."]
    assert not User.objects.filter(email="uusi@example.fi").exists()
    assert mail.outbox == []


def test_no_invitation_is_sent_again_for_a_closed_site_only(coordinator, site, committed):
    invited = services.staff_invite(actor=coordinator, site=site, email="uusi@example.fi")
    _close(site)

    with committed(), pytest.raises(services.ValidationError) as excinfo:
        services.staff_invitation_resend(actor=coordinator, user=invited)

    assert [error.code for error in excinfo.value.error_list] == ["site_closed"]
    assert mail.outbox == []


def test_an_invitation_sent_again_names_the_persons_open_site(coordinator, site, other_site, committed):
    invited = services.staff_invite(actor=coordinator, site=other_site, email="uusi@example.fi")
    services.staff_invite(actor=coordinator, site=site, email="uusi@example.fi")
    _close(other_site)  # "Other distributor" sorts first: the invitation named it

    with committed():
        services.staff_invitation_resend(actor=coordinator, user=invited)

    assert "Social services" in mail.outbox[-1].body
    assert "Other distributor" not in mail.outbox[-1].body


def test_the_admin_cannot_add_a_membership_to_a_closed_site(client, admin_user, site):
    person = factories.UserFactory(email="uusi@example.fi")
    _close(site)
    client.force_login(admin_user)

    response = client.post(reverse("admin:accounts_sitemembership_add"), {"user": person.pk, "site": site.pk})

    assert response.status_code == 200
    assert "This site has closed; no staff can be added to it." in response.text
    assert not site.memberships.exists()


def test_the_admin_cannot_turn_a_closed_sites_membership_to_another_person(client, admin_user, site, distributor):
    membership = distributor.memberships.get()
    stranger = factories.UserFactory(email="uusi@example.fi")
    _close(site)
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:accounts_sitemembership_change", args=[membership.pk]), {"user": stranger.pk, "site": site.pk}
    )

    assert response.status_code == 200
    assert "This site has closed; no staff can be added to it." in response.text
    membership.refresh_from_db()
    assert membership.user == distributor


def _site_form(site: Site, *members: SiteMembership, new_user: User | None = None) -> dict:
    """The admin's site change form as posted, with the staff inline."""
    data = {
        "organisation": site.organisation_id,
        "name": site.name,
        "kind": site.kind,
        "municipality": site.municipality_id,
        "default_category": site.default_category,
        "contact_phone": site.contact_phone,
        "contact_email": site.contact_email,
        "memberships-INITIAL_FORMS": str(len(members)),
        "memberships-TOTAL_FORMS": str(len(members) + (new_user is not None)),
    }
    if site.is_active:
        data["is_active"] = "on"
    for index, membership in enumerate(members):
        data |= {
            f"memberships-{index}-id": membership.pk,
            f"memberships-{index}-site": site.pk,
            f"memberships-{index}-user": membership.user_id,
        }
    if new_user is not None:
        data |= {f"memberships-{len(members)}-site": site.pk, f"memberships-{len(members)}-user": new_user.pk}
    return data


def test_the_admins_site_page_adds_nobody_to_a_closed_sites_staff_but_keeps_its_staff(
    client, admin_user, site, distributor
):
    membership = distributor.memberships.get()
    newcomer = factories.UserFactory(email="uusi@example.fi")
    _close(site)
    client.force_login(admin_user)
    url = reverse("admin:accounts_site_change", args=[site.pk])

    refused = client.post(url, _site_form(site, membership, new_user=newcomer))
    kept = client.post(url, _site_form(site, membership) | {"contact_phone": "03 565 6000"})

    assert refused.status_code == 200
    assert "This site has closed; no staff can be added to it." in refused.text
    assert kept.status_code == 302  # its existing staff are no reason to refuse other changes
    site.refresh_from_db()
    assert site.contact_phone == "03 565 6000"
    assert list(site.memberships.values_list("user", flat=True)) == [distributor.pk]


def test_the_admins_user_page_adds_no_closed_site_but_saves_a_closed_sites_person(
    client, admin_user, site, other_site, distributor
):
    membership = distributor.memberships.get()
    _close(other_site)
    client.force_login(admin_user)
    url = reverse("admin:accounts_user_change", args=[distributor.pk])
    data = {
        "email": distributor.email,
        "language": "fi",
        "is_active": "on",
        "coordinated_regions-TOTAL_FORMS": "0",
        "coordinated_regions-INITIAL_FORMS": "0",
        "memberships-TOTAL_FORMS": "2",
        "memberships-INITIAL_FORMS": "1",
        "memberships-0-id": membership.pk,
        "memberships-0-user": distributor.pk,
        "memberships-0-site": site.pk,
        "memberships-1-user": distributor.pk,
        "memberships-1-site": other_site.pk,
    }

    refused = client.post(url, data)
    assert refused.status_code == 200
    assert "This site has closed; no staff can be added to it." in refused.text
    assert not other_site.memberships.exists()

    _close(site)  # the person's own site closes: their page still saves
    saved = client.post(url, data | {"language": "sv", "memberships-TOTAL_FORMS": "1"})
    assert saved.status_code == 302
    distributor.refresh_from_db()
    assert distributor.language == "sv"


# --- the start page of a closed site's staff ----------------------------------------------------


def test_a_closed_sites_staff_are_told_their_site_closed_and_whom_to_ask(client, distributor, site):
    never_added = factories.UserFactory()
    _close(site)

    client.force_login(distributor)
    page = client.get(reverse("home"), headers={"accept-language": "en"})
    client.force_login(never_added)
    other = client.get(reverse("home"), headers={"accept-language": "en"})

    assert page.status_code == 200
    assert "Your site has closed, so Kaikukanta has no pages for you now:" in page.text
    assert f"<li>{site}, region Pirkanmaa</li>" in page.text
    assert "ask your regional coordinator to add you to it" in page.text
    assert "not yet attached" not in page.text
    # Someone never added to a site is still told so.
    assert "Your account is not yet attached to any site." in other.text
    assert "has closed" not in other.text


def test_a_login_whose_roles_have_all_ended_checks_no_card(client, distributor, site):
    card = factories.CardFactory(site=site)
    client.force_login(distributor)
    assert client.get(reverse("cards:check"), {"number": card.number}).status_code == 200

    _close(site)
    check = client.get(reverse("cards:check"), {"number": card.number})
    home = client.get(reverse("home"))

    assert check.status_code == 403
    assert "Valid until" not in check.text
    assert "Your login has no site or region now. Ask your regional coordinator" in check.text
    assert reverse("cards:check") not in home.text  # nor offered in the navigation


def test_a_person_whose_sites_all_closed_sees_each_of_them(client, distributor, site, other_site):
    SiteMembership.objects.create(user=distributor, site=other_site)
    _close(site)
    client.force_login(distributor)
    assert client.get(reverse("home")).url == reverse("cards:list")  # one site is still open

    _close(other_site)
    page = client.get(reverse("home"), headers={"accept-language": "en"})

    assert "Your sites have closed" in page.text
    assert page.text.index("Other distributor") < page.text.index("Social services")


# --- the region page marks a closed site --------------------------------------------------------


def test_the_region_page_marks_a_closed_site_in_words(client, coordinator, site, other_site):
    _close(site)
    client.force_login(coordinator)

    page = client.get(reverse("accounts:region"))

    closed_row, open_row = (
        page.text[page.text.index(f'href="{reverse("accounts:site", args=[s.pk])}"') :].split("</tr>", 1)[0]
        for s in (site, other_site)
    )
    assert '<span class="badge badge--inactive">Closed</span>' in closed_row
    assert "Closed" not in open_row


def test_marking_closed_sites_reads_no_row_of_its_own(client, coordinator, municipality, django_assert_num_queries):
    client.force_login(coordinator)
    factories.SiteFactory.create_batch(2, municipality=municipality)
    with django_assert_num_queries(7):  # as pinned in test_staff.py
        client.get(reverse("accounts:region"))
    factories.SiteFactory.create_batch(5, municipality=municipality, is_active=False)
    with django_assert_num_queries(7):
        page = client.get(reverse("accounts:region"))
    assert page.text.count(">Closed</span>") == 5


def test_a_closed_sites_own_page_is_marked_closed(client, coordinator, venue):
    # A venue has no cards to move, so no other notice says it closed.
    _close(venue)
    client.force_login(coordinator)

    page = client.get(reverse("accounts:site", args=[venue.pk]))

    assert '<span class="badge badge--inactive">Closed</span></h1>' in page.text


# --- removing a staff member asks first ---------------------------------------------------------


def test_removing_a_staff_member_asks_first(client, coordinator, site, distributor):
    membership = distributor.memberships.get()
    client.force_login(coordinator)
    url = reverse("accounts:membership_remove", args=[membership.pk])

    site_page = client.get(reverse("accounts:site", args=[site.pk]))
    question = client.get(url, headers={"accept-language": "en"})

    # The site page links to the question; no form there removes anyone at once.
    assert f'href="{url}"' in site_page.text
    assert f'action="{url}"' not in site_page.text
    assert question.status_code == 200
    assert f"Remove {distributor.email} from site {site}? They can no longer open the site's pages." in question.text
    assert f'href="{reverse("accounts:site", args=[site.pk])}"' in question.text  # Cancel
    assert SiteMembership.objects.filter(pk=membership.pk).exists()

    removed = client.post(url)

    assert removed.url == reverse("accounts:site", args=[site.pk])
    assert not SiteMembership.objects.filter(pk=membership.pk).exists()
    assert SiteMembership.history.latest("history_date").history_user == coordinator


def test_another_regions_coordinator_cannot_open_the_question(client, distributor):
    membership = distributor.memberships.get()
    elsewhere = factories.with_totp(factories.CoordinatorFactory(region__name="Uusimaa").user)
    client.force_login(elsewhere)
    url = reverse("accounts:membership_remove", args=[membership.pk])

    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert SiteMembership.objects.filter(pk=membership.pk).exists()


def test_the_admins_site_search_for_a_membership_offers_no_closed_site(client, admin_user):
    factories.SiteFactory(name="Avoin toimipiste")
    factories.SiteFactory(name="Suljettu toimipiste", is_active=False)
    client.force_login(admin_user)

    def offered(model_name):
        params = {"term": "toimipiste", "app_label": "accounts", "model_name": model_name, "field_name": "site"}
        return {
            result["text"].split(" (")[0] for result in client.get("/admin/autocomplete/", params).json()["results"]
        }

    assert offered("sitemembership") == {"Avoin toimipiste"}
