"""cnnkit.recipes: the fast CIFAR-10 recipe's pieces (seconds, no timing asserts)."""
import numpy as np
import pytest

keras = pytest.importorskip("keras")

from cnnkit import recipes  # noqa: E402


# -- the network ------------------------------------------------------------

def test_model_has_documented_parameters_and_output_shape():
    model = recipes.cifar10_fast_model()
    assert model.count_params() == 97_802
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == 97_354
    assert model.output_shape == (None, 10)
    assert model.input_shape == (None, 32, 32, 3)
    assert model.get_layer("space_to_depth").output.shape[1:] == (16, 16, 12)
    assert model.get_layer("stage3_pool").output.shape[1:] == (2, 2, 128)


def test_model_widths_and_classes_are_configurable():
    model = recipes.cifar10_fast_model((16, 32), num_classes=5)
    assert model.output_shape == (None, 5)
    assert model.get_layer("stage2_pool").output.shape[1:] == (4, 4, 32)
    with pytest.raises(ValueError):
        recipes.cifar10_fast_model((8, 8, 8, 8, 8))


def test_space_to_depth_is_a_lossless_rearrangement():
    x = np.arange(2 * 4 * 4 * 3, dtype="float32").reshape(2, 4, 4, 3)
    y = keras.ops.convert_to_numpy(recipes.SpaceToDepth(2)(x))
    assert y.shape == (2, 2, 2, 12)
    assert sorted(y.ravel().tolist()) == sorted(x.ravel().tolist())
    # the top-left 2x2 block of image 0 becomes the first pixel's 12 channels
    np.testing.assert_array_equal(y[0, 0, 0], x[0, :2, :2].reshape(-1))


def test_model_takes_raw_pixels_and_round_trips_through_keras_format(tmp_path):
    model = recipes.cifar10_fast_model()
    images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    path = tmp_path / "fast.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(images, verbose=0),
                               model.predict(images, verbose=0), rtol=1e-5, atol=1e-5)


# -- the schedule -----------------------------------------------------------

def _rates(schedule, steps):
    return np.array([float(keras.ops.convert_to_numpy(schedule(s))) for s in steps])


def test_one_cycle_warms_up_to_the_peak_then_decays_to_zero():
    schedule = recipes.one_cycle(0.4, total_steps=100, warmup_fraction=0.2)
    lr = _rates(schedule, range(0, 101))
    assert lr[0] == pytest.approx(0.04)                  # start_fraction 0.1 of the peak
    assert lr.argmax() == 20 and lr.max() == pytest.approx(0.4)
    assert np.all(np.diff(lr[:21]) > 0) and np.all(np.diff(lr[20:]) < 0)
    assert lr[50] == pytest.approx(0.4 * 50 / 80)         # linear decay
    assert lr[100] == pytest.approx(0.0, abs=1e-7)
    assert _rates(schedule, [150])[0] == pytest.approx(0.0, abs=1e-7)


def test_one_cycle_serialises():
    schedule = recipes.one_cycle(0.1, 50, warmup_fraction=0.3, end_fraction=0.01)
    clone = recipes.OneCycle.from_config(schedule.get_config())
    assert _rates(clone, [0, 15, 49]) == pytest.approx(_rates(schedule, [0, 15, 49]))
    with pytest.raises(ValueError):
        recipes.one_cycle(0.1, 0)


# -- augmentation -----------------------------------------------------------

def test_augment_translates_and_flips_within_bounds():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (64, 32, 32, 3), dtype=np.uint8)
    flip = np.arange(64) % 2 == 0
    out = recipes.augment(images, np.random.default_rng(1), translate=2, flip=flip)
    assert out.shape == images.shape and out.dtype == np.uint8
    for i in range(64):
        source = images[i, :, ::-1] if flip[i] else images[i]
        padded = np.pad(source, ((2, 2), (2, 2), (0, 0)), mode="reflect")
        # out[i] is one of the 25 crops of the padded (possibly mirrored) image
        assert any(np.array_equal(out[i], padded[dy:dy + 32, dx:dx + 32])
                   for dy in range(5) for dx in range(5))
    unshifted = recipes.augment(images, rng, translate=0, flip=flip)
    np.testing.assert_array_equal(unshifted[1], images[1])
    np.testing.assert_array_equal(unshifted[0], images[0, :, ::-1])


def test_augment_is_reproducible_with_a_seed():
    images = np.random.default_rng(0).integers(0, 256, (32, 32, 32, 3), dtype=np.uint8)
    a = recipes.augment(images, np.random.default_rng(7))
    b = recipes.augment(images, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)


# -- training ---------------------------------------------------------------

@pytest.fixture(scope="module")
def sample():
    try:
        from cnnkit.data import load_cifar10_sample
    except ImportError:  # pragma: no cover - data package not there yet
        rng = np.random.default_rng(0)
        y = np.repeat(np.arange(10), 40)
        x = rng.integers(0, 256, (400, 32, 32, 3)).astype(np.uint8)
        return x, y, x[:100], y[:100]
    data = load_cifar10_sample()
    return data.x_train[:400], data.y_train[:400], data.x_test, data.y_test


@pytest.mark.slow
def test_training_decreases_the_loss_and_reports_history(sample):
    x, y, x_test, y_test = sample
    seen = []
    result = recipes.cifar10_fast(x, y, x_test, y_test, epochs=3, batch_size=50, seed=0,
                                  peak_lr=0.2, on_epoch_end=lambda i, logs: seen.append(i))
    history = result.history
    assert history["epoch"] == [1, 2, 3] and seen == [0, 1, 2]
    assert history["loss"][-1] < history["loss"][0]
    assert len(history["test_accuracy"]) == 3
    assert all(0.0 <= a <= 1.0 for a in history["test_accuracy"])
    assert history["lr"][-1] == pytest.approx(0.0, abs=1e-6)    # the cycle ended
    assert result.train_time == pytest.approx(history["train_time"][-1])
    assert np.all(np.diff(history["train_time"]) > 0)
    assert not result.stopped_early
    assert result.model.output_shape == (None, 10)


@pytest.mark.slow
def test_training_is_deterministic_with_a_seed(sample):
    x, y, _, _ = sample
    runs = [recipes.cifar10_fast(x[:200], y[:200], epochs=1, batch_size=50, seed=3)
            for _ in range(2)]
    assert runs[0].history["loss"] == runs[1].history["loss"]
    for a, b in zip(runs[0].model.get_weights(), runs[1].model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_on_epoch_end_can_stop_training(sample):
    x, y, _, _ = sample
    result = recipes.cifar10_fast(x[:200], y[:200], epochs=5, batch_size=100,
                                  on_epoch_end=lambda i, logs: i == 1)
    assert result.history["epoch"] == [1, 2]
    assert result.stopped_early
    assert "test_accuracy" not in result.history


@pytest.mark.slow
def test_epoch_lines_follow_the_notebooks_language(sample, capsys, monkeypatch):
    import re

    x, y, x_test, y_test = sample
    small = dict(epochs=1, batch_size=50, widths=(8, 16), seed=0, verbose=True)
    monkeypatch.setenv("CNNKIT_LANG", "es")
    result = recipes.cifar10_fast(x[:100], y[:100], x_test[:50], y_test[:50], **small)
    line = capsys.readouterr().out.strip()
    logs = {key: values[-1] for key, values in result.history.items()}
    assert line == (f"época 1/1 · pérdida {logs['loss']:.4f} · exactitud en entrenamiento "
                    f"{logs['accuracy']:.4f} · en test {logs['test_accuracy']:.4f} · {logs['train_time']:.1f} s")
    monkeypatch.setenv("CNNKIT_LANG", "en")
    recipes.cifar10_fast(x[:100], y[:100], **small)
    assert re.fullmatch(r"epoch 1/1 · loss \d\.\d{4} · train acc \d\.\d{4} · \d+\.\d s",
                        capsys.readouterr().out.strip())


def test_rejects_float_pixels():
    with pytest.raises(TypeError):
        recipes.cifar10_fast(np.zeros((10, 32, 32, 3), "float32"), np.zeros(10), epochs=1)


def test_whitening_kernel_decorrelates_first_layer_features():
    from cnnkit.data import load_cifar10_sample

    images = load_cifar10_sample().x_train
    kernel = recipes.whitening_kernel(images, 16)
    assert kernel.shape == (3, 3, 12, 16) and kernel.dtype == np.float32
    np.testing.assert_allclose(kernel[..., 8:], -kernel[..., :8])    # both signs
    model = recipes.cifar10_fast_model((16, 32))
    model.get_layer("stage1_conv").set_weights([kernel])
    features = keras.Model(model.input, model.get_layer("stage1_conv").output)
    # interior pixels only: the kernel was fitted on unpadded patches
    f = features.predict(images, verbose=0)[:, 1:-1, 1:-1, :8].reshape(-1, 8)
    second_moment = f.T @ f / len(f)          # the kernel whitens second moments
    np.testing.assert_allclose(second_moment, np.eye(8), atol=0.02)
    with pytest.raises(ValueError):
        recipes.whitening_kernel(images, 15)


def test_plans_are_valid_settings():
    import inspect

    names = set(inspect.signature(recipes.cifar10_fast).parameters)
    assert set(recipes.PLANS) == set(recipes.PLAN_BUDGETS)
    for plan in recipes.PLANS.values():
        assert set(plan) <= names
        recipes.cifar10_fast_model(plan["widths"])
