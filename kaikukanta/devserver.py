"""The development server's own address for the links it writes.

Links in mails, in the client's letter and in some messages are made from ``SITE_URL``, which
defaults to http://127.0.0.1:8000. ``make run PORT=…`` sets it from the port; a plain
``manage.py runserver 9000`` did not, and its invitation links led to a port nobody served.
"""

from collections.abc import MutableMapping

# Every address of the machine: which one others reach it by is not known here (README).
_WILDCARDS = {"0", "0.0.0.0", "[::]"}  # noqa: S104 - recognised here, bound by nobody


def runserver_site_url(args: list[str]) -> str | None:
    """The address ``manage.py runserver`` with these arguments serves, as a ``SITE_URL``; None
    where the arguments are not runserver's (it then says so itself). Read with runserver's own
    argument parser and address pattern, so options and their values (``-v 2``, ``-6``,
    ``--settings x``) are taken as runserver takes them."""
    from django.core.management.base import CommandError
    from django.core.management.commands.runserver import Command, naiveip_re

    if {"-h", "--help"} & set(args):
        return None  # runserver prints its help, once
    parser = Command().create_parser("manage.py", "runserver")
    try:
        options, _unknown = parser.parse_known_args(args)
    except (CommandError, SystemExit):  # an option without its value: runserver says so
        return None
    addr, port = ("[::1]" if options.use_ipv6 else "127.0.0.1"), "8000"
    if options.addrport:
        match = naiveip_re.match(options.addrport)
        if match is None:
            return None
        port = match["port"]
        if match["addr"] and match["addr"] not in _WILDCARDS:
            addr = match["addr"]
    return f"http://{addr}:{port}"


def runserver_site_url_set(argv: list[str], environ: MutableMapping[str, str]) -> None:
    """For ``manage.py runserver`` without ``SITE_URL`` in the environment: the address served.
    Set in the environment, so the autoreloader's server process has it too."""
    if len(argv) > 1 and argv[1] == "runserver" and "SITE_URL" not in environ:
        url = runserver_site_url(argv[2:])
        if url is not None:
            environ["SITE_URL"] = url
