"""The task worker (``manage.py db_worker``) waits out a database outage instead of stopping."""

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import OperationalError, connection

from accounts.adapter import STAFF_PASSWORD_RESET_TEMPLATE
from accounts.management.commands import db_worker
from accounts.tasks import send_password_reset_email
from tests import factories

QUEUE_TABLE = "django_tasks_database_dbtaskresult"


@pytest.fixture
def database_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


# Not in a test transaction: the worker drops connections as it does in production.
@pytest.mark.django_db(transaction=True)
def test_the_worker_waits_while_the_database_is_down_then_sends_the_queued_mail(database_tasks, monkeypatch):
    staff = factories.MembershipFactory(user__email="jakaja@example.fi").user
    send_password_reset_email.enqueue(
        user_id=staff.pk, template=STAFF_PASSWORD_RESET_TEMPLATE, url_name="account_reset_password_from_key"
    )
    waits = []
    monkeypatch.setattr(db_worker.time, "sleep", waits.append)
    refused = []

    def restarting(execute, sql, params, many, context):
        # The first three polls of the queue fail as they do while PostgreSQL restarts.
        if QUEUE_TABLE in sql and len(refused) < 3:
            refused.append(sql)
            raise OperationalError("the database system is shutting down")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(restarting):
        call_command("db_worker", batch=True, startup_delay=False, interval=0, reload=False, verbosity=0)

    assert waits == [1, 2, 4]
    assert [message.to for message in mail.outbox] == [["jakaja@example.fi"]]


@pytest.mark.django_db(transaction=True)
def test_a_task_cut_off_by_the_outage_is_run_again_not_left_running(database_tasks, monkeypatch):
    from django_tasks_db.models import DBTaskResult

    staff = factories.MembershipFactory(user__email="jakaja@example.fi").user
    send_password_reset_email.enqueue(
        user_id=staff.pk, template=STAFF_PASSWORD_RESET_TEMPLATE, url_name="account_reset_password_from_key"
    )
    outage = {"on": True, "refused": 0}

    def sleep(seconds):
        # django-tasks-db retries recording a result after 0.1 s; the database is back only by the
        # time the worker itself has waited (1 s and more).
        if seconds >= db_worker.FIRST_WAIT_SECONDS:
            outage["on"] = False

    monkeypatch.setattr(db_worker.time, "sleep", sleep)

    def gone_while_it_ran(execute, sql, params, many, context):
        # The mail has gone; recording its result (success, then failure) meets the outage.
        recording = sql.lstrip().upper().startswith("UPDATE") and QUEUE_TABLE in sql
        if recording and outage["on"] and any(value in ("SUCCESSFUL", "FAILED") for value in params or ()):
            outage["refused"] += 1
            raise OperationalError("terminating connection due to administrator command")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(gone_while_it_ran):
        call_command("db_worker", batch=True, startup_delay=False, interval=0, reload=False, verbosity=0)

    assert outage["refused"] > 2  # success and failure, each with django-tasks-db's own retries
    # Run again once the database was back: twice rather than never (docs/deploy.md says so).
    assert [message.to for message in mail.outbox] == [["jakaja@example.fi"]] * 2
    assert list(DBTaskResult.objects.values_list("status", flat=True)) == ["SUCCESSFUL"]
