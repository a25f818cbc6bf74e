from django.contrib.auth.tokens import PasswordResetTokenGenerator


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    """Django's reset token, also bound to the time of the newest invitation.

    The password hash in Django's token already makes a link single-use; adding
    ``invited_at`` makes every earlier invitation link stop working the moment a
    distributor or coordinator sends a new one (a resend after a wrong address, say).
    """

    def check_token(self, user, token):
        # An invitation ends with the last site it was for (User.invitation_ended), on every
        # path that removes it; a reset link made before then ends with it.
        if user is not None and user.invitation_ended:
            return False
        return super().check_token(user, token)

    def _make_hash_value(self, user, timestamp):
        invited = "" if user.invited_at is None else user.invited_at.replace(microsecond=0, tzinfo=None)
        return f"{super()._make_hash_value(user, timestamp)}{invited}{user.is_active}"


invitation_token_generator = InvitationTokenGenerator()
