from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.urls import reverse


def holder_required(view):
    """OmaKaiku is for cardholders only: staff accounts get no access, whatever their rights."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse(settings.HOLDER_LOGIN_URL))
        if not user.is_holder:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped
