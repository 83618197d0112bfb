"""cnnkit.transfer: preprocessing like keras.applications, grey → RGB, features + SVM and
frozen-base training / fine-tuning with a small base trained here (no ImageNet download)."""
import numpy as np
import pytest

keras = pytest.importorskip("keras")

from cnnkit import models  # noqa: E402
from cnnkit.data import synthetic  # noqa: E402
from cnnkit.evaluate import accuracy, predictions  # noqa: E402
from cnnkit.train import train  # noqa: E402
from cnnkit.transfer import (  # noqa: E402
    extract_features, frozen_layers, grey_to_rgb, grey_to_rgb_layers, linear_svm,
    preprocessing_for, preprocessing_layer, set_trainable, transfer_train,
)


@pytest.fixture(scope="module")
def shapes6():
    """Six synthetic classes: 0-2 train the base, 3-5 (relabelled 0-2) are the new task."""
    data = synthetic.shapes(num_classes=6, image_size=16, n_train_per_class=40,
                            n_test_per_class=15, seed=3)

    def part(x, y, classes):
        keep = np.isin(y, classes)
        return x[keep], np.searchsorted(classes, y[keep])

    source = part(data.x_train, data.y_train, [0, 1, 2])
    target_train = part(data.x_train, data.y_train, [3, 4, 5])
    target_test = part(data.x_test, data.y_test, [3, 4, 5])
    return source, target_train, target_test


def small_base():
    return keras.Sequential([
        keras.Input((16, 16, 3)),
        keras.layers.Rescaling(1 / 255),
        keras.layers.Conv2D(8, 3, padding="same", name="b_conv1"),
        keras.layers.BatchNormalization(name="b_bn1"),
        keras.layers.Activation("relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="b_conv2"),
        keras.layers.MaxPooling2D(),
    ], name="small_base")


@pytest.fixture(scope="module")
def pretrained_base(shapes6):
    """A base trained on the source classes (stands in for ImageNet pretraining)."""
    source, _, _ = shapes6
    keras.utils.set_random_seed(0)
    base = small_base()
    classifier = keras.Sequential([base, keras.layers.GlobalAveragePooling2D(),
                                   keras.layers.Dense(3, activation="softmax")])
    result = train(classifier, source, epochs=5, batch_size=16, validation=None, seed=0)
    assert result.history.history["loss"][-1] < result.history.history["loss"][0]
    return base


def copy_of(base):
    clone = keras.models.clone_model(base)
    clone.set_weights(base.get_weights())
    return clone


# --------------------------------------------------------------------------- preprocessing
@pytest.mark.parametrize("name, module", [("vgg16", "vgg16"), ("VGG19", "vgg19"),
                                          ("resnet50", "resnet50"), ("ResNet50V2", "resnet_v2"),
                                          ("inception_v3", "inception_v3"),
                                          ("densenet121", "densenet"),
                                          ("efficientnetb0", "efficientnet")])
def test_preprocessing_matches_keras_applications_function_and_layer(name, module):
    x = np.random.default_rng(0).uniform(0, 255, size=(2, 4, 4, 3)).astype("float32")
    original = x.copy()
    expected = getattr(keras.applications, module).preprocess_input(x.copy())
    out = preprocessing_for(name)(x)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(x, original)  # the caller's array is untouched
    layer_out = keras.ops.convert_to_numpy(preprocessing_layer(name)(x))
    np.testing.assert_allclose(layer_out, expected, rtol=1e-5, atol=1e-3)


def test_preprocessing_layer_saves_and_loads_in_safe_mode(tmp_path):
    model = keras.Sequential([keras.Input((4, 4, 3)), preprocessing_layer("vgg16")])
    model.save(tmp_path / "pre.keras")
    reloaded = keras.saving.load_model(tmp_path / "pre.keras", safe_mode=True)
    x = np.full((1, 4, 4, 3), [10.0, 20.0, 30.0], dtype="float32")
    np.testing.assert_allclose(reloaded.predict(x, verbose=0)[0, 0, 0],
                               [30 - 103.939, 20 - 116.779, 10 - 123.68], rtol=1e-5)
    with pytest.raises(ValueError, match="no keras.applications preprocessing"):
        preprocessing_for("lenet")


# --------------------------------------------------------------------------- grey → RGB
def test_grey_to_rgb_resizes_and_repeats_the_channel():
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, size=(5, 28, 28)).astype("uint8")
    rgb = grey_to_rgb(grey, size=32)
    assert rgb.shape == (5, 32, 32, 3) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb[..., 0], rgb[..., 2])
    as_float = grey_to_rgb(grey[..., None].astype("float32"), size=32)
    assert as_float.dtype == np.float32
    np.testing.assert_allclose(rgb, as_float, atol=0.5 + 1e-4)  # uint8 is the rounded float
    same = grey_to_rgb(grey[:2], size=28)
    np.testing.assert_array_equal(same[..., 1], grey[:2])
    layers_out = grey_to_rgb_layers(32)(grey[..., None].astype("float32"))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layers_out), as_float, atol=1e-3)
    with pytest.raises(ValueError):
        grey_to_rgb(rng.random((2, 8, 8, 3)))


@pytest.mark.slow
def test_fashion_sized_images_through_vgg16_features():
    vgg = models.build("vgg16_features", weights=None, input_shape=(32, 32, 3))
    inputs = keras.Input((28, 28, 1))
    model = keras.Model(inputs, vgg(grey_to_rgb_layers(32)(inputs)))
    grey = np.random.default_rng(1).integers(0, 256, size=(2, 28, 28, 1)).astype("uint8")
    assert model.predict(grey, verbose=0).shape == (2, 1, 1, 512)
    features = extract_features(vgg, grey_to_rgb(grey), preprocess="vgg16")
    assert features.shape == (2, 512)


# --------------------------------------------------------------------------- features + SVM
@pytest.mark.slow
def test_svm_on_features_of_a_self_trained_base_beats_chance(pretrained_base, shapes6):
    _, (x_train, y_train), (x_test, y_test) = shapes6
    f_train = extract_features(pretrained_base, x_train, batch_size=32)
    f_test = extract_features(pretrained_base, x_test, batch_size=32)
    assert f_train.shape == (len(x_train), 4 * 4 * 16) and f_train.dtype == np.float32
    svm = linear_svm(f_train, y_train, C=0.5, seed=0)
    assert [name for name, _ in svm.steps] == ["standardscaler", "linearsvc"]
    assert svm.named_steps["linearsvc"].C == 0.5
    assert accuracy(y_test, svm.predict(f_test)) > 0.6  # 3 new classes: chance is 1/3
    pooled = extract_features(pretrained_base, x_test, pooling="avg")
    np.testing.assert_allclose(pooled, f_test.reshape(len(x_test), 4, 4, 16).mean(axis=(1, 2)),
                               rtol=1e-5, atol=1e-6)
    assert extract_features(pretrained_base, x_test[:3], pooling="max").shape == (3, 16)
    with pytest.raises(ValueError):
        extract_features(pretrained_base, x_test, pooling="median")


# --------------------------------------------------------------------------- freezing
def test_frozen_layers_report_and_set_trainable(english):
    base = small_base()
    inputs = keras.Input((16, 16, 3))
    outputs = keras.layers.Dense(3, name="head")(keras.layers.Flatten()(base(inputs)))
    model = keras.Model(inputs, outputs)
    set_trainable(base, False)
    report = frozen_layers(model)
    assert report.frozen == ["small_base/b_conv1", "small_base/b_bn1", "small_base/b_conv2"]
    assert report.trainable == ["head"]
    assert report.trainable_params == sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    text = str(report).splitlines()
    assert text[0] == (f"{model.name}: 1 layers trainable ({report.trainable_params:,} params), 3 frozen "
                       f"({report.non_trainable_params:,} non-trainable params)")
    assert text[1].split()[:3] == ["small_base/b_conv1", "Conv2D", "frozen"]
    assert text[-1].split()[:3] == ["head", "Dense", "trainable"]
    spanish = report.to_text("es").splitlines()
    assert spanish[0] == (f"{model.name}: 1 capas entrenables ({report.trainable_params:,} parámetros), "
                          f"3 congeladas ({report.non_trainable_params:,} parámetros no entrenables)")
    assert spanish[1].split()[:3] == ["small_base/b_conv1", "Conv2D", "congelada"]
    assert spanish[-1].split()[:3] == ["head", "Dense", "entrenable"]

    set_trainable(base, True, from_layer="b_conv2")
    assert frozen_layers(model).trainable == ["small_base/b_conv2", "head"]
    set_trainable(base, True)  # BatchNormalization stays frozen by default
    assert frozen_layers(model).frozen == ["small_base/b_bn1"]
    set_trainable(base, True, keep_batchnorm_frozen=False)
    assert frozen_layers(model).frozen == []


# --------------------------------------------------------------------------- transfer_train
@pytest.mark.slow
def test_transfer_then_fine_tune_a_resnet50_transfer_variant(pretrained_base, shapes6):
    _, target_train, (x_test, y_test) = shapes6
    base = copy_of(pretrained_base)
    before = [w.copy() for w in base.get_weights()]
    result = transfer_train("output_only", target_train, base=base, epochs=4,
                            learning_rate=3e-2, fine_tune_epochs=2,
                            fine_tune_learning_rate=1e-5, validation=0.2, batch_size=16)

    assert result.model.name == "resnet50_output_only" and result.model.layers[1] is base
    assert set(result.frozen_head.trainable) == {"predictions"}
    assert "small_base/b_conv1" in result.frozen_head.frozen
    assert result.frozen_fine_tune.frozen == ["small_base/b_bn1"]  # BN kept in inference mode
    assert "small_base/b_conv1" in result.frozen_fine_tune.trainable

    after = base.get_weights()
    bn_names = [w.path for w in base.weights]
    changed = [not np.allclose(a, b) for a, b in zip(before, after)]
    assert any(changed), "fine-tuning must update the base"
    assert not any(c for c, name in zip(changed, bn_names) if "b_bn1" in name)
    # Fine-tuning steps are tiny next to the head's: 1e-5 vs 3e-2.
    assert max(np.abs(a - b).max() for a, b in zip(before, after)) < 1e-3
    fine_opt = result.fine_tune.model.optimizer
    assert float(keras.ops.convert_to_numpy(fine_opt.learning_rate)) == pytest.approx(1e-5)

    assert len(result.history["loss"]) == 6 and result.fine_tune.epochs_run == 2
    np.testing.assert_array_equal(result.head.validation_indices,
                                  result.fine_tune.validation_indices)
    assert accuracy(y_test, predictions(result.model, x_test)) > 0.6  # chance is 1/3
    assert result.cpu_time > 0 and "val_accuracy" in result.final


@pytest.mark.slow
def test_transfer_with_a_flat_functional_model_freezes_the_base_layers(pretrained_base, shapes6):
    _, target_train, _ = shapes6
    base = copy_of(pretrained_base)
    features = keras.layers.GlobalAveragePooling2D()(base.outputs[0])
    model = keras.Model(base.inputs, keras.layers.Dense(3, activation="softmax",
                                                         name="new_output")(features))
    before = base.get_weights()
    result = transfer_train(model, target_train, base=base, epochs=1, validation=None)
    assert result.fine_tune is None and result.frozen_fine_tune is None
    assert result.frozen_head.trainable == ["new_output"]
    for a, b in zip(before, base.get_weights()):
        np.testing.assert_array_equal(a, b)
