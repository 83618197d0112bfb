"""The nbgrader course a batch builds: safe to build from several threads at once."""
from __future__ import annotations

import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))

import tiny  # noqa: E402

from autograder.course import build_course  # noqa: E402


def test_courses_built_in_threads_leave_the_working_directory_alone(tmp_path):
    """nbgrader chdirs into the course root and back; two batches in threads (as the assignment
    tests run them) once left the process in a course root that was then deleted."""
    source = tiny.write_source(tmp_path / "solutions")
    before = os.getcwd()
    roots = [tmp_path / f"run-{k}" / "course" for k in range(4)]
    with ThreadPoolExecutor(4) as pool:
        courses = list(pool.map(lambda root: build_course("tiny", source, root), roots))
    assert all(c.release_notebook.exists() for c in courses)
    for root in roots:
        shutil.rmtree(root.parent)
    assert os.getcwd() == before
