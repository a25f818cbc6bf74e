"""Server-rendered SVG codes for the mobile card (no JavaScript, no external service).

Both are drawn with presentation attributes only: the Content-Security-Policy forbids
inline ``style`` attributes, which python-barcode's own SVG writer uses.
"""

import functools
import itertools

import segno
from barcode import get_barcode_class

QUIET_ZONE = 10  # modules of white on each side, so scanners find the edges


# A holder opens their mobile card again and again (at each venue, after each reload; the page is
# never stored by the browser), and a number's code never changes. Drawing a QR code took 2.6 ms,
# most of it segno trying all eight masks for the most readable one: each process keeps the
# codes it drew last (a few kB each).
@functools.lru_cache(maxsize=512)
def qr_svg(number: str) -> str:
    # make_qr, not make: for data this short segno.make picks a Micro QR, which zbar, most phone
    # cameras and many desk scanners do not read at all. A regular QR needs 4 modules of quiet zone.
    return segno.make_qr(number, error="m").svg_inline(scale=6, border=4, dark="#000", light="#fff", omitsize=True)


def code39_svg(number: str, *, height: int = 60) -> str:
    modules = get_barcode_class("code39")(number, add_checksum=False).build()[0]
    width = len(modules) + 2 * QUIET_ZONE
    bars, x = [], QUIET_ZONE
    for bit, run in itertools.groupby(modules):
        length = len(list(run))
        if bit == "1":
            bars.append(f'<rect x="{x}" y="0" width="{length}" height="{height}"/>')
        x += length
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" preserveAspectRatio="none" '
        f'class="barcode" aria-hidden="true"><rect width="{width}" height="{height}" fill="#fff"/>'
        f'<g fill="#000">{"".join(bars)}</g></svg>'
    )
