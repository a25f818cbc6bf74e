import datetime

from allauth.account.models import EmailAddress
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from accounts.models import User
from accounts.services import user_mail_language_set, user_sessions_end
from cards.models import Card, ValidityPeriod

from . import tasks
from .models import ExpiryReminder, HolderPreferences

# docs/rules.md, "Expiry reminders".
REMINDER_DAYS_BEFORE = 30
# The "has expired" reminder still goes out this many days after expiry, so a day the job
# did not run (a holiday, a broken server) loses no reminder.
EXPIRED_REMINDER_DAYS = 7


def holder_password_set(*, user: User, password: str) -> User:
    """Set the holder's password: from an invitation or reset link, or changed in settings.

    The first time, this activates the account; the address is proven by the link. Every
    other session of the holder ends, so a leaked old password stops working at once (a
    change in settings keeps the current session: the view updates its hash).
    """
    with transaction.atomic():
        user.set_password(password)
        if user.activated_at is None:
            user.activated_at = timezone.now()
        user._history_user = user
        user.save()
        user_sessions_end(user=user)
        EmailAddress.objects.filter(user=user, email=user.email).update(verified=True)
    return user


def holder_preferences_set(*, user: User, language: str, expiry_reminders: bool) -> HolderPreferences:
    """Save the holder's email language (``User.language``) and whether they want expiry reminders."""
    if not user.is_holder:
        raise PermissionDenied
    with transaction.atomic():
        user_mail_language_set(user=user, language=language)
        preferences, _created = HolderPreferences.objects.update_or_create(
            user=user, defaults={"expiry_reminders": expiry_reminders}
        )
    return preferences


# --- expiry reminders ------------------------------------------------------------------------


def _reminder_kind(valid_until: datetime.date, today: datetime.date) -> str:
    # A card is valid through its last valid day; "expired" is from the day after.
    return ExpiryReminder.Kind.EXPIRED if valid_until < today else ExpiryReminder.Kind.EXPIRING


def _reminder_cards(today: datetime.date) -> QuerySet[Card]:
    """Active cards a reminder is due for today, whatever was sent already, with ``current_period``.

    The holder must have an activated OmaKaiku login with an address and must not have opted out.
    """
    current = ValidityPeriod.objects.filter(card=OuterRef("pk")).order_by("-valid_from", "-pk").values("pk")[:1]
    return (
        Card.objects.filter(
            status=Card.Status.ACTIVE,
            valid_until__gte=today - datetime.timedelta(days=EXPIRED_REMINDER_DAYS),
            valid_until__lte=today + datetime.timedelta(days=REMINDER_DAYS_BEFORE),
            holder__account__kind=User.Kind.HOLDER,
            holder__account__is_active=True,
            holder__account__activated_at__isnull=False,
        )
        .exclude(holder__account__email="")
        .exclude(holder__account__holder_preferences__expiry_reminders=False)
        .annotate(current_period=Subquery(current))
        .filter(current_period__isnull=False)
    )


def expiry_reminders_queue(*, today: datetime.date | None = None) -> int:
    """Queue today's expiry reminders; returns how many. Safe to run again, or twice at once.

    Each reminder row is committed before its email is queued, and the unique constraint on
    (period, kind) lets only one run write it. A holder is not reminded twice of the same last
    valid day either, when a reactivation or a replacement card started a new period ending then.
    """
    today = today or timezone.localdate()
    reminded = ExpiryReminder.objects.filter(
        period__card__holder=OuterRef("holder"), period__valid_until=OuterRef("valid_until")
    )
    cards = (
        _reminder_cards(today)
        .exclude(Q(Exists(reminded.filter(kind=ExpiryReminder.Kind.EXPIRING))), valid_until__gte=today)
        .exclude(Q(Exists(reminded.filter(kind=ExpiryReminder.Kind.EXPIRED))), valid_until__lt=today)
        .order_by("pk")
        .values_list("current_period", "valid_until")
    )
    queued = 0
    for period_id, valid_until in cards:
        try:
            with transaction.atomic():
                reminder = ExpiryReminder.objects.create(period_id=period_id, kind=_reminder_kind(valid_until, today))
                transaction.on_commit(lambda pk=reminder.pk: tasks.send_expiry_reminder.enqueue(reminder_id=pk))
        except IntegrityError:
            continue  # another run wrote it first; that run sends it
        queued += 1
    return queued + _failed_reminders_requeue(today)


# Days after the first on which a reminder whose every retry failed is tried once more.
REMINDER_EXTRA_DAYS = 2


def _failed_reminders_requeue(today: datetime.date) -> int:
    """Queue again the reminders whose every retry failed (a mail outage of more than the
    retries' seven hours), on each of the next two days' runs while they still apply: an outage
    over a weekend loses no reminder. The tries go on counting their attempts past the retries,
    so a mailbox that refuses every time (an address that no longer exists) is given up after
    that, not written to day after day. Only the run that moves a reminder from failed to
    queued sends it."""
    failed = ExpiryReminder.objects.filter(
        state=ExpiryReminder.State.FAILED,
        # The first day's try and its retries, then one try a day: fewer than all of those so far.
        attempts__lt=len(tasks.REMINDER_RETRY_DELAYS) + 1 + REMINDER_EXTRA_DAYS,
        period__valid_until__gte=today - datetime.timedelta(days=EXPIRED_REMINDER_DAYS),
        period__valid_until__lte=today + datetime.timedelta(days=REMINDER_DAYS_BEFORE),
    ).order_by("pk")
    queued = 0
    for reminder in failed:
        if expiry_reminder_card(reminder=reminder, today=today) is None:
            continue
        with transaction.atomic():
            moved = ExpiryReminder.objects.filter(pk=reminder.pk, state=ExpiryReminder.State.FAILED).update(
                state=ExpiryReminder.State.QUEUED, queued_at=timezone.now()
            )
            if moved:
                transaction.on_commit(
                    lambda pk=reminder.pk, attempt=reminder.attempts + 1: tasks.send_expiry_reminder.enqueue(
                        reminder_id=pk, attempt=attempt
                    )
                )
        queued += moved
    return queued


def expiry_reminder_card(*, reminder: ExpiryReminder, today: datetime.date | None = None) -> Card | None:
    """The card, if the reminder still applies now, just before sending; else None.

    It no longer applies if meanwhile the card was renewed (its current period changed) or
    inactivated, the expiring card expired, or the holder opted out or lost OmaKaiku.
    """
    today = today or timezone.localdate()
    card = (
        _reminder_cards(today)
        .filter(current_period=reminder.period_id)
        .select_related("holder__account", "site__organisation", "site__municipality")
        .first()
    )
    if card is None or _reminder_kind(card.valid_until, today) != reminder.kind:
        return None
    return card
