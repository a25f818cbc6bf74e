from django.urls import path, re_path

from . import views

app_name = "stats"

DOWNLOAD = r"(?P<slug>[-a-z0-9]+)\.(?P<extension>csv|xlsx)"

urlpatterns = [
    path("", views.stats_public, name="public"),
    re_path(rf"^{DOWNLOAD}$", views.stats_public_download, name="public_download"),
    path("dashboard/", views.stats_dashboard, name="dashboard"),
    re_path(rf"^dashboard/{DOWNLOAD}$", views.stats_dashboard_download, name="dashboard_download"),
]
