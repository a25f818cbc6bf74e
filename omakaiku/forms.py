import django_filters
from django import forms
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.utils.translation import gettext_lazy as _

from accounts.forms import CleanTextMixin, Form
from accounts.models import Municipality, UseCategory, User
from cards.models import Offer


class _RulesBesideTheNewPassword:
    """The password rules' messages ("too short", "too similar to the email address") stand
    beside the new password, where it is typed, not beside its repetition, where Django's forms
    put them (a screen reader user fixing the first field would not hear them there)."""

    def validate_password_for_user(self, user, *args, **kwargs):
        super().validate_password_for_user(user, "new_password1")


class HolderSetPasswordForm(_RulesBesideTheNewPassword, CleanTextMixin, SetPasswordForm):
    """Django's form (with the password validators), plus the privacy notice on first activation."""

    accept_privacy = forms.BooleanField(
        label=_("I have read the privacy notice."),
        error_messages={"required": _("Tick the box to confirm that you have read the privacy notice.")},
    )

    def __init__(self, user, *args, first_time: bool, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.fields["new_password1"].widget.attrs["autocomplete"] = "new-password"
        if not first_time:
            del self.fields["accept_privacy"]


class HolderPasswordChangeForm(_RulesBesideTheNewPassword, CleanTextMixin, PasswordChangeForm):
    """Django's form: the current password, then the new one twice (with the password validators)."""

    error_messages = {
        **PasswordChangeForm.error_messages,
        "password_incorrect": _("Your current password was entered incorrectly. Please enter it again."),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["old_password"].label = _("Current password")
        # Django focuses it; on this page it sits below the email settings, which come first.
        self.fields["old_password"].widget.attrs.pop("autofocus", None)
        # The browser's password manager offers a new password only for these.
        self.fields["new_password1"].widget.attrs["autocomplete"] = "new-password"
        self.fields["new_password2"].widget.attrs["autocomplete"] = "new-password"


class HolderPreferencesForm(Form):
    language = forms.ChoiceField(
        label=_("Language of emails"),
        choices=User._meta.get_field("language").choices,
        widget=forms.RadioSelect,
    )
    expiry_reminders = forms.BooleanField(
        label=_("Email me 30 days before my card expires, and when it has expired"),
        required=False,
        help_text=_("The reminder tells you the card's last valid day and who renews the card."),
    )


class OfferFilter(django_filters.FilterSet):
    category = django_filters.ChoiceFilter(label=_("Category"), choices=UseCategory.choices, empty_label=_("All"))
    municipality = django_filters.ModelChoiceFilter(
        label=_("Municipality"),
        field_name="venue__municipality",
        queryset=Municipality.objects.none(),  # __init__: the municipalities of the offers listed
        empty_label=_("All"),
    )

    class Meta:
        model = Offer
        fields = ["category", "municipality"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only where a current offer is: a municipality whose offers have all ended or are hidden
        # (or whose venue closed) would be a choice that lists nothing.
        self.filters["municipality"].queryset = (
            Municipality.objects.filter(sites__offers__in=self.queryset.values("pk")).distinct().order_by("name")
        )
