#!/usr/bin/env python
"""Time to accuracy on CIFAR-10: seed 003's recipe vs cnnkit's fast recipe.

Trains, in one process and one after the other,

* **seed 003** -- ``Conv32-Pool-Conv64-Pool-Conv64-Flatten-Dense(60)-Dense``
  exactly as the seed wrote it, except that the output is a correct 10-unit
  softmax (the seed's ``Dense(20, sigmoid)`` + ``from_logits=True`` was a
  bug), trained with Adam (Keras' default learning rate 0.001) at batch 32
  (Keras' default) on pixels / 255 for the seed's 15 epochs
  (``--seed-epochs`` to shorten it; the figure we report uses 15);
* **cnnkit's fast recipe** -- :func:`cnnkit.recipes.cifar10_fast` with
  ``--fast-epochs`` epochs and ``--fast-budget`` seconds as a guard,

evaluates each on the 10,000 test images after every epoch (evaluation is not
counted in the training time), and prints for each the training time at which
test accuracy first reached 60/70/75/80 %, and as its **last line**
``ratio <fast time-to-70% / seed time-to-70%>``.

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
    parser.add_argument("--fast-epochs", type=int, default=None,
                        help="epochs of the fast recipe's schedule (default: the recipe's "
                             "BENCHMARK_EPOCHS, sized for --fast-budget 300 on 2 cores)")
    parser.add_argument("--fast-budget", type=float, default=300.0,
                        help="seconds of training after which the fast recipe starts no new epoch")
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
        for var in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS", "XLA_FLAGS_CPU_THREADS"):
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

def train_fast(data, *, epochs: int, budget: float, seed: int, log) -> dict:
    from cnnkit import recipes

    def report(i, logs):
        log(f"  fast    epoch {logs['epoch']:2d}/{epochs}  train {logs['train_time']:7.1f} s  "
            f"(cpu {logs['train_cpu_time']:7.1f} s)  test acc {logs['test_accuracy']:.4f}  "
            f"load {load_average()}")

    result = recipes.cifar10_fast(data.x_train, data.y_train, data.x_test, data.y_test,
                                  epochs=epochs, seed=seed, time_budget=budget,
                                  on_epoch_end=report)
    history = {key: result.history[key] for key in
               ("epoch", "train_time", "train_cpu_time", "test_accuracy", "loss")}
    history["config"] = {k: (list(v) if isinstance(v, tuple) else v)
                         for k, v in result.config.items()}
    history["stopped_early"] = result.stopped_early
    return history


def time_to(history: dict, threshold: float):
    """(seconds, epoch) at the end of the first epoch whose test accuracy ≥ threshold."""
    for epoch, seconds, acc in zip(history["epoch"], history["train_time"],
                                   history["test_accuracy"]):
        if acc >= threshold:
            return seconds, epoch
    return None


def summary_lines(name: str, history: dict) -> list[str]:
    best = max(history["test_accuracy"])
    lines = [f"{name}: {len(history['epoch'])} epochs, {history['train_time'][-1]:.1f} s "
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

    fast_epochs = args.fast_epochs or recipes.BENCHMARK_EPOCHS
    results = {"machine": info, "args": {k: str(v) for k, v in vars(args).items()}}
    if args.skip != "fast":
        log(f"cnnkit fast recipe: {fast_epochs} epochs, budget {args.fast_budget:.0f} s")
        results["fast"] = train_fast(data, epochs=fast_epochs, budget=args.fast_budget,
                                     seed=args.seed, log=log)
    if args.skip != "seed":
        log(f"seed 003 recipe: {args.seed_epochs} epochs"
            + ("" if args.seed_epochs == 15 else " (the seed trains 15; shortened by --seed-epochs)"))
        results["seed003"] = train_seed003(keras, data, epochs=args.seed_epochs,
                                           seed=args.seed, log=log)
    info["load_after"] = load_average()

    log("")
    log(f"load average before {info['load_before']} · after {info['load_after']}")
    for key, name in (("seed003", "seed 003"), ("fast", "cnnkit fast")):
        if key in results:
            for line in summary_lines(name, results[key]):
                log(line)

    ratio = None
    if "seed003" in results and "fast" in results:
        fast_70, seed_70 = time_to(results["fast"], 0.70), time_to(results["seed003"], 0.70)
        if fast_70 and seed_70:
            ratio = fast_70[0] / seed_70[0]
    results["ratio"] = ratio
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    log(f"ratio {ratio:.3f}" if ratio is not None else
        "ratio n/a (a recipe did not reach 70 %, or only one was trained)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
