import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.tasks import task
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from accounts.tasks import automatic_mail_headers, mail_retry_later, sender_for

from . import services
from .models import ExpiryReminder

logger = logging.getLogger(__name__)

# Waits before the 2nd, 3rd and 4th attempt when the mail server refuses; then the reminder is failed.
REMINDER_RETRY_DELAYS = (timedelta(minutes=5), timedelta(hours=1), timedelta(hours=6))


def _reminder_email(reminder: ExpiryReminder, card) -> EmailMessage:
    """Only the card's number and last valid day, and who renews it: nothing else about the holder."""
    user = card.holder.account
    site = card.site
    with translation.override(user.language):
        context = {
            "card_number": card.number,
            "valid_until": card.valid_until,
            # The site's public contact (an office phone or shared mailbox), when it has one.
            "distributor": str(site),
            "municipality": str(site.municipality),  # in the mail's language
            "contact_phone": site.contact_phone,
            "contact_email": site.contact_email,
            "omakaiku_url": f"{settings.SITE_URL}{reverse('omakaiku:home')}",
            "settings_url": f"{settings.SITE_URL}{reverse('omakaiku:settings')}",
        }
        template = f"omakaiku/email/expiry_{reminder.kind}"
        subject = render_to_string(f"{template}_subject.txt", context).strip()
        body = render_to_string(f"{template}_message.txt", context)
    return EmailMessage(
        subject, body, sender_for(user), [user.email], headers=automatic_mail_headers(language=user.language)
    )


def _state_set(reminder: ExpiryReminder, **fields) -> None:
    ExpiryReminder.objects.filter(pk=reminder.pk).update(**fields)


@task()
def send_expiry_reminder(*, reminder_id: int, attempt: int = 1) -> None:
    """Send one queued expiry reminder, if it still applies, retrying with back-off.

    Runs after the reminder row has committed. Whether it still applies is asked now: the
    card may have been renewed, or the holder may have opted out, since it was queued.
    The address is not logged: it is personal data.
    """
    reminder = ExpiryReminder.objects.filter(pk=reminder_id, state=ExpiryReminder.State.QUEUED).first()
    if reminder is None:
        return
    card = services.expiry_reminder_card(reminder=reminder)
    if card is None:
        _state_set(reminder, state=ExpiryReminder.State.SKIPPED, attempts=attempt - 1)
        return
    try:
        _reminder_email(reminder, card).send()
    except Exception as error:  # noqa: BLE001 - any failure of the mail server is a failed delivery
        retried = mail_retry_later(
            send_expiry_reminder,
            attempt=attempt,
            delays=REMINDER_RETRY_DELAYS,
            what=f"Expiry reminder id={reminder_id}",
            error=error,
            reminder_id=reminder_id,
        )
        if retried:
            _state_set(reminder, attempts=attempt)
        else:
            _state_set(reminder, state=ExpiryReminder.State.FAILED, attempts=attempt)
        return
    _state_set(reminder, state=ExpiryReminder.State.SENT, attempts=attempt, sent_at=timezone.now())
