import datetime

import django_filters
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Card


class CardFilter(django_filters.FilterSet):
    STATE_CHOICES = [
        ("active", _("Valid")),
        ("expiring", _("Expiring within 30 days")),
        ("expired", _("Expired")),
        ("inactive", _("Inactive")),
    ]

    state = django_filters.ChoiceFilter(
        label=_("Status"), choices=STATE_CHOICES, method="filter_state", empty_label=_("All")
    )
    kind = django_filters.ChoiceFilter(label=_("Card type"), choices=Card.Kind.choices, empty_label=_("All"))
    # Not a BooleanFilter: its "any" option is Django's "Unknown" (fi "Tuntematon"), which means
    # something else; the other filters say "All". ?mobile=true / false keep working.
    mobile = django_filters.ChoiceFilter(
        label=_("Mobile card"),
        choices=[("true", _("Yes")), ("false", _("No"))],
        method="filter_mobile",
        empty_label=_("All"),
    )

    class Meta:
        model = Card
        fields = ["state", "kind", "mobile"]

    def filter_mobile(self, queryset, name, value):
        return queryset.filter(mobile_enabled=value == "true")

    def filter_state(self, queryset, name, value):
        today = timezone.localdate()
        active = queryset.filter(status=Card.Status.ACTIVE)
        if value == "active":
            return active.filter(valid_until__gte=today)
        if value == "expiring":
            return active.filter(valid_until__gte=today, valid_until__lte=today + datetime.timedelta(days=30))
        if value == "expired":
            return active.filter(valid_until__lt=today)
        if value == "inactive":
            return queryset.filter(status=Card.Status.INACTIVE)
        return queryset
