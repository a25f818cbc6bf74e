import re
from importlib import import_module

from allauth.account.models import EmailAddress
from allauth.mfa.base.internal.flows import delete_dangling_recovery_codes
from allauth.mfa.models import Authenticator
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.db import connections
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_tasks_db.models import DBTaskResult

from . import services
from .forms import CleanTextMixin, ModelForm
from .history import ReadableHistoryAdmin
from .models import (
    AuthenticatorRecord,
    Municipality,
    Organisation,
    Region,
    RegionalCoordinator,
    Site,
    SiteMembership,
    User,
)
from .security_log import security_event

# Every admin form is one of the project's forms (``form = ModelForm``, the user forms below):
# text typed or pasted here is cleaned as in Kaikukanta's own forms (no NUL byte, no invisible
# or bidirectional control character, NFC), so the admin is no way around that rule.


class UserChangeForm(CleanTextMixin, auth_forms.UserChangeForm):
    pass


class UserCreationForm(CleanTextMixin, auth_forms.AdminUserCreationForm):
    pass


class IdAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete box, shown again after a refused form without looking up what is
    no id: Django asked the database for the typed text (``pk__in=["abc"]``) and answered 500."""

    def optgroups(self, name, value, attr=None):
        target = self.field.target_field
        low, high = connections[self.db or "default"].ops.integer_field_range(target.get_internal_type())
        ids = [v for v in value if re.fullmatch(r"[0-9]{1,19}", str(v)) and low <= int(v) <= high]
        return super().optgroups(name, ids, attr)


class IdAutocompleteMixin:
    """For every admin and inline with ``autocomplete_fields`` (a test makes sure of it)."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = IdAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class SiteMembershipInline(IdAutocompleteMixin, admin.TabularInline):
    form = ModelForm
    model = SiteMembership
    extra = 0
    # Both searched as typed: a select of every user wrote each account into the site's page
    # (38 s at 200,000 accounts); on the user's page the user is the parent and not a field.
    autocomplete_fields = ["user", "site"]


class RegionalCoordinatorInline(admin.TabularInline):
    form = ModelForm
    model = RegionalCoordinator
    extra = 0


@admin.register(User)
class UserAdmin(DjangoUserAdmin, ReadableHistoryAdmin):
    form = UserChangeForm
    add_form = UserCreationForm

    @admin.display(description=_("invitation email"))
    def invitation_state(self, obj):
        delivery = obj.invitation
        return delivery.get_state_display() if delivery else "–"

    ordering = ["email"]
    list_display = ["email", "kind", "is_active", "is_staff", "invited_at", "activated_at", "last_login"]
    list_filter = ["kind", "is_active", "is_staff"]
    search_fields = ["email"]
    readonly_fields = ["invited_at", "invitation_state", "activated_at", "last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["email", "password", "kind", "language"]}),
        # No groups or per-user permissions: roles come from sites and regions (see the end of this file).
        # is_superuser follows is_staff (the user_admin_is_superuser constraint): one kind of admin.
        (_("Permissions"), {"fields": ["is_active", "is_staff"]}),
        (_("Dates"), {"fields": ["invited_at", "invitation_state", "activated_at", "last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "kind", "password1", "password2"]})]
    inlines = [SiteMembershipInline, RegionalCoordinatorInline]

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "kind":
            # Only staff logins are made here: a holder's login is made by their distributor
            # activating OmaKaiku, which links it to the holder and sends the invitation.
            kwargs["choices"] = [(User.Kind.STAFF.value, User.Kind.STAFF.label)]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.pk == request.user.pk:
            # Nobody takes away their own admin access or login: the last admin would lock
            # everyone out, and another admin is there to do it when it is meant.
            fields += ["is_active", "is_staff"]
        if obj is not None:
            # A login stays on its side: a staff account never becomes a holder's, nor back.
            fields.append("kind")
            if obj.is_holder:
                # A holder's address changes only through their distributor, which keeps the
                # history, the allauth address and the sessions right; a holder's login is never
                # an administrator's (the user_holder_not_admin constraint).
                fields += ["email", "is_staff"]
                # Switched off here, the login would leave the holder's mobile card unusable
                # while their distributor's page still said "in use", with nothing to mend it
                # (no reset mail reaches a switched-off login): OmaKaiku is closed by the
                # managing site (card_omakaiku_close) or, unused for 24 months, by the dormant job.
                fields.append("is_active")
        return fields

    def user_change_password(self, request, id, form_url=""):
        """A holder chooses their own password through the single-use link of their email: an
        administrator who set one could log in to OmaKaiku as the holder and read their data."""
        user = self.get_object(request, unquote(id))
        if user is not None and user.is_holder:
            messages.error(
                request,
                _(
                    "A cardholder's OmaKaiku password is chosen by the cardholder only: their distributor "
                    "can send the invitation again, or the cardholder can use Forgotten password."
                ),
            )
            return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[user.pk]))
        return super().user_change_password(request, id, form_url)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "email" in form.changed_data:
            services.user_login_address_follow(user=obj)

    def get_inlines(self, request, obj):
        # A cardholder's login has no sites or regions (SiteMembership.clean, RegionalCoordinator.clean).
        if obj is not None and obj.is_holder:
            return []
        return super().get_inlines(request, obj)

    def get_actions(self, request, action_location=admin.ActionLocation.CHANGE_LIST):
        # No bulk delete: a holder's login is closed by their distributor (it erases every
        # copy of the address), a staff account one at a time.
        actions = super().get_actions(request, action_location)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_holder:
            return False
        if obj is not None and obj.pk == request.user.pk:
            return False  # as with admin access: nobody deletes their own login (the last admin)
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        # Every copy of the address goes, as when a service erases a login: its history rows
        # and the admin's own log lines name it.
        services.user_erase(user=obj)


class MunicipalityInline(admin.TabularInline):
    form = ModelForm
    model = Municipality
    extra = 0


@admin.register(Region)
class RegionAdmin(ReadableHistoryAdmin):
    form = ModelForm
    list_display = ["name", "name_sv"]
    search_fields = ["name", "name_sv"]
    inlines = [MunicipalityInline]


@admin.register(Municipality)
class MunicipalityAdmin(ReadableHistoryAdmin):
    form = ModelForm
    list_display = ["name", "name_sv", "region"]
    list_filter = ["region"]
    search_fields = ["name", "name_sv"]
    list_select_related = ["region"]


@admin.register(Organisation)
class OrganisationAdmin(ReadableHistoryAdmin):
    form = ModelForm
    list_display = ["name"]
    search_fields = ["name"]


@admin.register(Site)
class SiteAdmin(IdAutocompleteMixin, ReadableHistoryAdmin):
    form = ModelForm
    list_display = ["name", "organisation", "kind", "municipality", "is_active"]
    list_filter = ["kind", "is_active", "municipality__region"]
    search_fields = ["name", "organisation__name"]
    list_select_related = ["organisation", "municipality"]
    autocomplete_fields = ["organisation"]
    inlines = [SiteMembershipInline]

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if request.GET.get("model_name") == SiteMembership._meta.model_name:
            # Choosing a site for a membership: a closed site takes no new staff
            # (SiteMembership.clean refuses it), so it is not offered.
            queryset = queryset.filter(is_active=True)
        return queryset, may_have_duplicates


@admin.register(SiteMembership)
class SiteMembershipAdmin(IdAutocompleteMixin, ReadableHistoryAdmin):
    form = ModelForm
    list_display = ["user", "site", "created_at"]
    list_filter = ["site__kind"]
    search_fields = ["user__email", "site__name"]
    list_select_related = ["user", "site__organisation"]
    autocomplete_fields = ["user", "site"]


@admin.register(RegionalCoordinator)
class RegionalCoordinatorAdmin(IdAutocompleteMixin, ReadableHistoryAdmin):
    form = ModelForm
    list_display = ["user", "region"]
    list_filter = ["region"]
    search_fields = ["user__email"]
    list_select_related = ["user", "region"]
    autocomplete_fields = ["user"]


@admin.register(AuthenticatorRecord)
class AuthenticatorAdmin(admin.ModelAdmin):
    """A lost phone's authenticator is removed here; the person sets up a new one at their next
    login. Nothing is added or edited by hand, and the secret (``data``) is never shown."""

    form = ModelForm
    list_display = ["user_email", "kind", "created", "last_used"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
    fields = ["user_email", "kind", "created", "last_used"]
    readonly_fields = fields

    def lookup_allowed(self, lookup, value, request=None):
        # Django lets a list filter on any field of the model from the address, the secret's JSON
        # keys too: ?data__secret__startswith=K, a letter at a time, would read out every secret.
        if lookup.split("__", 1)[0] == "data":
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        # A few hundred people have an authenticator: their addresses are read, not every user's
        # (PostgreSQL's estimate for LIKE chose to scan all users, 150 ms at 200,000 accounts).
        owners = queryset.values_list("user_id", flat=True)
        matching = User.objects.filter(pk__in=list(owners), email__icontains=term).values_list("pk", flat=True)
        return queryset.filter(user_id__in=list(matching)), False

    @admin.display(description=_("user"), ordering="user__email")
    def user_email(self, obj):
        return obj.user.email

    @admin.display(description=_("kind"), ordering="type")
    def kind(self, obj):
        return obj.get_type_display()

    @admin.display(description=_("added"), ordering="created_at")
    def created(self, obj):
        return obj.created_at

    @admin.display(description=_("last used"), ordering="last_used_at")
    def last_used(self, obj):
        return obj.last_used_at

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        self._removed_log(request, [obj])
        super().delete_model(request, obj)
        self._dangling_codes_delete(request, [obj.user])

    def delete_queryset(self, request, queryset):
        authenticators = list(queryset.select_related("user"))
        self._removed_log(request, authenticators)
        super().delete_queryset(request, queryset)
        self._dangling_codes_delete(request, {authenticator.user for authenticator in authenticators})

    def _dangling_codes_delete(self, request, users):
        # A lost phone's recovery codes go with it, as when people remove their authenticator
        # themselves: left behind, a password alone could read them before a new phone is set
        # up, and they would still sign in after it.
        for user in users:
            removed = delete_dangling_recovery_codes(user)
            if removed is not None:
                self._removed_log(request, [removed])

    @staticmethod
    def _removed_log(request, authenticators):
        # As when the person removes it themselves: operators alert on every ``mfa.removed``, and
        # the admin's own ``admin.deleted`` line names only the model.
        for authenticator in authenticators:
            security_event(
                "mfa.removed",
                request=request,
                user=authenticator.user,
                authenticator_type=str(authenticator.type),
                authenticator_id=authenticator.pk,
                removed_by_admin=request.user.pk,
            )


# Addresses change only through the services (the email is the login and the holder's personal
# data); groups and per-user permissions are not used: roles come from sites and regions.
admin.site.unregister(EmailAddress)
admin.site.unregister(Authenticator)
admin.site.unregister(Group)
# The mail queue's task results (django-tasks-db) are the operators' concern, not the national
# admin's: whether an invitation reached its person is shown in words on the user's page (and
# a site's staff list). The results' own pages were English (app name, columns, statuses,
# Python paths, tracebacks) and showed each task's arguments; the operators watch the queue
# with the queries in docs/deploy.md. Its admin module is imported here first: the app comes
# after this one in INSTALLED_APPS (for db_worker), and would otherwise register them after this.
import_module("django_tasks_db.admin")
admin.site.unregister(DBTaskResult)
