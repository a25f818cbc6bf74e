"""Requests that arrive at the same moment, for the races that only PostgreSQL shows."""

import threading
import time

from django.db import connection, connections, transaction


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


def holding(hold, *, seconds: float = 0.5):
    """Run ``hold`` in its own transaction on another connection, and return once it holds its
    locks: it commits ``seconds`` later, while this thread's next statement waits for it."""
    ready = threading.Event()

    def run():
        try:
            with transaction.atomic():
                hold()
                ready.set()
                time.sleep(seconds)
        finally:
            ready.set()
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    assert ready.wait(10)
    return thread
