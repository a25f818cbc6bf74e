"""The PostgreSQL connection: statements run often are prepared, and that changes no answer."""

import pytest
from django.db import connection
from django.urls import reverse

from tests import factories
from tests.test_db_router import _database_settings

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@postgresql_only
def test_a_prepared_card_list_shows_each_site_only_its_own_cards(
    client, site, other_site, distributor, other_distributor
):
    factories.CardFactory(site=site, number="A1111111")
    factories.CardFactory(site=other_site, number="A2222222")

    client.force_login(distributor)
    for _ in range(7):
        own_page = client.get(reverse("cards:list")).text
    # The list's statement is now prepared on this connection, with the site as a parameter ...
    assert any('FROM "cards_card"' in statement and "$1" in statement for statement in _prepared_statements())
    assert "A1111111" in own_page
    assert "A2222222" not in own_page

    # ... and the next distributor's request runs the same prepared statement with their site.
    client.force_login(other_distributor)
    other_page = client.get(reverse("cards:list")).text
    assert "A2222222" in other_page
    assert "A1111111" not in other_page


def test_postgresql_prepares_statements_unless_switched_off():
    options = _database_settings()["databases"]["default"]["OPTIONS"]
    assert (options.get("server_side_binding"), options.get("prepare_threshold")) == (True, 5)

    off = _database_settings(DATABASE_PREPARED_STATEMENTS="false")["databases"]["default"]["OPTIONS"]
    assert "server_side_binding" not in off
    assert "prepare_threshold" not in off


def test_a_replica_prepares_statements_as_the_primary_does():
    replica = _database_settings(DATABASE_REPLICA_URL="postgres://reader@replica.example:5432/kk")["databases"][
        "replica"
    ]
    assert (replica["OPTIONS"].get("server_side_binding"), replica["OPTIONS"].get("prepare_threshold")) == (True, 5)


def test_sqlite_gets_no_postgresql_options():
    options = _database_settings(DATABASE_URL="sqlite:///kk.sqlite3")["databases"]["default"]["OPTIONS"]
    assert "server_side_binding" not in options
    assert "prepare_threshold" not in options
