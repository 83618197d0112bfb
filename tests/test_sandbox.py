"""The worker's memory watchdog, on real processes.

Each scenario runs in a fresh interpreter so that the watchdog watches that
interpreter's children only (never the test runner's).
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

MB = 2**20

# The parent allocates and touches 200 MB, then forks three children that only sleep:
# their pages are the parent's, shared copy-on-write.
FORKED = textwrap.dedent("""
    import json, os, sys, time, types
    import numpy as np, psutil
    from autograder.worker import MemoryWatchdog, tree_memory

    shared = np.ones(200 * 2**20, dtype=np.uint8)
    pids = []
    for _ in range(3):
        pid = os.fork()
        if pid == 0:
            time.sleep(4)
            os._exit(0)
        pids.append(pid)
    time.sleep(0.5)
    children = psutil.Process().children()
    procs = [psutil.Process()] + children
    sizes = {"rss_sum": tree_memory(procs), "exact": tree_memory(procs, exact_above=0)}
    watch = types.SimpleNamespace(kill_reason=None, kill_params={})
    dog = MemoryWatchdog(int(sys.argv[1]), watch, interval=0.1)
    dog.start()
    time.sleep(1.0)
    dog.stop()
    alive = [c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children]
    print(json.dumps({**sizes, "killed": watch.kill_reason, "alive": alive}))
    for pid in pids:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
""")

# A child that allocates memory of its own until it is stopped.
HOG = textwrap.dedent("""
    import json, subprocess, sys, time, types
    from autograder.worker import MemoryWatchdog

    hog = subprocess.Popen([sys.executable, "-c",
                            "import numpy as np, time\\nh = []\\n"
                            "while True:\\n    h.append(np.ones(20 * 2**20, dtype=np.uint8)); time.sleep(0.01)"])
    watch = types.SimpleNamespace(kill_reason=None, kill_params={})
    dog = MemoryWatchdog(int(sys.argv[1]), watch, interval=0.1)
    dog.start()
    try:
        code = hog.wait(timeout=60)
    except subprocess.TimeoutExpired:
        hog.kill()
        code = None
    dog.stop()
    print(json.dumps({"killed": watch.kill_reason, "params": watch.kill_params, "returncode": code,
                      "peak": dog.peak}))
""")


def run_script(script: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork and /proc smaps are Linux facts")
def test_forked_children_sharing_the_parents_pages_are_counted_once():
    # Limit between one copy and the RSS sum of four (~800 MB plus four interpreters).
    result = run_script(FORKED, "500")
    assert result["killed"] is None and all(result["alive"])
    assert result["rss_sum"] > 4 * 200 * MB          # what a plain RSS sum sees
    assert result["exact"] < 350 * MB                # one copy, plus the interpreters


def test_a_process_allocating_past_the_limit_is_killed():
    result = run_script(HOG, "300")
    assert result["killed"] == "memory" and result["params"] == {"limit_mb": 300}
    assert result["returncode"] == -9                # SIGKILL from the watchdog, not a timeout
    assert 300 * MB < result["peak"] < 1200 * MB
