from django.contrib import admin
from django.urls import include, path

from accounts.views import home

admin.site.site_header = "Kaikukanta"
admin.site.site_title = "Kaikukanta"

urlpatterns = [
    path("", home, name="home"),
    path("accounts/", include("allauth.urls")),
    path("cards/", include("cards.urls")),
    path("region/", include("accounts.urls")),
    path("omakaiku/", include("omakaiku.urls")),
    path("venue/", include("venues.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
