from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from . import services
from .models import Card, CardNumberCounter, CardUse, Holder, Offer


class CardInline(admin.TabularInline):
    model = Card
    extra = 0
    fields = ["number", "kind", "status", "site", "valid_until", "mobile_enabled"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Holder)
class HolderAdmin(SimpleHistoryAdmin):
    list_display = ["pk", "kind", "birth_year", "municipality", "children_count", "created_at"]
    list_filter = ["kind", "municipality__region"]
    list_select_related = ["municipality"]
    search_fields = ["cards__number", "organisation_name"]
    raw_id_fields = ["account"]
    inlines = [CardInline]


@admin.register(Card)
class CardAdmin(SimpleHistoryAdmin):
    list_display = ["number", "kind", "status", "site", "valid_until", "mobile_enabled"]
    list_filter = ["kind", "status", "mobile_enabled", "site__municipality__region"]
    search_fields = ["number"]
    list_select_related = ["site__organisation"]
    raw_id_fields = ["holder", "site"]
    readonly_fields = ["created_at", "updated_at"]
    actions = ["reactivate"]

    @admin.action(description=_("Reactivate the selected inactive cards"))
    def reactivate(self, request, queryset):
        # Through the service, so the one-active-card rule and the history hold in the admin too.
        for card in queryset:
            try:
                services.card_reactivate(
                    card=card, actor=request.user, reason=str(_("Reactivated by an administrator"))
                )
            except ValidationError as error:
                self.message_user(request, f"{card.number}: {' '.join(error.messages)}", messages.ERROR)
            else:
                self.message_user(request, _("%(number)s reactivated.") % {"number": card.number})


@admin.register(CardUse)
class CardUseAdmin(SimpleHistoryAdmin):
    list_display = ["card", "venue", "used_on", "category", "child_tickets", "source", "cancelled_at"]
    list_filter = ["category", "source", "used_on"]
    search_fields = ["card__number"]
    list_select_related = ["card", "venue__organisation"]
    raw_id_fields = ["card", "venue", "recorded_by"]
    date_hierarchy = "used_on"


@admin.register(CardNumberCounter)
class CardNumberCounterAdmin(admin.ModelAdmin):
    list_display = ["prefix", "last_value"]

    def has_change_permission(self, request, obj=None):
        # Lowering a counter would hand out a number again.
        return False


@admin.register(Offer)
class OfferAdmin(SimpleHistoryAdmin):
    list_display = ["title_fi", "venue", "category", "starts_on", "ends_on", "visible"]
    list_filter = ["visible", "category", "venue__municipality__region"]
    search_fields = ["title_fi", "title_sv", "title_en", "venue__name"]
    list_select_related = ["venue__organisation"]
    raw_id_fields = ["venue"]
    date_hierarchy = "starts_on"
