from django.core.management.base import BaseCommand

from cards.services import holders_dormant_erase


class Command(BaseCommand):
    help = (
        "Erase the OmaKaiku email of holders without a valid card for 24 months. "
        "Run daily from the scheduler (e.g. cron or a systemd timer)."
    )

    def handle(self, *args, **options):
        erased = holders_dormant_erase()
        # A count only: the addresses themselves never go to logs.
        self.stdout.write(f"Erased the OmaKaiku email of {erased} holder(s).")
