"""Seconds per epoch of the seed-003 CNN on CPU under each installed Keras backend.

    python benchmarks/backends.py [--data PATH/cifar-10-python.tar.gz] [--n 10000] [--epochs 3]

Each backend runs in its own process (Keras picks its backend at import time)
on the same images, with the seed-003 recipe (``tf_tutorial_cnn``, Adam, batch
32). The first epoch includes tracing/compilation and is reported apart; the
per-epoch figure is the median of the later epochs. The last line is the ratio
of each backend's seconds per epoch to TensorFlow's. Without ``--data`` the
shipped CIFAR-10 sample is repeated to ``--n`` images (timing only).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time

BACKENDS = ("tensorflow", "jax", "torch")
MODULE_OF = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


def measure(backend: str, data: str | None, n: int, epochs: int, batch_size: int) -> dict:
    os.environ["KERAS_BACKEND"] = backend
    import numpy as np

    from cnnkit.runtime import import_keras
    from cnnkit.data import load_cifar10, load_cifar10_sample

    keras = import_keras()
    from cnnkit.models import build

    dataset = load_cifar10(data) if data else load_cifar10_sample()
    x = dataset.x_train
    y = dataset.y_train
    repeats = -(-n // len(x))
    x = np.concatenate([x] * repeats)[:n].astype("float32") / 255.0
    y = np.concatenate([y] * repeats)[:n]
    keras.utils.set_random_seed(0)
    model = build("tf_tutorial_cnn")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    times = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t)

    history = model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, callbacks=[Timer()])
    return {"backend": backend, "keras": keras.__version__, "n": n, "epochs": epochs,
            "first_epoch_s": round(times[0], 2),
            "epoch_s": round(statistics.median(times[1:]) if len(times) > 1 else times[0], 2),
            "final_loss": round(float(history.history["loss"][-1]), 4)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="cifar-10-python.tar.gz (default: the shipped sample, repeated)")
    parser.add_argument("--n", type=int, default=10_000, help="training images per epoch")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--worker", choices=BACKENDS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args.worker, args.data, args.n, args.epochs, args.batch_size)))
        return 0
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} · {platform.node()} · {os.cpu_count()} CPUs · "
          f"python {platform.python_version()}")
    rows = []
    for backend in BACKENDS:
        if importlib.util.find_spec(MODULE_OF[backend]) is None:
            print(f"{backend:<11} not installed")
            continue
        cmd = [sys.executable, __file__, "--worker", backend, "--n", str(args.n), "--epochs", str(args.epochs),
               "--batch-size", str(args.batch_size)] + (["--data", args.data] if args.data else [])
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CNNKIT_OFFLINE="1")
        run = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if run.returncode != 0:
            print(f"{backend:<11} failed: {run.stderr.strip().splitlines()[-1] if run.stderr.strip() else run.returncode}")
            continue
        row = json.loads(run.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"{backend:<11} first epoch {row['first_epoch_s']:7.2f} s   per epoch {row['epoch_s']:7.2f} s   "
              f"({row['n']} images, batch {args.batch_size}, loss {row['final_loss']})")
    baseline = next((r for r in rows if r["backend"] == "tensorflow"), None)
    if baseline:
        print("ratio " + "  ".join(f"{r['backend']}={r['epoch_s'] / baseline['epoch_s']:.2f}" for r in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
