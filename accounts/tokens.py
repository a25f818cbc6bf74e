from django.contrib.auth.tokens import PasswordResetTokenGenerator


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    """Django's reset token, also bound to the time of the newest invitation.

    The password hash in Django's token already makes a link single-use; adding
    ``invited_at`` makes every earlier invitation link stop working the moment a
    distributor or coordinator sends a new one (a resend after a wrong address, say).
    """

    def _make_hash_value(self, user, timestamp):
        invited = "" if user.invited_at is None else user.invited_at.replace(microsecond=0, tzinfo=None)
        return f"{super()._make_hash_value(user, timestamp)}{invited}{user.is_active}"


invitation_token_generator = InvitationTokenGenerator()
