"""allauth's two-step verification forms, with the phone's number keypad for the code.

Both kinds of code Kaikukanta accepts are digits only: the authenticator app's six and the
recovery codes' eight (allauth's ``MFA_RECOVERY_CODE_DIGITS``). A phone that shows its letter
keyboard makes a busy user switch keyboards on every login.
"""

from allauth.mfa.base.forms import AuthenticateForm, ReauthenticateForm
from allauth.mfa.totp.forms import ActivateTOTPForm


class _NumericCode:
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs["inputmode"] = "numeric"


class CodeAuthenticateForm(_NumericCode, AuthenticateForm):
    pass


class CodeReauthenticateForm(_NumericCode, ReauthenticateForm):
    pass


class CodeActivateTOTPForm(_NumericCode, ActivateTOTPForm):
    pass
