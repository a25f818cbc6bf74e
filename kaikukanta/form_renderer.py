"""The form renderer: Django's own widget templates, with the widget attributes written by Python.

Django renders every widget's attributes with ``django/forms/widgets/attrs.html``, a template
loop over the attributes; a form of six fields spends about half its widget time there, and the
desk renders such a form on every card look-up. ``form_templates/`` overrides that template
with the ``widget_attrs`` filter below, which writes exactly what Django's loop writes, and
``select.html`` so that each standard ``<option>`` is written in the select's own loop instead
of through an include of its own (a five-option select cost 1.4 ms). tests/test_form_renderer.py
compares both with Django's output. Every other widget template is Django's own.
"""

from pathlib import Path

import django.forms
from django.forms.renderers import DjangoTemplates
from django.template import Library
from django.utils.functional import cached_property
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

register = Library()


@register.filter(is_safe=True)
def widget_attrs(attrs: dict) -> str:
    # As attrs.html: False leaves the attribute out, True writes its name alone, anything else
    # is written as text, escaped unless already safe. Every name and value is escaped here.
    return mark_safe(  # noqa: S308
        "".join(
            f" {conditional_escape(name)}"
            if value is True
            else f' {conditional_escape(name)}="{conditional_escape(value)}"'
            for name, value in attrs.items()
            if value is not False
        )
    )


class FormRenderer(DjangoTemplates):
    @cached_property
    def engine(self):
        return self.backend(
            {
                "APP_DIRS": True,
                "DIRS": [
                    Path(__file__).parent / "form_templates",
                    Path(django.forms.__file__).parent / self.backend.app_dirname,
                ],
                "NAME": "djangoforms",
                "OPTIONS": {"builtins": [__name__]},
            }
        )
