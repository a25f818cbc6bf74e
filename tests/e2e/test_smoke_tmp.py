import pytest

pytestmark = pytest.mark.e2e


def test_smoke(distributor_page, url):
    page = distributor_page
    page.goto(url("/cards/new/"))
    print(page.inner_html("main"))
