#!/usr/bin/env python3
"""Seconds per step of the full profile's heaviest cells, measured on a few batches, extrapolated.

    .venv/bin/python benchmarks/full_cell_costs.py                 # every case
    .venv/bin/python benchmarks/full_cell_costs.py --only basenet_cifar100

For workloads that do not fit the machine in hand (ResNet-50 fine-tuning at 224x224 on a CPU),
each case builds the solution's model (the same layers as solutions/ID/ID.ipynb), runs
``warmup`` steps (tracing, optimizer slots), then times ``steps`` more with ``train_on_batch`` /
``predict_on_batch`` on random inputs of the real shape, and multiplies the seconds per image by
the number of images the full workload processes (the manifest's [workload.*.full] epochs x the
real dataset sizes). ``--batch`` measures at a smaller batch than the workload's where one
full-size batch alone takes minutes (the cost per image on a CPU changes little with the batch;
the JSON says which batch was measured). An extrapolation, not a run: epochs cut short by early
stopping make the real figure smaller, Python and data-pipeline overheads larger. Figures go to
``benchmarks/_work/full-cell-costs-BACKEND.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def _ceil(n: int, batch: int) -> int:
    return -(-n // batch)


def cases():
    """(assignment, cell, builder, input shape, kind, workload batch, images processed in full)."""
    import keras
    from keras import layers

    def fashion_cnn():
        return keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(32, 5, activation="relu"),
                                 layers.MaxPooling2D(2), layers.Conv2D(64, 5, activation="relu"),
                                 layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(10, activation="softmax")])

    def fashion_aug():
        augment = keras.Sequential([layers.RandomFlip("horizontal", seed=1),
                                    layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=2),
                                    layers.RandomZoom(0.1, fill_mode="constant", seed=3)])
        model = fashion_cnn()
        return keras.Sequential([keras.Input((28, 28, 1)), augment, *model.layers])

    def fashion_vgg_features():
        vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
        inputs = keras.Input((28, 28, 1))
        x = layers.Resizing(32, 32)(inputs)
        x = layers.Concatenate()([x, x, x])
        return keras.Model(inputs, layers.Flatten()(vgg(x)))

    def fashion_best():
        def block(f):
            return [layers.Conv2D(f, 3, padding="same", use_bias=False), layers.BatchNormalization(momentum=0.9),
                    layers.Activation("relu")]
        return keras.Sequential([keras.Input((28, 28, 1)), *block(32), *block(32), layers.MaxPooling2D(2),
                                 layers.Dropout(0.25), *block(64), layers.MaxPooling2D(2), layers.Dropout(0.25),
                                 layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dropout(0.5),
                                 layers.Dense(10, activation="softmax")])

    def basenet():
        return keras.Sequential([keras.Input((32, 32, 3)), layers.Conv2D(6, 5, activation="relu"), layers.MaxPooling2D(2),
                                 layers.Conv2D(16, 5, activation="relu"), layers.MaxPooling2D(2), layers.Flatten(),
                                 layers.Dense(50, activation="relu"), layers.Dense(25, activation="softmax")])

    def improved():
        l2 = keras.regularizers.L2(1e-4)

        def block(f):
            return [layers.Conv2D(f, 3, padding="same", use_bias=False, kernel_regularizer=l2),
                    layers.BatchNormalization(), layers.Activation("relu"), layers.MaxPooling2D(2), layers.Dropout(0.25)]
        return keras.Sequential([keras.Input((32, 32, 3)), layers.Normalization(mean=0.5, variance=0.1),
                                 layers.RandomFlip("horizontal", seed=1),
                                 layers.RandomTranslation(0.1, 0.1, fill_mode="reflect", seed=2),
                                 *block(32), *block(64), *block(128), layers.Flatten(),
                                 layers.Dense(256, activation="relu", kernel_regularizer=l2), layers.Dropout(0.5),
                                 layers.Dense(25, activation="softmax")])

    def resnet_extractor():
        return keras.applications.ResNet50(include_top=False, weights=None, input_shape=(224, 224, 3))

    def resnet_fine_tune():
        resnet = keras.applications.ResNet50(include_top=False, weights=None, input_shape=(224, 224, 3))
        for layer in resnet.layers:
            if isinstance(layer, layers.BatchNormalization):
                layer.trainable = False
        head = keras.Sequential([keras.Input((7, 7, 2048)), layers.GlobalAveragePooling2D(),
                                 layers.Dense(1024, activation="relu"), layers.Dropout(0.5),
                                 layers.Dense(200, activation="softmax")])
        inputs = keras.Input((224, 224, 3))
        return keras.Model(inputs, head(resnet(inputs)))

    def vgg19_bn():
        model = keras.Sequential([keras.Input((84, 84, 3)), layers.Rescaling(1 / 255),
                                  layers.RandomFlip("horizontal", seed=1),
                                  layers.RandomTranslation(0.1, 0.1, fill_mode="reflect", seed=2)])
        for n_convs, filters in [(2, 64), (2, 128), (4, 256), (4, 512), (4, 512)]:
            for _ in range(n_convs):
                model.add(layers.Conv2D(filters, 3, padding="same", use_bias=False))
                model.add(layers.BatchNormalization(momentum=0.9))
                model.add(layers.Activation("relu"))
            model.add(layers.MaxPooling2D(2))
        model.add(layers.Flatten())
        for _ in range(2):
            model.add(layers.Dense(4096, activation="relu"))
            model.add(layers.Dropout(0.5))
        model.add(layers.Dense(100, activation="softmax"))
        return model

    def vgg16_cifar():
        return keras.applications.VGG16(include_top=True, weights=None, input_shape=(32, 32, 3), classes=10)

    def vgg16_features():
        return keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))

    def cifar_cnn(m):
        def build():
            return keras.Sequential([
                keras.Input((32, 32, 3)), layers.Conv2D(32, m, padding="same", activation="relu"),
                layers.Conv2D(32, m, activation="relu"), layers.MaxPooling2D(2), layers.Dropout(0.25),
                layers.Conv2D(64, m, padding="same", activation="relu"), layers.Conv2D(64, m, activation="relu"),
                layers.MaxPooling2D(2), layers.Dropout(0.25), layers.Flatten(), layers.Dense(512, activation="relu"),
                layers.Dropout(0.5), layers.Dense(10, activation="softmax")])
        return build

    fm_train, fm_val, fm_test = 54_000, 6_000, 5_000           # Fashion-MNIST: 90 / 10 split, public test
    cub_train, cub_val, cub_test = 5_394, 600, 2_897           # CUB: 5,994 -> 90 / 10, 5,794 / 2
    c100_train, c100_val, c100_test = 11_250, 1_250, 1_250
    # Each entry: images trained (epochs x train) and forwarded (validation every epoch + evaluations).
    return [
        ("fashion_mnist", "cnn (10 epochs, batch 64)", fashion_cnn, (28, 28, 1), "train", 64,
         10 * fm_train, 10 * fm_val + fm_train + fm_test),
        ("fashion_mnist", "augmented (15 epochs, batch 64)", fashion_aug, (28, 28, 1), "train", 64,
         15 * fm_train, 15 * fm_val + fm_test),
        ("fashion_mnist", "vgg16 features (frozen base, batch 64)", fashion_vgg_features, (28, 28, 1), "predict", 64,
         0, fm_train + fm_val + fm_test),
        ("fashion_mnist", "best (<= 30 epochs, batch 64)", fashion_best, (28, 28, 1), "train", 64,
         30 * fm_train, 30 * fm_val + fm_test),
        ("basenet_cifar100", "basenet (30 epochs, batch 32)", basenet, (32, 32, 3), "train", 32,
         30 * c100_train, 30 * c100_val + c100_test),
        ("basenet_cifar100", "improved (<= 80 epochs, batch 64)", improved, (32, 32, 3), "train", 64,
         80 * c100_train, 80 * c100_val + c100_test),
        ("basenet_cifar100", "ResNet-50 features 224x224 (batch 64)", resnet_extractor, (224, 224, 3), "predict", 64,
         0, cub_train + cub_val + cub_test),
        ("basenet_cifar100", "ResNet-50 fine-tuning 224x224 (3 epochs, batch 32)", resnet_fine_tune, (224, 224, 3),
         "train", 32, 3 * cub_train, 3 * cub_val + cub_test),
        ("train_real_dataset", "VGG-19 BN 84x84 (<= 40 epochs, batch 128)", vgg19_bn, (84, 84, 3), "train", 128,
         40 * 54_000, 40 * 6_000 + 5_000),
        ("vgg16_transfer", "VGG16 from scratch (2 epochs, batch 32)", vgg16_cifar, (32, 32, 3), "train", 32,
         2 * 50_000, 5_000),
        ("vgg16_transfer", "VGG16 SVM features (batch 256)", vgg16_features, (32, 32, 3), "predict", 256,
         0, 55_000),
        ("vgg16_transfer", "Keras cifar10 CNN 3x3 (2 epochs, batch 32)", cifar_cnn(3), (32, 32, 3), "train", 32,
         2 * 50_000, 0),
        ("vgg16_transfer", "Keras cifar10 CNN 5x5 (2 epochs, batch 32)", cifar_cnn(5), (32, 32, 3), "train", 32,
         2 * 50_000, 0),
    ]


def measure(build, shape, kind, batch, warmup, min_seconds, max_steps):
    import keras

    model = build()
    x = np.random.default_rng(0).uniform(0, 1, (batch, *shape)).astype("float32")
    classes = int(model.output_shape[-1])
    y = np.arange(batch) % classes
    if kind == "train":
        model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy")
        step = lambda: model.train_on_batch(x, y)                      # noqa: E731
    else:
        step = lambda: model.predict_on_batch(x)                       # noqa: E731
    started = time.monotonic()
    for _ in range(warmup):
        step()
    first = time.monotonic() - started
    steps, started = 0, time.monotonic()
    while steps < max_steps and (steps == 0 or time.monotonic() - started < min_seconds):
        step()
        steps += 1
    per_step = (time.monotonic() - started) / steps
    forward = None
    if kind == "train":   # validation / evaluation images are forward passes only
        model.predict_on_batch(x)
        t = time.monotonic()
        model.predict_on_batch(x)
        forward = (time.monotonic() - t) / batch
    return {"warmup_s": round(first, 2), "steps": steps, "s_per_step": round(per_step, 4),
            "s_per_image": per_step / batch, "s_per_image_forward": forward if forward is not None else per_step / batch,
            "params": int(model.count_params())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", help="an assignment id (repeatable)")
    parser.add_argument("--batch", type=int, default=None, help="measure at most this batch (default: the workload's)")
    parser.add_argument("--heavy-batch", type=int, default=8,
                        help="batch measured for the 84x84 and 224x224 cases (default 8)")
    parser.add_argument("--min-seconds", type=float, default=8.0, help="time at least this long per case")
    parser.add_argument("--max-steps", type=int, default=50)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    keras.utils.set_random_seed(0)
    backend = keras.backend.backend()
    rows = []
    for assignment, cell, build, shape, kind, batch, trained, forwarded in cases():
        if args.only and assignment not in args.only:
            continue
        heavy = shape[0] >= 84
        measured_batch = min(batch, args.heavy_batch if heavy else (args.batch or batch))
        warmup = 1 if heavy else 2
        m = measure(build, shape, kind, measured_batch, warmup, args.min_seconds, 3 if heavy else args.max_steps)
        seconds = trained * m["s_per_image"] + forwarded * m["s_per_image_forward"]
        row = {"assignment": assignment, "cell": cell, "input": list(shape), "kind": kind,
               "workload_batch": batch, "measured_batch": measured_batch, **m,
               "images_trained": trained, "images_forwarded": forwarded, "extrapolated_s": round(seconds)}
        rows.append(row)
        print(f"{assignment:<18} {cell:<52} b{measured_batch:<4} {m['s_per_step']:8.3f} s/step "
              f"{1000 * m['s_per_image']:8.2f} ms/img -> {seconds / 60:9.1f} min", flush=True)
    load = os.getloadavg()
    out = {"backend": backend, "cpus": os.cpu_count(), "loadavg": [round(v, 2) for v in load], "cases": rows}
    path = REPO / "benchmarks" / "_work" / f"full-cell-costs-{backend}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    if args.only and path.exists():   # keep the other assignments' rows
        previous = json.loads(path.read_text())
        out["cases"] = [r for r in previous["cases"] if r["assignment"] not in args.only] + rows
    path.write_text(json.dumps(out, indent=1))
    print(f"load average {load[0]:.1f} · {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
