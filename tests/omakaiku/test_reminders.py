"""Expiry reminders: who gets which email, on which day, once per card period, in their language."""

import datetime
import io
import threading
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.tasks import task_backends

from cards import services as card_services
from cards.models import Card
from omakaiku import services
from omakaiku.models import ExpiryReminder, HolderPreferences
from omakaiku.tasks import REMINDER_RETRY_DELAYS, send_expiry_reminder
from tests import factories
from tests.concurrency import thread_connections_close

LAST_VALID_DAY = datetime.date(2031, 6, 15)
HELSINKI = ZoneInfo("Europe/Helsinki")
# Nothing listens on the discard port: connecting fails at once, as with a mail server that is down.
MAIL_SERVER_DOWN = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2},
    }
}


def on(day: datetime.date):
    """Noon in Helsinki on ``day``: the job's "today" is the Finnish date."""
    return time_machine.travel(datetime.datetime.combine(day, datetime.time(12), tzinfo=HELSINKI), tick=False)


def days(n: int) -> datetime.date:
    return LAST_VALID_DAY + datetime.timedelta(days=n)


def make_card(site, *, number="K7000001", language="en", valid_until=LAST_VALID_DAY, **holder) -> Card:
    account = factories.HolderUserFactory(language=language)
    return factories.CardFactory(
        site=site,
        number=number,
        valid_from=valid_until - datetime.timedelta(days=364),
        valid_until=valid_until,
        holder__account=account,
        holder__birth_year=1961,
        holder__postal_code="33580",
        **{f"holder__{name}": value for name, value in holder.items()},
    )


@pytest.fixture
def card(site):
    return make_card(site)


@pytest.fixture
def run(committed):
    """Run the daily command (and the emails it queues); returns what it printed."""

    def run_command():
        out = io.StringIO()
        with committed():
            call_command("omakaiku_send_expiry_reminders", stdout=out)
        return out.getvalue()

    return run_command


@pytest.mark.parametrize(
    ("day", "subject"),
    [
        (-31, None),
        (-30, "Your Kaikukortti is valid until 15.6.2031"),
        (-10, "Your Kaikukortti is valid until 15.6.2031"),  # the 30-day run was missed
        (0, "Your Kaikukortti is valid until 15.6.2031"),  # the last valid day: not expired yet
        (1, "Your Kaikukortti has expired"),
        (7, "Your Kaikukortti has expired"),  # a week of missed runs still reminds
        (8, None),
    ],
)
def test_which_reminder_goes_out_on_which_day(card, run, day, subject):
    with on(days(day)):
        output = run()

    assert [message.subject for message in mail.outbox] == ([subject] if subject else [])
    assert output == f"Queued {1 if subject else 0} expiry reminder(s).\n"


def test_each_reminder_goes_once_however_often_the_job_runs(card, run):
    with on(days(-30)):
        first, again = run(), run()
    with on(days(-29)):
        run()
    with on(days(1)):
        run(), run()
    with on(days(2)):
        run()

    assert first == "Queued 1 expiry reminder(s).\n"
    assert again == "Queued 0 expiry reminder(s).\n"
    assert [message.subject for message in mail.outbox] == [
        "Your Kaikukortti is valid until 15.6.2031",
        "Your Kaikukortti has expired",
    ]
    assert set(ExpiryReminder.objects.values_list("kind", "state")) == {("expiring", "sent"), ("expired", "sent")}


def test_a_renewed_card_gets_no_expired_reminder_and_its_new_period_gets_its_own(card, distributor, run):
    with on(days(-30)):
        run()
    with on(days(-5)):
        card_services.card_renew(card=card, actor=distributor)
    card.refresh_from_db()
    with on(days(1)):
        run()
    with on(card.valid_until - datetime.timedelta(days=30)):
        run()

    assert [message.subject for message in mail.outbox] == [
        "Your Kaikukortti is valid until 15.6.2031",
        f"Your Kaikukortti is valid until {card.valid_until:%-d.%-m.%Y}",
    ]


def test_a_card_renewed_after_queueing_is_not_reminded(card, distributor, django_capture_on_commit_callbacks):
    with on(days(1)), django_capture_on_commit_callbacks() as queued:
        services.expiry_reminders_queue()
    with on(days(1)):
        card_services.card_renew(card=card, actor=distributor)
        for send in queued:
            send()

    assert mail.outbox == []
    assert ExpiryReminder.objects.get().state == ExpiryReminder.State.SKIPPED


def test_opted_out_holders_get_none(card, site, run):
    HolderPreferences.objects.create(user=card.holder.account, expiry_reminders=False)
    opted_in = make_card(site, number="K7000002")
    HolderPreferences.objects.create(user=opted_in.holder.account, expiry_reminders=True)
    with on(days(-30)):
        run()
    with on(days(1)):
        run()

    assert [message.to for message in mail.outbox] == [[opted_in.holder.account.email]] * 2


def test_inactive_cards_and_holders_without_an_activated_omakaiku_get_none(site, run):
    lost = make_card(site, number="K7000002")
    card_services.card_inactivate(card=lost, actor=factories.MembershipFactory(site=site).user, reason="lost")
    factories.CardFactory(site=site, number="K7000003", valid_until=LAST_VALID_DAY, holder__account=None)
    factories.CardFactory(
        site=site,
        number="K7000004",
        valid_until=LAST_VALID_DAY,
        holder__account=factories.HolderUserFactory(activated_at=None),
    )
    with on(days(-30)):
        output = run()

    assert output == "Queued 0 expiry reminder(s).\n"
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("language", "facts"),
    [
        ("sv", ["Kortnummer: K7000001", "Giltigt till: 15.6.2031"]),
        ("fi", ["Kortin numero: K7000001", "Voimassa asti: 15.6.2031"]),
        ("en", ["Card number: K7000001", "Valid until: 15.6.2031"]),
    ],
)
def test_the_email_is_in_the_holders_language(site, run, language, facts):
    make_card(site, language=language)
    with on(days(-30)):
        run()

    [message] = mail.outbox
    for fact in facts:
        assert fact in message.body
    # Sent by the system: no out-of-office reply to it, and a reader's speech knows its language.
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    assert message.extra_headers["Content-Language"] == language


@pytest.mark.parametrize(
    ("language", "fact"),
    [
        ("fi", "Viimeinen voimassaolopäivä: 15.6.2031"),
        ("sv", "Sista giltighetsdag: 15.6.2031"),
        ("en", "Last valid day: 15.6.2031"),
    ],
)
def test_the_expired_email_names_the_last_valid_day_not_a_valid_until_in_the_past(site, run, language, fact):
    make_card(site, language=language)
    with on(days(1)):
        run()

    [message] = mail.outbox
    assert fact in message.body


def test_the_email_says_who_renews_and_how_to_stop_and_nothing_else_about_the_holder(site, run, settings):
    card = make_card(site, gender="female")
    with on(days(1)):
        run()

    [message] = mail.outbox
    assert message.to == [card.holder.account.email]
    assert "K7000001" in message.body
    assert "Social services" in message.body  # the distributor site (see conftest)
    assert site.organisation.name in message.body
    assert "Tampere" in message.body  # the site's municipality
    assert f"{settings.SITE_URL}/omakaiku/settings/" in message.body
    for personal in ["33580", "1961", card.holder.account.email, "female"]:
        assert personal not in message.body
        assert personal not in message.subject


def test_the_email_gives_the_sites_public_contact(site, run):
    site.contact_phone = "03 565 6000"
    site.contact_email = "kaikukortti@sosiaalipalvelut.example.fi"
    site.save()
    make_card(site)
    with on(days(-30)):
        run()

    [message] = mail.outbox
    assert "Phone: 03 565 6000" in message.body
    assert "Email: kaikukortti@sosiaalipalvelut.example.fi" in message.body


def test_a_reactivated_card_does_not_repeat_the_reminder_of_the_same_last_day(card, distributor, admin_user, run):
    with on(days(-20)):
        run()
        card_services.card_inactivate(card=card, actor=distributor, reason="lost")
    with on(days(-10)):
        card_services.card_reactivate(card=card, actor=admin_user)
        run()

    assert len(mail.outbox) == 1


def test_a_mail_server_failure_is_retried_then_marked_failed_without_the_address_in_the_log(
    card, settings, caplog, django_capture_on_commit_callbacks
):
    settings.MAILERS = MAIL_SERVER_DOWN
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    deferring = task_backends["default"]
    deferring.clear()
    with on(days(-30)), django_capture_on_commit_callbacks(execute=True):
        services.expiry_reminders_queue()
    reminder = ExpiryReminder.objects.get()

    with on(days(-30)):
        for attempt in range(1, len(REMINDER_RETRY_DELAYS) + 2):
            send_expiry_reminder.call(reminder_id=reminder.pk, attempt=attempt)

    reminder.refresh_from_db()
    assert (reminder.state, reminder.attempts) == (ExpiryReminder.State.FAILED, len(REMINDER_RETRY_DELAYS) + 1)
    # The first result is the queueing; then one deferred retry per delay.
    assert [result.kwargs.get("attempt") for result in deferring.results] == [None, 2, 3, 4]
    assert card.holder.account.email not in caplog.text
    assert mail.outbox == []


def test_a_reminder_that_failed_every_retry_is_sent_by_the_next_days_run(card, run, settings):
    working = settings.MAILERS
    settings.MAILERS = MAIL_SERVER_DOWN  # down for longer than the retries (immediate tasks: no retry)
    with on(days(-30)):
        run()
    assert ExpiryReminder.objects.get().state == ExpiryReminder.State.FAILED

    settings.MAILERS = working  # the mail server is back
    with on(days(-29)):
        assert "Queued 1" in run()
        run()  # and once is enough

    [message] = mail.outbox
    assert message.subject == "Your Kaikukortti is valid until 15.6.2031"
    assert ExpiryReminder.objects.get().state == ExpiryReminder.State.SENT


def test_a_mailbox_that_refuses_every_time_is_not_written_to_day_after_day(
    card, settings, django_capture_on_commit_callbacks
):
    """With the task queue: the first day's try and its retries, then one more try a day later."""
    settings.MAILERS = MAIL_SERVER_DOWN
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    queue = task_backends["default"]
    queue.clear()

    def run_queued(day):
        """The daily job, then every task it queued and their retries, as the worker would."""
        with on(day):
            with django_capture_on_commit_callbacks(execute=True):
                services.expiry_reminders_queue()
            while queue.results:
                result = queue.results.pop(0)
                send_expiry_reminder.call(**result.kwargs)

    for day in range(-30, -20):
        run_queued(days(day))

    reminder = ExpiryReminder.objects.get()
    assert reminder.state == ExpiryReminder.State.FAILED
    # The first day's try and retries, then one more try on each of the next two days.
    assert reminder.attempts == len(REMINDER_RETRY_DELAYS) + 1 + 2
    assert mail.outbox == []


def test_an_outage_over_a_weekend_loses_no_reminder(card, settings, django_capture_on_commit_callbacks):
    working = settings.MAILERS
    settings.MAILERS = MAIL_SERVER_DOWN
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    queue = task_backends["default"]
    queue.clear()
    for day in (-30, -29, -28):
        if day == -28:
            settings.MAILERS = working  # back on Monday
        with on(days(day)):
            with django_capture_on_commit_callbacks(execute=True):
                services.expiry_reminders_queue()
            while queue.results:
                send_expiry_reminder.call(**queue.results.pop(0).kwargs)

    [message] = mail.outbox
    assert message.subject == "Your Kaikukortti is valid until 15.6.2031"


def test_a_failed_reminder_that_no_longer_applies_is_not_sent_again(card, run, settings):
    working = settings.MAILERS
    settings.MAILERS = MAIL_SERVER_DOWN
    with on(days(-30)):
        run()
    settings.MAILERS = working
    HolderPreferences.objects.update_or_create(user=card.holder.account, defaults={"expiry_reminders": False})

    with on(days(-29)):
        run()

    assert mail.outbox == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent connections (PostgreSQL)")
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_queue_each_reminder_once(site):
    for n in range(5):
        make_card(site, number=f"K710000{n}")
    barrier = threading.Barrier(2)
    counts = []

    def job():
        try:
            barrier.wait()
            counts.append(services.expiry_reminders_queue())
        finally:
            thread_connections_close()

    threads = [threading.Thread(target=job) for _ in range(2)]
    with on(days(-30)):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert sum(counts) == 5
    assert ExpiryReminder.objects.count() == 5
    assert len(mail.outbox) == 5
