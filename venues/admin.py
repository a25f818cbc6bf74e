from django.contrib import admin

from accounts.history import ReadableHistoryAdmin
from cards.models import Offer

from .forms import OfferAdminForm


@admin.register(Offer)
class OfferAdmin(ReadableHistoryAdmin):
    # The venue's own rules (a venue site, a web address only, the Finnish title, the dates).
    form = OfferAdminForm
    list_display = ["title_fi", "venue", "category", "starts_on", "ends_on", "visible"]
    list_filter = ["visible", "category", "venue__municipality__region"]
    search_fields = ["title_fi", "title_sv", "title_en", "venue__name"]
    list_select_related = ["venue__organisation"]
    raw_id_fields = ["venue"]
    date_hierarchy = "starts_on"
