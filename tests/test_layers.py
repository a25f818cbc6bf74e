"""The apps import one another one way only (README, "Architecture in a few lines").

A lower app that imports a higher one ties the two together: ``accounts`` could then no longer
be read, tested or changed without OmaKaiku. Where a lower app must point at a higher one, a
setting names the URL instead.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Each app and the project's apps it may import (its own modules aside).
MAY_IMPORT = {
    "accounts": {"kaikukanta"},
    "cards": {"kaikukanta", "accounts"},
    "stats": {"kaikukanta", "accounts", "cards"},
    "omakaiku": {"kaikukanta", "accounts", "cards"},
    # seed_demo uses every app's services and builds the statistics' summaries.
    "venues": {"kaikukanta", "accounts", "cards", "stats"},
}


def _imported_apps(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names & (set(MAY_IMPORT) | {"kaikukanta"})


@pytest.mark.parametrize("app", sorted(MAY_IMPORT))
def test_an_app_imports_only_the_apps_below_it(app):
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / app).rglob("*.py")
        for name in _imported_apps(path) - MAY_IMPORT[app] - {app}
    }
    assert not wrong, sorted(wrong)
