import datetime
import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from accounts.forms import BoundedDateField, Form, ModelForm, WholeNumberField, years_from_today
from accounts.models import Site, UseCategory
from cards.forms import CardNumberField
from cards.models import Offer

from .services import FIRST_DAY_OF_USE, UseData, offer_validate

# Offers: not before the first day of use, and at most ten years ahead.
OFFER_LATEST_YEARS = 10


class CardLookupForm(Form):
    number = CardNumberField(
        label=_("Card number"),
        widget=forms.TextInput(
            attrs={"autofocus": True, "autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
        ),
        help_text=_("Type the number or scan the card's QR code or barcode."),
        error_messages={"required": _("Type or scan a card number.")},
    )


class UseSearchForm(Form):
    """The venue's uses of one card: a use recorded by mistake is found among thousands."""

    number = CardNumberField(
        label=_("Find the uses of a card"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}),
    )


# As services.card_use_record says it of a token it cannot use.
FORM_EXPIRED = _("The form has expired. Look the card up again.")


class UseRecordForm(Form):
    number = CardNumberField(label=_("Card number"), widget=forms.HiddenInput)
    # The use's idempotency key: the desk writes a fresh one into each form, so that the same
    # form sent twice records one use. A form that lost it (an edited or broken page) cannot
    # be sent as it is, and no field here can fix that: it gets the service's own words for a
    # token it cannot use, at the top of the form (see add_error), with what was typed kept.
    token = forms.CharField(
        widget=forms.HiddenInput,
        max_length=64,
        error_messages={"required": FORM_EXPIRED, "max_length": FORM_EXPIRED},
    )
    # Prefilled with today at the desk, where uses are recorded at once; required, so an
    # emptied field is an error rather than a silent today.
    used_on = BoundedDateField(
        label=_("Date of use"),
        earliest=FIRST_DAY_OF_USE,
        help_text=_("Change it when the use was on an earlier day."),
    )
    category = forms.ChoiceField(label=_("Category"), choices=UseCategory.choices)
    child_tickets = WholeNumberField(label=_("Child tickets"), min_value=0, initial=0, required=False, max_digits=3)
    assistant_tickets = WholeNumberField(
        label=_("Assistant or interpreter tickets"), min_value=0, initial=0, required=False, max_digits=3
    )
    clients_under_16 = WholeNumberField(
        label=_("Clients under 16"), min_value=0, initial=0, required=False, max_digits=3
    )

    def __init__(self, *args, check=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["used_on"].widget.attrs["max"] = timezone.localdate().isoformat()
        if check is not None and check.card is not None:
            if check.is_organisation:
                del self.fields["child_tickets"]
            else:
                del self.fields["clients_under_16"]
                if check.shows_holder:  # else the holder's count today may be another site's
                    self.fields["child_tickets"].widget.attrs["max"] = check.children

    def add_error(self, field, error):
        # The number is a hidden copy of the card looked up above the form: a refusal of it
        # (unknown, inactive or expired card) is about the card as a whole, and no field here
        # can fix it, so it is shown at the top of the form rather than linked to a hidden input.
        # So is a missing token: "Token: This field is required." names nothing the user sees.
        super().add_error(None if field in ("number", "token") else field, error)

    def use_data(self) -> UseData:
        data = self.cleaned_data
        return UseData(
            number=data["number"],
            used_on=data.get("used_on"),
            category=data.get("category") or "",
            child_tickets=data.get("child_tickets") or 0,
            assistant_tickets=data.get("assistant_tickets") or 0,
            clients_under_16=data.get("clients_under_16") or 0,
        )


class UseCancelForm(Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        help_text=_("The holder sees it in OmaKaiku. No names, e.g. 'recorded on the wrong card'."),
    )


class ImportUploadForm(Form):
    file = forms.FileField(label=_("CSV file"), help_text=_("UTF-8 CSV with the columns of the template."))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 5 * 1024 * 1024:
            raise forms.ValidationError(
                _("The file is larger than 5 MB. Split it into smaller files."), code="file_too_large"
            )
        return upload


def _offer_day(name: str) -> BoundedDateField:
    return BoundedDateField(
        label=capfirst(Offer._meta.get_field(name).verbose_name),
        earliest=FIRST_DAY_OF_USE,
        latest=years_from_today(OFFER_LATEST_YEARS),
    )


class WebLinkField(forms.URLField):
    """An offer's web address: one that is too long is told only that.

    Django runs every validator and lists each refusal: 301 letters typed without https://
    (a host name over 63 letters) were also "not a valid address", which sends the user to
    look for a typo when only shortening it helps."""

    def run_validators(self, value):
        try:
            super().run_validators(value)
        except ValidationError as error:
            too_long = [e for e in error.error_list if e.code == "max_length"]
            raise ValidationError(too_long or error.error_list) from None


class OfferForm(ModelForm):
    starts_on = _offer_day("starts_on")
    ends_on = _offer_day("ends_on")

    class Meta:
        model = Offer
        # In the order of the page (templates/venues/offer_form.html), which the error summary follows.
        fields = [
            "category", "location", "address", "web_link", "starts_on", "ends_on", "visible",
            "title_fi", "description_fi", "conditions_fi", "accessibility_fi", "booking_fi",
            "title_sv", "description_sv", "conditions_sv", "accessibility_sv", "booking_sv",
            "title_en", "description_en", "conditions_en", "accessibility_en", "booking_en",
        ]  # fmt: skip
        field_classes = {"web_link": WebLinkField}
        widgets = {
            "description_fi": forms.Textarea(attrs={"rows": 3}),
            "description_sv": forms.Textarea(attrs={"rows": 3}),
            "description_en": forms.Textarea(attrs={"rows": 3}),
        }
        error_messages = {
            # Django counts the https:// it adds to an address typed without one: "(it has 308)"
            # for the 300 characters typed would send the user looking for 8 that are not there.
            "web_link": {
                "max_length": _("Shorten the web address to at most %(limit_value)d characters, https:// included.")
            },
        }

    # A new offer's one-time key; an edited offer's version (when the form was opened). Both
    # for services.offer_save: a double click is one offer, an old tab cannot undo a later change.
    token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    version = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A text typed in Swedish is marked Swedish (spell checking, screen readers); its label
        # stays in the page's language, so the fieldset as a whole is not marked.
        for name, field in self.fields.items():
            if name[-3:] in ("_fi", "_sv", "_en"):
                field.widget.attrs["lang"] = name[-2:]
        if self.instance.pk is None:
            del self.fields["version"]
            self.fields["token"].initial = uuid.uuid4().hex
        else:
            del self.fields["token"]
            self.fields["version"].initial = self.instance.updated_at.isoformat()

    def seen_updated_at(self) -> datetime.datetime:
        """When the edited offer was read for this form; a version lost or edited on the way
        reads as long ago, so the save is checked against the offer as it is now."""
        try:
            return datetime.datetime.fromisoformat(self.cleaned_data.get("version") or "")
        except ValueError:
            return datetime.datetime.min.replace(tzinfo=datetime.UTC)

    def changed_meanwhile(self, *, fields: list[str], updated_at: datetime.datetime) -> None:
        """Keep what was typed and say which changes made since it would undo; saving again does."""
        self.data = self.data.copy()
        self.data["version"] = updated_at.isoformat()
        labels = ", ".join(str(self.fields[name].label) for name in fields if name in self.fields)
        self.add_error(
            None,
            _(
                "This offer was changed after you opened it, in another tab or by a colleague, and saving would undo "
                "these changes: %(fields)s. What you typed is kept below: save again to replace them with your "
                "values, or cancel to see the saved offer."
            )
            % {"fields": labels},
        )

    def clean(self):
        data = super().clean()
        offer_rules_add(self, venue=None, data=data)
        return data

    def _post_clean(self):
        # The service validates and saves; the model's own checks would only repeat it.
        pass


def offer_rules_add(form: forms.Form, *, venue: Site | None, data: dict) -> None:
    """The offer's rules (``services.offer_validate``) over what parsed, beside the fields' own
    refusals: every problem is said on the first save, not one round at a time. A field that was
    refused already keeps its own message only."""
    try:
        offer_validate(venue=venue, data=data)
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            if field in form.errors:
                continue
            for message in messages:
                form.add_error(field if field in form.fields else None, message)


class OfferAdminForm(ModelForm):
    """The national admin's offer form: the venue's own fields, dates and rules
    (``services.offer_validate``), and the venue itself."""

    starts_on = _offer_day("starts_on")
    ends_on = _offer_day("ends_on")

    class Meta:
        model = Offer
        fields = ["venue", *OfferForm.Meta.fields]
        field_classes = OfferForm.Meta.field_classes
        widgets = OfferForm.Meta.widgets
        error_messages = OfferForm.Meta.error_messages

    def clean(self):
        data = super().clean()
        offer_rules_add(self, venue=data.get("venue"), data=data)
        return data
