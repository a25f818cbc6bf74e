"""Delete the expired entries of the database caches (run hourly, like clearsessions).

Django's database cache removes an expired entry only when that key is read again or when the
table passes its MAX_ENTRIES (kaikukanta/settings.py): one-off keys (a rate-limit counter for an
address typed once, a checked import never confirmed) would otherwise stay, and every write
counts the rows. Prints how many were deleted; nothing else.
"""

from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.management.base import BaseCommand
from django.db import connections, router
from django.utils import timezone


class Command(BaseCommand):
    help = "Delete the expired entries of the database caches."

    def handle(self, *args, **options):
        deleted = 0
        for alias in caches:
            cache = caches[alias]
            if not isinstance(cache, DatabaseCache):
                continue
            database = router.db_for_write(cache.cache_model_class)
            connection = connections[database]
            # As Django's own cull compares: whole seconds, in the database's form.
            now = timezone.now().replace(microsecond=0)
            # The table's name is the configuration's (CACHES), quoted; the moment is a parameter.
            table, column = connection.ops.quote_name(cache._table), connection.ops.quote_name("expires")
            with connection.cursor() as cursor:
                cursor.execute(
                    f"DELETE FROM {table} WHERE {column} < %s",  # noqa: S608
                    [connection.ops.adapt_datetimefield_value(now)],
                )
                deleted += cursor.rowcount
        self.stdout.write(f"Deleted {deleted} expired cache entries.")
