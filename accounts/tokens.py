from django.contrib.auth import get_user_model
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


def link_user_lock(*, user_id: int, token: str):
    """The user of a set-password link, locked until the request's transaction ends, or None
    when the link no longer works.

    A link is checked when its page opens; two requests with the same link (a double click,
    or the link opened on two devices) both pass that check before either has set a password.
    Checked again under the lock, the second one waits for the first and then finds the
    password changed: the link has been used, and only one password is set.
    """
    user = get_user_model().objects.select_for_update().filter(pk=user_id).first()
    if user is None or not invitation_token_generator.check_token(user, token):
        return None
    return user
