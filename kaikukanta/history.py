"""Change history of the register's models (django-simple-history), without a per-access cost.

Every model with a history declares ``history = HistoricalRecords()`` from here, not from
``simple_history.models``.
"""

from django.utils.translation import gettext_noop
from simple_history import models as simple_history_models
from simple_history.manager import HistoryManager

# The admin's history page titles, from django-simple-history, which has no Finnish or Swedish
# translation: listed here, they are in this project's catalogues, which Django reads first.
ADMIN_HISTORY_TITLES = [gettext_noop("View history: %s"), gettext_noop("Change history: %s")]


class _HistoryManager(HistoryManager):
    # simple-history makes a new manager class (type() and inspect.getmembers over the queryset
    # class) on every read of ``Model.history`` or ``obj.history``: about 0.3 ms each, several
    # times on a card page. The class is the same every time, so it is made once per process;
    # each read still gets its own manager instance, bound to its own object.
    _classes: dict = {}

    @classmethod
    def from_queryset(cls, queryset_class, class_name=None):
        key = (cls, queryset_class, class_name)
        made = _HistoryManager._classes.get(key)
        if made is None:
            made = _HistoryManager._classes[key] = super().from_queryset(queryset_class, class_name)
        return made


class HistoricalRecords(simple_history_models.HistoricalRecords):
    def __init__(self, *args, history_manager=_HistoryManager, **kwargs):
        super().__init__(*args, history_manager=history_manager, **kwargs)
