"""Loaded by pytest before Django (see ``addopts`` in pyproject.toml).

Tests run with development settings, so no production secret is needed; production
settings are checked separately by ``manage.py check --deploy`` in CI.
"""

import os

os.environ.setdefault("DEBUG", "true")
# pytest-django turns DEBUG off; the compiled queries' check stays on (accounts/compiled.py).
os.environ.setdefault("COMPILED_QUERIES_CHECK", "true")
