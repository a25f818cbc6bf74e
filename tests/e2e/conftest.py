"""Browser tests: pytest-playwright drives Debian's own Chromium against pytest-django's live server.

One browser per session, one context and page per test. Every test logs in through the
real login page, so sessions, CSRF, CSP and the JavaScript run exactly as in production.
"""

import os
import shutil
import time

import pytest
from django.conf import settings as django_settings
from django.core.servers.basehttp import WSGIServer
from django.test.testcases import LiveServerThread
from playwright.sync_api import expect

from tests import factories

# Playwright's sync API runs an event loop in the test thread; Django refuses ORM calls from
# such a thread unless told that this is deliberate (the ORM calls here are all synchronous).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = {"width": 360, "height": 740}

# A loaded CI machine can be slow; a real failure still fails, only later.
expect.set_options(timeout=10_000)


class _OneRequestAtATime(WSGIServer):
    """The live server, answering one request after another.

    On SQLite the test database lives in memory, and the live server's request threads share the
    test's one connection: two requests at once (a double click and a script's own request, say)
    interleave their transactions on it and fail ("no such savepoint"), a failure of the test
    set-up that production (a connection per request) never has. PostgreSQL keeps the threaded
    server: there each thread has its own connection, and concurrency is what is tested."""

    def __init__(self, *args, connections_override=None, **kwargs):
        # LiveServerThread.run() gives its own thread the test's connection already.
        super().__init__(*args, **kwargs)


if "sqlite" in django_settings.DATABASES["default"]["ENGINE"]:
    LiveServerThread.server_class = _OneRequestAtATime


def pytest_collection_modifyitems(config, items):
    if not config.pluginmanager.has_plugin("warnings"):  # -p no:warnings
        return
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            # pytest-base-url (a pytest-playwright dependency) trips a pytest 9 deprecation warning.
            item.add_marker(pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """No Chromium: skip on a laptop (with the fix in the message), fail in CI."""
    if CHROMIUM is None:
        message = "Chromium not found: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Never `playwright install`: the browser is the distribution's, found on PATH.
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "headless": True}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # The browser's Accept-Language picks the page language (LocaleMiddleware); tests read English.
    return {**browser_context_args, "locale": "en-US"}


@pytest.fixture
def console_errors():
    return []


@pytest.fixture
def page(page, console_errors):
    """The plugin's page, with every console error collected; none may be a CSP violation."""
    page.set_default_timeout(10_000)
    page.on(
        "console",
        lambda message: (
            (message.type == "error" or "Permissions-Policy" in message.text) and console_errors.append(message.text)
        ),
    )
    page.on("pageerror", lambda error: console_errors.append(f"page error: {error}"))
    yield page
    # A CSP violation, a script error, or a header feature the browser does not know (a warning on every page).
    csp = [
        text
        for text in console_errors
        if "Content Security Policy" in text or "page error" in text or "Permissions-Policy" in text
    ]
    assert not csp, "The browser console reported:\n" + "\n".join(csp)


@pytest.fixture
def url(live_server, settings):
    """``url("/cards/")`` is the live server's absolute address of a path.

    127.0.0.1 rather than the server's "localhost": Chromium tries ::1 first, which costs
    some 150 ms a page.
    """
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]
    origin = f"http://127.0.0.1:{live_server.thread.port}"
    return lambda path: f"{origin}{path}"


# The codes typed in this test (the server forgets used codes with the cache between tests).
_USED_CODES: set[tuple[int, str]] = set()


@pytest.fixture(autouse=True)
def _fresh_totp_codes():
    _USED_CODES.clear()


def log_in(page, url, user, *, next_path: str = "") -> None:
    """Log in as a person does: the login page, email and password, the button."""
    page.goto(url("/accounts/login/" + (f"?next={next_path}" if next_path else "")))
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    if "/accounts/2fa/authenticate/" in page.url:
        # Admins and coordinators: the code their authenticator app would show now. A code
        # works only once, so a second login of the same person waits for the next one.
        from accounts.mfa import totp_code, totp_secret

        code = totp_code(totp_secret(user))
        while (user.pk, code) in _USED_CODES:
            time.sleep(1)
            code = totp_code(totp_secret(user))
        _USED_CODES.add((user.pk, code))
        page.get_by_label("Code").fill(code)
        with page.expect_navigation():
            page.get_by_role("button", name="Verify and log in").click()
    assert "/accounts/login/" not in page.url, "login failed: " + page.inner_text("main")
    assert "/accounts/2fa/" not in page.url, "two-step verification failed: " + page.inner_text("main")


@pytest.fixture
def login(page, url):
    return lambda user, **kwargs: log_in(page, url, user, **kwargs)


@pytest.fixture
def distributor_page(page, login, distributor, municipality):
    """A distributor of "Social services" (Tampere, Pirkanmaa), logged in."""
    login(distributor)
    return page


def fill_customer(page, *, birth_year="1985", children="2", postal_code="33100", municipality="Tampere") -> None:
    """The holder part of a card form, for a customer."""
    page.get_by_role("radio", name="Customer").check()
    page.get_by_label("Year of birth").fill(birth_year)
    page.get_by_label("Children under 18").fill(children)
    page.get_by_label("Postal code").fill(postal_code)
    page.get_by_label("Home municipality").select_option(label=municipality)


def fill_organisation(page, *, name="Youth centre Nuotta", role="Youth worker", postal_code="33100") -> None:
    page.get_by_role("radio", name="Organisation").check()
    page.get_by_label("Organisation name").fill(name)
    page.get_by_label("Representative's work role").fill(role)
    page.get_by_label("Postal code").fill(postal_code)
    page.get_by_label("Home municipality").select_option(label="Tampere")


def fact(page, term: str):
    """The value (``<dd>``) next to a label (``<dt>``) in a card page's facts list."""
    return page.locator(f"dl.facts dt:text-is({term!r}) + dd").first


def messages(page):
    """The success/info/error messages at the top of the page."""
    return page.locator(".messages")


def h1(page):
    return page.get_by_role("heading", level=1)
