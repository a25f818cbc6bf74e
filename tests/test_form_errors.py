"""The error summary at the top of every form (templates/includes/form_errors.html)."""

import re

from django import forms
from django.template.loader import render_to_string
from django.utils import translation

from accounts.models import User
from omakaiku.forms import HolderSetPasswordForm


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
