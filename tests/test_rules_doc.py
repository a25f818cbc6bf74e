"""docs/rules.md names the tests that guard each rule: every one it names must exist, or a
maintainer who changes a rule is led to a guard that is gone."""

import re
from pathlib import Path

from django.conf import settings

_NAMED = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def test_every_test_named_in_the_rules_exists():
    rules = Path(settings.BASE_DIR, "docs", "rules.md").read_text(encoding="utf-8")
    named = set(_NAMED.findall(rules))
    missing = [
        f"{path}::{name}"
        for path, name in sorted(named)
        if not re.search(rf"^(?:async )?def {name}\(", Path(settings.BASE_DIR, path).read_text(encoding="utf-8"), re.M)
    ]

    assert len(named) > 200
    assert missing == []
