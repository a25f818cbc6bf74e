"""Staff accounts: invitation by a coordinator, setting a password, logging in, the rooms per role."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import services
from accounts.models import Organisation, Site, SiteMembership, User
from accounts.tokens import invitation_token_generator
from tests import factories
from tests.answers import assert_answered_as_unknown


def _invitation_link(message) -> str:
    return re.search(r"https?://\S+/accounts/password/reset/key/\S+", message.body).group(0)


def test_coordinator_adds_a_site_in_own_region(client, coordinator, municipality):
    client.force_login(coordinator)

    response = client.post(
        reverse("accounts:site_create"),
        {
            "organisation_name": "Tampereen kaupunki",
            "name": "Aikuissosiaalityö",
            "kind": "distributor",
            "municipality": municipality.pk,
        },
    )

    site = Site.objects.get(name="Aikuissosiaalityö")
    assert response.url == reverse("accounts:site", args=[site.pk])
    assert site.organisation.name == "Tampereen kaupunki"
    assert site.history.first().history_user == coordinator


def test_a_sites_public_contact_is_kept_and_a_bad_email_is_a_form_error(client, coordinator, municipality):
    client.force_login(coordinator)
    data = {
        "organisation_name": "Tampereen kaupunki",
        "name": "Perhetyö",
        "kind": "distributor",
        "municipality": municipality.pk,
        "contact_phone": "03 565 6000",
        "contact_email": "not an address",
    }

    refused = client.post(reverse("accounts:site_create"), data)
    assert refused.status_code == 200
    assert 'value="03 565 6000"' in refused.text
    assert not Site.objects.filter(name="Perhetyö").exists()

    client.post(reverse("accounts:site_create"), data | {"contact_email": "Perhetyo@Tampere.example.fi"})
    site = Site.objects.get(name="Perhetyö")
    assert (site.contact_phone, site.contact_email) == ("03 565 6000", "perhetyo@tampere.example.fi")
    assert "03 565 6000" in client.get(reverse("accounts:site", args=[site.pk])).text


ADDRESS_REFUSED = "A name cannot contain a web or email address: names are shown in emails to staff and cardholders."


@pytest.mark.parametrize("name", ["Tanssi³ ry", "H₂O-klubi", "Kulttuuri²"])
def test_a_name_with_a_superscript_or_subscript_number_is_accepted(coordinator, municipality, name):
    # A number belongs to no alphabet: "mixes letters of different alphabets" would not say what to fix.
    services.site_create(
        actor=coordinator, municipality=municipality, organisation_name=name, name=name, kind="distributor"
    )

    assert Site.objects.get().name == name


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("name", "Sosiaalitoimi. URGENT: log in at https://kaikukanta-login.example/reset", ADDRESS_REFUSED),
        ("name", "Perhetyö, see www.example.org", ADDRESS_REFUSED),
        ("name", "Perhetyö kaikukanta-login.example.com/reset", ADDRESS_REFUSED),
        ("organisation_name", "Tampereen kaupunki tuki@example.fi", ADDRESS_REFUSED),
        ("name", "Perhetyö bit.ly/kaikukanta", ADDRESS_REFUSED),
        ("name", "Perhetyö 203.0.113.7", ADDRESS_REFUSED),
        ("name", "Perhetyö kaikukanta-login.nu", ADDRESS_REFUSED),
        ("name", "Perhetyö kaikukanta\uff0efi", ADDRESS_REFUSED),  # a fullwidth dot reads as a dot
        # A Cyrillic "а" (U+0430) twice: the name would look like Tampereen kaupunki's own.
        (
            "organisation_name",
            "T\u0430mpereen k\u0430upunki",
            "The word T\u0430mpereen mixes letters of different alphabets (Latin and Cyrillic, say). Type it again.",
        ),
        (  # an Armenian "օ", a fullwidth "Ｔ"
            "organisation_name",
            "T\u0585mpereen kaupunki",
            "The word T\u0585mpereen mixes letters of different alphabets (Latin and Cyrillic, say). Type it again.",
        ),
        (
            "name",
            "\uff34ampere",
            "The word \uff34ampere mixes letters of different alphabets (Latin and Cyrillic, say). Type it again.",
        ),
    ],
)
def test_a_sites_names_carry_no_address_and_no_mixed_alphabets(
    client, coordinator, municipality, field, typed, message
):
    # The names are pasted into invitations, letters and reminders sent from the programme's address.
    client.force_login(coordinator)
    data = {"organisation_name": "Tampereen kaupunki", "name": "Perhetyö", "kind": "distributor"}

    refused = client.post(reverse("accounts:site_create"), data | {"municipality": municipality.pk, field: typed})

    assert refused.status_code == 200
    assert refused.context["form"].errors[field] == [message]
    assert typed in refused.context["form"][field].value()
    assert not Site.objects.exists()
    assert not Organisation.objects.exists()
    services.site_create(actor=coordinator, municipality=municipality, **data)  # Tampere, Perhetyö: fine
    assert Site.objects.count() == 1


@pytest.mark.parametrize(
    "name",
    [
        "Ev.-lut. seurakunta",
        "Sos.- ja terveyspalvelut",
        "Nuorisotila @Kontula",
        "π-klubi ry",
        "St. Michel",
        "Áarjelsaemien dåehkie",
        "Kulttuuri & vapaa-aika",
    ],
)
def test_real_names_with_dots_at_signs_and_other_alphabets_are_accepted(coordinator, municipality, name):
    site = services.site_create(
        actor=coordinator, municipality=municipality, organisation_name=name, name=name, kind="venue"
    )

    assert (site.organisation.name, site.name) == (name, name)


@pytest.mark.parametrize("phone", ["abc", "03 565 600O", "1234", "+358 10 555 1234+", "010²555 1234"])
def test_a_sites_public_phone_must_be_a_phone_number(client, coordinator, municipality, phone):
    client.force_login(coordinator)
    data = {"organisation_name": "Tampereen kaupunki", "kind": "venue", "municipality": municipality.pk}

    refused = client.post(reverse("accounts:site_create"), data | {"contact_phone": phone})

    assert refused.context["form"].errors["contact_phone"] == [
        "Type a phone number in digits, e.g. 010 555 1234 or +358 10 555 1234."
    ]
    assert not Site.objects.exists()
    with pytest.raises(ValidationError):
        services.site_create(actor=coordinator, municipality=municipality, contact_phone=phone, **_names("venue"))


@pytest.mark.parametrize("phone", ["03 565 6000", "+358 10 555 1234", "(09) 123-456", "010/555 12"])
def test_phone_numbers_as_people_write_them_are_accepted(coordinator, municipality, phone):
    site = services.site_create(actor=coordinator, municipality=municipality, contact_phone=phone, **_names("venue"))

    assert site.contact_phone == phone


def _names(kind: str) -> dict:
    return {"organisation_name": "Tampereen kaupunki", "name": "", "kind": kind}


def test_coordinator_cannot_add_a_site_in_another_region(client, coordinator):
    elsewhere = factories.MunicipalityFactory(name="Helsinki")
    client.force_login(coordinator)

    response = client.post(
        reverse("accounts:site_create"),
        {"organisation_name": "Org", "kind": "venue", "municipality": elsewhere.pk},
    )

    assert response.status_code == 200
    assert "Select a valid choice" in response.text
    assert not Site.objects.filter(municipality=elsewhere).exists()


def test_site_create_service_refuses_other_regions(coordinator):
    elsewhere = factories.MunicipalityFactory(name="Helsinki")

    with pytest.raises(services.PermissionDenied):
        services.site_create(actor=coordinator, organisation_name="Org", name="", kind="venue", municipality=elsewhere)


def test_invited_staff_sets_a_password_and_logs_in(client, coordinator, site, committed):
    client.force_login(coordinator)
    with committed():
        client.post(reverse("accounts:site", args=[site.pk]), {"email": "Uusi.Jakaja@Example.fi", "language": "en"})
    client.logout()

    user = User.objects.get(email="uusi.jakaja@example.fi")
    assert user.kind == User.Kind.STAFF
    assert SiteMembership.objects.filter(user=user, site=site).exists()
    assert not user.has_usable_password()
    assert mail.outbox[0].to == ["uusi.jakaja@example.fi"]

    link = _invitation_link(mail.outbox[0])
    # GET shows a form and changes nothing (mail scanners open links).
    set_password_page = client.get(link, follow=True)
    user.refresh_from_db()
    assert not user.has_usable_password()
    form_url = set_password_page.redirect_chain[-1][0]
    response = client.post(form_url, {"password1": "Kulttuuria-kaikille-42", "password2": "Kulttuuria-kaikille-42"})
    assert response.status_code == 302

    user.refresh_from_db()
    assert user.has_usable_password()
    assert user.activated_at is not None
    assert EmailAddress.objects.get(user=user).verified

    # The link is single-use.
    again = client.get(link, follow=True)
    assert "password1" not in again.text

    login = client.post(
        reverse("account_login"), {"login": "UUSI.JAKAJA@example.fi", "password": "Kulttuuria-kaikille-42"}
    )
    assert login.status_code == 302
    assert client.get(reverse("home")).url == reverse("cards:list")


def test_invitation_of_an_omakaiku_address_is_refused(coordinator, site):
    holder_user = factories.HolderUserFactory(email="maija@example.com")

    with pytest.raises(services.ValidationError) as excinfo:
        services.staff_invite(actor=coordinator, site=site, email=holder_user.email)

    assert [error.code for error in excinfo.value.error_dict["email"]] == ["email_holder"]
    assert not SiteMembership.objects.filter(user=holder_user).exists()


@pytest.mark.parametrize(
    ("kwargs", "field", "code"),
    [
        ({"organisation_name": "  "}, "organisation_name", "organisation_required"),
        ({"kind": "museum"}, "kind", "kind_invalid"),
    ],
)
def test_site_create_refusals_carry_codes(coordinator, municipality, kwargs, field, code):
    arguments = {"organisation_name": "Org", "name": "", "kind": "venue", "municipality": municipality} | kwargs

    with pytest.raises(services.ValidationError) as excinfo:
        services.site_create(actor=coordinator, **arguments)

    assert [error.code for error in excinfo.value.error_dict[field]] == [code]


def test_same_site_name_twice_is_refused_with_a_code(coordinator, municipality):
    services.site_create(
        actor=coordinator, organisation_name="Org", name="Desk", kind="venue", municipality=municipality
    )

    with pytest.raises(services.ValidationError) as excinfo:
        services.site_create(
            actor=coordinator, organisation_name="ORG", name="Desk", kind="venue", municipality=municipality
        )

    assert [error.code for error in excinfo.value.error_dict["name"]] == ["site_exists"]


@pytest.mark.parametrize(
    ("email", "code"), [("not-an-address", "email_invalid"), ("jakaja@example.fi", "already_member")]
)
def test_staff_invite_refusals_carry_codes(coordinator, site, distributor, email, code):
    with pytest.raises(services.ValidationError) as excinfo:
        services.staff_invite(actor=coordinator, site=site, email=email)

    assert [error.code for error in excinfo.value.error_dict["email"]] == [code]


def test_existing_staff_member_can_join_another_site(coordinator, distributor, municipality):
    second = factories.SiteFactory(municipality=municipality)

    services.staff_invite(actor=coordinator, site=second, email=distributor.email)

    assert set(distributor.memberships.values_list("site", flat=True)) == {
        distributor.memberships.first().site_id,
        second.pk,
    }


def test_adding_a_person_who_already_logs_in_says_so_and_sends_no_invitation(
    client, coordinator, distributor, municipality, committed
):
    second = factories.SiteFactory(municipality=municipality)
    client.force_login(coordinator)

    with committed():
        response = client.post(
            reverse("accounts:site", args=[second.pk]), {"email": distributor.email, "language": "en"}, follow=True
        )

    assert SiteMembership.objects.filter(user=distributor, site=second).exists()
    assert mail.outbox == []
    shown = [str(message) for message in response.context["messages"]]
    assert shown == [
        f"{distributor.email} already has a Kaikukanta login and now works for this site too. No invitation was needed."
    ]


def test_adding_a_new_person_says_the_invitation_is_on_its_way(client, coordinator, site, committed):
    client.force_login(coordinator)

    with committed():
        response = client.post(
            reverse("accounts:site", args=[site.pk]), {"email": "uusi@example.fi", "language": "en"}, follow=True
        )

    shown = [str(message) for message in response.context["messages"]]
    assert shown == ["The invitation was created. Its delivery is shown in the staff list."]
    assert [message.to for message in mail.outbox] == [["uusi@example.fi"]]


def test_a_kaikukeskus_administrator_cannot_be_made_a_sites_staff(client, coordinator, site, admin_user):
    client.force_login(coordinator)

    response = client.post(reverse("accounts:site", args=[site.pk]), {"email": admin_user.email, "language": "en"})

    assert response.status_code == 200
    assert "cannot be added to a site&#x27;s staff" in response.text
    assert not SiteMembership.objects.filter(user=admin_user).exists()


def test_the_refusal_of_a_holders_address_does_not_say_it_is_a_holders(client, coordinator, site, admin_user, caplog):
    # Found in review: only a cardholder's address got its own answer, so any address could be
    # tested for being a client of social services. It now reads as an admin's or a switched-off
    # login's; the security log keeps which (without the address).
    factories.HolderUserFactory(email="maija@example.com")
    factories.UserFactory(email="off@example.fi", is_active=False)
    client.force_login(coordinator)

    def refusal(email):
        response = client.post(reverse("accounts:site", args=[site.pk]), {"email": email, "language": "en"})
        return response.context["form"].errors["email"]

    holder = refusal("maija@example.com")

    assert holder == refusal(admin_user.email) == refusal("off@example.fi")
    assert holder == [
        "This address cannot be added to a site's staff. Ask for the person's work email address; "
        "if this is it, ask Kaikukeskus."
    ]
    logged = [r.getMessage() for r in caplog.records if "invitation.staff_refused" in r.getMessage()]
    assert len(logged) == 3
    assert '"reason": "email_holder"' in logged[0]
    assert not any("maija@example.com" in line for line in logged)


def test_holder_cannot_log_in_to_kaikukanta(client, db):
    holder_user = factories.HolderUserFactory(email="maija@example.com")

    response = client.post(reverse("account_login"), {"login": holder_user.email, "password": factories.PASSWORD})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    # The right password: told where to log in ("wrong password" would send them to reset it).
    assert "This is an OmaKaiku login for cardholders. Log in to OmaKaiku at " in _error_text(response)
    wrong_password = client.post(reverse("account_login"), {"login": holder_user.email, "password": "wrong"})
    unknown = client.post(reverse("account_login"), {"login": "nobody@example.com", "password": "wrong"})
    # Without the password, the page does not tell whether the address exists.
    assert _error_text(wrong_password) == _error_text(unknown)
    assert "OmaKaiku" not in _error_text(wrong_password)


def _error_text(response) -> str:
    return re.search(r'<div class="error-summary".*?</div>', response.text, re.S).group(0)


@pytest.mark.parametrize(
    ("url_name", "args"),
    [("cards:list", []), ("cards:register", []), ("cards:check", []), ("accounts:region", []), ("cards:detail", [1])],
)
def test_holder_is_refused_on_every_kaikukanta_page(client, db, url_name, args):
    client.force_login(factories.HolderUserFactory())

    assert client.get(reverse(url_name, args=args)).status_code == 403


def test_anonymous_users_are_sent_to_login(client, db):
    response = client.get(reverse("cards:list"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_venue_staff_cannot_open_distributor_pages(client, venue_user, site):
    card = factories.CardFactory(site=site)
    client.force_login(venue_user)

    assert client.get(reverse("cards:list")).status_code == 403
    assert client.get(reverse("cards:register")).status_code == 403
    assert client.get(reverse("cards:detail", args=[card.pk])).status_code == 403
    assert client.post(reverse("cards:inactivate", args=[card.pk]), {"reason": "lost"}).status_code == 403
    check = client.get(reverse("cards:check"), {"number": card.number})
    assert check.status_code == 200
    assert '<span class="badge badge--active" data-state="active">Valid</span>' in check.text


def test_distributor_cannot_open_coordinator_pages(distributor_client, site):
    assert distributor_client.get(reverse("accounts:region")).status_code == 403
    assert distributor_client.get(reverse("accounts:site", args=[site.pk])).status_code == 403


def test_distributor_cannot_see_or_change_another_sites_card(distributor_client, other_site):
    card = factories.CardFactory(site=other_site)

    for name in ["detail", "update", "renew", "inactivate", "omakaiku", "switch"]:
        assert distributor_client.get(reverse(f"cards:{name}", args=[card.pk])).status_code == 404
    assert distributor_client.post(reverse("cards:inactivate", args=[card.pk]), {"reason": "lost"}).status_code == 404
    card.refresh_from_db()
    assert card.status == "active"


def test_coordinator_sees_only_own_region_sites(client, coordinator, site):
    foreign = factories.SiteFactory(name="Far away", municipality=factories.MunicipalityFactory(name="Oulu"))
    client.force_login(coordinator)

    page = client.get(reverse("accounts:region"))

    assert site.name in page.text
    assert "Far away" not in page.text
    assert client.get(reverse("accounts:site", args=[foreign.pk])).status_code == 404


def test_region_page_query_count_is_constant(client, coordinator, municipality, django_assert_num_queries):
    client.force_login(coordinator)
    factories.SiteFactory.create_batch(2, municipality=municipality)
    with django_assert_num_queries(7) as small:
        client.get(reverse("accounts:region"))
    factories.SiteFactory.create_batch(10, municipality=municipality)
    with django_assert_num_queries(len(small.captured_queries)):
        client.get(reverse("accounts:region"))


def test_region_page_counts_staff_and_cards_separately(client, coordinator, site):
    # Two staff and three active cards: a join of both in one GROUP BY showed 6 and 6.
    factories.MembershipFactory.create_batch(2, site=site)
    factories.CardFactory.create_batch(3, site=site)
    factories.CardFactory(site=site, inactive=True)
    client.force_login(coordinator)

    row = next(row for row in client.get(reverse("accounts:region")).context["sites"] if row.pk == site.pk)

    assert (row.staff_count, row.card_count) == (2, 3)


def test_email_is_stored_lowercased(db):
    user = User.objects.create_user(" Someone@EXAMPLE.fi ", kind=User.Kind.STAFF)

    assert user.email == "someone@example.fi"


def test_forgotten_password_does_not_reveal_whether_an_address_exists(client, distributor, committed):
    with committed():
        known = client.post(reverse("account_reset_password"), {"email": distributor.email})
        unknown = client.post(reverse("account_reset_password"), {"email": "nobody@example.fi"})

    assert known.status_code == unknown.status_code == 302
    assert known.url == unknown.url
    assert [message.to for message in mail.outbox] == [[distributor.email]]


def test_forgotten_password_mails_no_holder_login_and_answers_as_for_an_unknown_address(client, db, committed):
    # Holders choose a new password in OmaKaiku; Kaikukanta's page treats their address as unknown.
    holder = factories.HolderUserFactory(email="maija@example.com")
    assert_answered_as_unknown(client, reverse("account_reset_password"), holder.email, committed)


def test_a_persons_sites_and_regions_are_read_in_one_query(db, django_assert_num_queries):
    from accounts.permissions import (
        active_sites,
        coordinated_region_ids,
        distributor_site_ids,
        venue_site_ids,
    )

    person = factories.UserFactory()
    library = factories.MembershipFactory(user=person, site__name="Library", site__kind=Site.Kind.VENUE).site
    office = factories.MembershipFactory(user=person, site__name="Archipelago office").site
    factories.MembershipFactory(user=person, site__name="Closed office", site__is_active=False)
    factories.MembershipFactory(site__name="Someone else's office")
    regions = {factories.CoordinatorFactory(user=person).region_id for _ in range(2)}
    factories.CoordinatorFactory()  # someone else's region
    person = User.objects.get(pk=person.pk)

    with django_assert_num_queries(1):
        sites = active_sites(person)
        assert coordinated_region_ids(person) == regions
        assert distributor_site_ids(person) == {office.pk}
        assert venue_site_ids(person) == {library.pk}
    assert [(site.pk, site.name, site.kind) for site in sites] == [
        (office.pk, "Archipelago office", Site.Kind.DISTRIBUTOR),
        (library.pk, "Library", Site.Kind.VENUE),
    ]
    with django_assert_num_queries(1):  # any other field is read when asked for, as with .only()
        assert sites[0].organisation_id == office.organisation_id


def test_no_site_kind_is_the_region_marker():
    from accounts import permissions

    assert permissions._REGION_ROW not in Site.Kind.values


def _navigation(client, language: str) -> str:
    page = client.get(reverse("help"), HTTP_ACCEPT_LANGUAGE=language).text
    return page[page.index('<nav class="site-nav"') : page.index("</nav>")]


def test_the_navigation_is_each_persons_own_in_their_language(client, distributor, venue_user, venue):
    """The navigation is rendered once per roles and language: never someone else's, never stale."""
    from django.utils import translation

    client.force_login(distributor)
    finnish = _navigation(client, "fi")
    swedish = _navigation(client, "sv")
    for language, nav in (("fi", finnish), ("sv", swedish)):
        with translation.override(language):
            assert f'<a href="/cards/">{translation.gettext("Cards")}</a>' in nav
    assert finnish != swedish
    assert 'href="/venue/"' not in finnish

    client.force_login(venue_user)
    venue_nav = _navigation(client, "fi")
    assert 'href="/venue/"' in venue_nav
    assert 'href="/cards/"' not in venue_nav

    factories.MembershipFactory(user=distributor, site=venue)  # a new role shows at once
    client.force_login(distributor)
    both = _navigation(client, "fi")
    assert 'href="/venue/"' in both
    assert 'href="/cards/"' in both


def test_region_page_counts_a_sites_cards_up_to_a_cap_and_says_over(client, coordinator, site, monkeypatch):
    # A cap, so that the page reads a bounded number of rows however large a site grows.
    from accounts import views

    factories.CardFactory.create_batch(5, site=site)
    client.force_login(coordinator)
    monkeypatch.setattr(views, "CARD_COUNT_CAP", 2)
    over = client.get(reverse("accounts:region"))
    monkeypatch.setattr(views, "CARD_COUNT_CAP", 10)
    exact = client.get(reverse("accounts:region"))

    assert [row.card_count for row in over.context["sites"] if row.pk == site.pk] == [3]  # the cap and one
    assert '<td data-label="Active cards">over 2</td>' in over.text
    assert '<td data-label="Active cards">5</td>' in exact.text


def test_a_holders_reset_link_does_not_open_kaikukantas_reset_page(client, db):
    from allauth.account.forms import default_token_generator
    from allauth.account.utils import user_pk_to_url_str

    holder = factories.HolderUserFactory(email="maija@example.com")
    staff = factories.UserFactory(email="staff@example.fi")

    def opened(user) -> bool:
        url = reverse(
            "account_reset_password_from_key",
            kwargs={"uidb36": user_pk_to_url_str(user), "key": default_token_generator.make_token(user)},
        )
        return client.get(url).status_code == 302  # a valid link moves on to the password form

    assert opened(staff)
    assert not opened(holder)


def test_a_persons_sites_are_listed_whatever_their_case(db):
    from accounts.permissions import active_sites

    person = factories.UserFactory()
    for name in ("Tampereen Teatteri Oy", "aikuissosiaalityö", "Tampereen kaupunki"):
        factories.MembershipFactory(user=person, site__name=name)
    names = [site.name for site in active_sites(User.objects.get(pk=person.pk))]
    assert names == ["aikuissosiaalityö", "Tampereen kaupunki", "Tampereen Teatteri Oy"]


def test_a_switched_off_login_is_shown_so_and_not_added_to_another_site(client, coordinator, site, distributor):
    distributor.is_active = False
    distributor.save()
    other = factories.SiteFactory(municipality=site.municipality)
    client.force_login(coordinator)

    page = client.get(reverse("accounts:site", args=[site.pk])).text
    refused = client.post(reverse("accounts:site", args=[other.pk]), {"email": distributor.email, "language": "fi"})

    assert '<span class="badge badge--inactive">Login switched off</span>' in page
    assert refused.status_code == 200
    assert [error.code for error in refused.context["form"].errors.as_data()["email"]] == ["login_switched_off"]
    assert not other.memberships.exists()


def test_a_new_sites_names_are_matched_without_extra_spaces_or_case(coordinator, municipality):
    first = services.site_create(
        actor=coordinator, municipality=municipality, organisation_name="Nokian kaupunki", name="Kirjasto", kind="venue"
    )

    second = services.site_create(
        actor=coordinator,
        municipality=municipality,
        organisation_name=" Nokian  kaupunki ",
        name="Nuoret",
        kind="venue",
    )
    # A zero-width space copied in with the name would have made a second "Nokian kaupunki".
    third = services.site_create(
        actor=coordinator,
        municipality=municipality,
        organisation_name="Noki\u200ban kaupunki",
        name="Museo",
        kind="venue",
    )
    with pytest.raises(ValidationError) as refused:
        services.site_create(
            actor=coordinator,
            municipality=municipality,
            organisation_name="NOKIAN KAUPUNKI",
            name="KIRJASTO",
            kind="venue",
        )

    assert second.organisation == third.organisation == first.organisation
    assert refused.value.message_dict["name"] == ["This organisation already has a site with this name."]
    assert Site.objects.count() == 3


def test_an_invitation_ends_with_the_last_site_it_was_for(coordinator, site):
    other = factories.SiteFactory(municipality=site.municipality)
    services.staff_invite(actor=coordinator, site=site, email="uusi@example.fi")
    # The link of the newest invitation (each one stamps its own time: the first's stops working).
    user = services.staff_invite(actor=coordinator, site=other, email="uusi@example.fi")
    token = invitation_token_generator.make_token(user)

    services.membership_remove(actor=coordinator, membership=user.memberships.get(site=site))
    user.refresh_from_db()
    assert invitation_token_generator.check_token(user, token)  # still invited to the other site

    services.membership_remove(actor=coordinator, membership=user.memberships.get(site=other))
    user.refresh_from_db()
    # Its link would open a login that no site lists.
    assert not invitation_token_generator.check_token(user, token)
    assert user.invitation is None

    services.staff_invite(actor=coordinator, site=site, email="uusi@example.fi")  # invited again: a new link
    user.refresh_from_db()
    assert invitation_token_generator.check_token(user, invitation_token_generator.make_token(user))
    assert user.invitation.state == "queued"


def test_a_person_not_yet_in_gets_the_newest_invitations_language(coordinator, site, distributor):
    other = factories.SiteFactory(municipality=site.municipality)
    services.staff_invite(actor=coordinator, site=site, email="uusi@example.fi", language="en")

    again = services.staff_invite(actor=coordinator, site=other, email="uusi@example.fi", language="sv")
    services.staff_invite(actor=coordinator, site=other, email=distributor.email, language="sv")

    assert again.language == User.objects.get(email="uusi@example.fi").language == "sv"
    distributor.refresh_from_db()
    assert distributor.language == "fi"  # someone who logs in keeps their own choice


def test_an_ended_invitation_is_not_revived_by_a_forgotten_password_mail(client, coordinator, site, committed):
    user = services.staff_invite(actor=coordinator, site=site, email="uusi@example.fi")
    services.membership_remove(actor=coordinator, membership=user.memberships.get())
    mail.outbox.clear()

    with committed():
        refused = client.post(reverse("account_reset_password"), {"email": "uusi@example.fi"})
        unknown = client.post(reverse("account_reset_password"), {"email": "nobody@example.fi"})

    assert refused.status_code == unknown.status_code == 302
    assert refused.url == unknown.url
    assert mail.outbox == []  # as for an unknown address: no link to a login no site lists


def test_a_person_who_logs_in_is_not_marked_invited(client, coordinator, site):
    # A login the admin made with a password: never "activated" by a link, but in use.
    person = factories.UserFactory(email="adminmade@example.fi", activated_at=None)
    waiting = factories.UserFactory(email="waiting@example.fi", activated_at=None, password=None)
    waiting.set_unusable_password()
    waiting.save()
    for user in (person, waiting):
        factories.MembershipFactory(site=site, user=user)
    client.force_login(coordinator)

    page = client.get(reverse("accounts:site", args=[site.pk])).text

    badges = dict(re.findall(r"<span>([^<]+@example\.fi)</span>\s*<span class=\"badge[^\"]*\">([^<]+)</span>", page))
    assert badges["adminmade@example.fi"] == "Active"
    assert badges["waiting@example.fi"] == "Invited"
