"""``{% url %}`` as Django's, but each URL's shape is worked out once per process.

Every template has this tag instead of Django's (``builtins`` in settings.TEMPLATES). Django's
tag calls ``reverse()`` every time, which walks the URL patterns, formats a candidate and checks
it against the pattern's regular expression: about 20 µs, and a list page writes a link on every
row (the card list 25, the card page about 20 in all).

A URL whose arguments are non-negative integers (``{% url 'cards:detail' card.pk %}``) has the
same text around the numbers whatever they are. The first time a name is seen, ``reverse()`` is
asked for it with probe numbers; the text around them is kept (its "shape") and checked against
``reverse()`` with other numbers. Later links are that text with the numbers put in. Anything
else (keyword arguments, text arguments, a name whose pattern does not take every integer) goes
to Django's ``reverse()`` as before. The shape is kept per URL configuration, script prefix
(``SCRIPT_NAME``), language and current app, everything ``reverse()`` itself depends on.
"""

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import escape
from django.utils.safestring import SafeString
from django.utils.translation import get_language

register = template.Library()

# Numbers that appear in no URL pattern's own text; the shape is checked with others anyway.
_PROBE = 8_765_432_109_876
_CHECKS = (0, 1_000_000_007)


class _Shape:
    __slots__ = ("pieces", "escaped")

    def __init__(self, pieces: list[str]):
        self.pieces = pieces
        # HTML escaping works character by character, so escaping the pieces escapes the URL.
        self.escaped = [escape(piece) for piece in pieces]


# (view name, number of arguments, current app, URLconf, script prefix, language) → shape, or
# None where the URL cannot be written from a shape.
_shapes: dict[tuple, _Shape | None] = {}


@receiver(setting_changed)
def _forget_shapes(*, setting, **kwargs) -> None:
    # Tests swap the URL configuration (override_settings(ROOT_URLCONF=…)); so may a reload.
    if setting == "ROOT_URLCONF":
        _shapes.clear()


def _fill(pieces: list[str], args: list[int]) -> str:
    parts = [pieces[0]]
    for value, piece in zip(args, pieces[1:], strict=True):
        parts.append(str(value))
        parts.append(piece)
    return "".join(parts)


def _shape_of(view_name: str, count: int, current_app: str | None) -> _Shape | None:
    probes = [_PROBE + index for index in range(count)]
    try:
        rest = reverse(view_name, args=probes, current_app=current_app)
    except NoReverseMatch:
        return None
    pieces = []
    for probe in probes:
        before, found, rest = rest.partition(str(probe))
        if not found:
            return None
        pieces.append(before)
    pieces.append(rest)
    # A pattern that refuses some integers (a fixed number of digits, no zero) has no shape.
    for check in _CHECKS:
        args = [check + index for index in range(count)]
        try:
            if _fill(pieces, args) != reverse(view_name, args=args, current_app=current_app):
                return None
        except NoReverseMatch:
            return None
    return _Shape(pieces)


def url_reverse(view_name, args: list, current_app: str | None) -> tuple[str, list[str] | None]:
    """The URL, as ``reverse(view_name, args=args, current_app=current_app)`` would give it,
    and its escaped pieces where it came from a shape (None otherwise)."""
    if isinstance(view_name, str) and all(type(arg) is int and arg >= 0 for arg in args):
        key = (view_name, len(args), current_app, get_urlconf(), get_script_prefix(), get_language())
        try:
            shape = _shapes[key]
        except KeyError:
            shape = _shapes[key] = _shape_of(view_name, len(args), current_app)
        if shape is not None:
            return _fill(shape.pieces, args), shape.escaped
    return reverse(view_name, args=args, current_app=current_app), None


class FastURLNode(URLNode):
    def render(self, context):
        if self.kwargs:
            return super().render(context)
        # From here on as Django's URLNode.render, with url_reverse for reverse.
        args = [arg.resolve(context) for arg in self.args]
        view_name = self.view_name.resolve(context)
        try:
            current_app = context.request.current_app
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace
            except AttributeError:
                current_app = None
        url, escaped = "", None
        try:
            url, escaped = url_reverse(view_name, args, current_app)
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        if not context.autoescape:
            return url
        if escaped is None:
            return escape(url)
        return SafeString(_fill(escaped, args))


@register.tag
def url(parser, token):
    """Django's ``{% url %}`` (same syntax, same output), faster for integer arguments."""
    node = django_url(parser, token)
    return FastURLNode(node.view_name, node.args, node.kwargs, node.asvar)
