"""Recomputing a statistics table behind the page (see stats/cache.py)."""

from django.tasks import task
from django.utils import translation

from cards.access import StatsLevel, StatsScope

from . import cache as stats_cache
from . import selectors
from .filters import StatsFilter


@task()
def stats_table_refresh(*, level: str | None, pk: int | None, filters: dict, slug: str, language: str) -> None:
    """Compute one table again with the register as it is now and keep it for the pages."""
    scope = StatsScope(StatsLevel(level), pk) if level else None
    stats_filter = StatsFilter.from_params(filters)
    key = stats_cache.table_key(scope=scope, filters=stats_filter, slug=slug, language=language)
    try:
        fingerprint = stats_cache.register_fingerprint()
        kept = stats_cache.caches["stats"].get(key)
        if isinstance(kept, stats_cache.CachedTable) and kept.fingerprint == fingerprint:
            # Already as new as the register: a page that read the old table just before an
            # earlier run stored the new one queued this run again.
            return
        with translation.override(language):
            if scope is None:
                compute = lambda: selectors.stats_public_table(filters=stats_filter, slug=slug)  # noqa: E731
            else:
                compute = lambda: selectors.stats_table_for(scope=scope, filters=stats_filter, slug=slug)  # noqa: E731
            stats_cache.table_compute_and_keep(key=key, compute=compute, fingerprint=fingerprint)
    finally:
        stats_cache.caches["stats"].delete(key + ":refreshing")
