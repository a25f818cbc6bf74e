from django.core.management.base import BaseCommand

from omakaiku.services import expiry_reminders_queue


class Command(BaseCommand):
    help = (
        "Queue the expiry reminder emails due today: 30 days before a card's last valid day and "
        "after it has expired. Run daily from the scheduler (e.g. cron or a systemd timer); "
        "running it again, or twice at once, sends no reminder twice."
    )

    def handle(self, *args, **options):
        queued = expiry_reminders_queue()
        # A count only: who was reminded never goes to logs.
        self.stdout.write(f"Queued {queued} expiry reminder(s).")
