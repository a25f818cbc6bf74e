"""The security log: who did which security-relevant thing, when and from where.

Each event is one line of JSON on the logger ``kaikukanta.security``. JSON rather than
``key=value``: log collectors (journald, Loki, Elasticsearch, CloudWatch) parse it without a
grammar of our own, a value with spaces or ``=`` needs no quoting rules, and ``json.dumps``
escapes newlines, so no value can forge a second record.

What goes in: the event name (``login.failed``), the acting user's id and role (never the email),
the client address, the time, and non-personal details (object ids, slugs, counts). What never
goes in: emails, names, passwords, tokens, reset keys, session keys, TOTP codes. The details
pass ``details_check``, which refuses anything that could be one of those.
"""

import json
import logging
import re
from datetime import UTC, datetime

from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import transaction

LOGGER_NAME = "kaikukanta.security"
logger = logging.getLogger(LOGGER_NAME)

EVENT_NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
MAX_VALUE_LENGTH = 200
# Detail names that would hold a secret or an address whatever the value looks like.
FORBIDDEN_NAME_PARTS = ("password", "token", "secret", "session", "email", "otp", "cookie")
FORBIDDEN_NAMES = {"key", "code", "uid", "uidb36", "name", "path", "url"}
RESERVED_NAMES = {"log", "time", "event", "user_id", "user_role", "ip"}
# allauth refuses further wrong passwords and codes with these form errors, not with a 429.
THROTTLE_ERROR_CODES = {"too_many_login_attempts", "rate_limited"}
ADMIN_ACTIONS = {1: "admin.added", 2: "admin.changed", 3: "admin.deleted"}
# Events that say a change was made: logged when it is committed, never for one rolled back (a
# request that failed half-way, a database outage at the commit). Attempts, refusals and reads
# (logins, throttles, downloads, a file checked) are logged as they happen, whatever follows.
CHANGE_EVENTS = frozenset(
    {
        "account.activated",
        "password.changed",
        "password.set",
        "password.reset_completed",
        "mfa.added",
        "mfa.removed",
        "mfa.reset",
        "invitation.holder_sent",
        "invitation.staff_sent",
        "import.recorded",
        "admin.added",
        "admin.changed",
        "admin.deleted",
        "admin.logged",
        "admin.card_action",
    }
)


def details_check(details: dict) -> dict:
    """Refuse (ValueError) a detail that could carry personal data or a secret.

    The error names the detail, never its value: the value may be the very address.
    """
    for name, value in details.items():
        lowered = name.lower()
        if lowered in RESERVED_NAMES or lowered in FORBIDDEN_NAMES or any(p in lowered for p in FORBIDDEN_NAME_PARTS):
            raise ValueError(f"security_event: the detail {name!r} is not allowed in the security log")
        # A model instance is refused too: its str() may be an email (User.__str__ is).
        if value is not None and not isinstance(value, str | int | float | bool):
            raise ValueError(f"security_event: the detail {name!r} must be a plain str, number or bool")
        if isinstance(value, str) and ("@" in value or len(value) > MAX_VALUE_LENGTH):
            raise ValueError(f"security_event: the detail {name!r} looks like an address or free text")
    return details


def client_ip(request) -> str | None:
    """REMOTE_ADDR, or the X-Forwarded-For entry TRUSTED_PROXY_COUNT proxies vouch for (allauth's rule,
    so the log names the same address that allauth's rate limits count)."""
    from allauth.account.adapter import get_adapter

    try:
        return get_adapter(request).get_client_ip(request)
    except (PermissionDenied, ImproperlyConfigured):
        return None


def user_role(user) -> str:
    """``admin`` (Django admin access), ``staff`` or ``holder``: the kind of login, without a query."""
    return "admin" if user.is_staff or user.is_superuser else str(user.kind)


def _current_request():
    # Services get no request; simple_history's middleware keeps the current one for the thread.
    from simple_history.models import HistoricalRecords

    return getattr(HistoricalRecords.context, "request", None)


def security_event(name: str, *, request=None, user=None, **details) -> None:
    """Log one security event (one of ``CHANGE_EVENTS`` once its transaction commits). ``user``
    defaults to the request's logged-in user."""
    if not EVENT_NAME.fullmatch(name):
        raise ValueError(f"security_event: {name!r} is not a dotted lower-case event name")
    details_check(details)
    request = request if request is not None else _current_request()
    if user is None and request is not None:
        user = getattr(request, "user", None)
    record = {"log": LOGGER_NAME, "time": datetime.now(UTC).isoformat(timespec="milliseconds"), "event": name}
    if user is not None and user.is_authenticated:
        record |= {"user_id": user.pk, "user_role": user_role(user)}
    record["ip"] = client_ip(request) if request is not None else None
    line = json.dumps(record | details, ensure_ascii=False)
    if name in CHANGE_EVENTS:
        # At once outside a transaction. Robust: a log handler's failure stops no later callback.
        transaction.on_commit(lambda: logger.info(line), robust=True)
    else:
        logger.info(line)


def throttle_log(*, request, response) -> None:
    """Log a request that allauth's rate limits refused: a 429, or a login or code form saying "too many"."""
    view = request.resolver_match.view_name if getattr(request, "resolver_match", None) else ""
    if response.status_code == 429:
        security_event("ratelimit.throttled", request=request, view=view)
        return
    form = (getattr(response, "context_data", None) or {}).get("form")
    # Only a form already validated: asking for .errors would validate (and authenticate) again.
    errors = getattr(form, "_errors", None)
    if errors and any(error.code in THROTTLE_ERROR_CODES for field in errors.as_data().values() for error in field):
        security_event("ratelimit.login_refused", request=request, view=view)


# --- receivers -----------------------------------------------------------------------------------


def _logged_in(sender, request, user, **kwargs):
    security_event("login.succeeded", request=request, user=user)


def _login_failed(sender, credentials, request=None, **kwargs):
    """The account's id if the address has one (to see attacks on one account), never the address."""
    from .models import User

    login = credentials.get("email") or credentials.get("username")
    account = User.objects.filter(email=login.strip().lower()).first() if isinstance(login, str) else None
    security_event("login.failed", request=request, user=account)


def _mfa_receiver(name: str):
    def receiver(sender, request, user, authenticator, **kwargs):
        security_event(
            name,
            request=request,
            user=user,
            authenticator_type=str(authenticator.type),
            authenticator_id=authenticator.pk,
            # allauth says "reauthenticated" when a code is used, "reauthentication" when one fails.
            reauthentication=bool(kwargs.get("reauthenticated") or kwargs.get("reauthentication")),
        )

    return receiver


def _password_receiver(name: str):
    def receiver(sender, request, user, **kwargs):
        security_event(name, request=request, user=user)

    return receiver


def _admin_logged(sender, instance, created, **kwargs):
    """A Django admin change (LogEntry): the model and object id, not its repr or message (may be an email)."""
    if not created:
        return
    from django.contrib.contenttypes.models import ContentType

    content_type = ContentType.objects.get_for_id(instance.content_type_id) if instance.content_type_id else None
    security_event(
        ADMIN_ACTIONS.get(instance.action_flag, "admin.logged"),
        user=instance.user,
        model=f"{content_type.app_label}.{content_type.model}" if content_type else None,
        object_id=str(instance.object_id)[:MAX_VALUE_LENGTH] if instance.object_id is not None else None,
    )


def receivers_connect() -> None:
    """Connect the receivers (from AccountsConfig.ready: the models must be loaded first)."""
    from allauth.account import signals as account_signals
    from allauth.mfa import signals as mfa_signals
    from django.contrib.admin.models import LogEntry
    from django.contrib.auth import signals as auth_signals
    from django.db.models.signals import post_save

    # Django's signal, not allauth's: it also covers OmaKaiku's login after setting a password.
    auth_signals.user_logged_in.connect(_logged_in, dispatch_uid="security_log_login")
    auth_signals.user_login_failed.connect(_login_failed, dispatch_uid="security_log_login_failed")
    for signal, name in [
        (mfa_signals.authenticator_added, "mfa.added"),
        (mfa_signals.authenticator_removed, "mfa.removed"),
        (mfa_signals.authenticator_reset, "mfa.reset"),
        (mfa_signals.authenticator_used, "mfa.used"),
        (mfa_signals.authentication_failed, "mfa.failed"),
    ]:
        signal.connect(_mfa_receiver(name), dispatch_uid=f"security_log_{name}", weak=False)
    for signal, name in [
        (account_signals.password_changed, "password.changed"),
        (account_signals.password_set, "password.set"),
        (account_signals.password_reset, "password.reset_completed"),
    ]:
        signal.connect(_password_receiver(name), dispatch_uid=f"security_log_{name}", weak=False)
    post_save.connect(_admin_logged, sender=LogEntry, dispatch_uid="security_log_admin")
