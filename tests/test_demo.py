"""`cnnkit demo --quick`, the README's main job in its CI-sized variant, end to end.

Runs the real command in a subprocess (fresh interpreter, as a user would) and
checks what a newcomer would look at: the class table, the index page, the
feedback of each example student.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    env = dict(os.environ, COLUMNS="120")
    run = subprocess.run([sys.executable, "-m", "autograder.cli", "demo", "--quick", "--out", str(out), "--lang", "en"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=1500)
    return out, run


def graded(out: Path, student: str) -> dict:
    return json.loads((out / "cifar10_cnn" / student / "grading.json").read_text())


def test_demo_runs_and_prints_the_class_table(demo):
    out, run = demo
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    for student in ("bruno", "carla"):
        assert student in run.stdout
    # --quick grades two students; the solution and alice are graded by test_assignments / the full demo
    assert {p.name for p in (out / "cifar10_cnn").iterdir() if p.is_dir() and not p.name.startswith(".")} == {
        "bruno", "carla", "nbgrader"}            # nbgrader/: the course formgrader opens
    assert "up to date" in run.stdout            # the committed release matches nbgrader's
    assert (out / "index.html").exists() and (out / "scores.png").stat().st_size > 1000
    assert (out / "cifar10_cnn" / "grades.csv").exists()


def test_correct_submission_in_keras2_idioms_gets_full_marks(demo):
    out, _ = demo
    result = graded(out, "carla")
    assert result["score"] == result["max_score"], [t for t in result["tests"] if t["status"] == "failed"]


def test_seed003_bugs_are_explained(demo):
    out, _ = demo
    result = graded(out, "bruno")
    assert result["score"] < result["max_score"]
    feedback = (out / "cifar10_cnn" / "bruno" / "feedback.html").read_text()
    assert "20 units; the dataset has 10 classes" in feedback
    assert "from_logits" in feedback
    codes = {f["code"] for f in result["findings"]}
    assert {"static.validation_on_test", "static.probabilities_with_from_logits", "static.output_units"} <= codes


def test_keras2_code_is_graded_and_the_modern_call_explained(demo):
    out, _ = demo
    feedback = (out / "cifar10_cnn" / "carla" / "feedback.html").read_text()
    for modern in ("learning_rate", "InverseTimeDecay", "model_best.fit(", "RandomFlip"):
        assert modern in feedback, modern
