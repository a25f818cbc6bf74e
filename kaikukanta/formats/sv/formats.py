"""The shared date formats (see kaikukanta/formats/__init__.py)."""

from kaikukanta.formats import *  # noqa: F403
