from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.region_home, name="region"),
    path("sites/new/", views.site_create, name="site_create"),
    path("sites/<int:pk>/", views.site_detail, name="site"),
    path("memberships/<int:pk>/remove/", views.membership_remove, name="membership_remove"),
    path("memberships/<int:pk>/resend/", views.invitation_resend, name="invitation_resend"),
]
