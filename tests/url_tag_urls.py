"""A URL configuration for tests/test_template_url.py: patterns whose URLs have no fixed shape."""

from django.http import HttpResponse
from django.urls import include, path, re_path


def view(request, **kwargs):
    return HttpResponse()


inner = [path("<int:pk>/", view, name="item")]

urlpatterns = [
    path("plain/", view, name="plain"),
    path("a&b/<int:pk>/<int:other>/", view, name="ampersand"),
    # The probe number in a pattern's own text.
    path("v8765432109876/<int:pk>/", view, name="probe"),
    re_path(r"^year/(?P<year>[0-9]{4})/$", view, name="year"),
    re_path(r"^nonzero/(?P<n>[1-9][0-9]*)/$", view, name="nonzero"),
    path("text/<str:slug>/", view, name="text"),
    path("nested/<int:group>/", include((inner, "nested"))),
]
