"""HEAD requests: the GET's status and headers, and no body (RFC 9110, 9.3.2).

Django leaves dropping the body to the server; gunicorn sends none but logs a warning for every
HEAD it had to drop one from, which a load balancer or an uptime monitor probing with HEAD
turns into a line a second in the journal operators alert from.
"""


class HeadResponseMiddleware:
    """First in MIDDLEWARE, so that every response passes it: pages, probes and errors alike."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method == "HEAD" and not response.streaming:
            # The length the GET would have had, as a HEAD's Content-Length says.
            response["Content-Length"] = str(len(response.content))
            response.content = b""
        return response
