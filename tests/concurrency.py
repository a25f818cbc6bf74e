"""Requests that arrive at the same moment, for the races that only PostgreSQL shows."""

import threading
import time

from django.db import connections, transaction


def thread_connections_close() -> None:
    """Close this thread's database connections, at the end of a thread a test started.

    Django ignores ``close()`` on SQLite's in-memory test database (closing the last connection
    would drop it), so a thread's own connection to it was left for the garbage collector. When
    the collector finalised it in the middle of another statement on the shared in-memory
    database (inside one of Django's SQL functions written in Python), closing it waited for
    the lock that statement held: the test run stopped for good. The raw connection is closed
    here; the test's own connection keeps the database.
    """
    for wrapper in connections.all(initialized_only=True):
        if wrapper.vendor == "sqlite" and wrapper.is_in_memory_db() and wrapper.connection is not None:
            wrapper.connection.close()
            wrapper.connection = None
    connections.close_all()


def post_together(url: str, clients_and_data) -> list:
    """POST each (client, data) to ``url`` from its own thread, released together by a barrier."""
    barrier = threading.Barrier(len(clients_and_data))
    responses = [None] * len(clients_and_data)

    def worker(index, client, data):
        barrier.wait()
        try:
            responses[index] = client.post(url, data)
        finally:
            thread_connections_close()

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
            thread_connections_close()

    thread = threading.Thread(target=run)
    thread.start()
    assert ready.wait(10)
    return thread
