"""Read queries whose SQL is written once per process, for the queries every busy page runs.

Turning a QuerySet into SQL is Python work that Django repeats on every request: for the card
page's card (the card with its holder, municipality, account, site and organisation: about 60
columns) it took 1.4 ms, the database 0.4 ms to answer it. Across a page's queries that was
13–32 % of the page's time. A ``CompiledQuery`` does that work once per database and reuses it:

    _card = CompiledQuery(lambda pk: Card.objects.select_related("holder").filter(pk=pk)[:1], pk=int)
    card = _card.first(pk=5)

- ``build`` makes the QuerySet from the keyword arguments named with their types. It must
  depend on nothing else: not on today's date, a setting or the user unless passed in. Each
  argument must reach the SQL as a parameter of its own (``=``, ``<``, ``>=``; not ``__in``,
  ``__contains``, nor ``None``).
- The first call builds the query twice with probe values that no real row has, compiles both,
  and keeps the SQL and where each argument goes among its parameters. It keeps them only when
  the two agree in everything but the arguments; otherwise the query is compiled every time, as
  any other.
- Later calls build the QuerySet (cheap), hand Django's own row reader the kept SQL with these
  arguments, and so get model instances exactly as the QuerySet itself would give them.
- A value of another type (a subclass such as ``bool`` for ``int``, ``None``) runs the QuerySet
  as it is; so does an integer outside what its column holds (``/cards/10^20/``), which Django
  answers with no rows and the database would refuse with an error. An integer argument must
  therefore be compared with a column in the filter, where its range is read.
- With ``COMPILED_QUERIES_CHECK`` on (by default where ``DEBUG`` is, and in the test suite)
  every call also compiles the QuerySet the usual way and fails loudly when the kept SQL or its
  parameters differ: a ``build`` that reads anything but its arguments shows up in the first
  test that changes it.
"""

import copy
import datetime
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.lookups import Lookup

# Probe values per argument type: none of them is a stored id, card number, date or time.
_PROBES = {
    int: lambda index, round_: -9_000_000_000_000_000 + 1000 * round_ + index,
    str: lambda index, round_: f"\x1fprobe-{round_}-{index}",
    datetime.date: lambda index, round_: datetime.date(1001 + round_, 1, 1 + index),
    datetime.datetime: lambda index, round_: datetime.datetime(1001 + round_, 1, 1 + index, tzinfo=datetime.UTC),
}


class CompiledQueryMismatch(AssertionError):
    """The kept SQL is not what Django writes for these arguments (only with COMPILED_QUERIES_CHECK)."""


class _Compiled:
    __slots__ = ("compiler", "sql", "params", "positions", "ranges")

    def __init__(self, compiler, sql: str, params: tuple, positions: dict[int, tuple[str, type | None]]):
        self.compiler, self.sql, self.params, self.positions = compiler, sql, params, positions
        # Per integer argument, the values its columns hold: Django answers a value outside
        # them without asking the database (no rows), which would refuse it with an error.
        self.ranges: dict[str, tuple[int | None, int | None]] = {}

    def in_range(self, values: dict) -> bool:
        for name, (low, high) in self.ranges.items():
            if (low is not None and values[name] < low) or (high is not None and values[name] > high):
                return False
        return True

    def params_for(self, values: dict) -> tuple:
        params = list(self.params)
        for position, (name, kind) in self.positions.items():
            # As the backend passed the probe: PostgreSQL's binds a big integer column's value as Int8.
            params[position] = values[name] if kind is None else kind(values[name])
        return tuple(params)


def _lookups(node):
    """Every lookup (``pk = %s``, ``created_at >= %s`` …) of a query's WHERE tree."""
    for child in getattr(node, "children", ()):
        if isinstance(child, Lookup):
            yield child
        else:
            yield from _lookups(child)


class CompiledQuery:
    def __init__(self, build: Callable[..., QuerySet], /, **types: type):
        unknown = set(types.values()) - set(_PROBES)
        if unknown:
            raise TypeError(f"No probe values for {unknown}; use one of {list(_PROBES)}.")
        self.build = build
        self.types = types
        # Per database alias: the kept SQL, or None where this query cannot be kept.
        self._compiled: dict[str, _Compiled | None] = {}

    def all(self, **values) -> list[Model]:
        queryset = self.build(**values)
        if set(values) != set(self.types) or any(type(values[name]) is not kind for name, kind in self.types.items()):
            return list(queryset)
        alias = queryset.db
        try:
            compiled = self._compiled[alias]
        except KeyError:
            compiled = self._compiled[alias] = self._compile(alias)
        if compiled is None or not compiled.in_range(values):
            return list(queryset)
        params = compiled.params_for(values)
        if settings.COMPILED_QUERIES_CHECK:
            self._check(queryset, compiled, params)
        compiler = copy.copy(compiled.compiler)
        # This thread's connection: the kept compiler was made in another request, maybe another thread.
        compiler.connection = connections[alias]
        compiler.using = alias
        compiler.as_sql = lambda *args, **kwargs: (compiled.sql, params)
        # Django's own row reader (ModelIterable) asks the query for its compiler and gets this one;
        # the QuerySet never leaves this function, so nothing chained to it can reuse the SQL.
        queryset.query.get_compiler = lambda *args, **kwargs: compiler
        return list(queryset)

    def first(self, **values) -> Model | None:
        return next(iter(self.all(**values)), None)

    def _probes(self, round_: int) -> dict:
        return {name: _PROBES[kind](index, round_) for index, (name, kind) in enumerate(self.types.items())}

    def _compile(self, alias: str) -> _Compiled | None:
        compiled = []
        for round_ in (1, 2):
            probes = self._probes(round_)
            queryset = self.build(**probes)
            if queryset.db != alias:
                return None
            compiler = queryset.query.get_compiler(using=alias)
            try:
                sql, params = compiler.as_sql()
            except (EmptyResultSet, FullResultSet):  # e.g. .none(): Django answers those without SQL
                return None
            positions = {}
            for position, param in enumerate(params):
                for name, probe in probes.items():
                    if isinstance(param, type(probe)) and param == probe:
                        positions[position] = (name, None if type(param) is type(probe) else type(param))
            # Every argument a parameter of its own, none written into the SQL text.
            if {name for name, _kind in positions.values()} != set(probes) or any(
                str(probe) in sql for probe in probes.values()
            ):
                return None
            compiled.append(_Compiled(compiler, sql, tuple(params), positions))
        first, second = compiled
        integers = {name for name, kind in self.types.items() if kind is int}
        for lookup in _lookups(queryset.query.where):
            name = next((n for n in integers if type(lookup.rhs) is int and lookup.rhs == probes[n]), None)
            if name is None:
                continue
            try:
                low, high = connections[alias].ops.integer_field_range(lookup.lhs.output_field.get_internal_type())
            except KeyError:  # not an integer column
                low, high = None, None
            old_low, old_high = first.ranges.get(name, (None, None))
            first.ranges[name] = (
                max((v for v in (low, old_low) if v is not None), default=None),
                min((v for v in (high, old_high) if v is not None), default=None),
            )
        if set(first.ranges) != integers:  # an integer used other than in a filter: its range is unknown
            return None
        if (first.sql, first.positions) != (second.sql, second.positions):
            return None
        # Apart from the arguments, the parameters must not move with them.
        if first.params_for(self._probes(2)) != second.params:
            return None
        return first

    def _check(self, queryset: QuerySet, compiled: _Compiled, params: tuple) -> None:
        sql, expected = queryset.query.get_compiler(using=queryset.db).as_sql()
        if sql != compiled.sql or tuple(expected) != params:
            raise CompiledQueryMismatch(
                f"{self.build!r} wrote other SQL than the kept one; its build reads something besides its "
                f"arguments ({', '.join(self.types)}).\nkept: {compiled.sql} {params}\nnow:  {sql} {tuple(expected)}"
            )
