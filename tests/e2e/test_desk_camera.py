"""Scanning a card with the camera at the desk, in a real Chromium.

With a camera (Chromium's fake camera playing a picture of the card's QR code) the number is read
and checked without typing. Without one, the desk says so and the number is typed as before.
Chromium on Linux has no BarcodeDetector, so this runs the vendored ZXing decoder.
"""

import datetime

import pytest
import segno
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import expect

from tests import factories
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, log_in
from tests.e2e.test_accessibility import assert_accessible

pytestmark = pytest.mark.e2e

WIDTH, HEIGHT = 640, 480


@pytest.fixture(scope="session")
def axe():
    return Axe()


@pytest.fixture
def card(site, municipality):
    month_ago = timezone.localdate() - datetime.timedelta(days=30)
    return factories.CardFactory(
        site=site, number="K3000001", issued_on=month_ago, valid_from=month_ago, holder__municipality=municipality
    )


def _qr_video(path, text: str) -> None:
    """A few seconds of Y4M video (what Chromium's fake camera plays): a QR code on white."""
    rows = [list(row) for row in segno.make_qr(text).matrix_iter(scale=8, border=4)]
    size = len(rows)
    top, left = (HEIGHT - size) // 2, (WIDTH - size) // 2
    luma = bytearray([235]) * (WIDTH * HEIGHT)
    for y, row in enumerate(rows):
        for x, dark in enumerate(row):
            if dark:
                luma[(top + y) * WIDTH + left + x] = 16
    chroma = bytes([128]) * (WIDTH * HEIGHT // 4)
    frame = b"FRAME\n" + bytes(luma) + chroma + chroma
    with open(path, "wb") as video:
        video.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        video.write(frame * 30)


def test_the_camera_reads_the_cards_qr_code(browser_type, url, venue_user, card, tmp_path):
    video = tmp_path / "card.y4m"
    _qr_video(video, card.number)
    browser = browser_type.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        page = browser.new_page(locale="en-US")
        page.set_default_timeout(15_000)
        log_in(page, url, venue_user)
        page.goto(url("/venue/"))

        page.get_by_role("button", name="Scan with the camera").click()

        expect(page.get_by_role("heading", name=f"Card {card.number} is valid")).to_be_visible()
        assert page.get_by_role("search").get_by_label("Card number").input_value() == card.number
    finally:
        browser.close()


def test_without_a_camera_the_desk_says_so_and_the_number_is_typed(page, url, login, venue_user, card, axe):
    login(venue_user)
    page.goto(url("/venue/"))

    page.get_by_role("button", name="Scan with the camera").click()

    expect(page.get_by_text("The camera cannot be used here. Type the card number instead.")).to_be_visible()
    field = page.get_by_role("search").get_by_label("Card number")
    expect(field).to_be_focused()
    assert_accessible(page, axe, "the desk after the camera failed")
    field.fill(card.number)
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_role("heading", name=f"Card {card.number} is valid")).to_be_visible()
