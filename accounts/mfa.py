"""Two-step verification (TOTP) for the people who can change the most: admins and coordinators."""

import time

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from allauth.mfa.utils import decrypt

from .models import User
from .permissions import coordinated_region_ids

# The demo's admin and coordinator share this published secret, so that a newcomer can log in
# without a phone (``manage.py demo_totp_code``). Never use it for a real account.
DEMO_TOTP_SECRET = "KAIKUKANTADEMOTOTPSECRETONLYDEMO"


def mfa_required(user) -> bool:
    """Admins (Django admin access) and regional coordinators must use two-step verification."""
    return bool(
        user.is_authenticated
        and user.kind == User.Kind.STAFF
        and (user.is_staff or user.is_superuser or coordinated_region_ids(user))
    )


def totp_enabled(user) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def totp_activate(*, user: User, secret: str) -> Authenticator:
    """Give a user an authenticator app with a known secret (the demo and tests)."""
    return TOTP.activate(user, secret).instance


def totp_secret(user: User) -> str | None:
    authenticator = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    return decrypt(authenticator.data["secret"]) if authenticator else None


def totp_code(secret: str, *, at: float | None = None) -> str:
    """The code an authenticator app shows now for ``secret`` (allauth's own computation)."""
    counter = int(time.time() if at is None else at) // mfa_settings.TOTP_PERIOD
    return format_hotp_value(hotp_value(secret, counter))


def demo_totp_ensure(*, emails: list[str]) -> None:
    """Give the demo logins that have no authenticator yet the demo's published secret."""
    for user in User.objects.filter(email__in=emails, kind=User.Kind.STAFF):
        if not totp_enabled(user):
            totp_activate(user=user, secret=DEMO_TOTP_SECRET)
