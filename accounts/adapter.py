import time

from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.flows.login import get_authentication_records
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .mfa import mfa_required, totp_enabled
from .models import User
from .security_log import security_event
from .tasks import password_state, send_password_reset_email

STAFF_PASSWORD_RESET_TEMPLATE = "account/email/staff_password_reset"


def login_portal(request) -> str:
    """The side a login or password-reset page serves: OmaKaiku's pages say so, all others are Kaikukanta's."""
    return getattr(request, "login_portal", User.Kind.STAFF)


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        # Staff are invited by a coordinator and holders by their distributor.
        return False

    def authenticate(self, request, **credentials):
        """Each login page admits one side only: Kaikukanta staff or OmaKaiku holders.

        A login or password-reset page for holders sets ``request.login_portal =
        User.Kind.HOLDER``; every other one is Kaikukanta's. A right password on the wrong side
        is refused with where to log in instead: it tells nothing that the password's owner does
        not know, and "wrong password" would send a holder to reset a password that works.
        allauth has checked its rate limits first (a locked login learns nothing here) and, the
        password being right, counts no failure against them.
        """
        user = super().authenticate(request, **credentials)
        portal = login_portal(request)
        if user is not None and user.kind != portal:
            self.authentication_failed(request, **credentials)
            # Django's login-failed signal does not fire here: the password was right.
            security_event("login.failed", request=request, user=user, reason="wrong_portal")
            if user.is_holder:
                message = _("This is an OmaKaiku login for cardholders. Log in to OmaKaiku at %(url)s")
                url = reverse("omakaiku:login")
            else:
                message = _("This is a Kaikukanta login for staff. Log in to Kaikukanta at %(url)s")
                url = reverse("account_login")
            raise ValidationError(message % {"url": settings.SITE_URL + url}, code="wrong_portal")
        return user

    def get_login_redirect_url(self, request):
        if request.user.is_holder:
            return reverse(settings.HOLDER_HOME_URL)
        return super().get_login_redirect_url(request)

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        """allauth asks for the password again before an authenticator is added; it counts only
        its own re-entry, not the login. An administrator or coordinator is sent to set up two-step
        verification straight after logging in, and was asked for the password twice in a row:
        for the first authenticator, and for the page of the recovery codes made with it, shown
        straight after, a password login within the same few minutes counts too. Anything else
        once an authenticator exists (switching it off, new codes, their download) asks again."""
        required = super().is_reauthentication_required(app=app, **kwargs)
        user = getattr(self.request, "user", None)
        if not required or app != "allauth.mfa" or user is None or not user.is_authenticated:
            return required
        logins = [record for record in get_authentication_records(self.request, user) if record["method"] == "password"]
        if not logins or time.time() - logins[-1]["at"] >= account_settings.REAUTHENTICATION_TIMEOUT:
            return True
        if not totp_enabled(user):
            return False  # the first authenticator, just after the password login
        # Only the page allauth shows straight after the setup, for the codes made with it:
        # switching the app off, or making or downloading codes, still asks (a session left open).
        match = getattr(self.request, "resolver_match", None)
        if self.request.method != "GET" or match is None or match.url_name != "mfa_view_recovery_codes":
            return True
        made = Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES)
        return not any(created.timestamp() >= logins[-1]["at"] for created in made.values_list("created_at", flat=True))

    def send_password_reset_mail(self, user, email, context):
        """Queue the mail instead of sending it in the request, and only to the page's own side.

        Sending here would make a known address answer differently from an unknown one
        (slower, or an error) whenever the mail server is slow or down. The task makes the
        link itself; holders choose their new password in OmaKaiku, staff in Kaikukanta.

        Each reset page serves one side, as each login page does: an address of the other
        side gets no mail, and allauth then answers exactly as for an unknown address (it
        never says whether one was found). Otherwise OmaKaiku's public page would mail a
        working Kaikukanta reset link for any staff address typed in it.
        """
        if user.kind != login_portal(self.request):
            security_event("password.reset_refused", request=self.request, user=user, reason="wrong_portal")
            return
        if user.invitation_ended:
            # A reset link would open the same login as the ended invitation's.
            security_event("password.reset_refused", request=self.request, user=user, reason="invitation_ended")
            return
        if user.is_holder:
            template, url_name = settings.HOLDER_PASSWORD_RESET_TEMPLATE, settings.HOLDER_SET_PASSWORD_URL
        else:
            template, url_name = STAFF_PASSWORD_RESET_TEMPLATE, "account_reset_password_from_key"
        security_event("password.reset_requested", request=self.request, user=user)
        requested_at, password_at_request = timezone.now().isoformat(), password_state(user)
        transaction.on_commit(
            lambda: send_password_reset_email.enqueue(
                user_id=user.pk,
                template=template,
                url_name=url_name,
                requested_at=requested_at,
                password_at_request=password_at_request,
            )
        )


class MFAAdapter(DefaultMFAAdapter):
    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        # Whoever must have two-step verification cannot switch it off; a new phone is set
        # up by an admin removing the old authenticator in the Django admin.
        if authenticator.type == Authenticator.Type.TOTP and mfa_required(authenticator.user):
            return False
        return super().can_delete_authenticator(authenticator)
