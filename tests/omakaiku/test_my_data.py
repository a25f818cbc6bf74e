"""The holder's data download holds everything the register stores about them."""

import datetime
import json
from dataclasses import replace

import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cards import services


def test_my_data_has_periods_notes_and_the_holders_own_history(distributor, site, customer_data, committed):
    with committed():
        old = services.card_register(
            site=site,
            actor=distributor,
            number="A1234567",
            holder_data=customer_data,
            email="maija@example.com",
            language="en",
        )
    services.card_update(
        card=old, actor=distributor, holder_data=replace(customer_data, children_count=3), reason="child born"
    )
    with time_machine.travel(timezone.now() + datetime.timedelta(days=40)):
        services.card_renew(card=old, actor=distributor)
        services.card_inactivate(card=old, actor=distributor, reason="other", note="card broken in two")
        services.card_register(
            site=site,
            actor=distributor,
            number="B7654321",
            holder=old.holder,
            holder_data=replace(customer_data, children_count=3),
        )
    user = old.holder.account
    user.set_password("a-long-holder-password")
    user.save()
    client = Client()
    client.force_login(user)

    data = json.loads(client.get(reverse("omakaiku:my_data_download")).content)

    by_number = {card["number"]: card for card in data["cards"]}
    old_card = by_number["A1234567"]
    assert old_card["inactivation_note"] == "card broken in two"
    assert [p["cause"] for p in old_card["validity_periods"]] == ["registered", "renewed"]
    assert old_card["validity_periods"][1]["ended_early_on"] == old_card["inactivated"]
    assert [entry["reason"] for entry in old_card["history"]][:2] == ["Card registered", "Renewed"]
    children = [entry["children_count"] for entry in data["holder_history"]]
    assert children[0] == 2
    assert children[-1] == 3
    assert "child born" in [entry["reason"] for entry in data["holder_history"]]
    # Staff are not the holder's data: who made a change is not in the file.
    assert distributor.email not in json.dumps(data)


def test_my_data_speaks_the_holders_language_and_shows_a_move(
    distributor, admin_user, site, other_site, customer_data, committed
):
    with committed():
        card = services.card_register(
            site=site, actor=distributor, number="A1234567", holder_data=customer_data, email="maija@example.com"
        )
    services.card_transfer(card=card, to_site=other_site, actor=admin_user, reason="moved to Espoo")
    client = Client()
    client.force_login(card.holder.account)

    data = json.loads(client.get(reverse("omakaiku:my_data_download"), HTTP_ACCEPT_LANGUAGE="fi").content)

    history = data["cards"][0]["history"]
    assert history[0]["reason"] == "Kortti rekisteröity"  # the system's reason, in Finnish
    assert (history[-1]["reason"], history[-1]["site"]) == ("moved to Espoo", str(other_site))
    assert data["cards"][0]["site"] == str(other_site)
    assert history[0]["when"].endswith(("+02:00", "+03:00"))  # Finnish time, as on the pages


def test_my_data_has_the_reminder_choice_and_the_reminders_sent(distributor, site, customer_data, committed):
    from omakaiku.models import ExpiryReminder, HolderPreferences
    from omakaiku.selectors import holder_data_export

    with committed():
        card = services.card_register(
            site=site, actor=distributor, number="A1234567", holder_data=customer_data, email="maija@example.com"
        )
    HolderPreferences.objects.create(user=card.holder.account, expiry_reminders=False)
    ExpiryReminder.objects.create(period=card.periods.get(), kind="expiring", state="sent", sent_at=timezone.now())

    data = holder_data_export(holder=card.holder)

    assert data["omakaiku"]["expiry_reminders"] is False
    [exported] = data["cards"]
    assert [(r["kind"], r["state"]) for r in exported["expiry_reminders"]] == [("expiring", "sent")]


def test_my_data_has_cancelled_uses_marked_with_when_and_why(
    distributor, site, venue, venue_user, customer_data, committed
):
    from tests import factories
    from venues.services import card_use_cancel

    with committed():
        card = services.card_register(
            site=site, actor=distributor, number="A1234567", holder_data=customer_data, email="maija@example.com"
        )
    kept = factories.CardUseFactory(card=card, venue=venue, used_on=timezone.localdate(), recorded_by=venue_user)
    mistaken = factories.CardUseFactory(
        card=card, venue=venue, used_on=timezone.localdate() - datetime.timedelta(days=1), recorded_by=venue_user
    )
    mistaken = card_use_cancel(use=mistaken, actor=venue_user, reason="Typed the wrong card number")
    client = Client()
    client.force_login(card.holder.account)

    data = json.loads(client.get(reverse("omakaiku:my_data_download")).content)
    page = client.get(reverse("omakaiku:my_data")).text

    assert [(use["date"], use["cancelled"], use["cancellation_reason"]) for use in data["uses"]] == [
        (kept.used_on.isoformat(), None, None),
        # In Finnish time, as the pages show it.
        (
            mistaken.used_on.isoformat(),
            timezone.localtime(mistaken.cancelled_at).isoformat(),
            "Typed the wrong card number",
        ),
    ]
    # Staff are not the holder's data: who recorded or cancelled the use is not in the file.
    assert venue_user.email not in json.dumps(data)
    assert "1 card, 1 use, 1 cancelled use." in page
