"""``cnnkit gradescope``: one assignment as a Gradescope autograder, and the entry point it runs.

The bundle is the zip an instructor uploads as a programming assignment's autograder; everything
grading needs is inside it, and nothing is downloaded at grading time::

    setup.sh                 run once by Gradescope, as root, when it builds the image: apt
                             bubblewrap (the kernels' sandbox) and Python, a virtual environment
                             at /opt/cnnkit with the kit below and its pip dependencies (full
                             profile: the datasets the assignment names, fetched there and then)
    run_autograder           run for each submission: ``python -m autograder.gradescope run``
    cnnkit-gradescope.json   the assignment, the profile and the feedback language
    kit/                     the cnnkit source tree (pyproject.toml, cnnkit/, autograder/)
    solutions/ID/            the instructor side (never mounted for a kernel) ...
    solutions/_data/         ... and the grader's private data
    assignments/ID/          the student side, generated from solutions/ID as ``cnnkit release`` does

``run`` grades the one notebook in ``$AUTOGRADER_ROOT/submission/`` (``/autograder`` on
Gradescope) with the batch grader, sandbox as usual, and writes
``$AUTOGRADER_ROOT/results/results.json`` (:func:`autograder.report.gradescope_results`, the
document ``cnnkit grade`` writes for each student). No notebook, several notebooks or a grader
failure still give a result: score 0 and a message saying what to do.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import traceback
import zipfile
from pathlib import Path
from typing import Iterable, Iterator

from cnnkit import messages
from cnnkit.assignment import MANIFEST_NAME
from cnnkit.checks.artifacts import atomic_write
from cnnkit.messages import Message

from . import report
from .manifest import PRIVATE_DATA, REPO_ROOT, default_solutions_dir, load_assignment, public_manifest_text

messages.add_message_modules("autograder.gradescope")
messages.register({
    "gradescope.no_notebook": {
        "es": "No se ha encontrado ningún cuaderno `.ipynb` en tu entrega. Sube tu cuaderno `{assignment}.ipynb` "
              "(solo ese archivo) y vuelve a enviarla.",
        "en": "No `.ipynb` notebook was found in your submission. Upload your notebook `{assignment}.ipynb` "
              "(that file only) and submit again.",
    },
    "gradescope.several_notebooks": {
        "es": "Tu entrega tiene {count} cuadernos ({names}) y se corrige uno solo: sube únicamente tu "
              "`{assignment}.ipynb` y vuelve a enviarla.",
        "en": "Your submission has {count} notebooks ({names}) and only one is graded: upload just your "
              "`{assignment}.ipynb` and submit again.",
    },
    "gradescope.grader_failed": {
        "es": "El corrector falló antes de puntuar tu entrega ({error}); no es culpa tuya: avisa al profesorado.",
        "en": "The grader failed before scoring your submission ({error}); it is not your fault: tell the "
              "teaching staff.",
    },
    "gradescope.not_started": {
        "es": "El corrector no llegó a arrancar; avisa al profesorado.",
        "en": "The grader did not start; tell the teaching staff.",
    },
})

CONFIG_NAME = "cnnkit-gradescope.json"
VENV = "/opt/cnnkit"                     # outside /autograder: a kernel's sandbox binds it read-only
PROFILES = ("smoke", "full")
_KIT_FILES = ("pyproject.toml", "README.md")
_KIT_PACKAGES = ("cnnkit", "autograder")
_SKIP = ("__pycache__", ".ipynb_checkpoints", ".pytest_cache")
_STAMP = (2020, 1, 1, 0, 0, 0)           # fixed zip timestamps: the same inputs give the same bundle

SETUP_SH = """\
#!/usr/bin/env bash
# cnnkit autograder for Gradescope: {assignment} ({profile} profile).
# Gradescope runs this once, as root, when it builds the autograder image. It installs
# bubblewrap (the sandbox of every student kernel), Python, and the kit shipped in kit/ with its
# pip dependencies into {venv}; nothing else is downloaded, then or at grading time{data_note}.
set -euo pipefail
SOURCE="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
VENV="${{CNNKIT_VENV:-{venv}}}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends bubblewrap python3 python3-venv python3-pip
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --upgrade pip
"$VENV/bin/python" -m pip install "$SOURCE/kit"
{prepare}"$VENV/bin/python" -m autograder.gradescope check --source "$SOURCE"
"""

PREPARE = """\
# Full profile: the datasets {assignment} names, fetched now (grading runs with CNNKIT_OFFLINE=1).
CNNKIT_PROFILE=full "$VENV/bin/python" -m autograder.gradescope prepare --source "$SOURCE"
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# cnnkit autograder for Gradescope: grades the one notebook in $AUTOGRADER_ROOT/submission/ and
# writes $AUTOGRADER_ROOT/results/results.json ($AUTOGRADER_ROOT is /autograder on Gradescope).
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
SOURCE="${{CNNKIT_GRADESCOPE_SOURCE:-$ROOT/source}}"
PYTHON="${{CNNKIT_PYTHON:-}}"
if [ -z "$PYTHON" ]; then
  if [ -x "{venv}/bin/python" ]; then PYTHON="{venv}/bin/python"; else PYTHON="$(command -v python3 || echo python3)"; fi
fi
cd "$ROOT"
"$PYTHON" -m autograder.gradescope run --root "$ROOT" --source "$SOURCE"
status=$?
if [ ! -s "$ROOT/results/results.json" ]; then
  mkdir -p "$ROOT/results"
  cat > "$ROOT/results/results.json" <<'JSON'
{fallback}
JSON
fi
exit $status
"""


# --------------------------------------------------------------------------- the bundle

def _files_under(folder: Path) -> Iterator[Path]:
    for path in sorted(Path(folder).rglob("*")):
        parts = path.relative_to(folder).parts
        if path.is_file() and not any(p in _SKIP or p.endswith(".egg-info") for p in parts) \
                and path.suffix not in (".pyc", ".pyo"):
            yield path


def kit_files(repo: Path = REPO_ROOT) -> Iterator[tuple[str, Path]]:
    """``(name in the zip, file)`` of the kit's source tree, installable with ``pip install kit/``."""
    repo = Path(repo)
    if not (repo / "pyproject.toml").is_file():
        raise FileNotFoundError(f"no cnnkit source tree at {repo} (pyproject.toml): build the bundle from a "
                                "checkout of cnnkit, where the kit it ships comes from")
    for name in _KIT_FILES:
        yield f"kit/{name}", repo / name
    for package in _KIT_PACKAGES:
        for path in _files_under(repo / package):
            yield f"kit/{path.relative_to(repo).as_posix()}", path


def student_side(assignment) -> dict[str, str]:
    """``assignments/ID/``'s files, generated from the instructor side as ``cnnkit release`` does."""
    import nbformat

    from .course import build_course

    with tempfile.TemporaryDirectory(prefix="cnnkit-gradescope-release-") as tmp:
        course = build_course(assignment.id, assignment.source_notebook, Path(tmp) / "course")
        nb = nbformat.read(str(course.release_notebook), as_version=4)
    return {f"{assignment.id}.ipynb": nbformat.writes(nb) + "\n", MANIFEST_NAME: public_manifest_text(assignment)}


def fallback_results(lang: str) -> dict:
    """What ``run_autograder`` writes when Python could not even start the grader."""
    text = report.render(Message("gradescope.not_started"), lang)
    return {"score": 0.0, "output": text, "output_format": "md", "visibility": "visible",
            "stdout_visibility": "hidden", "tests": []}


def scripts(assignment_id: str, profile: str, lang: str) -> dict[str, str]:
    """``setup.sh`` and ``run_autograder``."""
    full = profile == "full"
    setup = SETUP_SH.format(assignment=assignment_id, profile=profile, venv=VENV,
                            data_note=" (full profile: also the datasets the assignment uses)" if full else "",
                            prepare=PREPARE.format(assignment=assignment_id) if full else "")
    run = RUN_AUTOGRADER.format(venv=VENV, fallback=json.dumps(fallback_results(lang), ensure_ascii=False))
    return {"setup.sh": setup, "run_autograder": run}


def _zip_info(name: str, executable: bool = False) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_STAMP)
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def build_bundle(assignment_id: str, out: Path, *, profile: str = "smoke", lang: str = "es",
                 solutions_dir: Path | None = None) -> Path:
    """Write the Gradescope autograder zip of ``assignment_id`` to ``out``; returns its path."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, not {profile!r}")
    solutions_dir = Path(solutions_dir or default_solutions_dir())
    assignment = load_assignment(assignment_id, solutions_dir)
    entries: list[tuple[str, bytes | Path, bool]] = []
    for name, text in scripts(assignment_id, profile, lang).items():
        entries.append((name, text.encode(), True))
    config = {"assignment": assignment_id, "profile": profile, "lang": lang}
    entries.append((CONFIG_NAME, (json.dumps(config, indent=1) + "\n").encode(), False))
    entries += [(name, path, False) for name, path in kit_files()]
    for folder in (assignment.folder, solutions_dir / PRIVATE_DATA):
        if folder.is_dir():
            entries += [(f"solutions/{folder.name}/{p.relative_to(folder).as_posix()}", p, False)
                        for p in _files_under(folder)]
    entries += [(f"assignments/{assignment_id}/{name}", text.encode(), False)
                for name, text in student_side(assignment).items()]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with zipfile.ZipFile(tmp, "w") as archive:
        for name, content, executable in entries:
            data = content if isinstance(content, bytes) else Path(content).read_bytes()
            archive.writestr(_zip_info(name, executable), data)
    os.replace(tmp, out)
    return out


# --------------------------------------------------------------------------- grading one submission

def find_notebooks(submission_dir: Path) -> list[Path]:
    """The ``.ipynb`` files of a submission, in any folder of it (checkpoints and dot-folders skipped)."""
    folder = Path(submission_dir)
    if not folder.is_dir():
        return []
    return [p for p in sorted(folder.rglob("*.ipynb"))
            if p.is_file() and not any(part.startswith(".") or part == "__MACOSX"
                                       for part in p.relative_to(folder).parts)]


def _config(source: Path) -> dict:
    config = json.loads((Path(source) / CONFIG_NAME).read_text(encoding="utf-8"))
    return {"assignment": str(config["assignment"]), "profile": str(config.get("profile", "smoke")),
            "lang": str(config.get("lang", "es"))}


def error_result(config: dict, solutions_dir: Path, message: Message, status: str = "invalid_notebook",
                 submission: str = ""):
    """A result with every autograded test at 0 and ``message`` on top (the tests' names and
    points still listed when the bundle's solutions can be read)."""
    import nbformat

    from .course import graded_cells
    from .results import SubmissionResult
    from .worker import zero_tests

    try:
        assignment = load_assignment(config["assignment"], solutions_dir)
        tests = zero_tests(graded_cells(nbformat.read(str(assignment.source_notebook), as_version=4)), message)
    except Exception:
        tests = []
    return SubmissionResult(student="submission", assignment=config["assignment"], profile=config["profile"],
                            lang=config["lang"], submission=submission, status=status, messages=[message],
                            tests=tests)


def grade_notebook(notebook: Path, config: dict, solutions_dir: Path) -> dict:
    """The ``results.json`` document of one notebook, graded by the batch grader."""
    from .batch import BatchOptions, grade_batch

    with tempfile.TemporaryDirectory(prefix="cnnkit-gradescope-") as tmp:
        out = Path(tmp) / "out"
        batch = grade_batch([notebook], BatchOptions(assignment=config["assignment"], out_dir=out,
                                                     profile=config["profile"], jobs=1, lang=config["lang"],
                                                     solutions_dir=solutions_dir))
        [record] = batch.records
        return json.loads((out / record.student / "results.json").read_text(encoding="utf-8"))


def run(root: Path, source: Path | None = None) -> dict:
    """Grade ``root/submission``'s notebook; write and return ``root/results/results.json``'s document."""
    root = Path(root).resolve()
    source = Path(source or root / "source").resolve()
    config = _config(source)
    solutions_dir = source / "solutions"
    os.environ["CNNKIT_PROFILE"] = config["profile"]
    os.environ["CNNKIT_OFFLINE"] = "1"                 # nothing is downloaded at grading time
    results = root / "results" / "results.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    notebooks = find_notebooks(root / "submission")
    assignment = config["assignment"]
    print(f"cnnkit gradescope: {assignment}, profile {config['profile']}, "
          f"{len(notebooks)} notebook(s): {[str(p.relative_to(root)) for p in notebooks]}")
    try:
        if not notebooks:
            result = error_result(config, solutions_dir, Message("gradescope.no_notebook", {"assignment": assignment}))
            document = report.gradescope_results(result, config["lang"])
        elif len(notebooks) > 1:
            names = ", ".join(f"`{p.name}`" for p in notebooks[:5]) + (", …" if len(notebooks) > 5 else "")
            message = Message("gradescope.several_notebooks", {"count": len(notebooks), "names": names,
                                                               "assignment": assignment})
            document = report.gradescope_results(error_result(config, solutions_dir, message), config["lang"])
        else:
            document = grade_notebook(notebooks[0], config, solutions_dir)
    except Exception as exc:        # a grader failure still gives the student a result
        traceback.print_exc()
        message = Message("gradescope.grader_failed", {"error": f"{type(exc).__name__}: {exc}"[:200]})
        result = error_result(config, solutions_dir, message, status="grader_error",
                              submission=str(notebooks[0]) if notebooks else "")
        document = report.gradescope_results(result, config["lang"])
    atomic_write(results, json.dumps(document, ensure_ascii=False, indent=1))
    print(f"score {document['score']:g}; {document['extra_data'].get('status')}; "
          f"{document['extra_data'].get('sandbox', '')}")
    for test in document["tests"]:
        print(f"  {test['number']:>6}  {test['score']:g}/{test['max_score']:g}  {test['status']:<6}  {test['name']}")
    return document


# --------------------------------------------------------------------------- setup-time steps

def prepare(source: Path) -> None:
    """Full profile: load every dataset the assignment names once (keras.datasets downloads what it
    can, into its cache), so that grading, offline, finds them. Smoke needs nothing."""
    config = _config(source)
    if config["profile"] == "smoke":
        return
    from cnnkit.data import course_dataset

    assignment = load_assignment(config["assignment"], Path(source) / "solutions")
    for name in assignment.manifest.datasets:
        data = course_dataset(name, config["profile"])
        print(f"{name}: {len(data.x_train)} training images")


def check(source: Path) -> None:
    """The end of ``setup.sh``: the bundle's assignment loads with the installed kit."""
    config = _config(source)
    assignment = load_assignment(config["assignment"], Path(source) / "solutions")
    from .kernel import isolation

    iso = isolation()
    print(f"cnnkit autograder ready: {assignment.id}, profile {config['profile']}; "
          f"{report.render(Message(iso.code, dict(iso.params)), config['lang'])}")


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run_cmd = sub.add_parser("run", help="grade $AUTOGRADER_ROOT/submission, write results/results.json")
    run_cmd.add_argument("--root", default=os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    run_cmd.add_argument("--source", default=None, help="the unzipped bundle (default: ROOT/source)")
    for name, text in (("prepare", "full profile: fetch the assignment's datasets (setup time)"),
                       ("check", "the bundle's assignment loads with the installed kit")):
        step = sub.add_parser(name, help=text)
        step.add_argument("--source", required=True, help="the unzipped bundle")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.command == "run":
        run(Path(args.root), Path(args.source) if args.source else None)
    elif args.command == "prepare":
        prepare(Path(args.source))
    else:
        check(Path(args.source))
    return 0


if __name__ == "__main__":
    sys.exit(main())
