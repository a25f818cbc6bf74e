"""What is stored about a person (docs/rules.md, "What is stored about a holder"): the holder's and
the login's columns are exactly these. A new column, a name or an identity code say, fails here
first, and is a decision to take against the privacy rules, not a side effect of a migration."""

from accounts.models import User
from cards.models import Holder

HOLDER_COLUMNS = {
    "id",
    "kind",
    "birth_year",  # the year only: never the full date of birth
    "children_count",
    "gender",
    "life_situation",
    "postal_code",  # never the street address
    "municipality",
    "organisation_name",  # an organisation's, never a person's name
    "representative_role",  # the representative's work role, not their name
    "account",  # the OmaKaiku login (its email), only once OmaKaiku is activated
    "created_at",
}
LOGIN_COLUMNS = {
    "id",
    "email",  # the login itself: a work address for staff, the personal one for a holder
    "password",
    "kind",
    "language",
    "is_active",
    "is_staff",
    "is_superuser",
    "session_epoch",
    "invited_at",
    "activated_at",
    "last_login",
    "date_joined",
}


def test_a_holder_is_stored_without_name_identity_code_birth_date_or_street_address():
    assert {field.name for field in Holder._meta.concrete_fields} == HOLDER_COLUMNS


def test_a_login_holds_no_name():
    assert {field.name for field in User._meta.concrete_fields} == LOGIN_COLUMNS
