import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.models import User
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
        {"action": "reactivate", "_selected_action": [first.pk, blocked.pk], "apply": "1", "reason": "found"},
    )

    first.refresh_from_db()
    blocked.refresh_from_db()
    assert first.status == Card.Status.ACTIVE
    assert blocked.status == Card.Status.INACTIVE


def test_staff_without_admin_flag_cannot_open_admin(client, distributor):
    client.force_login(distributor)

    assert client.get(reverse("admin:index")).status_code == 302


def _user_form(email: str, **extra) -> dict:
    """The user change form as the admin posts it, with empty inlines."""
    data = {"email": email, "language": "fi", "is_active": "on", **extra}
    for prefix in ("memberships", "coordinated_regions"):
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    return data


def test_a_users_kind_cannot_be_changed_in_the_admin(client, admin_user, distributor):
    client.force_login(admin_user)
    url = reverse("admin:accounts_user_change", args=[distributor.pk])

    page = client.get(url)
    assert 'name="kind"' not in page.text
    saved = client.post(url, _user_form(distributor.email, kind="holder"))

    assert saved.status_code == 302  # the form was accepted; the kind in it was ignored
    distributor.refresh_from_db()
    assert distributor.kind == "staff"


def test_a_holders_email_is_read_only_in_the_admin(client, admin_user):
    holder = factories.HolderUserFactory(email="maija@example.com")
    client.force_login(admin_user)
    url = reverse("admin:accounts_user_change", args=[holder.pk])

    page = client.get(url)
    assert page.status_code == 200
    assert 'name="email"' not in page.text
    saved = client.post(url, _user_form("other@example.com"))

    assert saved.status_code == 302
    holder.refresh_from_db()
    assert holder.email == "maija@example.com"


def test_staff_email_stays_editable_in_the_admin(client, admin_user, distributor):
    client.force_login(admin_user)

    page = client.get(reverse("admin:accounts_user_change", args=[distributor.pk]))

    assert 'name="email"' in page.text


def test_users_cannot_be_deleted_in_bulk_and_holders_not_at_all(client, admin_user, distributor):
    holder = factories.HolderUserFactory(email="maija@example.com")
    client.force_login(admin_user)

    changelist = client.get(reverse("admin:accounts_user_changelist"))
    assert 'value="delete_selected"' not in changelist.text
    client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "delete_selected", "_selected_action": [distributor.pk, holder.pk], "post": "yes"},
    )
    assert client.get(reverse("admin:accounts_user_delete", args=[holder.pk])).status_code == 403

    assert User.objects.filter(pk__in=[distributor.pk, holder.pk]).count() == 2


def test_the_admin_creates_staff_logins_only(client, admin_user):
    client.force_login(admin_user)

    page = client.get(reverse("admin:accounts_user_add"))

    assert page.status_code == 200
    assert 'value="staff"' in page.text
    assert 'value="holder"' not in page.text
