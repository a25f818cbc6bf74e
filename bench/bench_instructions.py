"""What each busy page costs in machine instructions: a figure that does not move with the machine.

    .venv/bin/python bench/bench_instructions.py [--database-url postgres://…/kk_bench]
                                                 [--runs 20] [--only card-list,desk]

Timings on a shared or virtual machine move by 20 % and more from one minute to the next, which
hides a change of 5 %. This runs the same requests as bench/bench_pages.py (Django's test
client, production settings, the demo's distributor, venue and holder) under valgrind's
callgrind, which counts the instructions this process executes: the same code and data give the
same count, whatever else the machine is doing. Compare two commits by running this from each
(a ``git worktree`` of the older one, as docs/performance.md says).

Each page is requested three times to warm up, then ``--runs`` times between two callgrind
dumps; it prints the millions of instructions per request. Only this process is counted:
PostgreSQL's share is bench/bench_prepared.py's. It runs about fifty times slower than
normal, so a page takes some seconds and the start-up a minute. valgrind must be installed
(Debian's ``valgrind`` package). Nothing here is a pass/fail check.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_pages import PRODUCTION  # noqa: E402  (bench/, beside this script)

_INSIDE = "KAIKUKANTA_UNDER_CALLGRIND"


def _measure(wanted: list[str] | None, runs: int) -> None:
    """Inside callgrind: request the pages, dumping the counts around each page's runs."""
    import django

    django.setup()
    from bench_pages import _pages

    pid = str(os.getpid())
    for name, (client, path) in _pages().items():
        if wanted and name not in wanted:
            continue
        for _ in range(3):
            status = client.get(path).status_code
            if status not in (200, 302):
                sys.exit(f"{name}: {path} answered {status}")
        subprocess.run(["callgrind_control", "--dump=before", pid], check=True, capture_output=True)
        for _ in range(runs):
            client.get(path)
        subprocess.run(["callgrind_control", f"--dump=page {name}", pid], check=True, capture_output=True)


def _read(directory: Path, runs: int) -> list[tuple[str, float]]:
    """(page, millions of instructions per request) from the dumps, in the order taken."""
    results = []
    for dump in sorted(directory.glob("callgrind.*.*"), key=lambda path: int(path.suffix[1:])):
        text = dump.read_text(errors="replace")
        trigger = next((line for line in text.splitlines() if line.startswith("desc: Trigger:")), "")
        if "dump page " not in trigger:
            continue
        summary = next(line for line in text.splitlines() if line.startswith("summary:"))
        results.append((trigger.split("dump page ", 1)[1], int(summary.split()[1]) / runs / 1e6))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/kk_bench")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--only", help="comma-separated page names (bench/bench_pages.py's)")
    args = parser.parse_args()
    wanted = args.only.split(",") if args.only else None

    if os.environ.get(_INSIDE):
        _measure(wanted, args.runs)
        return
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind); nothing was measured.")
    env = os.environ | PRODUCTION | {"DATABASE_URL": args.database_url, _INSIDE: "1", "PYTHONHASHSEED": "0"}
    os.chdir(ROOT)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"], env=env, check=True)
    with tempfile.TemporaryDirectory() as directory:
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={directory}/callgrind.%p",
            sys.executable,
            __file__,
            *sys.argv[1:],
        ]
        done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode:
            sys.exit(f"the measured run failed:\n{done.stderr[-3000:]}")
        results = _read(Path(directory), args.runs)
    commit = subprocess.run(["git", "log", "-1", "--format=%h %s"], capture_output=True, text=True).stdout.strip()
    print(f"{commit[:72]}\n{'page':<22} {'M instructions':>15}")
    for name, millions in results:
        print(f"{name:<22} {millions:>15.2f}")


if __name__ == "__main__":
    main()
