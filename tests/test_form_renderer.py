"""The form renderer writes every form exactly as Django's own renderer does, only faster."""

import uuid

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.template import engines
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from accounts.models import Site
from cards.forms import CardRegisterForm
from kaikukanta.form_renderer import FormRenderer, widget_attrs
from venues.forms import CardLookupForm, OfferForm, UseRecordForm
from venues.services import card_check

from . import factories

ATTRS = {
    "required": True,
    "disabled": False,
    "maxlength": 5,
    "min": 0,
    "max": None,
    "aria-describedby": 'id_number_helptext id_"x"',
    "placeholder": "<script>alert('x')</script> & ²",
    "title": gettext_lazy("Card number"),
    "data-safe": mark_safe("<b>already safe</b>"),
    "autofocus": "",
}


def test_widget_attributes_are_written_as_djangos_template_writes_them():
    djangos = DjangoTemplates().engine.get_template("django/forms/widgets/attrs.html")

    for attrs in (ATTRS, {}, {"checked": True}, {"checked": False, "value": "0"}):
        assert widget_attrs(attrs) == djangos.render({"widget": {"attrs": attrs}})


def test_the_override_is_what_the_renderer_uses():
    widget = forms.TextInput(attrs=ATTRS)

    written = widget.render("name", "value", renderer=FormRenderer())

    override = FormRenderer().engine.get_template("django/forms/widgets/attrs.html")
    assert override.origin.name.endswith("kaikukanta/form_templates/django/forms/widgets/attrs.html")
    assert written == widget.render("name", "value", renderer=DjangoTemplates())
    assert ' required maxlength="5"' in written
    assert ' aria-describedby="id_number_helptext id_&quot;x&quot;"' in written
    assert "disabled" not in written
    assert "<script>" not in written


@pytest.mark.django_db
@pytest.mark.parametrize("bound", [False, True], ids=["empty", "with errors"])
def test_whole_forms_are_written_as_by_djangos_renderer(bound, monkeypatch):
    # The new-offer form's one-time token, the same in both renderings.
    monkeypatch.setattr("venues.forms.uuid.uuid4", lambda: uuid.UUID(int=1))
    factories.MunicipalityFactory()
    site = factories.SiteFactory()
    card = factories.CardFactory()
    bad = {
        "number": "²\x00",
        "kind": "nonsense",
        "birth_year": "19x5",
        "children_count": "-1",
        "used_on": "31.2.2026",
        "category": "",
        "child_tickets": "99999",
        "title": "<b>" * 50,
        "starts_on": "tomorrow",
    }
    # One of each widget the register's forms use: radio buttons, selects, number, date, text,
    # textarea, checkbox and hidden inputs, with values, errors and attributes set at run time.
    makers = [
        lambda data, renderer: CardRegisterForm(data, sites=Site.objects.filter(pk=site.pk), renderer=renderer),
        lambda data, renderer: UseRecordForm(data, check=card_check(number=card.number), renderer=renderer),
        lambda data, renderer: CardLookupForm(data, renderer=renderer),
        lambda data, renderer: OfferForm(data, renderer=renderer),
    ]
    for make in makers:
        ours, djangos = make(bad if bound else None, None), make(bad if bound else None, DjangoTemplates())
        assert ours.renderer.__class__ is FormRenderer
        assert str(ours) == str(djangos)
        for name in ours.fields:
            assert str(ours[name]) == str(djangos[name])


def test_project_templates_still_render_fields_through_the_renderer():
    template = engines["django"].from_string("{{ form.number }}")

    written = template.render({"form": CardLookupForm({"number": "<x>"})})

    assert 'value="&lt;x&gt;"' in written
    assert 'name="number"' in written


SELECT_CHOICES = [
    ("", "All"),
    ("a", "<b>Plain & bold</b>"),
    ("Group ²", [(1, "One"), (2, "Two")]),
    (None, "None as a value"),
]


@pytest.mark.parametrize(
    ("widget", "value"),
    [
        (forms.Select(choices=SELECT_CHOICES, attrs={"aria-describedby": "help"}), "a"),
        (forms.Select(choices=SELECT_CHOICES), 2),
        (forms.Select(choices=SELECT_CHOICES), None),
        (forms.SelectMultiple(choices=SELECT_CHOICES), ["a", 1]),
        (forms.NullBooleanSelect(), True),
        (forms.RadioSelect(choices=SELECT_CHOICES), "a"),
    ],
)
def test_selects_are_written_as_djangos_templates_write_them(widget, value):
    assert widget.render("field", value, renderer=FormRenderer()) == widget.render(
        "field", value, renderer=DjangoTemplates()
    )


def test_the_select_override_is_what_the_renderer_uses():
    override = FormRenderer().engine.get_template("django/forms/widgets/select.html")
    assert override.origin.name.endswith("kaikukanta/form_templates/django/forms/widgets/select.html")


@pytest.mark.django_db
def test_the_filter_bars_are_written_as_by_djangos_renderer():
    from cards.filters import CardFilter
    from omakaiku.forms import OfferFilter

    factories.OfferFactory()
    for filterset in (CardFilter({"state": "expired", "kind": "x"}), OfferFilter({"category": "culture"})):
        for name, field in filterset.form.fields.items():
            bound = filterset.form[name]
            assert bound.as_widget() == field.widget.render(
                bound.html_name, bound.value(), attrs={"id": bound.auto_id}, renderer=DjangoTemplates()
            )
