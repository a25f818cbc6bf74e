from django.urls import path

from . import views

app_name = "cards"

urlpatterns = [
    path("", views.card_list, name="list"),
    path("check/", views.card_check, name="check"),
    path("new/", views.card_register, name="register"),
    path("<int:pk>/", views.card_detail, name="detail"),
    path("<int:pk>/edit/", views.card_update, name="update"),
    path("<int:pk>/renew/", views.card_renew, name="renew"),
    path("<int:pk>/inactivate/", views.card_inactivate, name="inactivate"),
    path("<int:pk>/omakaiku/", views.card_omakaiku, name="omakaiku"),
    path("<int:pk>/switch/", views.card_switch, name="switch"),
    path("<int:pk>/resend/", views.card_resend, name="resend"),
    path("<int:pk>/omakaiku/email/", views.card_omakaiku_email, name="omakaiku_email"),
    path("sites/<int:site_pk>/transfer/", views.site_transfer, name="site_transfer"),
    path("<int:pk>/omakaiku/close/", views.card_omakaiku_close, name="omakaiku_close"),
]
