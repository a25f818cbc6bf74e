from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render
from django.urls import reverse


def holder_required(view):
    """OmaKaiku is for cardholders only: staff accounts get no access, whatever their rights."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse(settings.HOLDER_LOGIN_URL))
        if not user.is_holder:
            # Not the generic 403 page: that one speaks to a holder who strayed into Kaikukanta.
            return render(request, "omakaiku/staff_no_access.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped
