"""How fast this machine runs Python, printed beside every benchmark's numbers.

The same code and data gave /readyz 2,000 req/s on one day and 500 on another machine of the
same size: shared virtual machines differ, and so do their neighbours. A benchmark's numbers
are read against this line: ``machine_speed()`` times a fixed pure-Python loop (the best of
three tries), so two runs compare only when their speeds are close, and a target such as
"p95 ≤ 150 ms" is judged on a machine whose speed is written next to it.
"""

import os
import time

LOOP = 5_000_000


def machine_speed() -> dict:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for number in range(LOOP):
            total += number
        best = min(best, time.perf_counter() - started)
    return {"python_loop_ms": round(best * 1000), "cpus": os.cpu_count(), "load_1min": round(os.getloadavg()[0], 2)}


def machine_line(speed: dict) -> str:
    return (
        f"Machine: {speed['cpus']} CPUs, load {speed['load_1min']}; a {LOOP:,}-step Python loop took "
        f"{speed['python_loop_ms']} ms (smaller is faster; compare runs only at similar speeds)"
    )
