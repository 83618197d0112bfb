#!/usr/bin/env python
"""Time to accuracy on CIFAR-10: seed 003's recipe vs cnnkit's fast recipe.

Trains, in one process and one after the other,

* **seed 003** -- ``Conv32-Pool-Conv64-Pool-Conv64-Flatten-Dense(60)-Dense``
  exactly as the seed wrote it, except that the output is a correct 10-unit
  softmax (the seed's ``Dense(20, sigmoid)`` + ``from_logits=True`` was a
  bug), trained with Adam (Keras' default learning rate 0.001) at batch 32
  (Keras' default) on pixels / 255 for the seed's 15 epochs
  (``--seed-epochs`` to shorten it; the figure we report uses 15);
* **cnnkit's fast recipe** -- :func:`cnnkit.recipes.cifar10_fast`, once per
  plan in :data:`cnnkit.recipes.PLANS` whose nominal budget fits
  ``--fast-budget`` (default 300 s: the ``30s``, ``1min`` and ``5min`` plans),
  each with ``--fast-budget`` seconds as a guard. A one-cycle run is planned
  for its length, so each plan is its own run; the fast recipe's time to an
  accuracy is that of the quickest plan that reached it,

evaluates each on the 10,000 test images after every epoch (evaluation is not
counted in the training time), and prints for each the training time at which
test accuracy first reached 60/70/75/80 %, and as its **last line**
``ratio <fast time-to-70% / seed time-to-70%>`` (``ratio <B`` with an upper
bound B when the seed never reaches 70 %, as on the JPEG copy of CIFAR-10).

Both recipes get the same data, threads and kernels. With the TensorFlow
backend, oneDNN kernels are on (``--no-onednn`` to turn them off): they make
both recipes cheaper on CPUs; cnnkit's notebooks turn them off only for
bit-for-bit reruns. ``--threads N`` pins the process to N CPUs (the targets
are for 2 cores) and sizes TensorFlow's thread pools to match.

    python benchmarks/time_to_accuracy.py --data ~/data/cifar-10-python.tar.gz
    python benchmarks/time_to_accuracy.py --data ... --threads 2 --json out.json

Timings on a shared machine are pessimistic: the script prints the load
average before and after, and each recipe's CPU seconds alongside its wall
seconds.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import sys
import time
from pathlib import Path

THRESHOLDS = (0.60, 0.70, 0.75, 0.80)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, type=Path,
                        help="cifar-10-python.tar.gz (or a folder holding it or its extracted batches)")
    parser.add_argument("--seed-epochs", type=int, default=15,
                        help="epochs of the seed recipe (seed 003 trains 15; fewer only to save time)")
    parser.add_argument("--fast-budget", type=float, default=300.0,
                        help="run the fast recipe's plans whose nominal budget fits in this many "
                             "seconds; none of them starts an epoch that would end past it")
    parser.add_argument("--plans", nargs="+", default=None, metavar="PLAN",
                        help="fast-recipe plans to train (default: those whose nominal budget "
                             "fits --fast-budget)")
    parser.add_argument("--threads", type=int, default=None,
                        help="pin to this many CPUs and size the thread pools to match")
    parser.add_argument("--seed", type=int, default=0, help="random seed of both recipes")
    parser.add_argument("--no-onednn", action="store_true",
                        help="TensorFlow backend: use Eigen kernels instead of oneDNN")
    parser.add_argument("--skip", choices=("seed", "fast"), default=None,
                        help="train only one of the two recipes (no ratio then)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--train-limit", type=int, default=None,
                        help="train on the first N images only (to smoke-test this script; "
                             "figures from it mean nothing)")
    return parser.parse_args(argv)


def configure_process(args) -> None:
    """Threads, kernels and quiet logs: all of it must happen before TF is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0" if args.no_onednn else "1"
    if args.threads:
        if hasattr(os, "sched_setaffinity"):
            cpus = sorted(os.sched_getaffinity(0))[:args.threads]
            os.sched_setaffinity(0, cpus)
        for var in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
            os.environ[var] = str(args.threads)
        os.environ["TF_NUM_INTEROP_THREADS"] = str(min(2, args.threads))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def machine_info(keras) -> dict:
    info = {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_used": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
    }
    import numpy
    info["numpy"] = numpy.__version__
    if info["backend"] == "tensorflow":
        import tensorflow as tf
        info["tensorflow"] = tf.__version__
    elif info["backend"] == "jax":
        import jax
        info["jax"] = jax.__version__
    return info


# --------------------------------------------------------------------------
# Seed 003's recipe
# --------------------------------------------------------------------------

def seed003_model(keras):
    """Seed 003's model with the output fixed to a 10-unit softmax (118,430 parameters)."""
    from keras import layers
    return keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.Flatten(),
        layers.Dense(60, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ], name="seed003")


def train_seed003(keras, data, *, epochs: int, seed: int, log) -> dict:
    """Adam (lr 0.001), batch 32, pixels / 255: seed 003's ``model.fit`` one epoch at a time."""
    import numpy as np

    keras.utils.set_random_seed(seed)
    x_train = data.x_train.astype("float32") / 255.0     # as the seed: train_images / 255
    x_test = data.x_test.astype("float32") / 255.0
    model = seed003_model(keras)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = {"epoch": [], "train_time": [], "train_cpu_time": [], "test_accuracy": [], "loss": []}
    wall = cpu = 0.0
    for epoch in range(epochs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fit = model.fit(x_train, data.y_train, batch_size=32, epochs=1, shuffle=True, verbose=0)
        wall += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
        probs = model.predict(x_test, batch_size=1000, verbose=0)
        acc = float(np.mean(np.argmax(probs, axis=-1) == data.y_test))
        for key, value in (("epoch", epoch + 1), ("train_time", wall), ("train_cpu_time", cpu),
                           ("test_accuracy", acc), ("loss", float(fit.history["loss"][-1]))):
            history[key].append(value)
        log(f"  seed003 epoch {epoch + 1:2d}/{epochs}  train {wall:7.1f} s  "
            f"(cpu {cpu:7.1f} s)  test acc {acc:.4f}  load {load_average()}")
    return history


# --------------------------------------------------------------------------
# cnnkit's fast recipe
# --------------------------------------------------------------------------

def train_fast(data, *, plan: str, budget: float, seed: int, log) -> dict:
    from cnnkit import recipes

    settings = recipes.PLANS[plan]
    epochs = settings["epochs"]

    def report(i, logs):
        log(f"  {plan:7s} epoch {logs['epoch']:2d}/{epochs}  train {logs['train_time']:7.1f} s  "
            f"(cpu {logs['train_cpu_time']:7.1f} s)  test acc {logs['test_accuracy']:.4f}  "
            f"load {load_average()}")

    result = recipes.cifar10_fast(data.x_train, data.y_train, data.x_test, data.y_test,
                                  seed=seed, time_budget=budget, on_epoch_end=report,
                                  **settings)
    history = {key: result.history[key] for key in
               ("epoch", "train_time", "train_cpu_time", "test_accuracy", "loss")}
    history["config"] = {k: (list(v) if isinstance(v, tuple) else v)
                         for k, v in result.config.items()}
    history["stopped_early"] = result.stopped_early
    history["plan"] = plan
    return history


def best_of(runs: list[dict]) -> dict:
    """Per threshold, the quickest of several runs (each plan is a separate run)."""
    best = {}
    for threshold in THRESHOLDS:
        hits = [(hit, run["plan"]) for run in runs if (hit := time_to(run, threshold))]
        best[threshold] = min(hits) if hits else None
    return best


def time_to(history: dict, threshold: float):
    """(seconds, epoch) at the end of the first epoch whose test accuracy ≥ threshold."""
    for epoch, seconds, acc in zip(history["epoch"], history["train_time"],
                                   history["test_accuracy"]):
        if acc >= threshold:
            return seconds, epoch
    return None


def summary_lines(name: str, history: dict) -> list[str]:
    """Totals and time to each threshold of one run."""
    best = max(history["test_accuracy"])
    stopped = ""
    if history.get("stopped_early"):
        planned = history["config"]["epochs"]
        stopped = f" (of {planned} planned: stopped by the time budget)"
    lines = [f"{name}: {len(history['epoch'])} epochs{stopped}, {history['train_time'][-1]:.1f} s "
             f"training (cpu {history['train_cpu_time'][-1]:.1f} s), final test acc "
             f"{history['test_accuracy'][-1]:.4f}, best {best:.4f}"]
    for threshold in THRESHOLDS:
        hit = time_to(history, threshold)
        when = f"{hit[0]:7.1f} s (epoch {hit[1]})" if hit else "not reached"
        lines.append(f"  time to {threshold:.0%}: {when}")
    return lines


def main(argv=None) -> int:
    args = parse_args(argv)
    configure_process(args)

    import keras
    from cnnkit import recipes
    from cnnkit.data import load_cifar10

    def log(message):
        print(message, flush=True)

    info = machine_info(keras)
    info["load_before"] = load_average()
    log("machine: " + " · ".join(f"{k}={v}" for k, v in info.items()))

    data = load_cifar10(args.data)
    if args.train_limit:
        data = data.subset(n_train=args.train_limit)
    log(f"data: {args.data} · train {data.x_train.shape} · test {data.x_test.shape}")

    plans = args.plans or [p for p, seconds in recipes.PLAN_BUDGETS.items()
                           if seconds <= args.fast_budget]
    unknown = sorted(set(plans) - set(recipes.PLANS))
    if unknown:
        raise SystemExit(f"unknown plan(s) {unknown}; known: {sorted(recipes.PLANS)}")
    results = {"machine": info, "args": {k: str(v) for k, v in vars(args).items()}}
    if args.skip != "fast":
        if not plans:
            raise SystemExit(f"no fast plan fits --fast-budget {args.fast_budget:g}: "
                             f"{recipes.PLAN_BUDGETS}")
        results["fast"] = []
        for plan in plans:
            log(f"cnnkit fast recipe, plan {plan}: {recipes.PLANS[plan]}, "
                f"budget {args.fast_budget:g} s")
            results["fast"].append(train_fast(data, plan=plan, budget=args.fast_budget,
                                              seed=args.seed, log=log))
    if args.skip != "seed":
        log(f"seed 003 recipe: {args.seed_epochs} epochs"
            + ("" if args.seed_epochs == 15 else " (the seed trains 15; shortened by --seed-epochs)"))
        results["seed003"] = train_seed003(keras, data, epochs=args.seed_epochs,
                                           seed=args.seed, log=log)
    info["load_after"] = load_average()

    log("")
    log(f"load average before {info['load_before']} · after {info['load_after']}")
    if "seed003" in results:
        for line in summary_lines("seed 003", results["seed003"]):
            log(line)
    fast_best = None
    if "fast" in results:
        for run in results["fast"]:
            for line in summary_lines(f"cnnkit fast, plan {run['plan']}", run):
                log(line)
        fast_best = best_of(results["fast"])
        log("cnnkit fast (quickest plan per threshold):")
        for threshold, hit in fast_best.items():
            when = f"{hit[0][0]:7.1f} s (plan {hit[1]}, epoch {hit[0][1]})" if hit else "not reached"
            log(f"  time to {threshold:.0%}: {when}")
        results["fast_best"] = {
            f"{t:.2f}": {"seconds": hit[0][0], "epoch": hit[0][1], "plan": hit[1]} if hit else None
            for t, hit in fast_best.items()}

    ratio, ratio_line = None, "ratio n/a (only one recipe was trained)"
    if "seed003" in results and fast_best is not None:
        seed = results["seed003"]
        for threshold in THRESHOLDS:
            fast_hit, seed_hit = fast_best[threshold], time_to(seed, threshold)
            if fast_hit and seed_hit:
                log(f"time to {threshold:.0%}: fast / seed = {fast_hit[0][0]:.1f} / "
                    f"{seed_hit[0]:.1f} s = {fast_hit[0][0] / seed_hit[0]:.3f}")
        fast_70, seed_70 = fast_best[0.70], time_to(seed, 0.70)
        if fast_70 and seed_70:
            ratio = fast_70[0][0] / seed_70[0]
            ratio_line = f"ratio {ratio:.3f}"
        elif fast_70:
            # The seed never got there: its time to 70 % is more than all of
            # its training, so the ratio is below this bound.
            ratio = fast_70[0][0] / seed["train_time"][-1]
            ratio_line = (f"ratio <{ratio:.3f} (seed 003 did not reach 70 % in "
                          f"{len(seed['epoch'])} epochs, {seed['train_time'][-1]:.0f} s; "
                          f"best {max(seed['test_accuracy']):.4f})")
        else:
            ratio_line = "ratio n/a (the fast recipe did not reach 70 %)"
    results["ratio"] = ratio
    results["ratio_line"] = ratio_line
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    log(ratio_line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
