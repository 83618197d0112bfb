"""cnnkit.featuremaps: shapes and values of feature maps, for Sequential, functional and
nested models, and the seed-000 exercise-4 comparisons."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

keras = pytest.importorskip("keras")

from cnnkit import models  # noqa: E402
from cnnkit.featuremaps import (  # noqa: E402
    compare_feature_maps, compare_first_and_last, compare_kernel_sizes,
    compare_pretrained_and_trained, conv_layers, feature_maps, feature_model, first_conv,
    last_conv,
)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).integers(0, 256, size=(3, 32, 32, 3)).astype("float32")


@pytest.fixture(scope="module")
def cifar_cnns():
    keras.utils.set_random_seed(0)
    return {k: models.build("keras_cifar10_cnn", kernel_size=k) for k in (3, 5)}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_first_conv_of_keras_cifar10_cnn_gives_n_32_32_32(cifar_cnns, images):
    for model in cifar_cnns.values():
        maps = feature_maps(model, first_conv(model), images)
        assert maps.shape == (3, 32, 32, 32) and maps.dtype == np.float32
    assert feature_maps(cifar_cnns[3], last_conv(cifar_cnns[3]), images).shape == (3, 13, 13, 64)
    assert feature_maps(cifar_cnns[5], last_conv(cifar_cnns[5]), images).shape == (3, 10, 10, 64)
    assert feature_maps(cifar_cnns[3], 0, images[0]).shape == (1, 32, 32, 32)


def test_conv_layer_lookup(cifar_cnns):
    model = cifar_cnns[3]
    assert [layer.name for layer in conv_layers(model)] == ["conv1", "conv2", "conv3", "conv4"]
    assert first_conv(model).name == "conv1" and last_conv(model).name == "conv4"
    dense_only = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no convolutional layer"):
        first_conv(dense_only)
    with pytest.raises(ValueError, match="no layer named"):
        feature_maps(model, "conv9", np.zeros((1, 32, 32, 3)))
    foreign = keras.layers.Conv2D(2, 3)
    with pytest.raises(ValueError, match="not part of"):
        feature_maps(model, foreign, np.zeros((1, 32, 32, 3)))


def test_maps_are_the_layers_convolution(cifar_cnns, images):
    model = cifar_cnns[5]
    conv = model.get_layer("conv1")
    kernel, bias = conv.get_weights()
    expected = keras.ops.convert_to_numpy(
        keras.ops.conv(images, kernel, padding="same")) + bias
    by_name = feature_maps(model, "conv1", images)
    by_index = feature_maps(model, 0, images)   # the seed's model.layers[0]
    by_object = feature_maps(model, conv, images)
    np.testing.assert_allclose(by_name, expected, rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(by_name, by_index)
    np.testing.assert_array_equal(by_name, by_object)


def test_sequential_without_input_is_built_with_a_free_batch_size():
    model = keras.Sequential([keras.layers.Conv2D(4, 3, name="c1"), keras.layers.Flatten(),
                              keras.layers.Dense(2)])
    assert feature_maps(model, "c1", np.zeros((5, 8, 8, 3))).shape == (5, 6, 6, 4)
    assert model.inputs[0].shape[0] is None
    assert feature_maps(model, "c1", np.zeros((2, 8, 8, 3))).shape == (2, 6, 6, 4)
    # Built by a first predict() on 2 images: `inputs` then has batch size 2.
    called = keras.Sequential([keras.layers.Conv2D(4, 3, name="c1")])
    called.predict(np.zeros((2, 8, 8, 3)), verbose=0)
    assert feature_maps(called, "c1", np.zeros((5, 8, 8, 3))).shape == (5, 6, 6, 4)
    unbuilt = keras.Sequential([keras.layers.Conv2D(4, 3)])
    with pytest.raises(ValueError, match="not built"):
        feature_model(unbuilt, 0)


def test_layers_inside_a_preprocessing_wrapper_see_preprocessed_images(cifar_cnns, images):
    # The shape of model cnnkit.train.train() returns: [augmentation, normalization, model].
    base = cifar_cnns[3]
    mean, variance = np.array([100.0, 110.0, 120.0]), np.array([900.0, 1600.0, 2500.0])
    wrapper = keras.Sequential([
        keras.Input((32, 32, 3)),
        keras.layers.RandomFlip("horizontal", seed=0),
        keras.layers.Normalization(mean=mean, variance=variance),
        base,
    ])
    assert first_conv(wrapper) is base.get_layer("conv1")
    through_wrapper = feature_maps(wrapper, first_conv(wrapper), images)
    normalised = (images - mean) / np.sqrt(variance)
    direct = feature_maps(base, "conv1", normalised)
    np.testing.assert_allclose(through_wrapper, direct, rtol=1e-4, atol=1e-4)
    # Augmentation is off at inference: the same images give the same maps.
    np.testing.assert_array_equal(through_wrapper, feature_maps(wrapper, "conv1", images))


def test_layers_of_a_nested_base_in_a_functional_model():
    keras.utils.set_random_seed(1)
    base = keras.Sequential([keras.Input((16, 16, 3)),
                             keras.layers.Conv2D(6, 3, padding="same", name="base_conv1"),
                             keras.layers.Conv2D(8, 3, strides=2, name="base_conv2")], name="base")
    model = models.build("resnet50_transfer", variant="no_pooling", base=base, num_classes=3,
                         reduce_channels=5)
    assert [layer.name for layer in conv_layers(model)] == ["base_conv1", "base_conv2",
                                                            "reduce_conv"]
    x = np.random.default_rng(1).random((2, 16, 16, 3)).astype("float32")
    inner = feature_maps(model, "base_conv2", x)
    assert inner.shape == (2, 7, 7, 8)
    np.testing.assert_allclose(inner, feature_maps(base, "base_conv2", x), rtol=1e-5)
    assert feature_maps(model, last_conv(model), x).shape == (2, 7, 7, 5)


def test_compare_kernel_sizes_3x3_vs_5x5(cifar_cnns, images, monkeypatch):
    monkeypatch.setenv("CNNKIT_LANG", "en")
    comparison = compare_kernel_sizes(cifar_cnns[3], cifar_cnns[5], images, n=6)
    assert set(comparison.maps) == {"3×3 kernels", "5×5 kernels"}
    assert all(m.shape == (3, 32, 32, 32) for m in comparison.maps.values())
    assert comparison.layers == {"3×3 kernels": "conv1", "5×5 kernels": "conv1"}
    assert len(comparison.figure.axes) == 2 * 6
    assert not np.allclose(*comparison.maps.values())
    assert comparison.figure._suptitle.get_text() == "First convolutional layer: 3×3 vs 5×5 kernels"
    # In Spanish, the notebooks' language: the rows' labels (the keys of maps) and the title.
    monkeypatch.setenv("CNNKIT_LANG", "es")
    spanish = compare_kernel_sizes(cifar_cnns[3], cifar_cnns[5], images, n=6)
    assert spanish.layers == {"núcleos 3×3": "conv1", "núcleos 5×5": "conv1"}
    assert spanish.figure._suptitle.get_text() == "Primera capa convolucional: núcleos 3×3 frente a 5×5"
    assert [ax.get_ylabel().splitlines()[0] for ax in spanish.figure.axes if ax.get_ylabel()] == [
        "núcleos 3×3", "núcleos 5×5"]
    assert [ax.get_title() for ax in spanish.figure.axes[:6]] == [f"canal {c}" for c in range(6)]


def test_compare_first_and_last_conv_of_vgg16(images, tmp_path, spanish):
    vgg = models.build("vgg16_features", weights=None)
    comparison = compare_first_and_last(vgg, images[:2], n=4, save=tmp_path / "vgg.png")
    assert comparison.layers == {"primera capa convolucional": "block1_conv1",
                                 "última capa convolucional": "block5_conv3"}
    assert comparison.maps["primera capa convolucional"].shape == (2, 32, 32, 64)
    assert comparison.maps["última capa convolucional"].shape == (2, 2, 2, 512)
    assert comparison.figure._suptitle.get_text() == f"{vgg.name}: primera frente a última capa convolucional"
    assert (tmp_path / "vgg.png").stat().st_size > 0


def test_compare_pretrained_and_trained_with_per_model_images(images):
    keras.utils.set_random_seed(2)
    small = [keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3, name="c")])
             for _ in range(2)]
    labels = ("pretrained", "trained")
    comparison = compare_pretrained_and_trained(
        small[0], small[1], {labels[0]: images[:1], labels[1]: images[:1] / 255.0}, n=4,
        labels=labels)
    assert comparison.maps["pretrained"].shape == comparison.maps["trained"].shape == (1, 30, 30, 4)
    np.testing.assert_allclose(comparison.maps["trained"],
                               feature_maps(small[1], "c", images[:1] / 255.0), rtol=1e-5)
    generic = compare_feature_maps({"a": (small[0], "c"), "b": (small[1], 0)}, images[:1], n=3)
    assert len(generic.figure.axes) == 6 and generic.layers == {"a": "c", "b": "c"}


def test_compare_pretrained_and_trained_default_labels_follow_the_language(images, monkeypatch):
    small = [keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(2, 3, name="c")])
             for _ in range(2)]
    for lang, labels, title in (
            ("es", ["preentrenada (ImageNet)", "entrenada con nuestros datos"],
             "Primera capa convolucional: preentrenada frente a entrenada"),
            ("en", ["pretrained (ImageNet)", "trained on our data"], "First convolutional layer: pretrained vs trained")):
        monkeypatch.setenv("CNNKIT_LANG", lang)
        comparison = compare_pretrained_and_trained(small[0], small[1], images[:1], n=2)
        assert list(comparison.maps) == labels
        assert comparison.figure._suptitle.get_text() == title
