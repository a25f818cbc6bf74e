from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import user_sessions_end


def holder_password_set(*, user: User, password: str) -> User:
    """Set the holder's password from an invitation or reset link.

    The first time, this activates the account; the address is proven by the link. Every
    other session of the holder ends, so a leaked old password stops working at once.
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
