"""Every Keras-2/Keras-1 hint is proven: the code it tells the student to write runs under Keras 3.

Each case is old-style student code; the static analysis must give the named hint, and the
modern code the hint spells (the last `code` span of its English text, with `...` filled in
from the case) is executed — under the default backend here, and under JAX in a subprocess.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from autograder.static import analyze_source

# (old code, hint code, what fills the hint's "...", check run after the hint's code)
CASES = [
    ("opt = keras.optimizers.rmsprop(lr=0.0001)", "static.optimizer_lowercase", "", "opt = _"),
    ("opt = keras.optimizers.RMSprop(lr=0.0001)", "static.optimizer_lr", "", "opt = _"),
    ("opt = keras.optimizers.adam(lr=1e-3)", "static.optimizer_lr", "", "opt = _"),
    ("opt = keras.optimizers.SGD(lr=0.01, decay=1e-6)", "static.optimizer_decay", "", "opt = _"),
    ("opt = keras.optimizers.rmsprop(lr=0.0001, decay=1e-6)", "static.optimizer_decay", "", "opt = _"),
    # the multi-class form (the hint's second alternative is for a single sigmoid unit)
    ("y = model.predict_classes(x)", "static.predict_classes#1", "", "assert _.shape == (4,)"),
    ("model.fit_generator(batches, epochs=1, verbose=0)", "static.keras2_generator_method",
     "batches(), steps_per_epoch=2, epochs=1, verbose=0", None),
    ("print(model.layers[0].output_shape)", "static.layer_output_shape", "", "assert tuple(_)[1:] == (3,)"),
    ("from keras.layers.core import Dense", "static.keras2_layer_module", "", "assert Dense"),
    ("from keras.utils import np_utils", "static.np_utils", "[0, 2], 3", "assert _.shape == (2, 3)"),
    ("layer = keras.layers.Convolution2D(8, 3, 3)", "static.keras1_kernel_size", "",
     "assert tuple(_.kernel_size) == (3, 3) and tuple(_.strides) == (1, 1)"),
    ("layer = keras.layers.Dense(3, input_shape=(5,))", "static.input_shape_argument", "", "assert _.shape == (None, 5)"),
    ("n = int(input('n: '))", "static.input_call", "", "assert n == 5"),
    # ImageDataGenerator: the first layer the hint names, applied to a batch of images
    ("from keras.preprocessing.image import ImageDataGenerator", "static.image_data_generator#1", "",
     "assert _('horizontal')(np.zeros((2, 8, 8, 3), 'float32')).shape == (2, 8, 8, 3)"),
    ("from tensorflow.keras.preprocessing.image import ImageDataGenerator", "static.image_data_generator_legacy#1",
     "", "assert _('horizontal')(np.zeros((2, 8, 8, 3), 'float32'), training=True).shape == (2, 8, 8, 3)"),
    ("opt = keras.optimizers.Adam(1e-3)\nfirst = keras.Sequential([layers.Dense(3)])\nfirst.compile(opt, 'mse')\n"
     "model.compile(opt, 'sparse_categorical_crossentropy')", "static.shared_optimizer",
     'loss="sparse_categorical_crossentropy"', "model.fit(x, np.array([0, 1, 2, 0]), epochs=1, verbose=0)"),
]


def modern_code(case) -> str:
    old, code, fill, _ = case
    code, _, span = code.partition("#")
    (finding,) = [f for f in analyze_source(old) if f.code == code]
    spans = re.findall(r"`([^`]+)`", finding.message("en"))
    suggestion = spans[int(span) if span else -1]
    return suggestion.replace("...", fill)


RUNNER = r'''
import json, sys
import numpy as np
import keras
from keras import layers
x = np.random.default_rng(0).random((4, 5)).astype("float32")
model = keras.Sequential([keras.Input((5,)), layers.Dense(3, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")


def batches():
    while True:
        yield x, np.array([0, 1, 2, 0])


failures = []
for code, check in json.loads(sys.stdin.read()):
    scope = {"keras": keras, "layers": layers, "np": np, "model": model, "x": x, "batches": batches}
    try:
        if code.startswith(("from ", "import ")) or "=" in code.split("(")[0]:
            exec(code, scope)
        else:
            scope["_"] = eval(code, scope)
        if check:
            exec(check, scope)
    except Exception as exc:
        failures.append(f"{code!r}: {type(exc).__name__}: {exc}")
print(json.dumps(failures))
'''


def run_hints(backend: str) -> list[str]:
    cases = []
    for case in CASES:
        code = modern_code(case)
        check = case[3]
        if check and check.startswith("opt = _"):
            check = "assert isinstance(_, keras.optimizers.Optimizer)"
        cases.append((code, check))
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", RUNNER], input=json.dumps(cases), capture_output=True,
                          text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_each_hint_names_modern_code():
    for case in CASES:
        code = modern_code(case)
        assert code and "lr=" not in code and "rmsprop(" not in code, (case, code)


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_the_code_each_hint_suggests_runs_under_keras3(backend):
    assert run_hints(backend) == []


def test_every_keras_name_a_hint_mentions_exists_in_keras3():
    """`keras.layers.RandomFlip`, `keras.utils.image_dataset_from_directory`...: every dotted Keras
    path in the static and compat hints resolves in the installed Keras 3."""
    import importlib

    import keras

    from autograder import static
    from cnnkit import compat, messages

    codes = list(static.SEVERITY_OF) + [code for code, _ in compat.KERAS2_IDIOMS.values()]
    missing = []
    for code in codes:
        for lang in messages.LANGUAGES:
            text = messages._CATALOGUE[code][lang]
            for path in re.findall(r"\bkeras(?:\.[A-Za-z_][A-Za-z0-9_]*)+", text):
                target = keras
                for part in path.split(".")[1:]:
                    if not hasattr(target, part):
                        try:
                            target = importlib.import_module(f"{target.__name__}.{part}")
                            continue
                        except ImportError:
                            missing.append((code, path))
                            break
                    target = getattr(target, part)
    # the Keras-2 spellings the hints quote as wrong are expected to be missing
    wrong = {"keras.utils.np_utils", "keras.preprocessing.image.ImageDataGenerator"}
    assert [m for m in missing if not any(m[1].startswith(w + ".") or m[1] == w for w in wrong)] == []
