import logging
import smtplib
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr

from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.tasks import task
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac

from .models import InvitationDelivery, User
from .security_log import security_event
from .tokens import invitation_token_generator

logger = logging.getLogger(__name__)

# Waits before the 2nd, 3rd and 4th attempt of an invitation email; after the last one
# the invitation is marked failed and the page offers a resend.
INVITATION_RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))


def mail_retry_later(task, *, attempt: int, delays, what: str, error: Exception, **kwargs) -> bool:
    """After a failed mail: queue ``task`` again after this attempt's delay, when the task backend
    can run a task later and an attempt is left, and log the failure either way (by ``what``,
    never the address). True when queued; otherwise the caller marks the delivery failed.

    A backend that runs tasks at once (development, tests) cannot wait, so there a failure is
    final at once."""
    can_retry = task.get_backend().supports_defer and attempt <= len(delays)
    logger.warning(
        "%s failed (attempt %s, %s)%s",
        what,
        attempt,
        type(error).__name__[:100],
        "; retrying later" if can_retry else "",
    )
    if can_retry:
        task.using(run_after=timezone.now() + delays[attempt - 1]).enqueue(attempt=attempt + 1, **kwargs)
    return can_retry


def invitation_url(user: User, url_name: str = "account_reset_password_from_key") -> str:
    path = reverse(
        url_name, kwargs={"uidb36": user_pk_to_url_str(user), "key": invitation_token_generator.make_token(user)}
    )
    return f"{settings.SITE_URL}{path}"


def automatic_mail_headers(*, language: str) -> dict[str, str]:
    """Headers of every mail Kaikukanta sends by itself: out-of-office replies are not sent back
    to an address nobody reads (RFC 3834; Exchange's own header), and the mail says which
    language it is in, for a reader's text-to-speech."""
    return {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All", "Content-Language": language}


def sender_for(user: User) -> str:
    """Who a mail says it is from. Holders know Kaikukortti and OmaKaiku, not the staff's
    register: their mail comes from the same address under the name they know."""
    if user.kind != User.Kind.HOLDER:
        return settings.DEFAULT_FROM_EMAIL
    _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr(("Kaikukortti – OmaKaiku", address))


def _send_set_password_email(*, user: User, template: str, context: dict, url_name: str) -> None:
    """Render and send a mail with a set-your-password link made now, from the saved user."""
    with translation.override(user.language):
        ctx = {
            **context,
            "url": invitation_url(user, url_name),
            # allauth's own reset templates call the link ``password_reset_url``.
            "password_reset_url": invitation_url(user, url_name),
            "site_url": settings.SITE_URL,
            "timeout_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
        }
        subject = render_to_string(f"{template}_subject.txt", ctx).strip()
        body = render_to_string(f"{template}_message.txt", ctx)
    message = EmailMultiAlternatives(
        subject, body, sender_for(user), [user.email], headers=automatic_mail_headers(language=user.language)
    )
    message.send()


def _delivery_set(user: User, **fields) -> None:
    InvitationDelivery.objects.update_or_create(user=user, defaults={"changed_at": timezone.now(), **fields})


@task()
def send_invitation_email(
    *,
    user_id: int,
    template: str,
    context: dict,
    url_name: str = "account_reset_password_from_key",
    attempt: int = 1,
    invited_at: str | None = None,
) -> None:
    """Send an invitation with a set-your-password link, retrying with back-off.

    Runs after the inviting transaction has committed, so the link is made from the
    saved ``invited_at`` and a rolled-back invitation never sends mail. The address
    is deliberately not logged: it is personal data.

    A failure re-enqueues the task with ``run_after`` (1, 5, then 30 minutes later) when
    the task backend can defer (the database backend in production). A backend that runs
    tasks at once (development, tests) cannot wait, so there the invitation is failed at
    once. Either way the state on ``InvitationDelivery`` says what happened.
    """
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return  # erased meanwhile
    if invited_at is not None and user.invited_at != datetime.fromisoformat(invited_at):
        return  # a newer invitation replaced this one (a resend); its own task sends it
    try:
        _send_set_password_email(user=user, template=template, context=context, url_name=url_name)
    except Exception as error:  # noqa: BLE001 - any failure of the mail server is a failed delivery
        retried = mail_retry_later(
            send_invitation_email,
            attempt=attempt,
            delays=INVITATION_RETRY_DELAYS,
            what=f"Invitation email for user id={user_id}",
            error=error,
            user_id=user_id,
            template=template,
            context=context,
            url_name=url_name,
            invited_at=invited_at,
        )
        state = InvitationDelivery.State.QUEUED if retried else InvitationDelivery.State.FAILED
        _delivery_set(user, state=state, attempts=attempt, error=mail_error_name(error))
        return
    _delivery_set(user, state=InvitationDelivery.State.SENT, attempts=attempt, error="")


def mail_error_name(error: Exception) -> str:
    """What is kept of a failed mail: the exception's class, never its text (an SMTP error repeats
    the address). For a refused recipient also the server's reply code, which says whether the
    address itself was refused (5xx) or only for now (4xx, e.g. greylisting); no address."""
    name = type(error).__name__
    if isinstance(error, smtplib.SMTPRecipientsRefused) and error.recipients:
        code, _message = next(iter(error.recipients.values()))
        name = f"{name} {code}"
    return name[:100]


def password_state(user: User) -> str:
    """A short fingerprint of the login's password as it is now: a retried reset mail is dropped
    once the password has changed (set from another reset mail, say). Not the hash itself, and no
    token: nothing in the task queue could set a password."""
    return salted_hmac("kaikukanta.password-reset-retry", user.password or "", algorithm="sha256").hexdigest()[:16]


@task()
def send_password_reset_email(
    *,
    user_id: int,
    template: str,
    url_name: str,
    attempt: int = 1,
    requested_at: str | None = None,
    password_at_request: str | None = None,
) -> None:
    """A forgotten-password mail, sent outside the request, retried as an invitation is.

    Sending in the request would answer differently (an error, a delay) for an address that
    has an account than for one that has not, when the mail server is slow or down. The
    link is made here, from the saved user, so no token waits in the task queue. A failure
    is tried again 1, 5 and 30 minutes later (the page has already said a mail is on its
    way); a retry is dropped once the person has logged in or their password has changed after
    asking, as they no longer need it.
    """
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    if requested_at is not None and user.last_login and user.last_login > datetime.fromisoformat(requested_at):
        return
    if password_at_request is not None and password_state(user) != password_at_request:
        return  # the password was set meanwhile: the person has what they asked for
    try:
        _send_set_password_email(user=user, template=template, context={"user": user}, url_name=url_name)
    except Exception as error:  # noqa: BLE001 - any failure of the mail server is a failed delivery
        retried = mail_retry_later(
            send_password_reset_email,
            attempt=attempt,
            delays=INVITATION_RETRY_DELAYS,
            what=f"Password reset email for user id={user_id}",
            error=error,
            user_id=user_id,
            template=template,
            url_name=url_name,
            requested_at=requested_at or timezone.now().isoformat(),
            password_at_request=password_at_request or password_state(user),
        )
        if not retried:
            security_event("password.reset_mail_failed", user=user, attempts=attempt)
