"""django-tasks-db's ``db_worker``, kept running through a database outage.

The worker of django-tasks-db stops with ``OperationalError`` when PostgreSQL restarts or fails
over while it polls; the queued mail (invitations, password resets, reminders) and statistics
recomputations would then wait until someone restarts it. This one waits and polls again, as
the web workers recover at their next request: a restart costs the queue seconds, not hours.
``django_tasks_db`` is listed after this app in INSTALLED_APPS, so this command is the one
``manage.py db_worker`` runs; every option is the original's.
"""

import logging
import time

from django.db import InterfaceError, OperationalError, connections
from django_tasks_db.management.commands import db_worker as upstream

logger = logging.getLogger("django_tasks_db")

# Waits between attempts while the database is unavailable: doubling up to the longest.
FIRST_WAIT_SECONDS = 1
LONGEST_WAIT_SECONDS = 30


class Worker(upstream.Worker):
    def run(self) -> None:
        wait = FIRST_WAIT_SECONDS
        while True:
            try:
                return super().run()
            except (OperationalError, InterfaceError) as error:
                if not self.running:
                    raise
                logger.warning(
                    "Database unavailable (%s: %s); worker_id=%s polls again in %s s",
                    type(error).__name__,
                    (str(error).splitlines() or [""])[0][:200],
                    self.worker_id,
                    wait,
                )
                # A dead connection is dropped so that the next attempt opens a new one.
                connections.close_all()
                time.sleep(wait)
                wait = min(wait * 2, LONGEST_WAIT_SECONDS)


class Command(upstream.Command):
    help = "Run the task worker (django-tasks-db's), which waits out a database outage"

    def handle(self, **options) -> None:
        # The original builds its Worker by the module's global name: ours stands in for the call.
        original = upstream.Worker
        upstream.Worker = Worker
        try:
            super().handle(**options)
        finally:
            upstream.Worker = original
