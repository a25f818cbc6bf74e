from django import forms
from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .models import Municipality, Site


class SiteCreateForm(forms.Form):
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

    def __init__(self, *args, region_ids, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["municipality"].queryset = Municipality.objects.filter(region_id__in=region_ids).order_by("name")


class StaffInviteForm(forms.Form):
    email = forms.EmailField(label=_("Work email"))
    language = forms.ChoiceField(
        label=_("Language of the invitation"), choices=settings.LANGUAGES, initial=get_language
    )


def add_service_errors(form: forms.Form, error) -> None:
    """Show a service's refusal (a ValidationError) next to the field it concerns, or at the top."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)
