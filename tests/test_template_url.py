"""Every template's `{% url %}` writes exactly what Django's own tag writes, only faster."""

import pytest
from django.template import Context, Engine, engines
from django.urls import URLResolver, get_resolver, set_script_prefix
from django.urls.exceptions import NoReverseMatch
from django.utils import translation

from kaikukanta.template_url import FastURLNode

DJANGOS = Engine()  # Django's own tags only
OURS = engines["django"].engine

VALUES = [0, 7, 123_456_789, 8_765_432_109_876, -1, "12", "x&y", True, None]


def _names(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _names(pattern.url_patterns, f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix)
        elif pattern.name:
            yield prefix + pattern.name


def _rendered(engine, source, context):
    try:
        return engine.from_string(source).render(Context(dict(context), autoescape=context.get("escape", True)))
    except NoReverseMatch:
        return NoReverseMatch


def _compare(name, *, escape=True):
    """Our tag against Django's for ``name`` with zero to two arguments of every kind of value."""
    compared = 0
    for count in range(3):
        for value in VALUES:
            args = " ".join(f"a{index}" for index in range(count))
            context = {"name": name, "escape": escape} | {f"a{index}": value for index in range(count)}
            for source in ("{% url name " + args + " %}", "{% url name " + args + " as u %}[{{ u }}]"):
                ours, djangos = _rendered(OURS, source, context), _rendered(DJANGOS, source, context)
                assert ours == djangos, (name, count, value, source)
                compared += djangos is not NoReverseMatch and djangos != "[]"
    return compared


def test_the_tag_is_ours_in_every_template():
    nodes = OURS.from_string("{% url 'cards:list' %}").nodelist
    assert isinstance(nodes[0], FastURLNode)


@pytest.mark.parametrize("escape", [True, False])
def test_every_named_url_of_the_project_is_written_as_djangos_tag_writes_it(escape):
    names = sorted(set(_names(get_resolver().url_patterns)))
    assert {"cards:detail", "admin:index", "account_login"} <= set(names)
    written = sum(_compare(name, escape=escape) for name in names)
    # Most names took some arguments: not every comparison was of two refusals.
    assert written > len(names)


def test_urls_with_an_argument_get_the_argument_not_the_first_ones():
    source = "{% for pk in pks %}{% url 'cards:detail' pk %} {% endfor %}"
    assert OURS.from_string(source).render(Context({"pks": [3, 0, 45, 3]})) == (
        "/cards/3/ /cards/0/ /cards/45/ /cards/3/ "
    )


@pytest.mark.parametrize("name", ["plain", "ampersand", "probe", "year", "nonzero", "text", "nested:item", "nowhere"])
@pytest.mark.parametrize("escape", [True, False])
def test_patterns_that_take_only_some_numbers_or_are_escaped(settings, name, escape):
    settings.ROOT_URLCONF = "tests.url_tag_urls"
    _compare(name, escape=escape)
    for value in (2026, 999, 10_000, 1):  # four digits or not, zero or not
        context = Context({"v": value, "w": 5})
        for source in ("{% url '" + name + "' v %}", "{% url '" + name + "' v w %}"):
            try:
                djangos = DJANGOS.from_string(source).render(context)
            except NoReverseMatch:
                with pytest.raises(NoReverseMatch):
                    OURS.from_string(source).render(context)
            else:
                assert OURS.from_string(source).render(context) == djangos


def test_an_escaped_url_is_escaped_once(settings):
    settings.ROOT_URLCONF = "tests.url_tag_urls"
    assert OURS.from_string("{% url 'ampersand' 1 2 %}").render(Context()) == "/a&amp;b/1/2/"
    assert (
        OURS.from_string("{% autoescape off %}{% url 'ampersand' 1 2 %}{% endautoescape %}").render(Context())
        == "/a&b/1/2/"
    )


def test_the_script_prefix_and_the_language_are_part_of_the_shape():
    source = OURS.from_string("{% url 'cards:detail' 5 %}")
    try:
        assert source.render(Context()) == "/cards/5/"
        set_script_prefix("/kaiku/")
        assert source.render(Context()) == "/kaiku/cards/5/"
        with translation.override("sv"):
            assert source.render(Context()) == "/kaiku/cards/5/"
    finally:
        set_script_prefix("/")
    assert source.render(Context()) == "/cards/5/"


def test_keyword_arguments_and_the_current_app_are_djangos(rf):
    request = rf.get("/")
    request.current_app = "admin"
    for source in (
        "{% url 'cards:detail' pk=5 %}",
        "{% url 'admin:index' %}",
        "{% url 'admin:accounts_user_change' 3 %}",
    ):
        context = {"request": request}
        assert OURS.from_string(source).render(Context(context)) == DJANGOS.from_string(source).render(Context(context))
