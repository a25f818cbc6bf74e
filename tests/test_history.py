"""The change history that the card page, OmaKaiku's data export and the statistics read."""

import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from cards.models import Card
from tests import factories

pytestmark = pytest.mark.django_db


def test_each_objects_history_holds_its_own_records_only():
    # The manager class is made once per process (kaikukanta/history.py); the object it is
    # bound to must still be each read's own.
    first, second = factories.CardFactory(), factories.CardFactory()
    second.mobile_enabled = not second.mobile_enabled
    second.save()
    assert type(first.history) is type(second.history)
    assert {record.id for record in first.history.all()} == {first.pk}
    assert {record.id for record in second.history.all()} == {second.pk}
    assert second.history.count() == 2
    assert Card.history.filter(id__in=[first.pk, second.pk]).count() == 3
    # Each model keeps its own history model behind the shared manager class.
    assert User.history.model is not Card.history.model


@pytest.mark.parametrize("command", ["clean_old_history", "clean_duplicate_history"])
def test_simple_historys_commands_that_delete_history_refuse_to_run(db, command):
    card = factories.CardFactory()
    rows = card.history.count()

    with pytest.raises(CommandError, match="switched off"):
        call_command(command)
    completed = subprocess.run(
        [sys.executable, "manage.py", command, "--days", "0", "--auto"], capture_output=True, text=True, check=False
    )

    assert completed.returncode == 1
    assert "the register's change history is kept" in completed.stderr
    assert card.history.count() == rows
