"""The error summary at the top of every form (templates/includes/form_errors.html)."""

import re

import pytest
from django import forms
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from accounts.models import User
from omakaiku.forms import HolderSetPasswordForm
from tests import factories


def _summary_items(form) -> list[str]:
    html = render_to_string("includes/form_errors.html", {"form": form})
    return [re.sub(r"<[^>]+>", "", item) for item in re.findall(r"<li>(.*?)</li>", html, re.S)]


class _Questions(forms.Form):
    agree = forms.BooleanField(label="I agree.")
    children = forms.CharField(label="Does the holder have children?")
    name = forms.CharField(label="Name")


def test_a_label_that_is_a_sentence_loses_its_end_mark_before_the_colon():
    form = _Questions(data={})

    assert _summary_items(form) == [
        "I agree: This field is required.",
        "Does the holder have children: This field is required.",
        "Name: This field is required.",
    ]


def test_the_omakaiku_activation_summary_in_finnish_has_no_period_before_the_colon():
    with translation.override("fi"):
        form = HolderSetPasswordForm(User(email="maija@example.com"), data={}, first_time=True)
        items = _summary_items(form)

    assert "Olen lukenut tietosuojaselosteen: Vahvista rastittamalla, että olet lukenut tietosuojaselosteen." in items
    assert not any(".:" in item or "?:" in item for item in items)


def _order_of_errors(page: str) -> tuple[list[str], list[str]]:
    """The fields the summary names, in its order, and the fields with an error, in the page's."""
    summary = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    assert summary is not None, "no error summary"
    targets = re.findall(r'<a href="#(\w*)">', summary.group(0))
    # Each link leads to a field of the page (a group of radio buttons: to its first button).
    assert [target for target in targets if f' id="{target}"' not in page] == []
    named = [target.removesuffix("_0") for target in targets]
    shown = re.findall(r'<p class="error" id="(id_\w+)_error">', page[summary.end() :])
    return named, list(dict.fromkeys(shown))


@pytest.mark.parametrize(
    ("who", "path", "of"),
    [
        ("distributor", "cards:register", None),
        ("distributor", "cards:update", "card"),
        ("distributor", "cards:replace", "card"),
        ("distributor", "cards:inactivate", "card"),
        ("distributor", "cards:omakaiku", "card"),
        ("venue_user", "venues:offer_create", None),
        ("coordinator", "accounts:site_create", None),
        ("coordinator", "accounts:site", "site"),
    ],
)
def test_the_summary_names_the_fields_in_the_order_of_the_page(
    client, distributor, site, venue_user, venue, coordinator, who, path, of
):
    # Focus goes to the page's first field with an error: the summary's first line is that one.
    client.force_login({"distributor": distributor, "venue_user": venue_user, "coordinator": coordinator}[who])
    obj = {"card": factories.CardFactory(site=site), "site": site, None: None}[of]
    url = reverse(path, args=[obj.pk] if obj else []) + (f"?venue={venue.pk}" if who == "venue_user" else "")
    # What the browser sends (the distributor's one site), with a few fields typed wrong.
    data = {"site": str(site.pk), "web_link": "no address", "starts_on": "31.2.2026", "postal_code": "x", "email": "x"}
    page = client.post(url, data).text
    named, shown = _order_of_errors(page)

    assert named
    assert named == shown
    # Each error is read with its field: by the field, or by the group (a fieldset of radios).
    described = " ".join(re.findall(r'aria-describedby="([^"]*)"', page)).split()
    assert [field for field in shown if f"{field}_error" not in described] == []
