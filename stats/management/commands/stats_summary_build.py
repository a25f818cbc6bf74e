from django.core.management.base import BaseCommand

from stats.summary import summary_build


class Command(BaseCommand):
    help = (
        "Bring the statistics summaries up to date with the register (only what changed since the "
        "last build, unless --full). Run from the scheduler every 10 minutes: the figures are exact "
        "whenever it last ran, but the more has changed since, the more each figure reads from the "
        "uses themselves, and the slower it is."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--full",
            action="store_true",
            help="Summarise everything again, not only what changed since the last build.",
        )

    def handle(self, *args, full=False, **options):
        state = summary_build(full=full)
        how = "everything" if state.full else "the changes since the last build"
        self.stdout.write(
            f"Summarised {how}: {state.use_days} day rows and {state.card_activities} card rows "
            f"in {state.duration_ms} ms."
        )
