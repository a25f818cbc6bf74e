from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import UseCategory
from cards.models import Offer

from .services import UseData


class CardLookupForm(forms.Form):
    number = forms.CharField(
        label=_("Card number"),
        max_length=40,
        widget=forms.TextInput(
            attrs={"autofocus": True, "autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
        ),
        help_text=_("Type the number or scan the card's QR code or barcode."),
    )


class UseRecordForm(forms.Form):
    number = forms.CharField(widget=forms.HiddenInput)
    token = forms.CharField(widget=forms.HiddenInput)
    used_on = forms.DateField(label=_("Date of use"), widget=forms.DateInput(attrs={"type": "date"}))
    category = forms.ChoiceField(label=_("Category"), choices=UseCategory.choices)
    child_tickets = forms.IntegerField(label=_("Child tickets"), min_value=0, initial=0, required=False)
    assistant_tickets = forms.IntegerField(
        label=_("Assistant or interpreter tickets"), min_value=0, initial=0, required=False
    )
    clients_under_16 = forms.IntegerField(label=_("Clients under 16"), min_value=0, initial=0, required=False)

    def __init__(self, *args, check=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["used_on"].widget.attrs["max"] = timezone.localdate().isoformat()
        if check is not None and check.card is not None:
            if check.is_organisation:
                del self.fields["child_tickets"]
            else:
                del self.fields["clients_under_16"]
                self.fields["child_tickets"].widget.attrs["max"] = check.children

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


class UseCancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300, help_text=_("e.g. 'recorded on the wrong card'"))


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=_("CSV file"), help_text=_("UTF-8 CSV with the columns of the template."))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 5 * 1024 * 1024:
            raise forms.ValidationError(_("The file is larger than 5 MB. Split it into smaller files."))
        return upload


class OfferForm(forms.ModelForm):
    class Meta:
        model = Offer
        fields = [
            "title_fi", "title_sv", "title_en", "category", "description_fi", "description_sv", "description_en",
            "conditions_fi", "conditions_sv", "conditions_en", "location", "starts_on", "ends_on", "visible",
        ]  # fmt: skip
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "ends_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "description_fi": forms.Textarea(attrs={"rows": 3}),
            "description_sv": forms.Textarea(attrs={"rows": 3}),
            "description_en": forms.Textarea(attrs={"rows": 3}),
        }

    def _post_clean(self):
        # The service validates and saves; the model's own checks would only repeat it.
        pass
