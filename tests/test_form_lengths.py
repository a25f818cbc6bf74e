"""Every form allows exactly what its column stores (a longer value answered 500 on PostgreSQL).

SQLite does not enforce a column's length, so the model-to-form comparison below is what
catches a mismatch there; the posting test proves it against PostgreSQL in CI.
"""

import pytest
from django.db import models

from accounts.forms import SiteCreateForm, StaffInviteForm
from accounts.models import Organisation, Site, User
from cards.forms import CHANGE_REASON_MAX_LENGTH, CardInactivateForm, CardRegisterForm, CardUpdateForm
from cards.models import Card, CardUse, Holder
from tests.test_fuzz import ROLES, World, _forms, _fresh, _log_in
from venues.forms import OfferForm, UseCancelForm


def _history_reason_length() -> int:
    return Card.history.model._meta.get_field("history_change_reason").max_length


def _form_fields(form_class, **kwargs):
    return form_class.base_fields if not kwargs else form_class(**kwargs).fields


@pytest.mark.parametrize(
    ("form_class", "field", "column"),
    [
        (CardRegisterForm, "organisation_name", Holder._meta.get_field("organisation_name")),
        (CardRegisterForm, "representative_role", Holder._meta.get_field("representative_role")),
        (CardRegisterForm, "postal_code", Holder._meta.get_field("postal_code")),
        (CardRegisterForm, "email", User._meta.get_field("email")),
        (CardUpdateForm, "organisation_name", Holder._meta.get_field("organisation_name")),
        (CardInactivateForm, "note", Card._meta.get_field("inactivation_note")),
        (UseCancelForm, "reason", CardUse._meta.get_field("cancel_reason")),
        (SiteCreateForm, "organisation_name", Organisation._meta.get_field("name")),
        (SiteCreateForm, "name", Site._meta.get_field("name")),
        (StaffInviteForm, "email", User._meta.get_field("email")),
    ],
)
def test_form_max_length_is_what_the_column_holds(form_class, field, column: models.Field):
    assert form_class.base_fields[field].max_length == column.max_length


def test_the_correction_reason_fits_the_history_column():
    # The reason is stored as the history row's change reason.
    assert CardUpdateForm.base_fields["reason"].max_length == CHANGE_REASON_MAX_LENGTH == _history_reason_length()


def test_offer_form_fields_match_the_offer_columns():
    form = OfferForm()
    for name, field in form.fields.items():
        if name not in form._meta.fields:
            continue  # the form's own hidden fields (a new offer's token), no column
        column = form._meta.model._meta.get_field(name)
        if isinstance(column, models.CharField) and not column.choices:
            assert field.max_length == column.max_length, name


def _longest(field, length: int) -> str:
    if "email" in type(field).__name__.lower():
        # A valid address of exactly ``length`` characters.
        local = "a" * 64
        rest = length - len(local) - 1 - 64 - 64
        return f"{local}@{'b' * 63}.{'c' * 63}.{'d' * rest}"
    return "é" * length


@pytest.fixture
def world(municipality, site, venue):
    return World(municipality, site, venue)


@pytest.mark.parametrize("role", ROLES)
def test_the_longest_allowed_values_save_and_one_more_is_a_form_error(client, world, role):
    tried = 0
    for path, valid in _forms(role, world):
        _log_in(client, role, world)
        page = client.get(path)
        form = page.context.get("form") if page.status_code == 200 and page.context else None
        if form is None:
            continue
        for name, field in form.fields.items():
            if name not in valid or not getattr(field, "max_length", None):
                continue
            limit = field.max_length
            # The other holder type's fields are ignored (cards.forms.HolderFieldsMixin): tried as
            # an organisation's, or not at all where the holder's type is fixed (a customer's).
            other = {}
            if name in getattr(form, "organisation_fields", ()):
                if form.fields["kind"].disabled:
                    continue
                # With the organisation's other field filled: the longest value is saved, not refused.
                other = {"kind": "organisation", "organisation_name": "Nuotta", "representative_role": "Nuorisotyö"}
            # One more first: the longest allowed value may end what the page is for (a card
            # inactivated has no inactivation form any more).
            _log_in(client, role, world)
            response = client.post(path, _fresh(path, valid) | other | {name: _longest(field, limit + 1)})
            assert response.status_code == 200, (path, name)
            assert name in response.context["form"].errors, (path, name)
            _log_in(client, role, world)
            response = client.post(path, _fresh(path, valid) | other | {name: _longest(field, limit)})
            assert response.status_code < 500, (path, name)
            tried += 1
    assert tried or role in ("holder", "anonymous")
    if role == "distributor":
        assert tried >= 8


def test_a_correction_reason_of_101_characters_is_a_form_error(client, world):
    _log_in(client, "distributor", world)
    path, valid = next((p, v) for p, v in _forms("distributor", world) if "reason" in v and "typo" in v["reason"])

    response = client.post(path, valid | {"reason": "x" * 101})

    assert response.status_code == 200
    assert response.context["form"].errors["reason"] == ["Ensure this value has at most 100 characters (it has 101)."]
    assert client.post(path, valid | {"reason": "x" * 100}).status_code == 302
