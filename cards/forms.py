"""Forms only parse what was typed; the rules live in services.py and speak through its errors."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from accounts.forms import EMAIL_MAX_LENGTH, Form, LanguageSelect, WholeNumberField
from accounts.models import Municipality

from .models import Card, Holder
from .services import (
    NOTE_MAX_LENGTH,
    REPLACE_REASONS,
    HolderData,
    card_number_refusal,
    card_number_tidy,
    holder_data_validate,
)

# The longest card number as typed: 20 characters in groups with spaces or dashes.
NUMBER_MAX_LENGTH = 40
# The longest reason a change can have: the history table's change reason holds 100.
CHANGE_REASON_MAX_LENGTH = 100


class CardNumberField(forms.CharField):
    """A card number as typed or scanned, tidied and judged by ``services.card_number_refusal``."""

    text_cleaning = False

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", NUMBER_MAX_LENGTH)
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        value = card_number_tidy(value) if value else value
        if value and (refusal := card_number_refusal(value)):
            raise refusal
        return value

    def bound_data(self, data, initial):
        # Shown back as typed, but without control characters (a NUL in an HTML attribute is
        # a parse error the browser shows as a box): the refusal names them.
        data = super().bound_data(data, initial)
        return "".join(c for c in data if c >= " " and c != "\x7f") if isinstance(data, str) else data


class CardSearchForm(Form):
    number = CardNumberField(
        label=_("Card number"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}),
    )


class HolderFieldsMixin(Form):
    kind = forms.ChoiceField(
        label=_("The card is for"), choices=Holder.Kind.choices, widget=forms.RadioSelect, initial=Holder.Kind.CUSTOMER
    )
    # Required for a customer, not for an organisation: the service says which is missing.
    # No initial value: the distributor types the number, 0 included.
    birth_year = WholeNumberField(
        label=_("Year of birth"),
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    children_count = WholeNumberField(
        label=_("Children under 18"),
        required=False,
        min_value=0,
        help_text=_("Own or same-household children and grandchildren under 18."),
    )
    gender = forms.ChoiceField(
        label=_("Gender (optional)"), choices=[("", "–")] + Holder.Gender.choices, required=False
    )
    life_situation = forms.ChoiceField(
        label=_("Life situation (optional)"), choices=[("", "–")] + Holder.LifeSituation.choices, required=False
    )
    organisation_name = forms.CharField(label=_("Organisation name"), max_length=200, required=False)
    representative_role = forms.CharField(
        label=_("Representative's work role"),
        max_length=200,
        required=False,
        help_text=_("Not a name: e.g. social counsellor."),
    )
    postal_code = forms.CharField(
        label=_("Postal code"),
        max_length=5,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    municipality = forms.ModelChoiceField(
        label=_("Home municipality"), queryset=Municipality.objects.order_by("name"), empty_label="–"
    )

    customer_fields = ["birth_year", "children_count", "gender", "life_situation"]
    organisation_fields = ["organisation_name", "representative_role"]

    def holder_data(self) -> HolderData:
        data = self.cleaned_data
        return HolderData(
            kind=data.get("kind") or "",
            postal_code=data.get("postal_code") or "",
            municipality=data.get("municipality"),
            birth_year=data.get("birth_year"),
            children_count=data.get("children_count"),
            gender=data.get("gender") or "",
            life_situation=data.get("life_situation") or "",
            organisation_name=(data.get("organisation_name") or "").strip(),
            representative_role=(data.get("representative_role") or "").strip(),
        )

    def clean(self):
        data = super().clean()
        # The other kind's fields are hidden on the page (a customer has no organisation name,
        # an organisation no year of birth), and not the holder's: what they still hold, typed
        # before the kind was changed, is neither refused (an error nobody can see or reach)
        # nor stored.
        kind = data.get("kind")
        other = {Holder.Kind.CUSTOMER: self.organisation_fields, Holder.Kind.ORGANISATION: self.customer_fields}
        for name in other.get(kind, []):
            self._errors.pop(name, None)
            data[name] = None if isinstance(self.fields[name], WholeNumberField) else ""
        # Ask the service for its holder rules now, so every missing or wrong detail is
        # reported in one round, not after the form's own required fields are fixed.
        try:
            holder_data_validate(data=self.holder_data())
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                if field in self.fields and field not in self.errors:
                    self.add_error(field, messages)
        return data

    @staticmethod
    def initial_from_holder(holder: Holder) -> dict:
        return {name: getattr(holder, name) for name in HolderData.__dataclass_fields__} | {
            "municipality": holder.municipality_id
        }


def _language_field():
    return forms.ChoiceField(
        label=_("Language of the OmaKaiku emails"),
        choices=settings.LANGUAGES,
        initial=get_language,
        required=False,
        widget=LanguageSelect,
    )


class CardRegisterForm(HolderFieldsMixin, Form):
    number = CardNumberField(
        label=_("Card number"),
        help_text=_("The number printed on the card. For a mobile-only card type X (customer) or Z (organisation)."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}),
    )
    site = forms.ModelChoiceField(label=_("Issuing site"), queryset=None, empty_label=None)
    activate_omakaiku = forms.BooleanField(
        label=_("Activate OmaKaiku"),
        required=False,
        help_text=_("Required for a mobile card. The holder gets an email to set a password."),
    )
    email = forms.EmailField(label=_("Holder's personal email"), required=False, max_length=EMAIL_MAX_LENGTH)
    language = _language_field()
    mobile = forms.BooleanField(label=_("Mobile card too (physical card)"), required=False)

    field_order = ["number", "site", "kind"]

    def __init__(self, *args, sites, holder: Holder | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        self.holder = holder
        if holder is not None:
            # The holder type of an existing holder is fixed; show it, don't ask it.
            self.fields["kind"].disabled = True

    def clean(self):
        data = super().clean()
        if not data.get("activate_omakaiku"):
            # An unticked box wins: the typed address is ignored rather than silently used.
            # (A mobile box still ticked is refused by the service; on the page, unticking
            # OmaKaiku hides and disables it, static/js/app.js.)
            data["email"] = ""
        elif not data.get("email") and "email" not in self.errors and not (self.holder and self.holder.account_id):
            # A ticked box with no address would register the card without OmaKaiku, silently.
            # (An earlier card's holder who has OmaKaiku keeps their address.)
            self.add_error("email", _("Enter the holder's personal email address for OmaKaiku."))
        return data


class CardUpdateForm(HolderFieldsMixin, Form):
    number = CardNumberField(label=_("Card number"))
    reason = forms.CharField(
        label=_("Reason for the change"),
        max_length=CHANGE_REASON_MAX_LENGTH,
        help_text=_(
            "Kept in the card's history, which the holder can read in OmaKaiku. No names, e.g. 'typo in postal code'."
        ),
        error_messages={"required": _("Write why the card is changed, e.g. 'typo in postal code'.")},
    )

    field_order = ["number", "kind"]

    def __init__(self, *args, card: Card, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].disabled = True
        if card.kind != Card.Kind.PHYSICAL:
            self.fields["number"].disabled = True


class CardInactivateForm(Form):
    reason = forms.ChoiceField(
        label=_("Reason"),
        # The dormant-account reason is the system's own, never chosen by staff.
        choices=[c for c in Card.InactivationReason.choices if c[0] != Card.InactivationReason.DORMANT],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose why the card is inactivated.")},
    )
    note = forms.CharField(
        label=_("Note"),
        max_length=NOTE_MAX_LENGTH,
        required=False,
        help_text=_("Required when the reason is Other. The holder can read it in OmaKaiku. No names."),
    )


class OmaKaikuActivateForm(Form):
    email = forms.EmailField(label=_("Holder's personal email"), required=False, max_length=EMAIL_MAX_LENGTH)
    language = _language_field()
    mobile = forms.BooleanField(label=_("Enable the mobile card"), required=False)


class SwitchToMobileForm(Form):
    email = forms.EmailField(label=_("Holder's personal email"), required=False, max_length=EMAIL_MAX_LENGTH)
    language = _language_field()
    confirm = forms.BooleanField(
        label=_("The customer gives up the physical card. It is inactivated and cannot be used any more."),
        error_messages={"required": _("Tick the box to confirm that the customer gives up the physical card.")},
    )


class OmaKaikuEmailChangeForm(Form):
    email = forms.EmailField(
        label=_("New personal email"),
        max_length=EMAIL_MAX_LENGTH,
        error_messages={"required": _("Type the holder's new email address.")},
    )
    language = _language_field()


class OmaKaikuCloseForm(Form):
    confirm = forms.BooleanField(
        label=_("Close the holder's OmaKaiku account. Their email is erased and a mobile card stops working."),
        error_messages={"required": _("Tick the box to confirm that the holder's OmaKaiku account is closed.")},
    )


class SiteTransferForm(Form):
    """Where the active cards of a closed site go (chosen by a coordinator or an admin)."""

    # An empty choice first: with the first site preselected, one click moved every card of the
    # closed site to whichever site sorted first.
    to_site = forms.ModelChoiceField(
        label=_("Move the cards to"),
        queryset=None,
        empty_label="–",
        error_messages={"required": _("Choose the site that takes over the cards.")},
    )
    reason = forms.CharField(label=_("Reason"), max_length=100, required=False, help_text=_("Optional. No names."))

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_site"].queryset = sites


class CardReplaceForm(Form):
    number = CardNumberField(
        label=_("New card number"),
        help_text=_("The number printed on the new card."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}),
    )
    reason = forms.ChoiceField(
        label=_("What happened to the card?"),
        choices=[(reason.value, reason.label) for reason in REPLACE_REASONS],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose what happened to the card.")},
    )
