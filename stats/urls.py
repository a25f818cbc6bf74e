from django.urls import path  # noqa: F401  (the views come with the statistics pages)

app_name = "stats"

urlpatterns: list = []
