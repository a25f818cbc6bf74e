"""django-simple-history's ``clean_duplicate_history``, refused (see ``clean_old_history``)."""

from .clean_old_history import RefusedHistoryCommand


class Command(RefusedHistoryCommand):
    pass
