from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.tasks import task
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from .models import User
from .tokens import invitation_token_generator


def invitation_url(user: User, url_name: str = "account_reset_password_from_key") -> str:
    path = reverse(
        url_name, kwargs={"uidb36": user_pk_to_url_str(user), "key": invitation_token_generator.make_token(user)}
    )
    return f"{settings.SITE_URL}{path}"


@task()
def send_invitation_email(
    *, user_id: int, template: str, context: dict, url_name: str = "account_reset_password_from_key"
) -> None:
    """Send an invitation with a set-your-password link.

    Runs after the inviting transaction has committed, so the link is made from the
    saved ``invited_at`` and a rolled-back invitation never sends mail. The address
    is deliberately not logged: it is personal data.
    """
    user = User.objects.get(pk=user_id)
    with translation.override(user.language):
        ctx = {
            **context,
            "url": invitation_url(user, url_name),
            "site_url": settings.SITE_URL,
            "timeout_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
        }
        subject = render_to_string(f"{template}_subject.txt", ctx).strip()
        body = render_to_string(f"{template}_message.txt", ctx)
    message = EmailMultiAlternatives(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    message.send()
