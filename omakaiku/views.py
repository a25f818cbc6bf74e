import json
from typing import NamedTuple

from allauth.account.views import LoginView, PasswordResetView
from allauth.core.internal import ratelimit
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse, reverse_lazy
from django.utils import timezone, translation
from django.utils.http import base36_to_int
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe

from accounts.languages import mail_link_language, remember_mail_language
from accounts.models import User
from accounts.security_log import security_event
from accounts.tokens import invitation_token_generator, link_user_lock
from accounts.views import CLEAR_SITE_DATA
from cards.models import Card

from . import selectors, services
from .codes import code39_svg, qr_svg
from .forms import HolderPasswordChangeForm, HolderPreferencesForm, HolderSetPasswordForm, OfferFilter
from .models import HolderPreferences
from .permissions import holder_required

PAGE_SIZE = 20
# As in Django's PasswordResetConfirmView: the token moves from the URL into the session
# and the browser is redirected, so the token never leaks through the Referer header.
INTERNAL_TOKEN = "set-password"
SESSION_TOKEN_KEY = "_omakaiku_set_password_token"


class HolderLoginView(LoginView):
    template_name = "omakaiku/login.html"

    def dispatch(self, request, *args, **kwargs):
        # Tells the account adapter that only holder accounts may log in here.
        request.login_portal = User.Kind.HOLDER
        already_in = request.user.is_authenticated  # allauth sends such a request on without a login
        response = super().dispatch(request, *args, **kwargs)
        if request.method == "POST" and not already_in and request.user.is_authenticated:
            # A mobile card stored by someone before (whose session ended without a logout) is
            # not for this person: a login on this device starts with nothing stored.
            response["Clear-Site-Data"] = CLEAR_SITE_DATA
        return response


class HolderPasswordResetView(PasswordResetView):
    template_name = "omakaiku/password_reset.html"
    success_url = reverse_lazy("omakaiku:password_reset_done")

    def dispatch(self, request, *args, **kwargs):
        # Tells the account adapter to mail holder accounts only: a staff address typed here
        # gets nothing, as an unknown one.
        request.login_portal = User.Kind.HOLDER
        return super().dispatch(request, *args, **kwargs)


def password_reset_done(request: HttpRequest) -> HttpResponse:
    return render(request, "omakaiku/password_reset_done.html")


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, _("You have logged out."))
    response = redirect("omakaiku:login")
    # The mobile card kept for offline use goes too: the next person on this phone sees nothing.
    response["Clear-Site-Data"] = CLEAR_SITE_DATA
    return response


def _user_from_uid(uidb36: str) -> User | None:
    try:
        return User.objects.get(pk=base36_to_int(uidb36), kind=User.Kind.HOLDER, is_active=True)
    except (ValueError, OverflowError, User.DoesNotExist):
        return None


@require_http_methods(["GET", "HEAD", "POST"])
def activate(request: HttpRequest, uidb36: str, key: str) -> HttpResponse:
    """Set the password from an invitation (first time) or a reset link.

    GET (and HEAD, which link checkers send) only shows the form (mail scanners open links);
    POST sets the password and logs in.
    """
    # GETs count too: they are where a guessed token would be tried.
    if not ratelimit.consume(request, app="allauth.account", action="reset_password_from_key", limit_get=True):
        return ratelimit.respond_429(request)
    user = _user_from_uid(uidb36)
    if key != INTERNAL_TOKEN:
        if user is not None and invitation_token_generator.check_token(user, key):
            request.session[SESSION_TOKEN_KEY] = key
            return redirect("omakaiku:activate", uidb36=uidb36, key=INTERNAL_TOKEN)
        return _link_used(request, user)
    token = request.session.get(SESSION_TOKEN_KEY)
    if user is None or not token or not invitation_token_generator.check_token(user, token):
        return _link_used(request, user)

    first_time = user.activated_at is None
    # The form, its errors (the password validators translate as they check) and the page
    # continue in the language of the mail the link came in (accounts/languages.py), and so do
    # the pages after it on this device once the password is set.
    with translation.override(mail_link_language(request, user) or get_language()):
        form = HolderSetPasswordForm(user, request.POST or None, first_time=first_time)
        if request.method != "POST" or not form.is_valid():
            response = render(request, "omakaiku/activate.html", {"form": form, "first_time": first_time})
            response["Content-Language"] = get_language()
            return response
    user = link_user_lock(user_id=user.pk, token=token)
    if user is None:  # used a moment ago, by a second click or another device
        return render(request, "omakaiku/activate_invalid.html", status=400)
    services.holder_password_set(user=user, password=form.cleaned_data["new_password1"])
    del request.session[SESSION_TOKEN_KEY]
    security_event("account.activated" if first_time else "password.reset_completed", request=request, user=user)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    # OmaKaiku's home, and this device's pages after it, continue in the mail's language.
    with translation.override(mail_link_language(request, user) or get_language()):
        messages.success(request, _("Welcome to OmaKaiku! Your password is set."))
    response = remember_mail_language(request, redirect("omakaiku:home"), user)
    # A login, as the login form's (HolderLoginView): a mobile card someone else stored on this
    # device is not for this person. Most holders log in for the first time here.
    response["Clear-Site-Data"] = CLEAR_SITE_DATA
    return response


def _link_used(request: HttpRequest, user: User | None) -> HttpResponse:
    """A link that no longer works: to its own holder, signed in after using it a moment ago,
    OmaKaiku itself (a link opened again is no dead end); to anyone else, what to do."""
    if user is not None and request.user.is_authenticated and request.user.pk == user.pk and user.activated_at:
        messages.info(request, _("Your password is already set, and you are logged in."))
        return redirect("omakaiku:home")
    return render(request, "omakaiku/activate_invalid.html", status=400)


def privacy(request: HttpRequest) -> HttpResponse:
    return render(request, "omakaiku/privacy.html", {"contact_email": settings.SERVICE_CONTACT_EMAIL})


@holder_required
def home(request: HttpRequest) -> HttpResponse:
    holder = selectors.holder_for_user(user=request.user)
    cards = [(card, selectors.card_kind_label(card)) for card in selectors.holder_card_list(holder=holder)]
    # A holder with only mobile cards (X, Z) has no printed card to compare with.
    has_printed = any(card.kind == Card.Kind.PHYSICAL for card, _label in cards)
    # An old card beside the one in use asks for no new card.
    has_active = any(card.status == Card.Status.ACTIVE for card, _label in cards)
    return render(
        request,
        "omakaiku/home.html",
        {"holder": holder, "cards": cards, "has_printed": has_printed, "has_active": has_active},
    )


@holder_required
def uses(request: HttpRequest) -> HttpResponse:
    holder = selectors.holder_for_user(user=request.user)
    page = Paginator(selectors.holder_uses(holder=holder), PAGE_SIZE).get_page(request.GET.get("page"))
    selectors.uses_name_ended_cards(uses=page.object_list)
    totals = selectors.holder_use_totals(holder=holder)
    return render(request, "omakaiku/uses.html", {"page": page, "totals": totals, "holder": holder})


class OfferText(NamedTuple):
    text: str
    # "fi" for the Finnish text shown in place of a missing translation, so that its element
    # says so (WCAG 3.1.2: screen readers read it with Finnish rules); else "" (the page's language).
    lang: str


def _offer_text(offer, field: str, language: str) -> OfferText:
    text = getattr(offer, f"{field}_in")(language)  # the page's language, else Finnish (Offer._localised)
    fallback = bool(text) and language != "fi" and not getattr(offer, f"{field}_{language}", "")
    return OfferText(text, "fi" if fallback else "")


def _offer_location(offer) -> str:
    """Where in the venue, unless it only repeats the venue (venues often type their own name)."""
    location = " ".join(offer.location.split())
    venue = offer.venue
    if location.casefold() in {venue.name.casefold(), f"{venue.name}, {venue.municipality}".casefold()}:
        return ""
    return location


@holder_required
def offers(request: HttpRequest) -> HttpResponse:
    holder = selectors.holder_for_user(user=request.user)
    current = selectors.offers_current()
    offer_filter = OfferFilter(request.GET, queryset=current)
    # A choice the filter does not know (a municipality with no current offer, as the home
    # municipality's link may ask for, or an edited address) matches nothing: django-filter
    # would drop it and list every offer in the country as if they were there.
    offers_found = offer_filter.qs if offer_filter.is_valid() else current.none()
    page = Paginator(offers_found, PAGE_SIZE).get_page(request.GET.get("page"))
    chosen = offer_filter.form.cleaned_data
    # The filter bar's cache key: the valid choices only (any other value renders as "All"),
    # so an edited address cannot add rows to the cache.
    filter_key = f"{chosen.get('category') or ''}-{getattr(chosen.get('municipality'), 'pk', '')}"
    language = get_language()
    home = holder.municipality
    items = [
        {
            "offer": offer,
            "title": _offer_text(offer, "title", language),
            "description": _offer_text(offer, "description", language),
            "conditions": _offer_text(offer, "conditions", language),
            "accessibility": _offer_text(offer, "accessibility", language),
            "booking": _offer_text(offer, "booking", language),
            "location": _offer_location(offer),
            # Near: in the holder's home municipality, or elsewhere in its region.
            "near": "home"
            if home and offer.venue.municipality_id == home.pk
            else ("region" if home and offer.venue.municipality.region_id == home.region_id else ""),
        }
        for offer in page.object_list
    ]
    return render(
        request,
        "omakaiku/offers.html",
        {
            "filter": offer_filter,
            "filter_key": filter_key,
            "page": page,
            "items": items,
            "home": home,
            # The home municipality's link when it has no current offer: its filter bar shows
            # "All" (only municipalities with offers are choices), so the page says what was asked.
            "home_asked_in_vain": home is not None and not items and request.GET.get("municipality") == str(home.pk),
            "filtered": bool(request.GET.get("category") or request.GET.get("municipality")),
        },
    )


@holder_required
def mobile_card(request: HttpRequest, pk: int) -> HttpResponse:
    holder = selectors.holder_for_user(user=request.user)
    card = selectors.holder_card_get(holder=holder, pk=pk)
    if not selectors.card_mobile_shown(card=card):
        # Not 200, so that the service worker forgets a stored copy of the card (omakaiku/sw.js).
        return render(request, "omakaiku/no_mobile.html", {"card": card}, status=404)
    context = {
        "card": card,
        "holder": holder,
        "qr": qr_svg(card.number),
        "barcode": code39_svg(card.number),
        "loaded_at": timezone.localtime(),
    }
    response = render(request, "omakaiku/mobile_card.html", context)
    # A stale copy would show an old validity: always fetch anew.
    response["Cache-Control"] = "no-store"
    return response


@holder_required
def my_data(request: HttpRequest) -> HttpResponse:
    holder = selectors.holder_for_user(user=request.user)
    data = selectors.holder_data_export(holder=holder)
    cancelled = sum(1 for use in data["uses"] if use["cancelled"])
    context = {"holder": holder, "data": data, "uses": len(data["uses"]) - cancelled, "cancelled_uses": cancelled}
    return render(request, "omakaiku/my_data.html", context)


@holder_required
@require_GET
def my_data_download(request: HttpRequest) -> HttpResponse:
    holder = selectors.holder_for_user(user=request.user)
    data = selectors.holder_data_export(holder=holder)
    security_event("my_data.downloaded", request=request, user=request.user)
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="omakaiku-my-data.json"'
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def manifest(request: HttpRequest) -> JsonResponse:
    """Lets a phone add OmaKaiku to its home screen."""
    return JsonResponse(
        {
            "name": "OmaKaiku",
            "short_name": "OmaKaiku",
            "start_url": reverse(settings.HOLDER_HOME_URL),
            "scope": reverse(settings.HOLDER_HOME_URL),
            "display": "standalone",
            "background_color": "#ffffff",
            "theme_color": "#5b2a86",
            "icons": [
                {"src": static("omakaiku/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
                {"src": static("omakaiku/icon-192.png"), "sizes": "192x192", "type": "image/png"},
                {"src": static("omakaiku/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            ],
        },
        content_type="application/manifest+json",
    )


def _settings_page(request: HttpRequest, *, preferences_form=None, password_form=None) -> HttpResponse:
    user = request.user
    if preferences_form is None:
        preferences = HolderPreferences.for_user(user)
        preferences_form = HolderPreferencesForm(
            initial={"language": user.language, "expiry_reminders": preferences.expiry_reminders}
        )
    context = {
        "preferences_form": preferences_form,
        "password_form": password_form or HolderPasswordChangeForm(user),
    }
    return render(request, "omakaiku/settings.html", context)


@holder_required
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    """The language of emails and the expiry reminders; the password form posts to ``password_change``."""
    if request.method != "POST":
        return _settings_page(request)
    form = HolderPreferencesForm(request.POST)
    if not form.is_valid():
        return _settings_page(request, preferences_form=form)
    services.holder_preferences_set(
        user=request.user,
        language=form.cleaned_data["language"],
        expiry_reminders=form.cleaned_data["expiry_reminders"],
    )
    messages.success(request, _("Your email settings are saved."))
    return redirect("omakaiku:settings")


@holder_required
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("omakaiku:settings")
    # allauth's limit for password changes (5 a minute per user): the current password cannot be guessed here.
    if not ratelimit.consume(request, app="allauth.account", action="change_password"):
        return ratelimit.respond_429(request)
    form = HolderPasswordChangeForm(request.user, request.POST)
    if not form.is_valid():
        return _settings_page(request, password_form=form)
    user = services.holder_password_set(user=request.user, password=form.cleaned_data["new_password1"])
    # Other sessions have ended (the old password may have leaked); this one goes on.
    update_session_auth_hash(request, user)
    security_event("password.changed", request=request, user=user)
    messages.success(request, _("Your password is changed. You were logged out everywhere else."))
    return redirect("omakaiku:settings")
