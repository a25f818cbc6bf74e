from allauth.account.decorators import secure_admin_login
from allauth.account.views import LogoutView
from django.contrib import admin
from django.urls import include, path

from accounts.views import home

admin.site.site_header = "Kaikukanta"
admin.site.site_title = "Kaikukanta"
# The admin has no login of its own: /admin/login/ sends to allauth's login page (with `next`),
# so two-step verification and allauth's rate limits hold for admins too. Logging out of the
# admin is allauth's logout as well.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.logout = LogoutView.as_view()

urlpatterns = [
    path("", home, name="home"),
    path("accounts/", include("allauth.urls")),
    path("cards/", include("cards.urls")),
    path("region/", include("accounts.urls")),
    path("omakaiku/", include("omakaiku.urls")),
    path("venue/", include("venues.urls")),
    path("stats/", include("stats.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
