from django.core.management.base import BaseCommand

from stats.summary import summary_build


class Command(BaseCommand):
    help = (
        "Build the statistics summaries again from the register. Run from the scheduler every hour "
        "(and after a bulk load): the figures are exact whenever it last ran, but the more has "
        "changed since, the more each figure reads from the uses themselves, and the slower it is."
    )

    def handle(self, *args, **options):
        state = summary_build()
        self.stdout.write(
            f"Built {state.use_days} day rows and {state.card_activities} card rows in {state.duration_ms} ms."
        )
