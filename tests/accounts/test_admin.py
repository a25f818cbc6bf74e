import pytest
from django.contrib import admin
from django.urls import reverse

from cards.models import Card
from tests import factories


@pytest.mark.parametrize("model", [m for m in admin.site._registry if m._meta.app_label in {"accounts", "cards"}])
def test_every_model_has_a_working_admin(client, admin_user, model):
    factories.CardUseFactory()
    client.force_login(admin_user)
    opts = model._meta

    changelist = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    obj = model.objects.first()

    assert changelist.status_code == 200
    if obj is not None:
        assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])).status_code == 200
        assert (
            client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[obj.pk])).status_code == 200
        )


def test_admin_reactivates_through_the_rule(client, admin_user, site):
    first = factories.CardFactory(site=site, inactive=True)
    blocked = factories.CardFactory(site=site, inactive=True, number="BLOCK001")
    factories.CardFactory(site=site, holder=blocked.holder)
    client.force_login(admin_user)

    client.post(
        reverse("admin:cards_card_changelist"),
        {"action": "reactivate", "_selected_action": [first.pk, blocked.pk]},
    )

    first.refresh_from_db()
    blocked.refresh_from_db()
    assert first.status == Card.Status.ACTIVE
    assert blocked.status == Card.Status.INACTIVE


def test_staff_without_admin_flag_cannot_open_admin(client, distributor):
    client.force_login(distributor)

    assert client.get(reverse("admin:index")).status_code == 302
