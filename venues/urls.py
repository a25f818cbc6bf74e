from django.urls import path

from . import views

app_name = "venues"

urlpatterns = [
    path("", views.desk, name="desk"),
    path("record/", views.record, name="record"),
    path("uses/", views.uses, name="uses"),
    path("uses/<int:pk>/cancel/", views.use_cancel, name="use_cancel"),
    path("import/", views.import_upload, name="import"),
    path("import/confirm/", views.import_confirm, name="import_confirm"),
    path("import/template.csv", views.import_template, name="import_template"),
    path("offers/", views.offers, name="offers"),
    path("offers/new/", views.offer_edit, name="offer_create"),
    path("offers/<int:pk>/", views.offer_edit, name="offer_edit"),
    path("offers/<int:pk>/visibility/", views.offer_visibility, name="offer_visibility"),
    path("offers/<int:pk>/delete/", views.offer_delete, name="offer_delete"),
]
