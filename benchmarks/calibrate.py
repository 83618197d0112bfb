#!/usr/bin/env python3
"""Calibrate an assignment's accuracy thresholds: the reference over seeds, and models that must fail.

    .venv/bin/python benchmarks/calibrate.py cifar10_cnn --seeds 0 1 2 3 4
    KERAS_BACKEND=jax .venv/bin/python benchmarks/calibrate.py cifar10_cnn --seeds 0 1 2 3 4
    .venv/bin/python benchmarks/calibrate.py cifar10_cnn --seeds 0 --controls

For each seed the instructors' solution (the release filled with the solution
cells) runs in a fresh kernel with ``cnnkit.setup(seed=S)`` instead of seed 0
— plain nbclient, the grader's export, no sandbox — and the grader scores
every key outside the kernel exactly as in grading (:func:`autograder.worker.score_tests`).
For every key with a threshold (``accuracy``, ``svm_accuracy``) and every
``compare_accuracy`` key, it prints the grader's figure per seed.

``--controls`` adds, for each ``accuracy`` key, four models that must fail
it, built from the exported model's own architecture and judged by the
grader's own check: untrained (fresh initialisation),
constant (always the first class), trained on shuffled labels (the
reference's optimizer, the workload's longest epochs, on the public training images with permuted labels;
full profile: 10,000 images, at most 2 epochs) and trained on the public test
split (15 epochs or the reference's number of steps, whichever is more: it
memorises the images a cheat would fit).

Results go to ``benchmarks/_work/calibration-ID-BACKEND.json`` and a table
on the screen: threshold, reference min/mean/max, the best control's holdout
accuracy and how many controls the grader passed (a model fitted to x_test
can clear the bar on the holdout and still fail, by its public/holdout gap), verdict
(``ok`` when threshold <= reference min and the grader fails every control). Copy the figures
beside the threshold in ``solutions/ID/assignment.toml`` and into
``benchmarks/RESULTS.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

THRESHOLD_KINDS = ("accuracy", "svm_accuracy")


def backend() -> str:
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def run_solution(assignment, seed: int, profile: str, workdir: Path, timeout: int) -> tuple[Path, dict, float]:
    """Execute the filled release with ``seed``; returns ``(artifacts dir, measurements, seconds)``."""
    import nbformat
    from nbclient import NotebookClient

    from autograder.manifest import public_manifest_text
    from autograder.submissions import solution_answers

    # The source notebook with its solutions: hidden tests included, as the grader restores them.
    source = nbformat.read(str(assignment.source_notebook), as_version=4)
    answers = solution_answers(source)
    nb = source
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers and cell.cell_type == "code":
            cell.source = answers[grade_id]
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "setup":
            cell.source, count = re.subn(r"setup\(seed=\d+", f"setup(seed={seed}", cell.source)
            if not count:
                raise SystemExit(f"{assignment.id}: the setup cell has no cnnkit.setup(seed=...) to change")
    kernel_dir = workdir / "kernel"
    artifacts = kernel_dir / "artifacts"
    artifacts.mkdir(parents=True)
    public = workdir / "public" / assignment.id
    public.mkdir(parents=True)
    (public / "assignment.toml").write_text(public_manifest_text(assignment))
    kinds = workdir / "public" / "export_kinds.json"
    kinds.write_text(json.dumps({key: spec.kind for key, spec in assignment.manifest.checks.items()}))
    os.environ.update({"CNNKIT_ARTIFACTS_DIR": str(artifacts), "CNNKIT_EXPORT_KINDS": str(kinds),
                       "CNNKIT_ASSIGNMENT_PATH": str(workdir / "public"), "CNNKIT_PROFILE": profile,
                       "CNNKIT_OFFLINE": "1", "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "3"})
    measurements: dict[str, float] = {}

    class Timed(NotebookClient):
        async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
            from autograder.preprocessors import kernel_cpu_seconds

            cpu, wall = kernel_cpu_seconds(), time.monotonic()
            try:
                return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
            finally:
                cell_id = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell-{cell_index + 1}"
                measurements[f"cpu:{cell_id}"] = kernel_cpu_seconds() - cpu
                measurements[f"wall:{cell_id}"] = time.monotonic() - wall

    started = time.monotonic()
    Timed(nb, timeout=timeout, allow_errors=True, resources={"metadata": {"path": str(kernel_dir)}}).execute()
    errors = [(c.metadata.get("nbgrader", {}).get("grade_id"), o.get("ename"), o.get("evalue"))
              for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    for error in errors:
        print("   kernel error:", *error)
    return artifacts, measurements, time.monotonic() - started


# Full profile: the shuffled-label control trains on this many images for at most this many epochs
# (a model that learns nothing about the labels is at chance whatever its budget; all 50,000 CIFAR-10
# images for the workload's epochs would add ~40 minutes per assignment on two cores).
FULL_SHUFFLED_IMAGES, FULL_SHUFFLED_EPOCHS = 10_000, 2
# The trained-on-x_test control fits the public test split for at least this many epochs, and for
# at least the reference's number of optimizer steps (it memorises those images), then must fail
# on the grader's holdout or by the public/holdout gap.
ON_TEST_EPOCHS = 15


def controls(assignment, profile: str, artifacts: Path, key: str, epochs: int) -> dict[str, dict]:
    """Four models that must not earn ``key``: each one's holdout accuracy and the grader's verdict.

    ``untrained`` (fresh initialisation of the exported architecture), ``constant`` (always the first
    class), ``shuffled_labels`` (trained on the public training images with permuted labels) and
    ``trained_on_x_test`` (trained on the public test split the student holds, the split a cheat
    would fit). The verdict is the grader's own check (:func:`cnnkit.checks.run_check`) with no
    reported value, so a control fails only by what the grader measures on the model.
    """
    import numpy as np

    from cnnkit import checks
    from cnnkit.checks.artifacts import load
    from cnnkit.checks.context import select
    from cnnkit.checks.kinds._common import model_inputs, probabilities
    from cnnkit.runtime import import_keras
    from autograder.verify import GraderContext, GraderData

    keras = import_keras()
    spec = assignment.manifest.checks[key]
    data = GraderData(assignment.private_data, assignment.probes, assignment.manifest.language)
    ctx = GraderContext(profile, assignment.manifest, artifacts_dir=artifacts, data=data)
    judge = GraderContext(profile, assignment.manifest, artifacts_dir=Path("/nonexistent"), data=data)
    x_hold, y_hold = select(ctx, spec, "holdout")
    x_hold = model_inputs(x_hold, spec)
    # The exported config as written, with its own initialisers: the grader's loader rebuilds a
    # model with zero initialisers (its weights are loaded over them), and a zero-initialised
    # ReLU network cannot learn — a control built from it would be a constant model, not a cheat.
    config = json.loads((artifacts / f"{key}.model.json").read_text())
    config.pop("compile_config", None)
    load(key, "model", artifacts)              # the grader accepts it (safe mode, exact types)

    def fresh():
        keras.utils.set_random_seed(123)
        return keras.models.model_from_json(json.dumps(config))

    # The reference's own optimizer (and schedule), fresh for each control: the Keras-example CNN does
    # not leave chance with Adam 1e-3 (loss stays at ln 10), so a generic optimizer would flatter the bar.
    import cnnkit.recipes  # noqa: F401  (registers the one-cycle schedule for deserialisation)

    compiled = json.loads((artifacts / f"{key}.compile.json").read_text())

    def trained(x, y, n_epochs):
        model = fresh()
        model.compile(optimizer=keras.optimizers.deserialize(compiled["compile_config"]["optimizer"]),
                      loss="sparse_categorical_crossentropy")
        model.fit(model_inputs(x, spec), y, epochs=n_epochs, batch_size=32, verbose=0)
        return model

    def verdict(model):
        accuracy = float((probabilities(model, x_hold, spec).argmax(axis=1) == y_hold).mean())
        outcome = checks.run_check(spec, model, judge)
        return {"accuracy": accuracy, "passed": outcome.passed,
                "public_accuracy": outcome.details.get("public_accuracy"),
                "failures": [m.code for m in outcome.failures]}

    constant = fresh()
    # The output layer: the last layer (nested models included) with a kernel and a bias.
    last = next(layer for layer in reversed(list(constant._flatten_layers(include_self=False)))
                if len(layer.get_weights()) == 2 and layer.get_weights()[1].ndim == 1)
    kernel, bias = last.get_weights()
    last.set_weights([np.zeros_like(kernel), np.eye(bias.shape[0])[0].astype(bias.dtype) * 10])
    out = {"untrained": verdict(fresh()), "constant": verdict(constant)}
    x_train, y_train = select(ctx, spec, "train")
    if profile == "full":
        x_train, y_train, epochs = x_train[:FULL_SHUFFLED_IMAGES], y_train[:FULL_SHUFFLED_IMAGES], \
            min(epochs, FULL_SHUFFLED_EPOCHS)
    out["shuffled_labels"] = verdict(trained(x_train, np.random.default_rng(7).permutation(y_train), epochs))
    x_test, y_test = select(ctx, spec, "test")
    # At least as many optimizer steps as the reference took, so the cheat is not under-trained.
    steps = int(compiled.get("optimizer_iterations") or 0)
    on_test_epochs = max(ON_TEST_EPOCHS, -(-steps // -(-len(y_test) // 32)))
    out["trained_on_x_test"] = verdict(trained(x_test, y_test, on_test_epochs))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--profile", default="smoke", choices=("smoke", "full"))
    parser.add_argument("--controls", action="store_true", help="also build the models that must fail")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    parser.add_argument("--solutions", type=Path, default=REPO / "solutions")
    args = parser.parse_args(argv)

    from autograder.manifest import load_assignment
    from autograder.worker import grader_data, score_tests
    from autograder.course import graded_cells
    import nbformat

    assignment = load_assignment(args.assignment, args.solutions)
    cells = graded_cells(nbformat.read(str(assignment.source_notebook), as_version=4))
    keys = [k for k, s in assignment.manifest.checks.items() if s.kind in THRESHOLD_KINDS + ("compare_accuracy",)]
    epochs = max([int(w.get(args.profile, {}).get("epochs", 1)) for w in assignment.manifest.workloads.values()]
                 or [1])
    runs = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory(prefix=f"calibrate-{args.assignment}-{seed}-") as tmp:
            artifacts, measurements, seconds = run_solution(assignment, seed, args.profile, Path(tmp), args.timeout)
            tests = score_tests(cells, assignment, args.profile, artifacts, measurements, None,
                                data=grader_data(assignment))
            figures, failed = {}, []
            for test in tests:
                for check in test.checks:
                    if check.key in keys:
                        figures[check.key] = check.details.get("accuracy")
                    if not check.passed:
                        failed.append((check.key, [m.code for m in check.failures]))
            run = {"seed": seed, "seconds": round(seconds, 1), "accuracy": figures, "failed": failed}
            if args.controls and seed == args.seeds[0]:
                run["controls"] = {k: controls(assignment, args.profile, artifacts, k, epochs)
                                   for k in keys if assignment.manifest.checks[k].kind == "accuracy"}
            runs.append(run)
            print(json.dumps(run))
    out = REPO / "benchmarks" / "_work" / f"calibration-{args.assignment}-{args.profile}-{backend()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"assignment": args.assignment, "profile": args.profile, "backend": backend(),
                               "runs": runs}, indent=1))
    print(f"\n{args.assignment} · {args.profile} · {backend()} · seeds {args.seeds}")
    print(f"{'key':<28}{'threshold':>10}{'min':>8}{'mean':>8}{'max':>8}{'control':>9}{'passed':>8}  verdict")
    for key in keys:
        spec = assignment.manifest.checks[key]
        values = [r["accuracy"].get(key) for r in runs if r["accuracy"].get(key) is not None]
        threshold = spec.option("threshold", args.profile) if "threshold" in spec.options else None
        judged = [c for r in runs for c in r.get("controls", {}).get(key, {}).values()]
        control = max((c["accuracy"] for c in judged), default=None)
        controls_fail = not any(c["passed"] for c in judged)
        if not values:
            print(f"{key:<28}{'-':>10}  no figure (the key failed before measuring)")
            continue
        verdict = "ok" if threshold is None or (min(values) >= threshold and controls_fail) \
            else "MISCALIBRATED"
        print(f"{key:<28}{threshold if threshold is not None else '-':>10}{min(values):>8.3f}"
              f"{sum(values) / len(values):>8.3f}{max(values):>8.3f}"
              f"{control if control is not None else float('nan'):>9.3f}"
              f"{sum(c['passed'] for c in judged) if judged else '-':>5}/{len(judged) or '-':<2}  {verdict}")
    print(f"\n(figures: {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
