import functools

from allauth.account import urls as allauth_account_urls
from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.http import Http404, QueryDict
from django.urls import include, path, re_path

from accounts.text import has_removed_characters, text_clean
from accounts.views import LogoutView, StaffSetPasswordView, account_settings, home, session_keepalive
from kaikukanta import health, pages


def admin_query_cleaned(admin_view):
    """``AdminSite.admin_view`` whose views see their query cleaned as every form's text is."""

    def wrap(view, cacheable=False):
        @functools.wraps(view)
        def cleaned(request, *args, **kwargs):
            # An id in the path with a NUL byte or another removed character is no row's (none
            # is stored with one): PostgreSQL refused a NUL in a text key with a 500.
            if any(isinstance(part, str) and has_removed_characters(part) for part in (*args, *kwargs.values())):
                raise Http404
            if any(has_removed_characters(text) for key, values in request.GET.lists() for text in (key, *values)):
                query = QueryDict(mutable=True)
                for key, values in request.GET.lists():
                    query.setlist(text_clean(key), [text_clean(value) for value in values])
                query._mutable = False
                request.GET = query
            return view(request, *args, **kwargs)

        return admin_view(cleaned, cacheable)

    return wrap


admin.site.site_header = "Kaikukanta"
admin.site.site_title = "Kaikukanta"
# The admin has no login of its own: /admin/login/ sends to allauth's login page (with `next`),
# so two-step verification and allauth's rate limits hold for admins too. Logging out of the
# admin is allauth's logout as well.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.logout = LogoutView.as_view()
# The admin puts its address's query (list filters, the autocomplete's term) into SQL as it comes:
# a NUL byte there was a 500 on PostgreSQL. It is cleaned first, as every form's text is.
admin.site.admin_view = admin_query_cleaned(admin.site.admin_view)

# allauth's e-mail management (add, make primary, re-send verification, remove, and the
# confirmation links it mails) is left out: a login's address is the login itself, managed by
# whoever manages the person (the national admin for staff, the managing site for a holder),
# and no flow of ours verifies addresses (ACCOUNT_EMAIL_VERIFICATION = "none"). Without the
# names no template can link to those pages, and every address under them answers 404.
ALLAUTH_EMAIL_MANAGEMENT = {"account_email", "account_email_verification_sent", "account_confirm_email"}
# Its set-your-password page (from a staff invitation or reset link) is ours: the same page, in
# the language of the mail the link came in (accounts.views.StaffSetPasswordView).
# Its logout is ours too: it also empties what the browser stored (accounts.views.LogoutView).
ALLAUTH_REPLACED = {"account_reset_password_from_key", "account_logout"}
allauth_urlpatterns = [
    pattern
    for pattern in allauth_account_urls.urlpatterns
    if pattern.name not in ALLAUTH_EMAIL_MANAGEMENT | ALLAUTH_REPLACED
]

urlpatterns = [
    path("", home, name="home"),
    # Answered by kaikukanta.health.HealthProbeMiddleware; listed here so that they resolve and reverse.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # What include("allauth.urls") gives with our settings (no social logins, no user sessions),
    # less the e-mail management above.
    re_path(
        r"^accounts/password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$",
        StaffSetPasswordView.as_view(),
        name="account_reset_password_from_key",
    ),
    path("accounts/logout/", LogoutView.as_view(), name="account_logout"),
    path("accounts/", include(allauth_urlpatterns)),
    path("accounts/2fa/", include("allauth.mfa.urls")),
    path("session/keepalive/", session_keepalive, name="session_keepalive"),
    path("account/", account_settings, name="account_settings"),
    path("cards/", include("cards.urls")),
    path("region/", include("accounts.urls")),
    path("help/", pages.help_page, name="help"),
    path("accessibility/", pages.accessibility, name="accessibility"),
    # The same pages in OmaKaiku's look (kaikukanta/pages.py).
    path("omakaiku/help/", pages.help_page, {"portal": "omakaiku"}, name="omakaiku_help"),
    path("omakaiku/accessibility/", pages.accessibility, {"portal": "omakaiku"}, name="omakaiku_accessibility"),
    path("omakaiku/", include("omakaiku.urls")),
    path("venue/", include("venues.urls")),
    path("stats/", include("stats.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

# A database outage answers 503 (templates/503.html) rather than 500 or 400.
handler400 = health.bad_request
handler500 = health.server_error
