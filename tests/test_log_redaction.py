"""One-time keys in links (invitations, password resets) never reach the logs."""

import io
import logging

import pytest

from kaikukanta.log_filters import redact


@pytest.fixture
def console_output():
    """What the configured console handler prints, as production's log collector would read it."""
    handler = next(h for h in logging.getLogger("django").handlers if isinstance(h, logging.StreamHandler))
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


@pytest.mark.parametrize(
    "path",
    [
        "/omakaiku/activate/3k/cj2b1a-8f0e9c2d4b6a1e3f5d7c9b0a/extra/",
        "/accounts/confirm-email/MTQ:cj2b1a-8f0e9c2d4b6a1e3f5d7c9b0a/extra/",
    ],
)
def test_a_refused_link_with_a_key_is_logged_without_the_key(client, db, console_output, path):
    response = client.generic("PATCH", path)

    assert response.status_code in (404, 405)
    logged = console_output.getvalue()
    assert "Not Found" in logged or "Method Not Allowed" in logged
    assert "8f0e9c2d4b6a1e3f5d7c9b0a" not in logged
    assert "[redacted]" in logged


def test_other_paths_are_logged_as_they_are(client, db, console_output):
    client.get("/cards/no-such-page/")

    assert "/cards/no-such-page/" in console_output.getvalue()


def test_redact_cuts_every_kind_of_key_link():
    assert redact("GET /omakaiku/activate/3k/abc-123/ 200") == "GET /omakaiku/activate/[redacted] 200"
    assert redact("/accounts/confirm-email/MTQ:1abc/") == "/accounts/confirm-email/[redacted]"
    assert redact("/cards/12/") == "/cards/12/"
