"""The mobile card's codes are drawn for standard scanners (the e2e test decodes a screenshot)."""

import re

import pytest

from omakaiku.codes import code39_svg, qr_svg


@pytest.mark.parametrize("number", ["K2000001", "X0000123", "AB12"])
def test_qr_code_is_a_regular_qr_with_its_full_quiet_zone(number):
    svg = qr_svg(number)
    width, height = map(int, re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).groups())

    # scale 6; a regular QR is 21 modules or more a side (a Micro QR at most 17), plus 2 × 4 quiet zone.
    modules = width // 6
    assert width == height
    assert modules >= 21 + 8
    assert (modules - 8 - 21) % 4 == 0  # versions grow by 4 modules: 21, 25, 29 …


def test_barcode_draws_no_inline_styles():
    assert 'style="' not in code39_svg("K2000001")


def test_each_number_keeps_its_own_qr_code():
    """Codes are kept per process once drawn: a number must get its own, drawn or kept."""
    first, second = qr_svg("K2000001"), qr_svg("K2000002")
    assert first != second
    assert qr_svg("K2000001") == first
    qr_svg.cache_clear()
    assert qr_svg("K2000002") == second
