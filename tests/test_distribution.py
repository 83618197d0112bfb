"""What a student installs: the wheel of this project, built and installed as a student would.

It holds the reference package and the grader's code (code is no secret), and nothing of the
instructor side: no solution notebook, no instructor manifest, probe or expected value of a
hidden check, no grader-private image. (That the grading kernel cannot read them either is
shown by the forger of tests/test_grading.py, which searches its whole sandbox.)
"""
from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.course import graded_cells
from autograder.manifest import assignment_ids, load_assignment, visible_keys
from autograder.verify import keys_in_source, split_hidden

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "solutions"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(out), str(REPO)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    [path] = out.glob("cnnkit-*.whl")
    target = out / "site"
    run = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                          str(path)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return path, target


def hidden_literals() -> dict[str, str]:
    """Distinctive literal values of checks only hidden test code uses: ``{text: where}``."""
    found = {}
    for assignment_id in assignment_ids(SOLUTIONS):
        assignment = load_assignment(assignment_id, SOLUTIONS)
        visible, _ = visible_keys(assignment)
        import nbformat

        cells = graded_cells(nbformat.read(str(assignment.source_notebook), as_version=4))
        hidden = {k for c in cells for k in keys_in_source(split_hidden(c.source)[1])} - set(visible)
        for key in hidden:
            spec = assignment.manifest.checks[key]
            for name in ("expected", "one_of", "args"):
                value = spec.options.get(name)
                for item in (value.values() if isinstance(value, dict) else [value]):
                    if item is None or isinstance(item, bool):
                        continue
                    for text in spellings(item):
                        found[text] = f"{assignment_id}:{key}.{name}"
    return found


def spellings(item) -> list[str]:
    """How a hidden value could be written down: as is, and a large number with thousands separators."""
    texts = [json.dumps(item) if isinstance(item, (list, dict)) else str(item)]
    if isinstance(item, int) and abs(item) >= 1000:
        texts += [f"{item:,}", f"{item:_}", f"{item:,}".replace(",", " "), f"{item:,}".replace(",", "\u202f"),
                  f"{item:,}".replace(",", ".")]
    return [t for t in texts if len(t) >= 5]


def test_the_wheel_holds_no_instructor_file(wheel):
    path, _ = wheel
    names = zipfile.ZipFile(path).namelist()
    assert any(n.startswith("cnnkit/") for n in names) and any(n.startswith("autograder/") for n in names)
    assert not [n for n in names if n.startswith(("solutions/", "assignments/", "tests/")) or "/_data/" in n
                or n.endswith(("assignment.toml", "probes.py", ".ipynb", "holdout.npz", "holdout.toml"))]


# Published figures are not hidden values: seed 001's comparison table (cnnkit.params) cites the
# parameter counts of VGG-19 and ResNet-50 from Keras Applications' own documentation.
PUBLIC_FACTS = {("cnnkit/params.py", "vgg19_blocks:full_model_params.expected"),
                ("cnnkit/params.py", "vgg19_blocks:table_params_resnet50.expected"),
                ("cnnkit/params.py", "vgg19_blocks:table_params_vgg19.expected")}


def test_the_installed_package_holds_no_hidden_value_and_no_holdout_image(wheel):
    _, site = wheel
    texts = {p: p.read_bytes() for p in site.rglob("*") if p.is_file() and p.suffix != ".pyc"}
    literals = hidden_literals()
    assert len(literals) >= 10
    leaks = {f"{where} ({text})": str(p.relative_to(site)) for text, where in literals.items()
             for p, data in texts.items() if text.encode() in data
             and (str(p.relative_to(site)), where) not in PUBLIC_FACTS}
    assert not leaks
    import numpy as np

    with np.load(SOLUTIONS / "_data" / "cifar10_holdout.npz", allow_pickle=False) as holdout:
        blob, offsets = holdout["holdout_jpeg"].tobytes(), holdout["holdout_offsets"]
        images = [blob[a:b] for a, b in zip(offsets[:5], offsets[1:6])]
    for p, data in texts.items():
        if p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as npz:
                packed = b"".join(npz[name].tobytes() for name in npz.files)
            assert not any(image in packed for image in images), p


def test_the_installed_package_runs_a_release_folder(wheel, tmp_path):
    """A student's own run from the wheel: the public manifest next to the notebook is all it needs."""
    _, site = wheel
    folder = tmp_path / "vgg19_blocks"
    folder.mkdir()
    manifest = (REPO / "assignments" / "vgg19_blocks" / "assignment.toml").read_text()
    (folder / "assignment.toml").write_text(manifest)
    code = ("import cnnkit, cnnkit.checks as checks\n"
            "m = checks.use_assignment('vgg19_blocks')\n"
            "assert str(m.path).startswith(%r), m.path\n"
            "assert cnnkit.__file__.startswith(%r), cnnkit.__file__\n"
            "print(len(m.checks), sorted(m.hidden_tests)[:1])\n") % (str(folder), str(site))
    run = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert run.returncode == 0, run.stderr[-3000:]
