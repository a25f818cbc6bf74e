from allauth.account.views import LogoutView as AllauthLogoutView
from allauth.account.views import PasswordResetFromKeyView
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce, Lower
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from . import services
from .forms import MailLanguageForm, SiteCreateForm, StaffInviteForm, add_service_errors
from .languages import mail_link_language, remember_mail_language
from .mfa import totp_enabled
from .models import Site, SiteMembership, User
from .permissions import coordinated_region_ids, coordinator_required, staff_required
from .sessions import session_mark_refreshed, session_seconds_left
from .tokens import link_user_lock


def home(request: HttpRequest) -> HttpResponse:
    """Send everyone to the room they work in."""
    user = request.user
    if not user.is_authenticated:
        return redirect("account_login")
    if user.is_holder:
        # A holder reaches "/" from the brand link of a shared page (public statistics, help) or
        # from "Back to the front page" on an error page: their front page is OmaKaiku's.
        return redirect("omakaiku:home")
    return _staff_home(request)


@require_POST
def session_keepalive(request: HttpRequest) -> JsonResponse:
    """The warning's "Stay logged in" before an idle session ends, and the page's own signal that
    someone is typing or clicking (static/js/app.js). Answers how long the session now
    lives; it prolongs only the caller's own session, for staff and holders alike."""
    if not request.user.is_authenticated:
        return JsonResponse({"seconds_left": 0}, status=401)
    session_mark_refreshed(request.session)
    return JsonResponse({"seconds_left": session_seconds_left(request.session)})


@staff_required
@require_http_methods(["GET", "POST"])
def account_settings(request: HttpRequest) -> HttpResponse:
    """A staff person's own account: the language of their emails (first chosen by whoever
    invited them), and the way to their password and two-step verification."""
    user = request.user
    form = MailLanguageForm(request.POST if request.method == "POST" else None, initial={"language": user.language})
    if request.method == "POST" and form.is_valid():
        try:
            services.user_mail_language_set(user=user, language=form.cleaned_data["language"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The language of your emails is saved."))
            return redirect("account_settings")
    return render(request, "accounts/account_settings.html", {"form": form, "totp": totp_enabled(user)})


@staff_required
def _staff_home(request: HttpRequest) -> HttpResponse:
    from .context_processors import Roles

    roles = Roles(request.user)
    if roles.distributor:
        return redirect("cards:list")
    if roles.venue:
        return redirect(settings.VENUE_HOME_URL)
    if roles.coordinator:
        return redirect("accounts:region")
    if roles.admin:
        return redirect("admin:index")
    # No open site: a person whose sites have all closed is told so, by the site's name, rather
    # than that they were never added to one (read only here: everyone else left above).
    closed_sites = (
        Site.objects.filter(memberships__user=request.user, is_active=False)
        .select_related("organisation", "municipality__region")
        .order_by(Lower("name"), "pk")
    )
    return render(request, "accounts/no_role.html", {"closed_sites": list(closed_sites)})


# A site's active cards are counted up to this and shown as "over 10,000" beyond it: the region
# page reads at most this many index entries per site, however large the register grows (a site
# has a few hundred; an exact count at 333,000 cards a site took 0.4 s).
CARD_COUNT_CAP = 10_000


class _CappedCount(Subquery):
    """The rows of a correlated subquery, counted up to its LIMIT."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) capped)"
    output_field = IntegerField()


def _count_per_site(queryset, *, cap: int | None = None):
    """A correlated COUNT per site: two counts joined in one GROUP BY would multiply each other."""
    if cap is not None:
        return _CappedCount(queryset.filter(site=OuterRef("pk")).order_by().values("pk")[: cap + 1])
    counts = queryset.filter(site=OuterRef("pk")).order_by().values("site").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


def _region_sites(user: User):
    return Site.objects.filter(municipality__region_id__in=coordinated_region_ids(user)).select_related(
        "organisation", "municipality__region"
    )


def _region_sites_counted(user: User):
    # The card model lives in a higher app; reach it through the relation, not an import.
    card_model = Site._meta.get_field("issued_cards").related_model
    return (
        _region_sites(user)
        .annotate(
            staff_count=_count_per_site(SiteMembership.objects.all()),
            card_count=_count_per_site(card_model.objects.filter(status="active"), cap=CARD_COUNT_CAP),
        )
        # As a reader looks the list up: by the name shown first ("Aikuissosiaalityö (Tampereen
        # kaupunki)"), whatever its case. The database's own order put "Tampereen Teatteri Oy"
        # before "Tampereen kaupunki" (capitals first) and sorted by the organisation in brackets.
        .order_by(Lower("municipality__region__name"), Lower("name"), Lower("organisation__name"), "pk")
    )


@coordinator_required
def region_home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/region_home.html",
        {
            "sites": _region_sites_counted(request.user),
            "card_count_cap": CARD_COUNT_CAP,
            "card_count_cap_text": number_format(CARD_COUNT_CAP, force_grouping=True),
        },
    )


@coordinator_required
@require_http_methods(["GET", "POST"])
def site_create(request: HttpRequest) -> HttpResponse:
    form = SiteCreateForm(request.POST or None, region_ids=coordinated_region_ids(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            site = services.site_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Site %(name)s was added. Invite its staff next.") % {"name": site.name})
            return redirect("accounts:site", pk=site.pk)
    return render(request, "accounts/site_form.html", {"form": form})


@coordinator_required
@require_http_methods(["GET", "POST"])
def site_detail(request: HttpRequest, pk: int) -> HttpResponse:
    site = get_object_or_404(_region_sites(request.user), pk=pk)
    form = StaffInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.staff_invite(actor=request.user, site=site, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if user.awaits_password:
                messages.success(request, _("The invitation was created. Its delivery is shown in the staff list."))
            else:
                messages.success(
                    request,
                    _(
                        "%(email)s already has a Kaikukanta login and now works for this site too. No invitation was needed."
                    )
                    % {"email": user.email},
                )
            return redirect("accounts:site", pk=site.pk)
    memberships = site.memberships.select_related("user__invitation_delivery").order_by("user__email")
    return render(request, "accounts/site_detail.html", {"site": site, "form": form, "memberships": memberships})


@coordinator_required
@require_http_methods(["GET", "POST"])
def membership_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks first (one click next to an address removed the wrong person); POST removes."""
    membership = get_object_or_404(
        SiteMembership.objects.select_related("site__organisation", "site__municipality", "user"),
        pk=pk,
        site__municipality__region_id__in=coordinated_region_ids(request.user),
    )
    if request.method == "POST":
        services.membership_remove(actor=request.user, membership=membership)
        messages.success(request, _("%(email)s no longer works for this site.") % {"email": membership.user.email})
        return redirect("accounts:site", pk=membership.site_id)
    return render(request, "accounts/membership_remove.html", {"membership": membership})


@coordinator_required
@require_POST
def invitation_resend(request: HttpRequest, pk: int) -> HttpResponse:
    membership = get_object_or_404(
        SiteMembership.objects.select_related("site", "user"),
        pk=pk,
        site__municipality__region_id__in=coordinated_region_ids(request.user),
    )
    try:
        services.staff_invitation_resend(actor=request.user, user=membership.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            # Queued, not yet sent: whether it went out is the staff list's delivery column.
            _(
                "A new invitation to %(email)s was created; earlier invitation links no longer work. "
                "Its delivery is shown in the staff list."
            )
            % {"email": membership.user.email},
        )
    return redirect("accounts:site", pk=membership.site_id)


# What a logout asks the browser to forget: pages kept by OmaKaiku's service worker (the mobile
# card) and anything else stored for this site. The next person on a shared device finds nothing.
CLEAR_SITE_DATA = '"cache", "storage"'


class LogoutView(AllauthLogoutView):
    """allauth's logout (staff pages, the admin, an address typed by hand), forgetting what the
    browser stored as OmaKaiku's logout does: a holder may log out from any page."""

    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)
        response["Clear-Site-Data"] = CLEAR_SITE_DATA
        return response


class StaffSetPasswordView(PasswordResetFromKeyView):
    """allauth's page for Kaikukanta's invitation and reset links, in the language of the mail the
    link came in (``accounts.languages.mail_link_language`` says when and why), its form's
    messages included."""

    def get(self, request, *args, **kwargs):
        return self._in_mail_language(super().get, request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        return self._in_mail_language(self._post_once, request, *args, **kwargs)

    def _post_once(self, request, *args, **kwargs):
        # Checked again under a lock: the same link sent twice at once sets one password; the
        # second is told the link is used, in the mail's language as the form was.
        locked = link_user_lock(user_id=self.reset_user.pk, token=self.key)
        if locked is None:
            return self.render_to_response(self.get_context_data(token_fail=True))
        self.reset_user = locked
        return super().post(request, *args, **kwargs)

    def _in_mail_language(self, handler, request, *args, **kwargs):
        language = mail_link_language(request, self.reset_user) or translation.get_language()
        with translation.override(language):
            response = handler(request, *args, **kwargs)
            if hasattr(response, "render"):
                response.render()  # in this language, not after the override ends
            response.headers.setdefault("Content-Language", language)
        if request.method == "POST" and response.status_code == 302:
            # The password is set: the "log in" page after it stays in the mail's language.
            remember_mail_language(request, response, self.reset_user)
        return response
