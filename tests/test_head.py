"""HEAD requests, as uptime monitors and load balancers send them."""

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from kaikukanta.head import HeadResponseMiddleware


@pytest.mark.parametrize(
    "name",
    [
        "help",
        "accessibility",
        "omakaiku_help",
        "omakaiku_accessibility",
        "omakaiku:manifest",
        "omakaiku:service_worker",
    ],
)
def test_the_public_pages_answer_head_as_they_answer_get(client, db, name):
    # Found in review: an uptime monitor probing the accessibility statement with HEAD got 405.
    get = client.get(reverse(name))
    head = client.head(reverse(name))

    assert get.status_code == 200
    assert head.status_code == 200
    assert head["Content-Type"] == get["Content-Type"]


def test_a_head_response_leaves_without_its_body_but_with_its_length(settings):
    # gunicorn logged a warning for every HEAD whose body it had to drop. First in MIDDLEWARE:
    # every response passes it, the probes' and the error pages' too.
    assert settings.MIDDLEWARE[0] == "kaikukanta.head.HeadResponseMiddleware"
    middleware = HeadResponseMiddleware(lambda request: HttpResponse("<p>Hei</p>"))

    head = middleware(RequestFactory().head("/help/"))
    get = middleware(RequestFactory().get("/help/"))

    assert head.content == b""
    assert head["Content-Length"] == "10"
    assert get.content == b"<p>Hei</p>"
