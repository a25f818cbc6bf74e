import datetime
import re
from collections.abc import Callable

from allauth.account.forms import LoginForm, ResetPasswordForm, ResetPasswordKeyForm, UserTokenForm
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .models import Municipality, Site, User, phone_validate
from .text import UNREADABLE, edges_trimmed, has_removed_characters, text_clean

# A cap for a text field that has none: the longest thing anyone types in one field here is
# an offer's description. Anything longer is a paste gone wrong, not data.
DEFAULT_MAX_LENGTH = 200
DEFAULT_MAX_LENGTH_MULTILINE = 4000
# What the user table and allauth's address table hold; Django's form field would take 320.
EMAIL_MAX_LENGTH = 254


_INVALID_CHOICE = forms.ModelChoiceField.default_error_messages["invalid_choice"]


class CleanTextMixin:
    """Cleans every text field of the form with :func:`accounts.text.text_clean` and caps its
    length, so a form gets clean text by inheriting this, whoever declares its fields (the
    form itself or a model). Passwords are left exactly as typed.

    The length is checked after cleaning: it is the length of what is stored.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.ChoiceField) and "invalid_choice" in field.error_messages:
                # Django's own words for a model choice, already in every language: without the
                # value, which only an edited address can hold (5,000 letters would be echoed).
                field.error_messages["invalid_choice"] = _INVALID_CHOICE
            if "invalid_pk_value" in field.error_messages:
                # A list of model choices echoes a value that is not a key.
                field.error_messages["invalid_pk_value"] = _INVALID_CHOICE
            if not isinstance(field, forms.CharField) or isinstance(field.widget, forms.PasswordInput):
                continue
            if not getattr(field, "text_cleaning", True):
                # The field refuses what it does not accept instead (e.g. a card number).
                continue
            multiline = isinstance(field.widget, forms.Textarea)
            field.to_python = _cleaning(field.to_python, multiline=multiline, whole=isinstance(field, forms.EmailField))
            # A form shown again with an error shows the text as it will be stored: a NUL byte
            # sent back to the browser would come back as "\ufffd", a visible character.
            field.bound_data = _cleaning_shown(field.bound_data, multiline=multiline)
            if field.max_length is None:
                field.max_length = DEFAULT_MAX_LENGTH_MULTILINE if multiline else DEFAULT_MAX_LENGTH
                field.validators.append(MaxLengthValidator(field.max_length))
                field.widget.attrs.setdefault("maxlength", str(field.max_length))


_UNREADABLE_MESSAGE = _("Some characters could not be read (shown as �). Type the text again.")
_INVISIBLE_IN_ADDRESS_MESSAGE = _(
    "The address has an invisible character inside it (copied from another program, say). Type the address again."
)


def _cleaning(to_python: Callable, *, multiline: bool, whole: bool = False) -> Callable:
    """``to_python`` of cleaned text. A character that stood for one that was lost is refused,
    not stored; so is, with ``whole`` (an email address), an invisible one inside the value:
    removed, it would make another address, one the person did not type."""

    def clean_then_parse(value):
        if isinstance(value, str):
            if whole and has_removed_characters(edges_trimmed(value)):
                raise ValidationError(_INVISIBLE_IN_ADDRESS_MESSAGE, code="invisible_characters")
            value = text_clean(value, multiline=multiline)
            if UNREADABLE in value:
                raise ValidationError(_UNREADABLE_MESSAGE, code="unreadable_characters")
        return to_python(value)

    return clean_then_parse


def _cleaning_shown(bound_data: Callable, *, multiline: bool) -> Callable:
    def clean_then_show(data, initial):
        if isinstance(data, str):
            data = text_clean(data, multiline=multiline)
        return bound_data(data, initial)

    return clean_then_show


class Form(CleanTextMixin, forms.Form):
    """The base of every form of Kaikukanta and OmaKaiku."""


class ModelForm(CleanTextMixin, forms.ModelForm):
    pass


class WholeNumberField(forms.IntegerField):
    """A count or a year, typed with the digits 0-9 only.

    Django's own field takes what Python's ``int()`` takes: other scripts' digits, ``1_000``
    and thousands of digits. Here a superscript two, an Arabic-Indic digit or a
    5,000-digit number gets a message, not a number.
    """

    default_error_messages = {
        "invalid": _("Enter a whole number using the digits 0–9."),
        "too_long": _("Enter a number of at most %(digits)s digits."),
    }

    def __init__(self, *, max_digits: int = 4, **kwargs):
        self.max_digits = max_digits
        kwargs.setdefault("widget", forms.NumberInput(attrs={"inputmode": "numeric"}))
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not re.fullmatch(r"-?[0-9]+", text):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        if len(text.lstrip("-")) > self.max_digits:
            raise ValidationError(self.error_messages["too_long"], code="too_long", params={"digits": self.max_digits})
        return int(text)


def _as_date(bound: datetime.date | Callable[[], datetime.date] | None) -> datetime.date | None:
    return bound() if callable(bound) else bound


class DatePicker(forms.DateInput):
    """The browser's date picker. Its value is always written 2026-03-31, the only form
    ``<input type="date">`` reads, whatever the language: Finnish would write 31.3.2026,
    which the browser shows as an empty field (and a form sent from it has no date)."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class BoundedDateField(forms.DateField):
    """A date inside a sensible window: year 1 or 9999 is a typing slip, never a real date.

    ``earliest`` and ``latest`` are dates or callables (for bounds that follow today).
    """

    widget = DatePicker

    default_error_messages = {
        "too_early": _("Enter a date on or after %(date)s."),
        "too_late": _("Enter a date on or before %(date)s."),
    }

    def __init__(self, *, earliest=None, latest=None, **kwargs):
        self.earliest, self.latest = earliest, latest
        super().__init__(**kwargs)
        if earliest is not None and not callable(earliest):
            self.widget.attrs.setdefault("min", earliest.isoformat())

    def validate(self, value):
        super().validate(value)
        if value in self.empty_values:
            return
        earliest, latest = _as_date(self.earliest), _as_date(self.latest)
        if earliest is not None and value < earliest:
            raise ValidationError(
                self.error_messages["too_early"], code="too_early", params={"date": date_format(earliest, "j.n.Y")}
            )
        if latest is not None and value > latest:
            raise ValidationError(
                self.error_messages["too_late"], code="too_late", params={"date": date_format(latest, "j.n.Y")}
            )


def years_from_today(years: int) -> Callable[[], datetime.date]:
    """A bound ``years`` years from the day the form is checked."""

    def bound() -> datetime.date:
        today = timezone.localdate()
        try:
            return today.replace(year=today.year + years)
        except ValueError:  # 29 February
            return today.replace(year=today.year + years, day=28)

    return bound


class SiteCreateForm(Form):
    organisation_name = forms.CharField(
        label=_("Organisation"),
        max_length=200,
        help_text=_("An existing organisation is reused when the name matches."),
    )
    name = forms.CharField(
        label=_("Site name"),
        max_length=200,
        required=False,
        help_text=_("Leave empty if the same as the organisation."),
    )
    kind = forms.ChoiceField(label=_("Site type"), choices=Site.Kind.choices, widget=forms.RadioSelect)
    municipality = forms.ModelChoiceField(
        label=_("Municipality"), queryset=Municipality.objects.none(), empty_label="–"
    )
    contact_phone = forms.CharField(
        label=_("Public phone"),
        max_length=40,
        required=False,
        help_text=_("The site's own number for cardholders, shown in OmaKaiku and letters; not a person's."),
        validators=[phone_validate],
    )
    contact_email = forms.EmailField(
        label=_("Public email"),
        max_length=254,
        required=False,
        help_text=_("A shared mailbox of the site, not a person's own address."),
    )

    def __init__(self, *args, region_ids, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["municipality"].queryset = Municipality.objects.filter(region_id__in=region_ids).order_by("name")


class LanguageSelect(forms.Select):
    """A choice of a language: each is named in itself (settings.LANGUAGES), and marked so, so
    that a screen reader reads "Svenska" in Swedish on a Finnish page."""

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        if value:
            option["attrs"]["lang"] = value
        return option


class MailLanguageForm(Form):
    language = forms.ChoiceField(
        label=_("Language of emails"),
        choices=settings.LANGUAGES,
        widget=forms.RadioSelect,
        help_text=_("Password reset links and other emails to you come in this language."),
    )


class StaffInviteForm(Form):
    email = forms.EmailField(label=_("Work email"), max_length=EMAIL_MAX_LENGTH)
    language = forms.ChoiceField(
        label=_("Language of the invitation"), choices=settings.LANGUAGES, initial=get_language, widget=LanguageSelect
    )


def add_service_errors(form: forms.Form, error) -> None:
    """Show a service's refusal (a ValidationError) next to the field it concerns, or at the top."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


class StaffUserTokenForm(CleanTextMixin, UserTokenForm):
    """allauth's check of a password-reset link on Kaikukanta's page: staff logins only.

    Both sides' links are made by the same token generator; a holder's link (OmaKaiku's own
    page checks holders only) must not set a password on Kaikukanta's page either."""

    def _get_user(self, uidb36):
        user = super()._get_user(uidb36)
        return user if user is not None and user.kind == User.Kind.STAFF else None


class StaffSetPasswordForm(CleanTextMixin, ResetPasswordKeyForm):
    """allauth's form for Kaikukanta's set-your-password link, with OmaKaiku's words for its fields
    ("New Password (again)" was allauth's) and no placeholder repeating the label above it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in (("password1", _("New password")), ("password2", _("New password confirmation"))):
            self.fields[name].label = label
            self.fields[name].widget.attrs.pop("placeholder", None)


# allauth's address fields, saying what to type rather than only that something is wrong.
_EMAIL_MESSAGES = {
    "required": _("Enter your email address."),
    "invalid": _("Enter a valid email address, e.g. name@example.fi."),
}


def _placeholders_drop(form) -> None:
    # allauth's placeholders repeat the label above the field (Swedish "Epost-adress", under our
    # label "E-post"), and vanish as the person starts typing.
    for field in form.fields.values():
        field.widget.attrs.pop("placeholder", None)


class KaikuLoginForm(CleanTextMixin, LoginForm):
    """allauth's login form (both Kaikukanta's and OmaKaiku's), with the register's own words for
    an empty or mistyped field."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["login"].error_messages.update(_EMAIL_MESSAGES)
        self.fields["password"].error_messages["required"] = _("Enter your password.")
        _placeholders_drop(self)


class KaikuResetPasswordForm(CleanTextMixin, ResetPasswordForm):
    """allauth's password-reset request form (both sides), with the same words for the address."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].error_messages.update(_EMAIL_MESSAGES)
        _placeholders_drop(self)
