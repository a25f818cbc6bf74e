"""Print the current two-step verification code of a demo login (development only).

The demo's admin and coordinator use an authenticator with a published secret, so that a
newcomer can log in without setting up a phone. This prints what the app would show now.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.mfa import DEMO_TOTP_SECRET, totp_code, totp_secret
from accounts.models import User


class Command(BaseCommand):
    help = "Print the current two-step verification code of a demo login (needs DEBUG)."

    def add_arguments(self, parser):
        parser.add_argument("email", nargs="?", default="admin@example.fi", help="The demo login (default: the admin).")

    def handle(self, *args, email, **options):
        if not settings.DEBUG:
            raise CommandError("This command is for development only: it refuses to run with DEBUG off.")
        user = User.objects.filter(email=email.strip().lower()).first()
        if user is None:
            raise CommandError(f"There is no login {email}. Run `manage.py seed_demo` first.")
        if totp_secret(user) != DEMO_TOTP_SECRET:
            # Only the demo's published secret: this is no way round a real authenticator.
            raise CommandError(f"{email} does not use the demo authenticator secret.")
        self.stdout.write(totp_code(DEMO_TOTP_SECRET))
