"""django-tasks-db's ``db_worker``, kept running through a database outage.

The worker of django-tasks-db stops with ``OperationalError`` when PostgreSQL restarts or fails
over while it polls; the queued mail (invitations, password resets, reminders) and statistics
recomputations would then wait until someone restarts it. This one waits and polls again, as
the web workers recover at their next request: a restart costs the queue seconds, not hours. A
task that was running when the database went is queued again once it is back.
``django_tasks_db`` is listed after this app in INSTALLED_APPS, so this command is the one
``manage.py db_worker`` runs; every option is the original's.
"""

import logging
import time

from django.db import InterfaceError, OperationalError, connections
from django.tasks import TaskResultStatus
from django_tasks_db.management.commands import db_worker as upstream
from django_tasks_db.models import DBTaskResult

logger = logging.getLogger("django_tasks_db")

# Waits between attempts while the database is unavailable: doubling up to the longest.
FIRST_WAIT_SECONDS = 1
LONGEST_WAIT_SECONDS = 30


class Worker(upstream.Worker):
    # The task being run, so that one cut off by an outage can be run again (see ``run``).
    _in_flight: int | None = None

    def run_task(self, db_task_result) -> None:
        self._in_flight = db_task_result.pk
        super().run_task(db_task_result)
        self._in_flight = None  # not reached when recording its result failed with the database

    def run(self) -> None:
        wait, last_failure = FIRST_WAIT_SECONDS, None
        while True:
            try:
                self._in_flight_requeue()
                return super().run()
            except (OperationalError, InterfaceError) as error:
                if not self.running:
                    raise
                now = time.monotonic()
                if last_failure is not None and now - last_failure > 2 * LONGEST_WAIT_SECONDS:
                    wait = FIRST_WAIT_SECONDS  # a new outage, not the same one going on
                last_failure = now
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

    def _in_flight_requeue(self) -> None:
        """A task whose run the outage cut off (its result could not be recorded) would stay
        "running" for ever: it is queued again. It may have done its work already (a mail sent
        just before the database went): run twice rather than never."""
        if self._in_flight is None:
            return
        DBTaskResult.objects.filter(pk=self._in_flight, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.READY
        )
        logger.warning("Task id=%s was cut off by the outage and is queued again", self._in_flight)
        self._in_flight = None


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
