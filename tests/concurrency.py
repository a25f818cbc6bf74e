"""Requests that arrive at the same moment, for the races that only PostgreSQL shows."""

import threading

from django.db import connection


def post_together(url: str, clients_and_data) -> list:
    """POST each (client, data) to ``url`` from its own thread, released together by a barrier."""
    barrier = threading.Barrier(len(clients_and_data))
    responses = [None] * len(clients_and_data)

    def worker(index, client, data):
        barrier.wait()
        try:
            responses[index] = client.post(url, data)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c, d)) for i, (c, d) in enumerate(clients_and_data)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses
