"""Request-wide rules: response headers, two-step verification for the powerful, one side per login."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.functional import SimpleLazyObject, empty
from django.utils.translation import gettext as _

from .context_processors import Roles
from .mfa import totp_enabled
from .models import User
from .security_log import throttle_log

# Browser features no Kaikukanta or OmaKaiku page uses are switched off; the camera stays
# available to our own pages because venues will scan cards with it. Only features browsers
# know: an unknown one (such as "bluetooth") puts a warning in the console of every page.
PERMISSIONS_POLICY = ", ".join(
    [
        "camera=(self)",
        "microphone=()",
        "geolocation=()",
        "payment=()",
        "usb=()",
        "serial=()",
        "hid=()",
        "midi=()",
        "magnetometer=()",
        "gyroscope=()",
        "accelerometer=()",
        "display-capture=()",
    ]
)


class SecurityHeadersMiddleware:
    """``Permissions-Policy`` on every response; ``Cache-Control: no-store`` wherever personal data may be.

    Every page a logged-in person sees carries personal data (a card, a holder, an email),
    and the OmaKaiku and account pages carry typed addresses and set-password forms. None of
    it may stay in a shared computer's browser cache or a proxy: the back button after
    logging out must not show it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or self._private_path(request.path_info):
            # no-store alone says it all (nothing is kept anywhere); added to what a view set.
            patch_cache_control(response, no_store=True)
        return response

    @staticmethod
    def _private_path(path: str) -> bool:
        # OmaKaiku's login, reset and set-password pages, and allauth's (all under /accounts/).
        return path.startswith((reverse(settings.HOLDER_HOME_URL), reverse("account_login").removesuffix("login/")))


# allauth's two-step pages open to a staff login that has no authenticator app: setting one up.
MFA_WITHOUT_AUTHENTICATOR_VIEWS = {"mfa_activate_totp", "mfa_index", "mfa_reauthenticate"}
# Pages a person without two-step verification may still open besides those: the password check
# before setting it up, logging out, staying signed in, and switching the language.
MFA_SETUP_VIEWS = {
    "account_logout",
    # Staying signed in while setting it up.
    "session_keepalive",
    "account_reauthenticate",
    "set_language",
    "admin:logout",
    # The public help and accessibility statement stay readable while two-step is being set up.
    "help",
    "accessibility",
    "omakaiku_help",
    "omakaiku_accessibility",
}
# Allauth's staff pages and where a holder finds the same in OmaKaiku (else OmaKaiku's home).
HOLDER_EQUIVALENTS = {
    "account_reset_password": "omakaiku:password_reset",
    "account_change_password": "omakaiku:settings",
    "account_set_password": "omakaiku:password_reset",
}


class AccountRulesMiddleware:
    """Two rules that hold on every page, whichever view serves it.

    - Admins and regional coordinators without an authenticator app are sent to set one up
      before anything else (a password alone must not open the whole register).
    - Holders never see allauth's staff pages (two-step verification, password change):
      they are sent to the same thing in OmaKaiku, or to OmaKaiku's home. (allauth's e-mail
      management is no page at all: kaikukanta/urls.py leaves it out, a 404 for everyone.)
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        throttle_log(request=request, response=response)  # 429s and "too many attempts" go to the security log
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated:
            return None
        if isinstance(user, SimpleLazyObject) and user._wrapped is not empty:
            # Loaded now: every later read of request.user (the roles, the views, every template
            # tag) would pass through the lazy wrapper, about a hundred times a page.
            request.user = user = user._wrapped
        match = request.resolver_match
        view_name = match.view_name if match else ""
        module = getattr(view_func, "__module__", "") or ""
        if user.kind == User.Kind.HOLDER:
            if module.startswith("allauth.") and view_name != "account_logout":
                return redirect(HOLDER_EQUIVALENTS.get(view_name, settings.HOLDER_HOME_URL))
            return None
        # One Roles per request: the navigation (accounts.context_processors) reuses it,
        # so checking for a coordinator costs no extra query on a page.
        roles = request.roles = Roles(user)
        if module.startswith("allauth.mfa."):
            if view_name in MFA_WITHOUT_AUTHENTICATOR_VIEWS or totp_enabled(user):
                return None
            # Without an authenticator (never set up, or a lost phone removed by an admin) the
            # two-step pages lead to setting one up: recovery codes are the authenticator's
            # backup, not for a password alone to read or make.
            return redirect("mfa_activate_totp")
        if view_name in MFA_SETUP_VIEWS:
            return None
        if (user.is_staff or user.is_superuser or roles.coordinator) and not totp_enabled(user):
            messages.warning(
                request,
                _(
                    "Administrators and regional coordinators must use two-step verification. "
                    "Set up an authenticator app to continue."
                ),
            )
            return redirect("mfa_activate_totp")
        return None
