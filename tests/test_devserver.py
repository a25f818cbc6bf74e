import pytest

from kaikukanta.devserver import runserver_site_url, runserver_site_url_set


@pytest.mark.parametrize(
    ("args", "url"),
    [
        ([], "http://127.0.0.1:8000"),
        (["9221"], "http://127.0.0.1:9221"),
        (["127.0.0.1:9221", "--noreload"], "http://127.0.0.1:9221"),
        (["--noreload", "localhost:8123"], "http://localhost:8123"),
        (["[::1]:8124"], "http://[::1]:8124"),
        # Every address: which one others reach it by is not known, so this machine's.
        (["0.0.0.0:8125"], "http://127.0.0.1:8125"),
        (["0:8126"], "http://127.0.0.1:8126"),
        # Options and their values, as runserver reads them (found in review).
        (["-v", "2", "9000"], "http://127.0.0.1:9000"),
        (["--verbosity", "2", "9001"], "http://127.0.0.1:9001"),
        (["--settings", "kaikukanta.settings", "9002"], "http://127.0.0.1:9002"),
        (["-6"], "http://[::1]:8000"),
        (["-6", "9003"], "http://[::1]:9003"),
        (["--nostatic", "--insecure", "9005"], "http://127.0.0.1:9005"),
    ],
)
def test_the_development_servers_links_follow_the_address_it_serves(args, url):
    assert runserver_site_url(args) == url


@pytest.mark.parametrize("args", [["not-a-port"], ["--help"], ["-v"], ["[::ffff:127.0.0.1]:9004"]])
def test_arguments_runserver_refuses_set_no_address(args):
    environ: dict[str, str] = {}
    runserver_site_url_set(["manage.py", "runserver", *args], environ)
    assert environ == {}


def test_a_site_url_set_by_hand_wins_and_other_commands_are_left_alone():
    given = {"SITE_URL": "http://192.0.2.10:8000"}
    runserver_site_url_set(["manage.py", "runserver", "9221"], given)
    other: dict[str, str] = {}
    runserver_site_url_set(["manage.py", "migrate"], other)
    served: dict[str, str] = {}
    runserver_site_url_set(["manage.py", "runserver", "9221"], served)

    assert given == {"SITE_URL": "http://192.0.2.10:8000"}
    assert other == {}
    assert served == {"SITE_URL": "http://127.0.0.1:9221"}
