"""The national admin's view of the register.

The admin is not a second way to write: cards, holders, validity periods and uses are
read-only here, nothing can be deleted, and every change goes through an admin action that
calls the same service the distributors' pages call (with its access check, its history and
its invariant check).
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from accounts.forms import Form as CleanForm
from accounts.forms import ModelForm
from accounts.history import ReadableHistoryAdmin
from accounts.models import Site
from accounts.security_log import security_event

from . import services
from .forms import CardInactivateForm
from .models import Card, CardNumberCounter, CardUse, Holder, ValidityPeriod


class ReadOnlyAdminMixin:
    """Viewable, searchable, never edited, added or deleted here."""

    form = ModelForm

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CardInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Card
    extra = 0
    fields = ["number", "kind", "status", "site", "valid_until", "mobile_enabled"]
    readonly_fields = fields
    show_change_link = True


class ValidityPeriodInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ValidityPeriod
    extra = 0
    fields = ["valid_from", "valid_until", "ended_on", "cause", "site", "created_at"]
    readonly_fields = fields


# The admin's lists at national scale (a million cards and uses): each shows the newest first by
# its primary key and sorts by nothing without an index behind it, has no date hierarchy (it reads
# every row's date), counts only the filtered rows, and finds a card by its whole number or its
# holder's whole email, each through its unique index. A search for part of a number read every
# row: the card list took 1.3 s at 1M cards, the holder list 1.7 s (docs/performance.md).
SEARCH_HELP = _("A whole card number (spaces, dashes and case do not matter) or a holder's whole email address.")


def _exact_search(queryset, search_term: str, *, number: str, email: str | None = None):
    """(queryset, may have duplicates) for a whole card number or a holder's whole email."""
    term = search_term.strip()
    if not term:
        return queryset, False
    if email and "@" in term:
        return queryset.filter(**{email: term.lower()}), False
    return queryset.filter(**{number: services.card_number_normalize(term)}), False


class _IndexedOrderChangeList(ChangeList):
    def get_ordering_field(self, field_name):
        # Django sorts by any column named in an edited address (?o=3), sortable or not.
        if self.sortable_by is not None and field_name not in self.sortable_by:
            return None
        return super().get_ordering_field(field_name)


class ScaledListMixin:
    ordering = ["-pk"]
    sortable_by = ()
    show_full_result_count = False
    search_help_text = SEARCH_HELP

    def get_changelist(self, request, **kwargs):
        return _IndexedOrderChangeList


@admin.register(Holder)
class HolderAdmin(ScaledListMixin, ReadOnlyAdminMixin, ReadableHistoryAdmin):
    list_display = ["holder_id", "kind", "birth_year", "municipality", "children_count", "created_at"]
    list_filter = ["kind", "municipality__region"]
    list_select_related = ["municipality"]
    search_fields = ["cards__number", "organisation_name", "=account__email"]  # see get_search_results
    search_help_text = _("A whole card number, a holder's whole email address, or a part of an organisation's name.")
    inlines = [CardInline]

    @admin.display(description=_("holder ID"), ordering="pk")
    def holder_id(self, holder):
        return holder.pk

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term or "@" in term:
            return _exact_search(queryset, term, number="cards__number", email="account__email")
        # A whole card number names one holder; only otherwise are the organisations' names read.
        number = services.card_number_normalize(term)
        holder_ids = list(Card.objects.filter(number=number).values_list("holder_id", flat=True))
        if holder_ids:
            return queryset.filter(pk__in=holder_ids), False
        return queryset.filter(kind=Holder.Kind.ORGANISATION, organisation_name__icontains=term), False


class ReactivateForm(CleanForm):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=services.REASON_MAX_LENGTH,
        required=False,
        help_text=_("Why the inactivation is undone. No names."),
    )


class TransferForm(CleanForm):
    to_site = forms.ModelChoiceField(
        label=_("Move to site"),
        queryset=Site.objects.filter(kind=Site.Kind.DISTRIBUTOR, is_active=True).select_related("organisation"),
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=services.REASON_MAX_LENGTH, required=False, help_text=_("No names.")
    )

    def __init__(self, *args, from_site_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        # The selected cards' own site is no target when they share one: the service refuses a
        # move to the site a card is at. Cards of several sites may each go to another's site.
        self.fields["to_site"].queryset = self.fields["to_site"].queryset.exclude(pk__in=from_site_ids)


@admin.register(Card)
class CardAdmin(ScaledListMixin, ReadOnlyAdminMixin, ReadableHistoryAdmin):
    list_display = ["number", "kind", "status", "site", "valid_until", "mobile_enabled"]
    list_filter = ["kind", "status", "mobile_enabled", "site__municipality__region"]
    search_fields = ["number", "holder__account__email"]  # see get_search_results
    sortable_by = ["number"]  # its unique index
    list_select_related = ["site__organisation"]
    inlines = [ValidityPeriodInline]
    actions = ["reactivate", "inactivate", "transfer"]

    def get_search_results(self, request, queryset, search_term):
        return _exact_search(queryset, search_term, number="number", email="holder__account__email")

    def _run(self, request, queryset, *, form_class, title, apply):
        """An action that asks for a reason first, then calls a service for each selected card."""
        form = form_class(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            for card in queryset.select_related("site"):
                try:
                    apply(card, form.cleaned_data)
                except ValidationError as error:
                    self.message_user(request, f"{card.number}: {' '.join(error.messages)}", messages.ERROR)
                except PermissionDenied:
                    self.message_user(
                        request, _("%(number)s: not permitted.") % {"number": card.number}, messages.ERROR
                    )
                else:
                    # These services write no admin LogEntry: the security log is where the admin's act shows.
                    security_event("admin.card_action", request=request, action=request.POST["action"], card_id=card.pk)
                    self.message_user(request, _("%(number)s: done.") % {"number": card.number}, messages.SUCCESS)
            return None
        return TemplateResponse(
            request,
            "admin/cards/card_action.html",
            {
                **self.admin_site.each_context(request),
                "title": title,
                "form": form,
                "cards": queryset,
                "action": request.POST.get("action"),
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            },
        )

    @admin.action(description=_("Reactivate the selected inactive cards"))
    def reactivate(self, request, queryset):
        return self._run(
            request,
            queryset,
            form_class=ReactivateForm,
            title=_("Reactivate cards"),
            apply=lambda card, data: services.card_reactivate(card=card, actor=request.user, reason=data["reason"]),
        )

    @admin.action(description=_("Inactivate the selected cards"))
    def inactivate(self, request, queryset):
        return self._run(
            request,
            queryset,
            form_class=CardInactivateForm,
            title=_("Inactivate cards"),
            apply=lambda card, data: services.card_inactivate(
                card=card,
                actor=request.user,
                reason=data["reason"],
                note=data["note"],
                history_reason=services.REASON_INACTIVATED_BY_ADMIN,
            ),
        )

    @admin.action(description=_("Move the selected cards to another site"))
    def transfer(self, request, queryset):
        sites = list(queryset.order_by().values_list("site_id", flat=True).distinct()[:2])
        return self._run(
            request,
            queryset,
            form_class=lambda data: TransferForm(data, from_site_ids=sites if len(sites) == 1 else ()),
            title=_("Move cards to another site"),
            apply=lambda card, data: services.card_transfer(
                card=card, to_site=data["to_site"], actor=request.user, reason=data["reason"]
            ),
        )


@admin.register(CardUse)
class CardUseAdmin(ScaledListMixin, ReadOnlyAdminMixin, ReadableHistoryAdmin):
    list_display = ["card", "venue", "used_on", "category", "child_tickets", "source", "cancelled_at"]
    list_filter = ["category", "source", "used_on"]
    search_fields = ["card__number"]  # see get_search_results
    search_help_text = _("A whole card number (spaces, dashes and case do not matter).")
    list_select_related = ["card", "venue__organisation"]

    def get_search_results(self, request, queryset, search_term):
        return _exact_search(queryset, search_term, number="card__number")


@admin.register(CardNumberCounter)
class CardNumberCounterAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Lowering a counter would hand out a number again.
    list_display = ["prefix", "last_value"]
