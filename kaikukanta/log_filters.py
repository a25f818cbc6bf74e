"""Keeps secrets that travel in URLs out of the logs.

Invitation and password-reset links carry a one-time key in their path, and Django logs the
path of every 4xx/5xx answer ("Not Found: /omakaiku/activate/<uid>/<key>/"). A key in a log
is a key anyone with the logs can use, so the paths are cut before the key.
"""

import logging
import re

# The path segment that names the secret, and everything after it up to whitespace or a quote.
_SECRET_PATH = re.compile(r"(/(?:activate|reset/key|confirm-email|password/reset/key)/)[^\s\"']+")
REDACTED = r"\1[redacted]"


def redact(text: str) -> str:
    return _SECRET_PATH.sub(REDACTED, text)


class RedactSecretPathsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        # Django's request loggers also attach the request; a handler that prints it would show the path.
        if hasattr(record, "request"):
            record.request = None
        return True
