from allauth.account.models import EmailAddress
from allauth.account.signals import password_reset
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils import timezone

from .sessions import session_mark_refreshed


@receiver(password_reset)
def mark_activated(sender, request, user, **kwargs):
    """Setting a password through an invitation link activates the account and proves the address."""
    if user.activated_at is None:
        user.activated_at = timezone.now()
        user.save(update_fields=["activated_at"])
    EmailAddress.objects.filter(user=user, email=user.email).update(verified=True)


@receiver(user_logged_in)
def session_refreshed_at_login(sender, request, user, **kwargs):
    """A login saves the session anyway: the idle clock (accounts.sessions) starts there."""
    session_mark_refreshed(request.session)
