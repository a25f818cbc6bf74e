"""The language of a page opened from a set-your-password link (OmaKaiku's and Kaikukanta's)."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from accounts.models import User


def chosen_on_site(request: HttpRequest) -> bool:
    """Whether the visitor has picked a language with the site's language menu.

    Django's ``set_language`` view keeps the choice in the language cookie only (no session
    since Django 4.0). A cookie naming no language of ours is no choice: LocaleMiddleware
    ignores it too and falls back to the browser's languages.
    """
    return request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) in dict(settings.LANGUAGES)


def mail_link_language(request: HttpRequest, user: User | None) -> str | None:
    """The language to show a page opened from a link in a person's mail, or None to keep the request's.

    The invitation and password-reset mails are written in ``User.language`` (the language the
    distributor or coordinator chose when inviting, or the holder's own choice in OmaKaiku's
    settings), so the page the link opens continues in that language rather than switching to
    the browser's, which is often a shared or borrowed device's. A language picked with the
    site's language menu wins: that is the person's own choice, made on this device, and the
    page must follow the menu, or the menu would seem broken.

    Only for a ``user`` whose link has been checked: from a made-up link, the page would tell
    anyone a person's language for a guessed user id.
    """
    if user is None or chosen_on_site(request):
        return None
    return user.language if user.language in dict(settings.LANGUAGES) else None


def remember_mail_language(request: HttpRequest, response: HttpResponse, user: User) -> HttpResponse:
    """Keep the mail's language on this device once its link has set the person's password.

    The pages that follow (OmaKaiku's welcome, Kaikukanta's "password set, log in") would
    otherwise switch to the browser's language a moment after the set-password page spoke the
    mail's. The language cookie is the one the language menu sets, so the menu still changes it;
    nothing is set where the menu has already been used. Later logins on another device follow
    that device's browser or menu: ``User.language`` is the language of the person's mails.
    """
    language = mail_link_language(request, user)
    if language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
    return response
