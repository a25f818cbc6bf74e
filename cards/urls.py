from django.urls import path

from . import views, views_letter, views_worklist

app_name = "cards"

urlpatterns = [
    path("", views.card_list, name="list"),
    path("check/", views.card_check, name="check"),
    path("new/", views.card_register, name="register"),
    path("expiring/", views_worklist.expiring_list, name="expiring"),
    path("expiring/renew/", views_worklist.expiring_renew_selected, name="expiring_renew"),
    path("expiring/<int:pk>/renew/", views_worklist.expiring_renew_one, name="expiring_renew_one"),
    path("<int:pk>/", views.card_detail, name="detail"),
    path("<int:pk>/letter/", views_letter.card_letter, name="letter"),
    path("<int:pk>/edit/", views.card_update, name="update"),
    path("<int:pk>/renew/", views.card_renew, name="renew"),
    path("<int:pk>/inactivate/", views.card_inactivate, name="inactivate"),
    path("<int:pk>/omakaiku/", views.card_omakaiku, name="omakaiku"),
    path("<int:pk>/switch/", views.card_switch, name="switch"),
    path("<int:pk>/replace/", views.card_replace, name="replace"),
    path("<int:pk>/resend/", views.card_resend, name="resend"),
    path("<int:pk>/omakaiku/email/", views.card_omakaiku_email, name="omakaiku_email"),
    path("sites/<int:site_pk>/transfer/", views.site_transfer, name="site_transfer"),
    path("<int:pk>/omakaiku/close/", views.card_omakaiku_close, name="omakaiku_close"),
]
