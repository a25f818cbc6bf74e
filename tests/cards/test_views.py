"""The distributor's pages: forms keep input and explain refusals, lists don't grow queries."""

import datetime
import re
from html import unescape

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from cards.models import Card
from tests import factories


def _form(home, **overrides):
    data = {
        "number": "A1234567",
        "kind": "customer",
        "birth_year": "1985",
        "children_count": "2",
        "postal_code": "33100",
        "municipality": str(home.pk),
        "gender": "",
        "life_situation": "",
        "language": "fi",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_register_physical_card_through_the_form(distributor_client, site, municipality):
    response = distributor_client.post(reverse("cards:register"), _form(municipality, site=site.pk), follow=True)

    card = Card.objects.get()
    assert response.redirect_chain[-1][0] == reverse("cards:detail", args=[card.pk])
    assert "Card A1234567 registered." in response.text
    assert card.site == site


def test_the_other_kinds_hidden_fields_are_neither_refused_nor_stored(distributor_client, site, municipality):
    # Found in review: a year of birth typed wrong for a customer, then "organisation" chosen
    # (which hides it), refused the organisation's card about a field nobody could see.
    form = _form(
        municipality,
        site=site.pk,
        kind="organisation",
        birth_year="19800",
        children_count="-1",
        organisation_name="Youth centre Nuotta",
        representative_role="Youth worker",
    )

    response = distributor_client.post(reverse("cards:register"), form, follow=True)

    holder = Card.objects.get().holder
    assert response.redirect_chain[-1][0] == reverse("cards:detail", args=[holder.cards.get().pk])
    assert (holder.kind, holder.birth_year, holder.children_count) == ("organisation", None, None)

    # And a customer's card with an organisation's name left in its hidden field.
    customer = _form(municipality, site=site.pk, number="A7654321", organisation_name="x" * 500)
    distributor_client.post(reverse("cards:register"), customer)
    assert Card.objects.get(number="A7654321").holder.organisation_name == ""


def test_children_under_18_are_at_most_twenty(distributor_client, site, municipality):
    # 0–20 (docs/rules.md): 21 is refused next to the field and kept as typed; 20 is a card.
    refused = distributor_client.post(reverse("cards:register"), _form(municipality, site=site.pk, children_count="21"))

    assert refused.status_code == 200
    assert "Enter a number between 0 and 20." in unescape(refused.text)
    assert re.search(r'name="children_count"[^>]*value="21"', refused.text)
    assert not Card.objects.exists()

    distributor_client.post(reverse("cards:register"), _form(municipality, site=site.pk, children_count="20"))
    assert Card.objects.get().holder.children_count == 20


def test_register_x_card_shows_the_assigned_number(distributor_client, site, municipality, committed):
    with committed():
        response = distributor_client.post(
            reverse("cards:register"),
            _form(municipality, site=site.pk, number="x", activate_omakaiku="on", email="maija@example.com"),
            follow=True,
        )

    card = Card.objects.get()
    assert card.number.startswith("X")
    assert f"The assigned card number is {card.number}" in response.text
    assert len(mail.outbox) == 1


def test_refused_form_keeps_what_was_typed_and_says_what_to_fix(distributor_client, site, municipality):
    existing = factories.CardFactory(site=site, number="A1234567")

    response = distributor_client.post(
        reverse("cards:register"),
        _form(municipality, site=site.pk, postal_code="33100", birth_year="1977", children_count="4"),
    )

    assert response.status_code == 200
    assert "Card number A1234567 is already registered." in response.text
    assert 'value="1977"' in response.text
    assert 'value="4"' in response.text
    assert Card.objects.get() == existing


def test_unticked_omakaiku_with_mobile_explains_why(distributor_client, site, municipality):
    response = distributor_client.post(
        reverse("cards:register"), _form(municipality, site=site.pk, mobile="on", email="maija@example.com")
    )

    assert "A mobile card needs OmaKaiku" in response.text
    assert not Card.objects.exists()


@pytest.mark.parametrize("bad", [{"birth_year": "abc"}, {"municipality": "999999"}, {"kind": "robot"}, {"number": ""}])
def test_garbage_input_gets_a_message_not_a_500(distributor_client, site, municipality, bad):
    response = distributor_client.post(reverse("cards:register"), _form(municipality, site=site.pk, **bad))

    assert response.status_code == 200
    assert "Please check the form" in response.text
    assert not Card.objects.exists()


def test_register_for_another_sites_holder_is_not_found(distributor_client, other_site):
    card = factories.CardFactory(site=other_site)

    assert distributor_client.get(reverse("cards:register"), {"holder_from": card.pk}).status_code == 404
    assert distributor_client.get(reverse("cards:register"), {"holder_from": "x'; drop"}).status_code == 404


def test_new_card_for_holder_of_an_inactive_card_is_prefilled(distributor_client, site):
    card = factories.CardFactory(site=site, inactive=True, holder__birth_year=1966, holder__postal_code="33720")

    response = distributor_client.get(reverse("cards:register"), {"holder_from": card.pk})

    assert 'value="1966"' in response.text
    assert 'value="33720"' in response.text


def test_search_is_case_insensitive_and_ignores_spaces(distributor_client, site):
    card = factories.CardFactory(site=site, number="AB123456")

    response = distributor_client.get(reverse("cards:list"), {"number": " ab 1234 56 "})

    assert response.status_code == 302
    assert response.url == reverse("cards:detail", args=[card.pk])


def test_card_list_shows_each_cards_state_in_the_users_language(distributor_client, site):
    past = timezone.localdate() - datetime.timedelta(days=400)
    factories.CardFactory(site=site, number="A0000001")
    factories.CardFactory(site=site, number="A0000002", valid_from=past, valid_until=past + datetime.timedelta(days=30))
    factories.CardFactory(
        site=site,
        number="A0000003",
        status=Card.Status.INACTIVE,
        inactivated_on=timezone.localdate(),
        inactivation_reason="lost",
    )

    page = distributor_client.get(reverse("cards:list")).text
    assert page.count('<span class="badge badge--active" data-state="active">Valid</span>') == 1
    assert page.count('<span class="badge badge--expired" data-state="expired">Expired</span>') == 1
    assert page.count('<span class="badge badge--inactive" data-state="inactive">Inactive</span>') == 1

    distributor_client.cookies["django_language"] = "sv"
    page = distributor_client.get(reverse("cards:list")).text
    assert page.count('data-state="expired">Utgånget</span>') == 1


def test_search_for_another_sites_card_shows_only_status_and_validity(distributor_client, other_site):
    card = factories.CardFactory(
        site=other_site, number="CD123456", holder__birth_year=1971, holder__postal_code="00990"
    )

    response = distributor_client.get(reverse("cards:list"), {"number": "cd123456"})

    assert response.status_code == 200
    assert "CD123456" in response.text
    # The state badge and the date itself: "Valid" alone would also match "Valid until".
    assert '<span class="badge badge--active" data-state="active">Valid</span>' in response.text
    assert f"<dt>Valid until</dt><dd>{card.valid_until:%-d.%-m.%Y}</dd>" in response.text
    assert "1971" not in response.text
    assert "00990" not in response.text


def test_search_for_unknown_number_says_so(distributor_client, site):
    response = distributor_client.get(reverse("cards:list"), {"number": "ZZ999999"})

    assert "No card with the number ZZ999999 is registered" in response.text


def test_list_filters_expiring_and_expired(distributor_client, site):
    import datetime

    from django.utils import timezone

    today = timezone.localdate()
    factories.CardFactory(site=site, number="FRESH001")
    factories.CardFactory(
        site=site,
        number="SOON0001",
        valid_from=today - datetime.timedelta(days=350),
        valid_until=today + datetime.timedelta(days=10),
    )
    factories.CardFactory(site=site, number="OLD00001", expired=True)

    expiring = distributor_client.get(reverse("cards:list"), {"state": "expiring"}).text
    expired = distributor_client.get(reverse("cards:list"), {"state": "expired"}).text

    assert "SOON0001" in expiring
    assert "FRESH001" not in expiring
    assert "OLD00001" not in expiring
    assert "OLD00001" in expired
    assert "SOON0001" not in expired


def _filter_bar(page: str) -> str:
    return page[
        page.index('<form method="get" class="filters">') : page.index("</form>", page.index('class="filters"'))
    ]


def test_the_filter_bar_shows_the_chosen_filters_in_the_pages_language(distributor_client, site):
    """The filter bar is rendered once per language and choice: each look gets its own."""
    from django.utils import translation

    def bar(language, **filters):
        return _filter_bar(distributor_client.get(reverse("cards:list"), filters, HTTP_ACCEPT_LANGUAGE=language).text)

    expired_sv = bar("sv", state="expired", mobile="true")
    plain_fi = bar("fi")
    expired_fi = bar("fi", state="expired")
    assert '<option value="expired" selected>' in expired_sv
    assert '<option value="true" selected>' in expired_sv
    assert "selected" not in plain_fi.replace('<option value="" selected>', "")
    assert '<option value="expired" selected>' in expired_fi
    assert '<option value="true" selected>' not in expired_fi
    expired_mobile_fi = bar("fi", state="expired", mobile="true")
    assert '<option value="true" selected>' in expired_mobile_fi
    for language, page in (("sv", expired_sv), ("fi", plain_fi), ("fi", expired_mobile_fi)):
        with translation.override(language):
            assert f">{translation.gettext('Expiring within 30 days')}</option>" in page


def test_card_list_query_count_does_not_grow_with_rows(distributor_client, site, django_assert_num_queries):
    factories.CardFactory.create_batch(3, site=site)
    with django_assert_num_queries(7) as small:
        distributor_client.get(reverse("cards:list"))
    factories.CardFactory.create_batch(20, site=site)
    with django_assert_num_queries(len(small.captured_queries)):
        response = distributor_client.get(reverse("cards:list"))
    assert response.text.count("/cards/") > 20


def test_card_list_query_count_with_inactive_cards_does_not_grow_with_rows(
    distributor_client, site, django_assert_num_queries
):
    today = timezone.localdate()
    inactive = {"status": Card.Status.INACTIVE, "inactivation_reason": "lost"}

    def cards_ended_before(count, moved):
        # Registered a month ago and inactivated a week ago; ``moved`` holders changed since.
        with time_machine.travel(timezone.now() - datetime.timedelta(days=30)):
            cards = factories.CardFactory.create_batch(
                count, site=site, inactivated_on=today - datetime.timedelta(days=7), **inactive
            )
        for card in cards[:moved]:
            card.holder.birth_year = 1950
            card.holder.save()

    # Holders unchanged since their cards ended: one query for the page.
    cards_ended_before(2, moved=0)
    with django_assert_num_queries(8):
        distributor_client.get(reverse("cards:list"))
    # Some changed since (by another site): the holders as they were, in two queries more.
    cards_ended_before(20, moved=5)
    with django_assert_num_queries(10):
        response = distributor_client.get(reverse("cards:list"))
    assert response.text.count('data-state="inactive"') == 22
    assert "born 1950" not in response.text  # not a card id that happens to read 1950


def test_card_page_query_count_does_not_grow_with_history(
    distributor, distributor_client, site, customer_data, django_assert_num_queries
):
    from dataclasses import replace

    from cards import services

    card = services.card_register(site=site, actor=distributor, number="A1234567", holder_data=customer_data)
    with django_assert_num_queries(12) as small:
        distributor_client.get(reverse("cards:detail", args=[card.pk]))
    for children in range(3, 9):
        services.card_update(
            card=card,
            actor=distributor,
            holder_data=replace(customer_data, children_count=children),
            reason=f"child {children}",
        )
        # Each renewal on another day adds a validity period, which the page lists.
        with time_machine.travel(timezone.now() + datetime.timedelta(days=children * 10)):
            services.card_renew(card=card, actor=distributor)
    assert card.periods.count() == 7
    with django_assert_num_queries(len(small.captured_queries)):
        response = distributor_client.get(reverse("cards:detail", args=[card.pk]))
    assert "child 8" in response.text


def test_card_page_shows_history_and_actions(distributor, distributor_client, site, customer_data):
    from cards import services

    card = services.card_register(site=site, actor=distributor, number="A1234567", holder_data=customer_data)
    response = distributor_client.get(reverse("cards:detail", args=[card.pk]))

    for action in [
        "Edit details",
        "Renew",
        "Activate OmaKaiku",
        "Enable mobile card",
        "Switch to mobile-only",
        "Inactivate",
    ]:
        assert action in response.text
    assert "Card registered" in response.text
    assert distributor.email in response.text


def test_inactivate_asks_for_a_reason_and_confirmation(distributor_client, site):
    card = factories.CardFactory(site=site)

    page = distributor_client.get(reverse("cards:inactivate", args=[card.pk]))
    refused = distributor_client.post(reverse("cards:inactivate", args=[card.pk]), {"reason": ""})
    card.refresh_from_db()
    assert "cannot be undone" in page.text
    assert refused.status_code == 200
    assert refused.context["form"].errors["reason"] == ["Choose why the card is inactivated."]
    assert card.status == Card.Status.ACTIVE
    # The dormant-account job's own reason is not offered, nor taken from an edited form.
    assert 'value="dormant"' not in page.text
    edited = distributor_client.post(reverse("cards:inactivate", args=[card.pk]), {"reason": "dormant"})
    card.refresh_from_db()
    assert edited.status_code == 200
    assert "reason" in edited.context["form"].errors
    assert card.status == Card.Status.ACTIVE

    distributor_client.post(reverse("cards:inactivate", args=[card.pk]), {"reason": "lost"})
    card.refresh_from_db()
    assert card.status == Card.Status.INACTIVE


def test_inactive_card_edit_page_redirects_with_message(distributor_client, site):
    card = factories.CardFactory(site=site, inactive=True)

    response = distributor_client.get(reverse("cards:update", args=[card.pk]), follow=True)

    assert "can no longer be changed" in response.text


def test_edit_form_corrects_a_typo(distributor_client, site, municipality):
    card = factories.CardFactory(site=site, number="A1234567", holder__municipality=municipality)

    response = distributor_client.post(
        reverse("cards:update", args=[card.pk]),
        _form(municipality, number="A1234576", postal_code="33200", reason="typo"),
    )

    assert response.status_code == 302
    card.refresh_from_db()
    assert card.number == "A1234576"
    assert card.holder.postal_code == "33200"


def test_switch_page_needs_confirmation(distributor_client, site, committed):
    card = factories.CardFactory(site=site)

    refused = distributor_client.post(reverse("cards:switch", args=[card.pk]), {"email": "m@example.com"})
    assert refused.status_code == 200
    assert refused.context["form"].errors["confirm"] == [
        "Tick the box to confirm that the customer gives up the physical card."
    ]
    assert 'value="m@example.com"' in refused.text
    assert Card.objects.count() == 1

    with committed():
        response = distributor_client.post(
            reverse("cards:switch", args=[card.pk]), {"email": "m@example.com", "confirm": "on"}, follow=True
        )
    new = Card.objects.get(kind=Card.Kind.X)
    assert f"mobile-only card {new.number} created" in response.text
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("organisation", "For an organisation, inactivate this card and register a Z card for the organisation."),
        ("x", "This card is a mobile-only card already."),
    ],
)
def test_the_switch_page_says_at_once_when_the_card_cannot_be_switched(distributor_client, site, kind, says):
    # Opened from an old tab or by address: refused before anything is typed, with what to do.
    if kind == "organisation":
        card = factories.CardFactory(site=site, holder=factories.OrganisationHolderFactory())
    else:
        card = factories.CardFactory(site=site, kind=Card.Kind.X, number="X0000042", mobile_enabled=True)

    # The card page does not offer it (it asks the same service check).
    assert (
        reverse("cards:switch", args=[card.pk])
        not in distributor_client.get(reverse("cards:detail", args=[card.pk])).text
    )

    response = distributor_client.get(reverse("cards:switch", args=[card.pk]), follow=True)

    assert response.redirect_chain == [(reverse("cards:detail", args=[card.pk]), 302)]
    assert says in unescape(response.text)
    assert 'name="confirm"' not in response.text
    assert Card.objects.count() == 1


def test_a_switch_sent_again_after_it_was_done_leads_to_the_new_card(distributor_client, site, committed):
    card = factories.CardFactory(site=site)
    data = {"email": "m@example.com", "confirm": "on"}
    with committed():
        distributor_client.post(reverse("cards:switch", args=[card.pk]), data)

    again = distributor_client.post(reverse("cards:switch", args=[card.pk]), data, follow=True)

    new = Card.objects.get(kind=Card.Kind.X)
    assert again.redirect_chain == [(reverse("cards:detail", args=[new.pk]), 302)]
    assert f"Card {card.number} is no longer in use. The holder's card is now {new.number}." in unescape(again.text)
    assert "Register a new card" not in again.text
    assert Card.objects.count() == 2


def test_resend_is_post_only(distributor_client, site):
    card = factories.CardFactory(site=site)

    assert distributor_client.get(reverse("cards:resend", args=[card.pk])).status_code == 405


def test_distributor_changes_the_holders_email_from_the_card_page(
    distributor_client, distributor, site, customer_data, committed
):
    from cards import services

    with committed():
        card = services.card_register(
            site=site, actor=distributor, number="A1234567", holder_data=customer_data, email="old@example.com"
        )
        response = distributor_client.post(
            reverse("cards:omakaiku_email", args=[card.pk]), {"email": "new@example.com", "language": "fi"}
        )

    assert response.status_code == 302
    card.holder.account.refresh_from_db()
    assert card.holder.account.email == "new@example.com"
    assert mail.outbox[-1].to == ["new@example.com"]


def test_an_email_change_keeps_the_holders_language_and_says_what_changed(
    distributor_client, distributor, site, customer_data, committed
):
    """The distributor's screen is in English; the holder chose Swedish in OmaKaiku."""
    from cards import services

    card = services.card_register(
        site=site, actor=distributor, number="A1234567", holder_data=customer_data, email="old@example.com"
    )
    card.holder.account.language = "sv"
    card.holder.account.save()

    page = distributor_client.get(reverse("cards:omakaiku_email", args=[card.pk]))
    assert re.search(r'<option value="sv"[^>]* selected[ >]', page.text)
    with committed():
        distributor_client.post(reverse("cards:omakaiku_email", args=[card.pk]), {"email": "new@example.com"})

    card.holder.account.refresh_from_db()
    assert card.holder.account.language == "sv"
    message = mail.outbox[-1]
    assert message.to == ["new@example.com"]
    assert message.extra_headers["Content-Language"] == "sv"
    # Not the first invitation's "has activated OmaKaiku for you": the holder has used it before.
    assert "har ändrat e-postadressen för ditt OmaKaiku-konto" in message.body
    assert "har aktiverat OmaKaiku för dig" not in message.body


def test_an_empty_new_address_says_what_to_type(distributor_client, distributor, site, customer_data):
    from cards import services

    card = services.card_register(
        site=site, actor=distributor, number="A1234567", holder_data=customer_data, email="old@example.com"
    )

    page = distributor_client.post(reverse("cards:omakaiku_email", args=[card.pk]), {"email": ""})

    assert "Type the holder&#x27;s new email address." in page.text


def test_an_address_taken_by_another_holder_is_refused_without_saying_whose(
    distributor_client, distributor, site, customer_data
):
    from cards import services

    card = services.card_register(
        site=site, actor=distributor, number="A1234567", holder_data=customer_data, email="old@example.com"
    )
    factories.HolderUserFactory(email="someone@example.com")

    response = distributor_client.post(
        reverse("cards:omakaiku_email", args=[card.pk]), {"email": "someone@example.com", "language": "fi"}
    )

    assert "This email address is already in use. Ask the holder for another address." in response.text
    assert "another Kaikukortti holder" not in response.text
    assert 'value="someone@example.com"' in response.text


def test_closing_omakaiku_needs_confirmation(distributor_client, distributor, site, customer_data):
    from cards import services

    card = services.card_register(
        site=site, actor=distributor, number="A1234567", holder_data=customer_data, email="old@example.com"
    )

    refused = distributor_client.post(reverse("cards:omakaiku_close", args=[card.pk]), {})
    assert refused.status_code == 200
    done = distributor_client.post(reverse("cards:omakaiku_close", args=[card.pk]), {"confirm": "on"})
    assert done.status_code == 302
    card.holder.refresh_from_db()
    assert card.holder.account is None


def test_renew_page_confirms_and_renews(distributor_client, site):
    card = factories.CardFactory(site=site, expired=True)
    expired_on = f"{card.valid_until:%-d.%-m.%Y}"

    page = distributor_client.get(reverse("cards:renew", args=[card.pk]))
    response = distributor_client.post(reverse("cards:renew", args=[card.pk]), follow=True)

    card.refresh_from_db()
    # An expired card is said to have expired, not to be "valid until" a day gone by.
    assert f"The card expired on {expired_on}. Renewed today, it will be valid until" in page.text
    assert "is now valid until" not in page.text
    assert not card.is_expired()
    assert "The card was renewed until" in response.text


def test_a_card_registered_today_offers_no_renewal_that_would_change_nothing(distributor_client, site):
    card = factories.CardFactory(site=site)  # registered today: valid 12 months from today
    history = card.history.count()

    page = distributor_client.get(reverse("cards:renew", args=[card.pk]))
    distributor_client.post(reverse("cards:renew", args=[card.pk]))

    assert "Nothing to renew today: the card was registered or renewed today" in page.text
    assert "Renew for 12 months" not in page.text
    assert card.history.count() == history
    assert card.periods.count() == 1


def test_missing_holder_details_are_all_reported_at_once(distributor_client, site, municipality):
    response = distributor_client.post(
        reverse("cards:register"), _form(municipality, site=site.pk, birth_year="", children_count="", postal_code="")
    )

    for message in ["Enter the year of birth.", "Enter the number of children", "This field is required."]:
        assert message in response.text


def test_ticked_omakaiku_without_an_email_is_refused_and_keeps_the_form(distributor_client, site, municipality):
    response = distributor_client.post(
        reverse("cards:register"), _form(municipality, site=site.pk, birth_year="1977", activate_omakaiku="on")
    )

    assert response.status_code == 200
    assert "Enter the holder&#x27;s personal email address for OmaKaiku." in response.text
    assert 'value="1977"' in response.text
    assert not Card.objects.exists()


def _returning_holder(other_site, *, logged_in: bool):
    """A holder whose card at another site ended, with an OmaKaiku login they did or did not start using."""
    account = factories.HolderUserFactory(email="maija@example.com")
    if not logged_in:
        account.activated_at = None
        account.set_unusable_password()
        account.save()
    holder = factories.HolderFactory(account=account)
    factories.CardFactory(site=other_site, holder=holder, inactive=True)
    return holder


def _register_with_email(client, site, municipality, email):
    return client.post(
        reverse("cards:register"),
        _form(municipality, site=site.pk, activate_omakaiku="on", email=email),
        follow=True,
    )


def test_a_returning_holder_who_never_logged_in_gets_a_new_invitation(
    distributor_client, site, other_site, municipality, committed
):
    holder = _returning_holder(other_site, logged_in=False)

    with committed():
        response = _register_with_email(distributor_client, site, municipality, "maija@example.com")

    assert Card.objects.get(site=site).holder == holder
    assert [message.to for message in mail.outbox] == [["maija@example.com"]]
    assert "An OmaKaiku invitation to the holder&#x27;s email was created." in response.text


def test_with_the_mail_server_down_no_message_says_the_invitation_went_out(
    distributor_client, site, municipality, committed, settings
):
    from tests.accounts.test_invitations import MAIL_SERVER_DOWN

    settings.MAILERS = MAIL_SERVER_DOWN
    with committed():
        response = _register_with_email(distributor_client, site, municipality, "maija@example.com")

    card = Card.objects.get(site=site)
    assert "Invitation failed on " in distributor_client.get(reverse("cards:detail", args=[card.pk])).text
    # Beside that, the messages must not have said that it was sent.
    assert "An OmaKaiku invitation to the holder&#x27;s email was created." in response.text
    for claim in ("on its way", "was sent", "sent to"):
        assert claim not in response.text


def test_a_returning_holder_who_uses_omakaiku_is_told_so_not_invited(
    distributor_client, site, other_site, municipality, committed
):
    holder = _returning_holder(other_site, logged_in=True)

    with committed():
        response = _register_with_email(distributor_client, site, municipality, "maija@example.com")

    assert Card.objects.get(site=site).holder == holder
    assert mail.outbox == []
    assert "The holder already uses OmaKaiku; the new card is shown there." in response.text
    assert "invitation to the holder&#x27;s email was created" not in response.text


def test_closing_omakaiku_is_not_offered_for_a_mobile_only_card_and_its_page_says_why(
    distributor_client, distributor, site, customer_data
):
    from cards import services

    mobile_only = services.card_register(
        site=site, actor=distributor, number="X", holder_data=customer_data, email="maija@example.com"
    )
    close_url = reverse("cards:omakaiku_close", args=[mobile_only.pk])

    page = distributor_client.get(reverse("cards:detail", args=[mobile_only.pk])).text
    opened = distributor_client.get(close_url, follow=True)

    assert close_url not in page
    assert opened.redirect_chain[-1][0] == reverse("cards:detail", args=[mobile_only.pk])
    assert f"Card {mobile_only.number} is mobile-only and needs OmaKaiku. Inactivate it first." in opened.text


def test_closing_omakaiku_is_offered_for_a_physical_card(distributor_client, distributor, site, customer_data):
    from cards import services

    card = services.card_register(
        site=site, actor=distributor, number="A1234567", holder_data=customer_data, email="maija@example.com"
    )
    close_url = reverse("cards:omakaiku_close", args=[card.pk])

    assert close_url in distributor_client.get(reverse("cards:detail", args=[card.pk])).text
    assert distributor_client.get(close_url).status_code == 200


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("cards:renew", "This card is inactive and can no longer be changed."),
        ("cards:omakaiku", "This card is inactive and can no longer be changed."),
        ("cards:switch", "This card is inactive and can no longer be changed."),
        ("cards:omakaiku_email", "This card is inactive and can no longer be changed."),
        ("cards:inactivate", "This card is already inactive."),
    ],
)
def test_an_inactive_cards_action_page_says_at_once_that_it_cannot_be_done(
    distributor, distributor_client, site, customer_data, name, said
):
    from cards import services

    card = services.card_register(site=site, actor=distributor, number="A1234567", holder_data=customer_data)
    services.card_inactivate(card=card, actor=distributor, reason="lost")

    response = distributor_client.get(reverse(name, args=[card.pk]), follow=True)
    assert response.redirect_chain == [(reverse("cards:detail", args=[card.pk]), 302)]
    assert said in response.text


@pytest.mark.parametrize("name", ["update", "omakaiku_email", "omakaiku_close", "switch", "omakaiku"])
def test_every_action_pages_heading_names_its_card(distributor_client, site, name):
    # Found in review (WCAG 2.4.6): "Edit details" alone, with several cards open in tabs.
    card = factories.CardFactory(site=site, number="KK654999", holder__account=factories.HolderUserFactory())

    page = distributor_client.get(reverse(f"cards:{name}", args=[card.pk])).text

    h1 = re.search(r"<h1>(.*?)</h1>", page, re.S)[1]
    assert "KK654999" in h1
