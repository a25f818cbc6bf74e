from django.urls import path

from . import views, views_offline

app_name = "omakaiku"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.HolderLoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("password/reset/", views.HolderPasswordResetView.as_view(), name="password_reset"),
    path("password/reset/done/", views.password_reset_done, name="password_reset_done"),
    path("activate/<str:uidb36>/<str:key>/", views.activate, name="activate"),
    path("privacy/", views.privacy, name="privacy"),
    path("uses/", views.uses, name="uses"),
    path("offers/", views.offers, name="offers"),
    path("cards/<int:pk>/mobile/", views.mobile_card, name="mobile_card"),
    path("my-data/", views.my_data, name="my_data"),
    path("my-data/download/", views.my_data_download, name="my_data_download"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/password/", views.password_change, name="password_change"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views_offline.service_worker, name="service_worker"),
]
