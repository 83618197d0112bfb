"""cnnkit.train: training learns, validation comes from training data only, preprocessing
layers carry training statistics, results are repeatable and measured."""
import numpy as np
import pytest

keras = pytest.importorskip("keras")

from cnnkit.data import Dataset, load_cifar10_sample, synthetic  # noqa: E402
from cnnkit.evaluate import accuracy, predictions  # noqa: E402
from cnnkit.train import (  # noqa: E402
    augmentation, best_epochs, default_loss, holdout_indices, normalization,
    resolve_validation, train,
)


def tiny_cnn(num_classes, input_shape=(16, 16, 3)):
    return keras.Sequential([
        keras.Input(input_shape),
        keras.layers.Conv2D(8, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(num_classes, activation="softmax"),
    ])


@pytest.fixture(scope="module")
def shapes_with_sentinel_test():
    """3 learnable classes; the test split is a sentinel (all-white images, all label 0)."""
    data = synthetic.shapes(num_classes=3, image_size=16, n_train_per_class=60,
                            n_test_per_class=20, seed=0)
    sentinel = Dataset(x_train=data.x_train, y_train=data.y_train,
                       x_test=np.full_like(data.x_test, 255), y_test=np.zeros_like(data.y_test),
                       class_names=data.class_names, name="shapes_sentinel", source="test")
    return data, sentinel


@pytest.fixture(scope="module")
def trained(shapes_with_sentinel_test):
    data, sentinel = shapes_with_sentinel_test
    keras.utils.set_random_seed(0)
    result = train(tiny_cnn(3), sentinel, epochs=6, batch_size=16, validation=0.2,
                   normalize=True, augment={"flip": "horizontal", "translate": 0.05}, seed=0)
    return data, result


@pytest.mark.slow
def test_training_lowers_the_loss_and_beats_chance(trained):
    data, result = trained
    loss = result.history.history["loss"]
    assert loss[-1] < 0.7 * loss[0]
    test_accuracy = accuracy(data.y_test, predictions(result.model, data.x_test))
    assert test_accuracy > 0.6  # chance is 1/3
    assert result.epochs_run == 6 and len(result.history.history["val_loss"]) == 6


@pytest.mark.slow
def test_validation_is_held_out_from_training_data_never_the_test_split(trained):
    data, result = trained
    n = len(data.x_train)
    train_idx, val_idx = result.train_indices, result.validation_indices
    assert len(val_idx) == int(np.ceil(0.2 * n))
    assert set(train_idx).isdisjoint(val_idx) and set(train_idx) | set(val_idx) == set(range(n))
    # Stratified: each class keeps its share in the held-out part.
    assert np.bincount(data.y_train[val_idx]).tolist() == [12, 12, 12]
    # Keras validated on exactly those training rows, not on the sentinel test split.
    held_out = result.model.evaluate(data.x_train[val_idx], data.y_train[val_idx], verbose=0,
                                     return_dict=True)
    assert result.final["val_loss"] == pytest.approx(held_out["loss"], rel=1e-4, abs=1e-6)
    sentinel = result.model.evaluate(np.full_like(data.x_test, 255),
                                     np.zeros_like(data.y_test), verbose=0, return_dict=True)
    assert result.final["val_loss"] != pytest.approx(sentinel["loss"], rel=1e-2)
    # rendered when train() ran, in the language of the process (the module fixture's)
    assert result.validation_source in (f"20% of the training data, stratified ({len(val_idx)} images)",
                                        f"el 20% de los datos de entrenamiento, estratificado ({len(val_idx)} imágenes)")


def test_the_test_split_is_refused_as_validation(shapes_with_sentinel_test, monkeypatch):
    _, sentinel = shapes_with_sentinel_test
    monkeypatch.setenv("CNNKIT_LANG", "en")
    for x_val in (sentinel.x_test, sentinel.x_test[:], sentinel.x_test.copy()):
        with pytest.raises(ValueError, match="test set"):
            train(tiny_cnn(3), sentinel, epochs=1, validation=(x_val, sentinel.y_test))
    monkeypatch.setenv("CNNKIT_LANG", "es")
    with pytest.raises(ValueError, match="ajustaría el entrenamiento con el conjunto de test"):
        train(tiny_cnn(3), sentinel, epochs=1, validation=(sentinel.x_test, sentinel.y_test))


def test_validation_rules_without_training(shapes_with_sentinel_test, spanish):
    data, _ = shapes_with_sentinel_test
    x, y = data.x_train, data.y_train
    given = resolve_validation(x, y, (x[:5], y[:5]))
    assert given.validation_data[0].shape[0] == 5 and given.x_fit is x
    assert given.source == "los arrays dados (5 imágenes)"
    assert resolve_validation(x, y, None).validation_data is None
    with_val = data.with_validation(0.25)
    own = resolve_validation(with_val.x_train, with_val.y_train, 0.1, dataset=with_val)
    assert own.validation_data[0] is with_val.x_val
    assert own.source == f"la partición de validación del propio conjunto ({len(with_val.x_val)} imágenes)"
    a, b = holdout_indices(y, 0.2, seed=3), holdout_indices(y, 0.2, seed=3)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], holdout_indices(y, 0.2, seed=4)[1])
    # Too few images per class to stratify: still a valid random split.
    tr, va = holdout_indices(np.array([0, 1, 2, 3, 0]), 0.4)
    assert len(va) == 2 and set(tr) | set(va) == set(range(5))


@pytest.mark.slow
def test_normalization_statistics_come_from_the_training_part_only():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 20)
    x = rng.integers(0, 100, size=(40, 6, 6, 3)).astype("uint8")
    _, val_idx = holdout_indices(y, 0.25, seed=7)
    x[val_idx] = 255  # sentinel: any statistic that saw a validation image is > 100
    model = keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    result = train(model, (x, y), epochs=1, validation=0.25, normalize=True, seed=7)
    np.testing.assert_array_equal(result.validation_indices, val_idx)
    train_part = x[result.train_indices].astype("float64")
    mean = np.asarray(result.normalizer.mean).ravel()
    variance = np.asarray(result.normalizer.variance).ravel()
    assert mean.max() < 100
    np.testing.assert_allclose(mean, train_part.mean(axis=(0, 1, 2)), rtol=1e-4)
    np.testing.assert_allclose(variance, train_part.var(axis=(0, 1, 2)), rtol=1e-3)


def test_normalization_layer_matches_numpy_and_normalises_other_data_with_train_stats():
    rng = np.random.default_rng(1)
    x_train = rng.integers(0, 256, size=(50, 5, 5, 3)).astype("uint8")
    layer = normalization(x_train)
    np.testing.assert_allclose(np.asarray(layer.mean).ravel(),
                               x_train.mean(axis=(0, 1, 2)), rtol=1e-5)
    x_test = np.full((2, 5, 5, 3), 200, dtype="uint8")
    out = keras.ops.convert_to_numpy(layer(x_test.astype("float32")))
    expected = (200 - x_train.mean(axis=(0, 1, 2))) / x_train.std(axis=(0, 1, 2))
    np.testing.assert_allclose(out[0, 0, 0], expected, rtol=1e-3)
    scalar = normalization(x_train, axis=None)
    assert np.asarray(scalar.mean).size == 1
    assert float(np.asarray(scalar.mean).ravel()[0]) == pytest.approx(x_train.mean(), rel=1e-5)


def test_augmentation_layers_and_their_keras3_parameters():
    aug = augmentation(flip="horizontal", translate=0.1, rotate=18, zoom=0.2, seed=5)
    kinds = [type(layer).__name__ for layer in aug.layers]
    assert kinds == ["RandomFlip", "RandomTranslation", "RandomRotation", "RandomZoom"]
    rotation = aug.layers[2].get_config()["factor"]
    assert np.allclose(np.ravel(rotation), [-0.05, 0.05])  # 18 degrees = 0.05 of a turn
    x = np.random.default_rng(0).random((4, 12, 12, 3)).astype("float32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(aug(x, training=False)), x)
    assert not np.allclose(keras.ops.convert_to_numpy(aug(x, training=True)), x)
    assert [type(layer).__name__ for layer in augmentation(translate=None).layers] == ["RandomFlip"]
    with pytest.raises(ValueError):
        augmentation(flip=None, translate=None)


@pytest.mark.slow
def test_wrapped_model_carries_its_preprocessing_and_reloads_safely(trained, tmp_path):
    data, result = trained
    kinds = [type(layer).__name__ for layer in result.model.layers]
    assert kinds[:2] == ["Sequential", "Normalization"] and result.model.layers[2] is result.base_model
    assert result.augmenter is result.model.layers[0]
    first = result.model.predict(data.x_test[:8], verbose=0)
    np.testing.assert_array_equal(first, result.model.predict(data.x_test[:8], verbose=0))
    path = tmp_path / "model.keras"
    result.model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(reloaded.predict(data.x_test[:8], verbose=0), first, rtol=1e-5,
                               atol=1e-6)


@pytest.mark.slow
def test_result_measures_time_and_best_epochs(trained):
    _, result = trained
    assert result.wall_time > 0 and result.cpu_time > 0
    curves = result.history.history
    assert set(result.final) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert result.best_epoch["loss"] == int(np.argmin(curves["loss"])) + 1
    assert result.best_epoch["val_accuracy"] == int(np.argmax(curves["val_accuracy"])) + 1
    assert result.best("val_loss") == pytest.approx(min(curves["val_loss"]))
    assert result.summary("en").startswith("epochs run: 6   wall: ")
    assert f"     val_loss: last {result.final['val_loss']:.4f}   best " in result.summary("en")
    spanish = result.summary("es")
    assert spanish.startswith("épocas ejecutadas: 6   reloj: ") and "\nvalidación: " in spanish
    assert f"     val_loss: última {result.final['val_loss']:.4f}   mejor " in spanish


def test_best_epochs_minimises_losses_and_maximises_the_rest():
    history = {"loss": [1.0, 0.5, 0.7], "accuracy": [0.2, 0.6, 0.6],
               "val_loss": [0.9, 0.8, 0.85], "val_accuracy": [0.5, 0.4, 0.3],
               "val_mae": [3.0, 1.0, 2.0]}
    assert best_epochs(history) == {"loss": 2, "accuracy": 2, "val_loss": 2,
                                    "val_accuracy": 1, "val_mae": 2}


@pytest.mark.slow
def test_same_seed_same_history():
    data = synthetic.shapes(num_classes=2, image_size=12, n_train_per_class=20,
                            n_test_per_class=2, seed=1)
    # A builder is called after seeding, so the initial weights repeat too.
    # (Unseeded, the two runs would differ: initial weights, shuffling and
    # augmentation all draw from the global random state, which the first run
    # advances.)
    runs = [train(lambda: tiny_cnn(2, (12, 12, 3)), data, epochs=2, batch_size=8,
                  normalize="rescale", augment=True, seed=11).history.history
            for _ in range(2)]
    for key in runs[0]:
        np.testing.assert_allclose(runs[0][key], runs[1][key], rtol=1e-6)


@pytest.mark.slow
def test_students_compile_is_kept_and_early_stopping_patience():
    rng = np.random.default_rng(2)
    x = rng.random((40, 4, 4, 1)).astype("float32")
    y = rng.integers(0, 2, size=40)
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    # Learning rate 0: validation loss never improves after epoch 1, so
    # patience 2 stops training after epoch 3.
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    result = train(model, (x, y), epochs=20, batch_size=8, validation=0.25, early_stopping=2)
    assert isinstance(result.model.optimizer, keras.optimizers.SGD)
    assert result.epochs_run == 3
    assert len(set(result.history.history["val_loss"])) == 1
    # Wrapped in preprocessing layers, the wrapper gets the student's compile settings.
    stopper = keras.callbacks.EarlyStopping(monitor="loss", patience=1)
    wrapped = train(model, (x, y), epochs=20, validation=None, early_stopping=stopper,
                    normalize="rescale")
    assert wrapped.epochs_run == 2 and wrapped.model is not model
    assert isinstance(wrapped.model.optimizer, keras.optimizers.SGD)
    assert float(keras.ops.convert_to_numpy(wrapped.model.optimizer.learning_rate)) == 0.0


@pytest.mark.slow
def test_uncompiled_model_with_one_hot_labels_gets_categorical_crossentropy():
    rng = np.random.default_rng(3)
    x = rng.random((30, 4, 4, 1)).astype("float32")
    y = np.eye(3)[np.repeat([0, 1, 2], 10)]
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(3, activation="softmax")])
    result = train(model, (x, y), epochs=1, validation=0.3)
    assert isinstance(result.model.loss, keras.losses.CategoricalCrossentropy)
    assert np.bincount(y[result.validation_indices].argmax(axis=1)).tolist() == [3, 3, 3]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} == set(result.final)


def test_default_loss_follows_the_output_layer():
    logits = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
    softmax = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4),
                                keras.layers.Activation("softmax")])
    sigmoid = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    assert default_loss(logits).get_config()["from_logits"] is True
    assert default_loss(softmax).get_config()["from_logits"] is False
    assert isinstance(default_loss(softmax), keras.losses.SparseCategoricalCrossentropy)
    assert isinstance(default_loss(softmax, np.eye(4)[[0, 1]]), keras.losses.CategoricalCrossentropy)
    assert isinstance(default_loss(sigmoid), keras.losses.BinaryCrossentropy)


@pytest.mark.slow
def test_a_tiny_cnn_beats_chance_on_two_real_cifar10_classes():
    data = load_cifar10_sample()
    airplane, frog = data.class_names.index("airplane"), data.class_names.index("frog")
    pick_train = np.isin(data.y_train, [airplane, frog])
    pick_test = np.isin(data.y_test, [airplane, frog])
    x_train, y_train = data.x_train[pick_train], (data.y_train[pick_train] == frog).astype(int)
    x_test, y_test = data.x_test[pick_test], (data.y_test[pick_test] == frog).astype(int)
    result = train(tiny_cnn(2, (32, 32, 3)), (x_train, y_train), epochs=6, batch_size=16,
                   validation=0.2, normalize=True, seed=0)
    assert result.history.history["loss"][-1] < result.history.history["loss"][0]
    assert accuracy(y_test, predictions(result.model, x_test)) >= 0.7  # chance is 0.5
