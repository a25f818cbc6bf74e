from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from .models import Municipality, Organisation, Region, RegionalCoordinator, Site, SiteMembership, User


class SiteMembershipInline(admin.TabularInline):
    model = SiteMembership
    extra = 0
    autocomplete_fields = ["site"]


class RegionalCoordinatorInline(admin.TabularInline):
    model = RegionalCoordinator
    extra = 0


@admin.register(User)
class UserAdmin(DjangoUserAdmin, SimpleHistoryAdmin):
    ordering = ["email"]
    list_display = ["email", "kind", "is_active", "is_staff", "invited_at", "activated_at", "last_login"]
    list_filter = ["kind", "is_active", "is_staff", "is_superuser"]
    search_fields = ["email"]
    readonly_fields = ["invited_at", "activated_at", "last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["email", "password", "kind", "language"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        (_("Dates"), {"fields": ["invited_at", "activated_at", "last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "kind", "password1", "password2"]})]
    inlines = [SiteMembershipInline, RegionalCoordinatorInline]


class MunicipalityInline(admin.TabularInline):
    model = Municipality
    extra = 0


@admin.register(Region)
class RegionAdmin(SimpleHistoryAdmin):
    list_display = ["name"]
    search_fields = ["name"]
    inlines = [MunicipalityInline]


@admin.register(Municipality)
class MunicipalityAdmin(SimpleHistoryAdmin):
    list_display = ["name", "region"]
    list_filter = ["region"]
    search_fields = ["name"]
    list_select_related = ["region"]


@admin.register(Organisation)
class OrganisationAdmin(SimpleHistoryAdmin):
    list_display = ["name"]
    search_fields = ["name"]


@admin.register(Site)
class SiteAdmin(SimpleHistoryAdmin):
    list_display = ["name", "organisation", "kind", "municipality", "is_active"]
    list_filter = ["kind", "is_active", "municipality__region"]
    search_fields = ["name", "organisation__name"]
    list_select_related = ["organisation", "municipality"]
    autocomplete_fields = ["organisation"]
    inlines = [SiteMembershipInline]


@admin.register(SiteMembership)
class SiteMembershipAdmin(SimpleHistoryAdmin):
    list_display = ["user", "site", "created_at"]
    list_filter = ["site__kind"]
    search_fields = ["user__email", "site__name"]
    list_select_related = ["user", "site__organisation"]
    autocomplete_fields = ["user", "site"]


@admin.register(RegionalCoordinator)
class RegionalCoordinatorAdmin(SimpleHistoryAdmin):
    list_display = ["user", "region"]
    list_filter = ["region"]
    search_fields = ["user__email"]
    list_select_related = ["user", "region"]
    autocomplete_fields = ["user"]
