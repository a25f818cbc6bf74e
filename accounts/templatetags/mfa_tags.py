from django import template

from accounts.mfa import mfa_required as _mfa_required

register = template.Library()


@register.filter
def mfa_required(user) -> bool:
    """Whether the user must keep two-step verification (``accounts.mfa.mfa_required``): their
    pages then offer no way to switch it off, which the adapter would refuse anyway."""
    return _mfa_required(user)
