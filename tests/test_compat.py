"""cnnkit.compat: Keras-2 course code runs on Keras 3, each old spelling is
recorded once and explained on stdout (never stderr), and uninstall()
puts Keras back exactly as it was."""
import importlib
import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from cnnkit import compat

HINT = compat.HINT_PREFIX + "Keras 2:"


@pytest.fixture
def shims(seeded):
    compat.uninstall()          # start from plain Keras even if a notebook setup() ran before
    compat.reset()
    compat.install()
    yield compat
    compat.uninstall()
    compat.reset()


def tiny_data(n=24, classes=3):
    rng = np.random.default_rng(0)
    x = rng.random((n, 6, 6, 1), dtype=np.float32)
    labels = rng.integers(0, classes, n)
    return x, labels


def tiny_model(classes=3, activation="softmax"):
    import keras

    return keras.Sequential([
        keras.Input((6, 6, 1)),
        keras.layers.Flatten(),
        keras.layers.Dense(classes, activation=activation),
    ])


def kinds():
    return [usage.kind for usage in compat.used()]


# ---------------------------------------------------------------- optimizers

def test_seed_002_sgd_gets_keras_2_learning_rate_and_inverse_time_decay(shims):
    import keras
    from keras.optimizers import SGD

    opt = SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True)
    assert isinstance(opt._learning_rate, keras.optimizers.schedules.InverseTimeDecay)
    assert opt._learning_rate.decay_rate == pytest.approx(1e-6)
    assert float(opt.learning_rate) == pytest.approx(0.01)
    assert opt.momentum == 0.9 and opt.nesterov is True
    opt.iterations.assign(250_000)
    assert float(opt.learning_rate) == pytest.approx(0.01 / (1 + 1e-6 * 250_000), rel=1e-6)


def test_decay_follows_real_optimizer_steps(shims):
    import keras

    opt = keras.optimizers.SGD(lr=0.1, decay=0.5)
    weight = keras.Variable(np.ones(3, dtype="float32"))
    for _ in range(3):
        opt.apply_gradients([(np.ones(3, dtype="float32"), weight)])
    # steps used lr/(1+0.5*t) for t = 0, 1, 2: 0.1 + 0.0667 + 0.05
    np.testing.assert_allclose(weight.numpy(), 1 - (0.1 + 0.1 / 1.5 + 0.1 / 2.0), rtol=1e-5)
    assert float(opt.learning_rate) == pytest.approx(0.1 / (1 + 0.5 * 3))


def test_zero_decay_and_integer_lr_are_plain_learning_rates(shims):
    import keras

    opt = keras.optimizers.Adam(lr=1, decay=0.0)
    assert not isinstance(opt._learning_rate, keras.optimizers.schedules.LearningRateSchedule)
    assert float(opt.learning_rate) == 1.0


def test_modern_optimizer_calls_record_nothing(shims, capsys):
    import keras

    keras.optimizers.SGD(learning_rate=0.05, momentum=0.9)
    keras.optimizers.Adam()
    assert compat.used() == []
    assert capsys.readouterr().out == ""


def test_decay_with_a_schedule_is_left_to_keras(shims):
    import keras

    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.9)
    with pytest.warns(UserWarning, match="decay"):  # Keras' own warning stays
        opt = keras.optimizers.SGD(learning_rate=schedule, decay=1e-3)
    assert opt._learning_rate is schedule  # not wrapped: a built-in schedule cannot wrap another
    assert "optimizer_decay" in kinds()


# ---------------------------------------------------------------- generators

@pytest.mark.slow
def test_seed_002_fit_generator_on_a_legacy_image_data_generator(shims, capfd):
    import keras
    from keras.preprocessing.image import ImageDataGenerator

    x, labels = tiny_data()
    y = keras.utils.to_categorical(labels, 3)
    model = tiny_model()
    model.compile(keras.optimizers.SGD(lr=0.1), "categorical_crossentropy", metrics=["accuracy"])
    before = [w.copy() for w in model.get_weights()]
    datagen = ImageDataGenerator(validation_split=0.25)
    history = model.fit_generator(
        datagen.flow(x, y, batch_size=6, subset="training"),
        steps_per_epoch=len(x) * 0.75 / 6,          # the slides' fractional step count
        epochs=1, verbose=0,
        validation_data=datagen.flow(x, y, batch_size=6, subset="validation"),
        validation_steps=len(x) * 0.25 / 6,
    )
    assert len(history.history["loss"]) == 1 and "val_loss" in history.history
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))

    ordered = ImageDataGenerator().flow(x, batch_size=1, shuffle=False)
    predictions = model.predict_generator(ordered, steps=len(x))
    np.testing.assert_allclose(predictions, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    loss, accuracy = model.evaluate_generator(ImageDataGenerator().flow(x, y, batch_size=6, shuffle=False))
    assert loss == pytest.approx(model.evaluate(x, y, verbose=0)[0], rel=1e-4)

    out, err = capfd.readouterr()
    assert "Keras 2" not in err and compat.HINT_PREFIX not in err
    assert "decay" not in err  # Keras' "decay is no longer supported" warning never fires
    for old, new in [("fit_generator", "model.fit(generator, ...)"), ("predict_generator", "model.predict"),
                     ("evaluate_generator", "model.evaluate"), ("ImageDataGenerator", "RandomFlip"),
                     ("SGD(lr=0.1)", "learning_rate=0.1")]:
        (line,) = [line for line in out.splitlines() if line.startswith(HINT) and old in line]
        assert new in line
    assert kinds() == ["image_data_generator", "optimizer_lr", "fit_generator",
                       "predict_generator", "evaluate_generator"]


def test_fit_generator_keeps_keras_2_positional_order(shims):
    import keras

    x, labels = tiny_data(n=8)
    model = tiny_model()
    model.compile("sgd", "sparse_categorical_crossentropy")

    def batches():
        while True:  # Keras-2 style endless generator
            yield x, labels

    # generator, steps_per_epoch, epochs, verbose
    history = model.fit_generator(batches(), 2, 2, 0)
    assert len(history.history["loss"]) == 2


def test_fit_generator_accepts_any_iterator_like_keras_2(shims):
    import itertools

    x, labels = tiny_data(n=8)
    model = tiny_model()
    model.compile("sgd", "sparse_categorical_crossentropy")
    # zip(...) of two endless streams: a Keras-2 idiom Keras 3's fit() rejects
    history = model.fit_generator(zip(itertools.repeat(x), itertools.repeat(labels)), steps_per_epoch=2,
                                  verbose=0, validation_data=zip(itertools.repeat(x), itertools.repeat(labels)),
                                  validation_steps=1)
    assert len(history.history["val_loss"]) == 1


def test_fit_generator_applies_class_weight_to_generator_batches(shims):
    import keras

    x, labels = tiny_data(n=8)
    one_hot = keras.utils.to_categorical(labels, 3)
    seen = []

    class Spy(keras.Model):
        def train_step(self, data):  # records what Keras 3 receives
            seen.append(len(data))
            return super().train_step(data)

    inputs = keras.Input((6, 6, 1))
    model = Spy(inputs, keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(inputs)))
    model.compile("sgd", "categorical_crossentropy", run_eagerly=True)
    model.fit_generator((b for b in [(x, one_hot)] * 2), steps_per_epoch=2, verbose=0,
                        class_weight={0: 1.0, 1: 5.0, 2: 1.0})
    assert seen == [3, 3]  # (x, y, sample_weight)
    weights = compat._class_sample_weights(one_hot, {0: 1.0, 1: 5.0, 2: 1.0})
    np.testing.assert_array_equal(weights, np.where(labels == 1, 5.0, 1.0))
    np.testing.assert_array_equal(compat._class_sample_weights(labels.reshape(-1, 1), {1: 5.0}), weights)


def test_each_idiom_is_recorded_and_hinted_once_until_reset(shims, capsys):
    x, labels = tiny_data(n=8)
    model = tiny_model()
    model.compile("sgd", "sparse_categorical_crossentropy")
    for _ in range(3):
        model.predict_generator(iter([x] * 2), steps=1)
    assert kinds() == ["predict_generator"]
    assert capsys.readouterr().out.count(HINT) == 1

    compat.reset()
    assert compat.used() == []
    model.predict_generator(iter([x]), steps=1)
    assert kinds() == ["predict_generator"]
    assert capsys.readouterr().out.count(HINT) == 1


def test_hints_follow_the_catalogue_language(shims, capsys, monkeypatch):
    import keras

    monkeypatch.setenv("CNNKIT_LANG", "en")
    keras.optimizers.SGD(lr=0.01, decay=1e-4)
    out = capsys.readouterr().out
    assert "Keras 3 rejects `lr=`" in out and "the learning rate would not decay" in out
    assert compat.used()[0].message("es").endswith("(Keras 3 rechaza `lr=`)")


def test_hints_can_be_silenced_but_are_still_recorded(shims, capsys):
    import keras

    compat.install(hints=False)
    keras.optimizers.RMSprop(lr=0.001)
    assert capsys.readouterr().out == ""
    assert kinds() == ["optimizer_lr"]


# ---------------------------------------------------------------- other idioms

def test_predict_classes(shims):
    x, _ = tiny_data(n=10)
    multiclass = tiny_model(classes=3)
    np.testing.assert_array_equal(multiclass.predict_classes(x), multiclass.predict(x, verbose=0).argmax(-1))
    binary = tiny_model(classes=1, activation="sigmoid")
    expected = (binary.predict(x, verbose=0) > 0.5).astype("int32")
    np.testing.assert_array_equal(binary.predict_classes(x), expected)
    assert kinds() == ["predict_classes"]


def test_np_utils_and_keras_2_layer_modules_are_aliases(shims):
    import keras

    from keras.utils.np_utils import to_categorical
    from keras.layers.convolutional import Conv2D
    from keras.layers.core import Dense, Flatten
    import keras.utils.np_utils as np_utils

    assert to_categorical is keras.utils.to_categorical
    assert np_utils.to_categorical is keras.utils.to_categorical
    assert (Conv2D, Dense, Flatten) == (keras.layers.Conv2D, keras.layers.Dense, keras.layers.Flatten)
    assert kinds() == ["np_utils", "layers.convolutional", "layers.core"]
    with pytest.raises(AttributeError):
        keras.utils.np_utils.no_such_function
    with pytest.raises(ImportError):
        from keras.layers.core import NoSuchLayer  # noqa: F401


def test_image_data_generator_is_the_legacy_class(shims):
    from keras.src.legacy.preprocessing.image import ImageDataGenerator as legacy
    import keras

    assert keras.preprocessing.image.ImageDataGenerator is legacy
    from keras.preprocessing.image import ImageDataGenerator, load_img  # noqa: F401

    assert ImageDataGenerator is legacy
    with pytest.raises(ImportError):
        from keras.preprocessing.image import NoSuchThing  # noqa: F401


def test_layer_output_shape(shims, capsys):
    import keras

    model = tiny_model()
    assert model.layers[-1].output_shape == (None, 3)
    assert model.output_shape == (None, 3)  # the model's own, untouched
    assert kinds() == ["layer_output_shape"]
    assert "layer.output.shape" in capsys.readouterr().out


def test_layer_output_shape_keeps_keras_behaviour_elsewhere(shims, capsys):
    import keras

    model = tiny_model()
    model.summary()  # Keras probes hasattr(layer, "output_shape") internally
    assert compat.used() == []
    capsys.readouterr()
    with pytest.raises(AttributeError, match="'Dense' object has no attribute 'no_such_thing'"):
        model.layers[-1].no_such_thing
    with pytest.raises(AttributeError, match="never been called"):
        keras.layers.Dense(3).output_shape
    with pytest.raises(AttributeError, match="never been called"):
        keras.layers.Dense(3).output  # Keras' message survives the added __getattr__
    with pytest.raises(AttributeError, match="no defined output shape yet"):
        keras.Sequential().output_shape  # Sequential's own error, not ours


# ---------------------------------------------------------------- report, install, uninstall

def test_write_report(shims, tmp_path):
    import keras

    keras.optimizers.SGD(lr=0.01)
    path = compat.write_report(tmp_path / "artifacts" / "keras2.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data == {"usages": [{
        "kind": "optimizer_lr", "idiom": "SGD(lr=0.01)",
        "modern": "keras.optimizers.SGD(learning_rate=0.01)", "code": "compat.optimizer_lr",
    }]}
    assert [p.name for p in path.parent.iterdir()] == ["keras2.json"]  # no temp file left


def test_install_is_idempotent_and_uninstall_restores_keras(seeded):
    import keras
    from keras.src.optimizers.base_optimizer import BaseOptimizer

    compat.uninstall()
    original_init = BaseOptimizer.__init__
    compat.install()
    compat.install()
    assert compat.is_installed()
    assert BaseOptimizer.__init__.__wrapped__ is original_init  # wrapped once, not twice
    compat.uninstall()
    compat.uninstall()

    assert not compat.is_installed()
    assert BaseOptimizer.__init__ is original_init
    for name in ("fit_generator", "evaluate_generator", "predict_generator", "predict_classes"):
        assert not hasattr(keras.Model, name)
    assert "__getattr__" not in vars(keras.layers.Layer)
    assert "keras.utils.np_utils" not in sys.modules and not hasattr(keras.utils, "np_utils")
    assert "keras.layers.core" not in sys.modules
    with pytest.raises(ValueError, match="not recognized"):
        keras.optimizers.SGD(lr=0.01)
    with pytest.raises(ImportError):
        from keras.preprocessing.image import ImageDataGenerator  # noqa: F401
    with pytest.raises(AttributeError):
        tiny_model().layers[-1].output_shape


def test_importing_compat_does_not_import_keras():
    code = "import sys, cnnkit.compat; print('keras' in sys.modules, 'tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["False", "False"], result.stderr


JAX_SCRIPT = textwrap.dedent("""
    import json
    import numpy as np
    from cnnkit import compat
    compat.install()
    import keras
    from keras.optimizers import SGD
    from keras.preprocessing.image import ImageDataGenerator

    keras.utils.set_random_seed(0)
    opt = SGD(lr=0.1, decay=0.5, momentum=0.9, nesterov=True)
    x = np.random.default_rng(0).random((12, 6, 6, 1), dtype=np.float32)
    y = keras.utils.to_categorical(np.arange(12) % 3, 3)
    model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(opt, "categorical_crossentropy")
    history = model.fit_generator(ImageDataGenerator().flow(x, y, batch_size=4), steps_per_epoch=12 / 4,
                                  epochs=1, verbose=0)
    predictions = model.predict_generator(ImageDataGenerator().flow(x, batch_size=1, shuffle=False), steps=12)
    print(json.dumps({
        "backend": keras.backend.backend(),
        "epochs": len(history.history["loss"]),
        "iterations": int(opt.iterations.numpy()),
        "learning_rate": float(opt.learning_rate),
        "predictions": list(predictions.shape),
        "kinds": [usage.kind for usage in compat.used()],
    }))
""")


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax not installed")
def test_under_the_jax_backend():
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    result = subprocess.run([sys.executable, "-c", JAX_SCRIPT], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert compat.HINT_PREFIX not in result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["backend"] == "jax"
    assert report["epochs"] == 1 and report["iterations"] == 3
    assert report["learning_rate"] == pytest.approx(0.1 / (1 + 0.5 * 3), rel=1e-5)
    assert report["predictions"] == [12, 3]
    assert report["kinds"] == ["image_data_generator", "optimizer_lr", "optimizer_decay",
                               "fit_generator", "predict_generator"]
    assert result.stdout.count(compat.HINT_PREFIX) == 5
