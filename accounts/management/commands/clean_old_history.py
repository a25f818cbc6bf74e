"""django-simple-history's ``clean_old_history``, refused: the register's history is kept.

The card pages' timelines, the validity periods' origin, the statistics' "changed since" and the
audit trail all read the history rows (docs/rules.md, "History"); a command that deletes them
by age would erase the record of who changed a card and why. The erasure the register does need
(a dormant holder's email, an email change) is done by the services, row by row, with its own
history. ``simple_history`` is listed after this app in INSTALLED_APPS, so this command is the
one ``manage.py`` runs.
"""

from django.core.management.base import BaseCommand, CommandError

REFUSAL = (
    "{name} is switched off in Kaikukanta: the register's change history is kept, and the card "
    "pages, validity periods and statistics read it (docs/rules.md, 'Validity is history')."
)


class RefusedHistoryCommand(BaseCommand):
    help = "Switched off: the register's change history is kept (docs/rules.md, 'Validity is history')."

    def run_from_argv(self, argv):
        # Before argument parsing: every option of the original command is refused alike.
        raise SystemExit(REFUSAL.format(name=argv[1]))

    def handle(self, *args, **options):
        raise CommandError(REFUSAL.format(name=type(self).__module__.rsplit(".", 1)[-1]))


class Command(RefusedHistoryCommand):
    pass
