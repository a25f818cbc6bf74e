"""Deploy checks of our own (``manage.py check --deploy``)."""

from django.conf import settings
from django.core import checks

# Backends that keep mail on this machine: the console and files would hold personal addresses
# and working set-password links in the service's logs; memory and dummy send nothing at all.
MAIL_STAYS_HERE = {
    "accounts.mail.ConsoleEmailBackend",
    *(f"django.core.mail.backends.{kind}.EmailBackend" for kind in ("console", "filebased", "locmem", "dummy")),
}


@checks.register(checks.Tags.security, deploy=True)
def mail_leaves_the_machine(app_configs=None, **kwargs):
    backend = settings.MAILERS["default"]["BACKEND"]
    if backend in MAIL_STAYS_HERE:
        return [
            checks.Warning(
                f"EMAIL_URL gives the mail backend {backend}: invitations and password links would not "
                "reach people, and the console or files would keep their personal addresses and links.",
                hint="Set EMAIL_URL to the SMTP server, e.g. smtp+tls://user:password@mail.example.fi:587.",
                id="kaikukanta.W001",
            )
        ]
    return []
