"""What a student installs: the wheel of this project, built and installed as a student would.

It holds the reference package and the grader's code (code is no secret), and nothing of the
instructor side: no solution notebook, no instructor manifest, probe or expected value of a
hidden check, no grader-private image. (That the grading kernel cannot read them either is
shown by the forger of tests/test_grading.py, which searches its whole sandbox.)

It holds every file the package needs at run time, and works installed where this repository
is out of sight: a student's folder with only a release runs its notebook and ``cnnkit check``
from the wheel; the instructor commands ask for ``--solutions`` instead of looking in
site-packages.
"""
from __future__ import annotations

import json
import os
import shutil
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


# ----------------------------------------------------------------------------- installed, out of sight

# Run in every subprocess (and the kernels they start) through PYTHONPATH: this venv's editable
# finder of the repository is taken out, so only the wheel's copy of cnnkit can be imported.
HIDE_THE_REPOSITORY = """\
import sys
def _editable(obj):
    return "__editable__" in (getattr(obj, "__module__", None) or "")
sys.meta_path[:] = [f for f in sys.meta_path if not _editable(f)]
sys.path_hooks[:] = [h for h in sys.path_hooks if not _editable(h)]
sys.path[:] = [p for p in sys.path if "__editable__" not in p]
sys.path_importer_cache.clear()
"""


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """``(site, env)``: the environment of a machine where the kit is installed from the wheel."""
    _, site = wheel
    shim = tmp_path_factory.mktemp("shim")
    (shim / "sitecustomize.py").write_text(HIDE_THE_REPOSITORY)
    home = tmp_path_factory.mktemp("home")
    env = {"PYTHONPATH": os.pathsep.join([str(site), str(shim)]),
           "PATH": os.pathsep.join([str(site / "bin"), "/usr/bin", "/bin"]), "HOME": str(home),
           "CNNKIT_PROFILE": "smoke", "CNNKIT_OFFLINE": "1", "CNNKIT_LANG": "es",
           "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0", "MPLBACKEND": "Agg"}
    code = ("import sys, json, cnnkit, autograder, autograder.cli\n"
            "print(json.dumps({'cnnkit': cnnkit.__file__, 'autograder': autograder.__file__, 'path': sys.path,\n"
            "                  'finders': [repr(f) for f in sys.meta_path]}))\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=home, env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    where = json.loads(run.stdout.splitlines()[-1])
    assert Path(where["cnnkit"]).is_relative_to(site) and Path(where["autograder"]).is_relative_to(site), where
    prefix = Path(sys.prefix).resolve()          # this venv's own site-packages holds the dependencies
    assert not [p for p in where["path"] if "editable" in p or Path(home, p).resolve().is_relative_to(REPO)
                and not Path(home, p).resolve().is_relative_to(prefix)], where["path"]
    assert not [f for f in where["finders"] if "editable" in f.lower()], where["finders"]
    return site, env


def cnnkit_command(site: Path, *args: str) -> list[str]:
    """The console script pip installed with the wheel."""
    return [str(site / "bin" / "cnnkit"), *args]


def tracked_package_files() -> list[str]:
    """Files of the two packages under version control (else on disk), without bytecode."""
    run = subprocess.run(["git", "ls-files", "cnnkit", "autograder"], cwd=REPO, capture_output=True, text=True)
    names = run.stdout.split() if run.returncode == 0 and run.stdout.strip() else [
        str(p.relative_to(REPO)) for package in ("cnnkit", "autograder") for p in (REPO / package).rglob("*")
        if p.is_file()]
    return sorted(n for n in names if "__pycache__" not in n and not n.endswith(".pyc"))


def test_the_wheel_holds_every_file_of_the_packages(wheel):
    """Package data is complete: the CIFAR-10 sample, the feedback template, the stock nbgrader
    config, the runners... every file of cnnkit/ and autograder/, not only the Python modules."""
    path, site = wheel
    names = set(zipfile.ZipFile(path).namelist())
    files = tracked_package_files()
    assert len(files) > 30
    assert not [n for n in files if n not in names]
    for needed in ("cnnkit/data/sample/cifar10_sample.npz", "autograder/templates/feedback.html.j2",
                   "autograder/templates/nbgrader_config.py"):
        assert needed in names and (site / needed).is_file(), needed
    assert (site / "bin" / "cnnkit").is_file()


def test_a_student_folder_runs_the_release_and_cnnkit_check_from_the_wheel(installed, tmp_path):
    """Only a copy of assignments/vgg19_blocks/ (release + public manifest) and the wheel: the
    blank release passes ``cnnkit check --no-run``; the release filled with the instructors'
    answers runs every cell (locked setup and example cells included) under ``cnnkit check``,
    in a kernel that imports the wheel's cnnkit and finds the manifest next to the notebook."""
    import nbformat

    from autograder.submissions import fill_release, solution_answers

    site, env = installed
    folder = tmp_path / "vgg19_blocks"
    shutil.copytree(REPO / "assignments" / "vgg19_blocks", folder)
    assert sorted(p.name for p in folder.iterdir()) == ["assignment.toml", "vgg19_blocks.ipynb"]
    release_nb = nbformat.read(str(folder / "vgg19_blocks.ipynb"), as_version=4)
    source = nbformat.read(str(SOLUTIONS / "vgg19_blocks" / "vgg19_blocks.ipynb"), as_version=4)
    filled = fill_release(release_nb, solution_answers(source))
    filled.cells.append(nbformat.v4.new_code_cell(
        "import json as _json\n"
        "_where = {'cnnkit': _cnnkit.__file__, 'profile': _PROFILE.name,\n"
        "          'manifest': str(_checks.current_assignment().path)}\n"
        "with open('kernel.json', 'w') as _fh:\n"
        "    _json.dump(_where, _fh)"))
    nbformat.write(filled, str(folder / "solucion.ipynb"))

    blank = subprocess.run(cnnkit_command(site, "check", "vgg19_blocks/vgg19_blocks.ipynb", "--no-run"),
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert blank.returncode == 0, blank.stdout + blank.stderr[-3000:]
    assert "Traceback" not in blank.stdout + blank.stderr

    run = subprocess.run(cnnkit_command(site, "check", "vgg19_blocks/solucion.ipynb"), cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    lines = run.stdout.splitlines()
    assert sum(line.lstrip().startswith("✓") for line in lines) == 7, run.stdout
    assert not [line for line in lines if line.lstrip().startswith("✗")], run.stdout
    assert "Traceback" not in run.stdout + run.stderr
    where = json.loads((folder / "kernel.json").read_text())
    assert Path(where["cnnkit"]).is_relative_to(site), where
    assert where["profile"] == "smoke" and Path(where["manifest"]) == folder / "assignment.toml", where


def test_instructor_commands_from_the_wheel_ask_for_solutions(installed, tmp_path):
    """Installed, the package holds no solutions/: release, grade and demo say to pass
    ``--solutions DIR`` (and write nothing) instead of looking for it in site-packages; run from
    a course folder, ``./solutions`` is the default and the release lands in ``./assignments``."""
    import nbformat

    site, env = installed
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "alumna.ipynb").write_text((REPO / "assignments" / "vgg19_blocks" / "vgg19_blocks.ipynb").read_text())
    for args in (["release", "--check"], ["demo", "--quick", "--out", "demo"],
                 ["grade", "--assignment", "vgg19_blocks", "--out", "grading", "alumna.ipynb"]):
        run = subprocess.run(cnnkit_command(site, *args), cwd=empty, env=env, capture_output=True, text=True,
                             timeout=300)
        assert run.returncode == 2, (args, run.stdout, run.stderr[-3000:])
        assert "--solutions DIR" in run.stderr and "Traceback" not in run.stderr, (args, run.stderr[-3000:])
    assert sorted(p.name for p in empty.iterdir()) == ["alumna.ipynb"]
    run = subprocess.run(cnnkit_command(site, "release", "--solutions", "nowhere"), cwd=empty, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and "--solutions nowhere" in run.stderr, run.stderr[-3000:]

    course = tmp_path / "course"
    shutil.copytree(SOLUTIONS / "vgg19_blocks", course / "solutions" / "vgg19_blocks")
    run = subprocess.run(cnnkit_command(site, "release", "vgg19_blocks"), cwd=course, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    written = course / "assignments" / "vgg19_blocks"
    assert sorted(p.name for p in written.iterdir()) == ["assignment.toml", "vgg19_blocks.ipynb"]
    fresh = nbformat.read(str(written / "vgg19_blocks.ipynb"), as_version=4)
    committed = nbformat.read(str(REPO / "assignments" / "vgg19_blocks" / "vgg19_blocks.ipynb"), as_version=4)
    assert [c.source for c in fresh.cells] == [c.source for c in committed.cells]


def test_every_release_says_how_to_install_the_kit():
    """The first cell of each release tells a student, in one line, how to get cnnkit: their own
    computer, the course's JupyterHub, Colab."""
    import nbformat

    for assignment_id in assignment_ids(SOLUTIONS):
        nb = nbformat.read(str(REPO / "assignments" / assignment_id / f"{assignment_id}.ipynb"), as_version=4)
        first = next(c for c in nb.cells if c.cell_type == "markdown")
        [line] = [line for line in first.source.splitlines() if line.startswith("**Instalación.**")]
        for words in ("pip install cnnkit", "JupyterHub", "Colab", "!pip install", "assignment.toml"):
            assert words in line, (assignment_id, words)
