"""Browser tests: pytest-playwright drives Debian's own Chromium against pytest-django's live server.

One browser per session, one context and page per test. Every test logs in through the
real login page, so sessions, CSRF, CSP and the JavaScript run exactly as in production.
"""

import os
import re
import shutil

import pytest

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
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    page.on("pageerror", lambda error: console_errors.append(f"page error: {error}"))
    yield page
    csp = [text for text in console_errors if "Content Security Policy" in text or "page error" in text]
    assert not csp, "The browser console reported:\n" + "\n".join(csp)


@pytest.fixture
def url(live_server):
    """``url("/cards/")`` is the live server's absolute address of a path."""
    return lambda path: f"{live_server.url}{path}"


def log_in(page, url, user, *, next_path: str = "") -> None:
    """Log in as a person does: the login page, email and password, the button."""
    page.goto(url("/accounts/login/" + (f"?next={next_path}" if next_path else "")))
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    assert not page.url.rstrip("/").endswith("/accounts/login"), "login failed: " + page.inner_text("main")


@pytest.fixture
def login(page, url):
    return lambda user, **kwargs: log_in(page, url, user, **kwargs)


@pytest.fixture
def distributor_page(page, login, distributor, municipality):
    """A distributor of "Social services" (Tampere, Pirkanmaa), logged in."""
    login(distributor)
    return page


def status_of(page, path_url: str) -> int:
    """The HTTP status of opening ``path_url`` in the page, as the browser got it."""
    response = page.goto(path_url)
    assert response is not None
    return response.status


def ignore_case(text: str) -> re.Pattern:
    return re.compile(re.escape(text), re.IGNORECASE)
