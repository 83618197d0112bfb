"""Wall time of a student's static self-check, ``cnnkit check --no-run`` (issue 15, item 3).

    python benchmarks/selfcheck_speed.py [--repeat 5]

Times, best of ``--repeat`` runs (wall clock, each a fresh process), ``cnnkit check --no-run``
on each of the six releases ``assignments/*/*.ipynb`` and, as baselines in the same run,
``python -c "import nbformat, nbgrader"`` (what the self-check used to import) and a bare
``python -c pass``. The last line gives the slowest notebook's best time against the target
(≤ 2 s on a quiet 2-core machine) and the bare interpreter start. It prints the load average
before and after: on a shared machine, nice the run and read the figures with it.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_S = 2.0


def best_of(command: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        times.append(time.perf_counter() - started)
        if done.returncode not in (0, 1):          # 1: the check found something, still a timed run
            raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr}")
    return min(times)


def cnnkit_command() -> list[str]:
    script = Path(sys.executable).parent / "cnnkit"
    return [str(script)] if script.exists() else [sys.executable, "-m", "autograder.cli"]


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    notebooks = sorted(REPO.glob("assignments/*/*.ipynb"))
    if len(notebooks) != 6:
        print(f"note: {len(notebooks)} release notebooks, not six")
    print(f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {load()} (1, 5, 15 min) at the start")

    bare = best_of([sys.executable, "-c", "pass"], args.repeat)
    heavy = best_of([sys.executable, "-c", "import nbformat, nbgrader"], args.repeat)
    print(f"{'python -c pass':<52} {bare:6.3f} s")
    heavy_label = 'python -c "import nbformat, nbgrader"'
    print(f"{heavy_label:<52} {heavy:6.3f} s")
    checks = {}
    for notebook in notebooks:
        checks[notebook] = best_of([*cnnkit_command(), "check", "--no-run", str(notebook.relative_to(REPO))],
                                   args.repeat)
        print(f"{'cnnkit check --no-run ' + notebook.name:<52} {checks[notebook]:6.3f} s")
    worst = max(checks.values())
    print(f"load average {load()} at the end")
    print(f"check --no-run: {worst:.2f} s (best of {args.repeat}, max over {len(checks)} notebooks), "
          f"{worst / bare:.1f}× the bare interpreter start; target ≤ {TARGET_S:g} s")
    return 0 if worst <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
