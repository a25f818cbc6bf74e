"""Checks shared by tests of pages that must not tell whether an address has an account."""

import re

from django.core import mail

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def assert_answered_as_unknown(client, url: str, email: str, committed) -> None:
    """Posting ``email`` to ``url`` answers exactly as an address nobody has, and mails nothing."""
    with committed():
        known = client.post(url, {"email": email}, follow=True)
        unknown = client.post(url, {"email": "nobody@example.com"}, follow=True)

    assert known.redirect_chain == unknown.redirect_chain
    assert known.status_code == unknown.status_code == 200
    # The same page but for the form's CSRF token, which differs on every page.
    assert _CSRF.sub("", known.text) == _CSRF.sub("", unknown.text)
    assert mail.outbox == []
