from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.urls import reverse

from .models import User


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        # Staff are invited by a coordinator and holders by their distributor.
        return False

    def authenticate(self, request, **credentials):
        """Each login page admits one side only: Kaikukanta staff or OmaKaiku holders.

        A login page for holders sets ``request.login_portal = User.Kind.HOLDER``; every
        other login page is Kaikukanta's. A right password on the wrong side fails
        exactly like a wrong password, so the page reveals nothing about the address.
        """
        user = super().authenticate(request, **credentials)
        portal = getattr(request, "login_portal", User.Kind.STAFF)
        if user is not None and user.kind != portal:
            self.authentication_failed(request, **credentials)
            return None
        return user

    def get_login_redirect_url(self, request):
        if request.user.is_holder:
            return reverse(settings.HOLDER_HOME_URL)
        return super().get_login_redirect_url(request)

    def send_password_reset_mail(self, user, email, context):
        # Holders choose a new password in OmaKaiku, on the same page as the first one.
        if user.is_holder:
            path = reverse(settings.HOLDER_SET_PASSWORD_URL, kwargs={"uidb36": context["uid"], "key": context["key"]})
            context = {**context, "password_reset_url": f"{settings.SITE_URL}{path}"}
            return self.send_mail(settings.HOLDER_PASSWORD_RESET_TEMPLATE, email, context)
        return super().send_password_reset_mail(user, email, context)
