"""Finnish and Swedish are complete: every extracted string has a reviewed translation."""

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings

PLACEHOLDER = re.compile(r"%\(\w+\)s|%s")


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_catalogue_is_complete_and_keeps_placeholders(language):
    path = Path(settings.BASE_DIR) / "locale" / language / "LC_MESSAGES" / "django.po"
    with path.open("rb") as po_file:
        catalog = read_po(po_file)

    problems = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(f"untranslated or fuzzy: {ids[0]!r}")
            continue
        expected = sorted(set(PLACEHOLDER.findall(ids[-1])))
        for string in strings:
            if sorted(set(PLACEHOLDER.findall(string))) != expected:
                problems.append(f"placeholders differ: {ids[0]!r} -> {string!r}")
    assert not problems, "\n".join(problems)
    assert len(catalog) > 400
