import django_filters
from django import forms
from django.contrib.auth.forms import SetPasswordForm
from django.utils.translation import gettext_lazy as _

from accounts.forms import CleanTextMixin
from accounts.models import Municipality, UseCategory
from cards.models import Offer


class HolderSetPasswordForm(CleanTextMixin, SetPasswordForm):
    """Django's form (with the password validators), plus the privacy notice on first activation."""

    accept_privacy = forms.BooleanField(label=_("I have read the privacy notice."), required=True)

    def __init__(self, user, *args, first_time: bool, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.fields["new_password1"].widget.attrs["autocomplete"] = "new-password"
        if not first_time:
            del self.fields["accept_privacy"]


class OfferFilter(django_filters.FilterSet):
    category = django_filters.ChoiceFilter(label=_("Category"), choices=UseCategory.choices, empty_label=_("All"))
    municipality = django_filters.ModelChoiceFilter(
        label=_("Municipality"),
        field_name="venue__municipality",
        queryset=Municipality.objects.filter(sites__offers__isnull=False).distinct().order_by("name"),
        empty_label=_("All"),
    )

    class Meta:
        model = Offer
        fields = ["category", "municipality"]
