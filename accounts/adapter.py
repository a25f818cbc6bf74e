from allauth.account.adapter import DefaultAccountAdapter

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
