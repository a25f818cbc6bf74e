"""The development server's own address for the links it writes.

Links in mails, in the client's letter and in some messages are made from ``SITE_URL``, which
defaults to http://127.0.0.1:8000. ``make run PORT=…`` sets it from the port; a plain
``manage.py runserver 9000`` did not, and its invitation links led to a port nobody served.
"""

import re
from collections.abc import MutableMapping

# Django's runserver accepts "port", "address:port" and "[ipv6]:port".
_ADDRPORT = re.compile(
    r"^(?:(?P<addr>\d{1,3}(?:\.\d{1,3}){3}|\[[a-fA-F0-9:]+\]|[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*):)?(?P<port>\d+)$"
)
# Every address of the machine: which one others reach it by is not known here (README).
_WILDCARDS = {"0", "0.0.0.0", "[::]"}  # noqa: S104 - recognised here, bound by nobody


def runserver_site_url(args: list[str]) -> str:
    """The address ``manage.py runserver`` with these arguments serves, as a ``SITE_URL``."""
    positional = [arg for arg in args if not arg.startswith("-")]
    addr, port = "127.0.0.1", "8000"
    match = _ADDRPORT.match(positional[0]) if positional else None
    if match:
        port = match["port"]
        if match["addr"] and match["addr"] not in _WILDCARDS:
            addr = match["addr"]
    return f"http://{addr}:{port}"


def runserver_site_url_set(argv: list[str], environ: MutableMapping[str, str]) -> None:
    """For ``manage.py runserver`` without ``SITE_URL`` in the environment: the address served.
    Set in the environment, so the autoreloader's server process has it too."""
    if len(argv) > 1 and argv[1] == "runserver" and "SITE_URL" not in environ:
        environ["SITE_URL"] = runserver_site_url(argv[2:])
