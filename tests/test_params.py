"""cnnkit.params: the formulas on hand-checked values and against Keras,
layer_table on every layer type it covers, architecture_table's figures."""
from __future__ import annotations

import itertools
import re

import pytest

from cnnkit import params


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


# --------------------------------------------------------------------------
# parameter formulas, hand-checked
# --------------------------------------------------------------------------

def test_conv2d_params_seed_000_values():
    assert params.conv2d_params(32, 3, 3) == 896          # N·m²·NC + N = 32·9·3 + 32
    assert params.conv2d_params(32, 5, 3) == 2_432        # 32·25·3 + 32
    assert params.conv2d_params(32, (3, 3), 32) == 9_248
    assert params.conv2d_params(64, 3, 3) == 1_792        # VGG block1_conv1
    assert params.conv2d_params(6, 5, 3) == 456           # BaseNet conv1
    assert params.conv2d_params(16, 5, 6) == 2_416        # BaseNet conv2


def test_conv2d_params_variants():
    assert params.conv2d_params(8, (3, 5), 2) == 8 * 15 * 2 + 8
    assert params.conv2d_params(8, 3, 2, bias=False) == 144
    assert params.conv2d_params(8, 3, 2, False) == 144    # bias is positional too
    # The two-GPU AlexNet: conv2 sees 48 of 96 channels per group.
    assert params.conv2d_params(256, 5, 96, groups=2) == 307_456


def test_two_gpu_alexnet_total_matches_the_docstring():
    convs = (params.conv2d_params(96, 11, 3) + params.conv2d_params(256, 5, 96, groups=2)
             + params.conv2d_params(384, 3, 256) + params.conv2d_params(384, 3, 384, groups=2)
             + params.conv2d_params(256, 3, 384, groups=2))
    dense = (params.dense_params(4096, 6 * 6 * 256) + params.dense_params(4096, 4096)
             + params.dense_params(1000, 4096))
    assert convs + dense == 60_965_224


def test_dense_and_batchnorm_params():
    assert params.dense_params(512, 2304) == 1_180_160     # cifar10 example, 3x3
    assert params.dense_params(512, 1600) == 819_712       # ... 5x5
    assert params.dense_params(10, 512, bias=False) == 5_120
    assert params.batchnorm_params(64) == 256
    assert params.batchnorm_params(64, center=False) == 192
    assert params.batchnorm_params(64, center=False, scale=False) == 128


def test_depthwise_and_separable_params():
    assert params.depthwise_conv2d_params(3, 32) == 320
    assert params.depthwise_conv2d_params(3, 32, depth_multiplier=2, bias=False) == 576
    assert params.separable_conv2d_params(64, 3, 32) == 2_400
    assert params.separable_conv2d_params(64, 3, 32, depth_multiplier=2) == 576 + 4096 + 64


@pytest.mark.parametrize("call,error", [
    (lambda: params.conv2d_params(0, 3, 3), ValueError),
    (lambda: params.conv2d_params(32, 0, 3), ValueError),
    (lambda: params.conv2d_params(32, 3, -1), ValueError),
    (lambda: params.conv2d_params(True, 3, 3), TypeError),
    (lambda: params.conv2d_params(32, "3", 3), TypeError),
    (lambda: params.conv2d_params(32, 3.0, 3), TypeError),
    (lambda: params.conv2d_params(32, (), 3), ValueError),
    (lambda: params.conv2d_params(32, 3, 6, groups=4), ValueError),
    (lambda: params.dense_params(10, 0), ValueError),
    (lambda: params.batchnorm_params(0), ValueError),
    (lambda: params.conv_output_size(4, 5), ValueError),
    (lambda: params.conv_output_size(28, 5, padding="full"), ValueError),
    (lambda: params.conv_output_size(28, 5, padding=-1), ValueError),
    (lambda: params.conv_output_size(28, 5, stride=0), ValueError),
    (lambda: params.pool_output_size(1, 2), ValueError),
])
def test_impossible_inputs_raise(call, error):
    with pytest.raises(error):
        call()


def test_too_small_input_message_is_explicit():
    with pytest.raises(ValueError, match="kernel of 5 pixels does not fit in an input of 4"):
        params.conv_output_size(4, 5)


# --------------------------------------------------------------------------
# output sizes
# --------------------------------------------------------------------------

def test_seed_004_shape_walk():
    size = 28
    size = params.conv_output_size(size, 5)
    assert size == 24
    size = params.pool_output_size(size, 2)
    assert size == 12
    size = params.conv_output_size(size, 5)
    assert size == 8
    assert params.pool_output_size(size, 2) == 4


def test_output_sizes_of_the_course_networks():
    assert params.conv_output_size(224, 3, padding="same") == 224        # VGG convolutions
    assert params.conv_output_size(224, 3, padding=1) == 224             # ZeroPadding2D((1,1)) + valid
    assert params.pool_output_size(224, 2, stride=2) == 112
    assert params.conv_output_size(227, 11, stride=4) == 55              # AlexNet conv1
    assert params.pool_output_size(55, 3, stride=2) == 27
    assert params.pool_output_size(13, 2) == 6                           # odd sizes round down
    assert params.pool_output_size(13, 2, padding="same") == 7
    assert params.conv_output_size(32, 3, stride=2, padding="same") == 16
    assert params.conv_output_size(32, 3, dilation=2) == 28


def test_output_sizes_agree_with_keras(keras):
    layers = keras.layers
    for size, k, stride, padding in itertools.product(
            (5, 7, 8, 13, 28, 32), (1, 2, 3, 5), (1, 2, 3), ("valid", "same")):
        if padding == "valid" and k > size:
            continue
        conv = layers.Conv2D(1, k, strides=stride, padding=padding)
        expected = conv.compute_output_shape((None, size, size, 1))[1]
        assert params.conv_output_size(size, k, stride, padding) == expected, \
            (size, k, stride, padding)
        pool = layers.MaxPooling2D(k, strides=stride, padding=padding)
        expected = pool.compute_output_shape((None, size, size, 1))[1]
        assert params.pool_output_size(size, k, stride, padding) == expected, \
            (size, k, stride, padding)


# --------------------------------------------------------------------------
# layer_table
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mixed_model(keras):
    """Every layer type the formulas cover, in one functional model."""
    L = keras.layers

    class Scale(L.Layer):
        """A custom layer with one weight per channel: no formula covers it."""

        def build(self, input_shape):
            self.factor = self.add_weight(shape=(input_shape[-1],), initializer="ones")

        def call(self, x):
            return x * self.factor

    inner = keras.Sequential([keras.Input((8, 8, 16)), L.Conv2D(4, 1, name="inner_conv"),
                              L.BatchNormalization(name="inner_bn")], name="inner")
    inputs = keras.Input((16, 16, 3), name="image")
    x = L.Conv2D(8, (3, 5), padding="same", name="conv")(inputs)                # 8·15·3 + 8
    x = L.BatchNormalization(name="bn")(x)                                      # 4·8
    x = L.Conv2D(8, 3, groups=2, use_bias=False, padding="same", name="grouped")(x)
    x = L.DepthwiseConv2D(3, depth_multiplier=2, name="depthwise")(x)           # → 14×14×16
    x = L.SeparableConv2D(16, 3, name="separable")(x)                           # → 12×12×16
    x = L.MaxPooling2D(name="pool")(x)                                          # → 6×6×16
    x = L.Conv2DTranspose(16, 3, strides=1, name="transposed")(x)               # → 8×8×16
    x = inner(x)                                                                # → 8×8×4
    x = L.Reshape((64, 4), name="reshape")(x)
    x = L.Dense(5, name="dense_3d")(x)                                          # per position
    x = Scale(name="scale")(x)
    x = L.Flatten(name="flatten")(x)
    outputs = L.Dense(3, activation="softmax", name="out")(x)
    return keras.Model(inputs, outputs, name="mixed")


def test_layer_table_agrees_with_keras_on_every_covered_layer(mixed_model):
    table = params.layer_table(mixed_model)
    by_name = {row.name: row for row in table}
    expected = {
        "conv": 8 * 15 * 3 + 8,
        "bn": 32,
        "grouped": 8 * 9 * 4,
        "depthwise": 9 * 16 + 16,
        "separable": 9 * 16 + 16 * 16 + 16,
        "transposed": 16 * 9 * 16 + 16,
        "inner": (16 * 4 + 4) + 16,
        "dense_3d": 5 * 4 + 5,
        "out": 3 * 64 * 5 + 3,
        "pool": 0, "reshape": 0, "flatten": 0, "image": 0,
    }
    for name, count in expected.items():
        row = by_name[name]
        assert row.params_formula == count, row
        assert row.params_keras == count, row
        assert row.agrees is True, row
    assert by_name["grouped"].formula == "8·3²·(8/2)"
    assert by_name["conv"].formula == "8·3·5·3 + 8"
    assert by_name["bn"].formula == "4·8"
    # No formula for a custom layer: reported, not guessed.
    assert by_name["scale"].params_formula is None and by_name["scale"].agrees is None
    assert by_name["scale"].params_keras == 5
    assert table.disagreements() == []


def test_layer_table_rows_follow_summary_order_and_shapes(mixed_model):
    table = params.layer_table(mixed_model)
    assert [row.index for row in table] == list(range(1, len(mixed_model.layers) + 1))
    assert [row.name for row in table] == [layer.name for layer in mixed_model.layers]
    assert table[0].type == "InputLayer"                  # functional summaries list it first
    for row, layer in zip(table, mixed_model.layers):
        assert row.output_shape == tuple(layer.output.shape)
    assert table.total_params == mixed_model.count_params()
    assert table.non_trainable_params == 2 * 8 + 2 * 4   # BatchNorm moving statistics


def test_layer_table_of_a_sequential_starts_at_the_first_layer(keras):
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(32, 5),
                              keras.layers.MaxPooling2D(), keras.layers.Flatten(),
                              keras.layers.Dense(10)])
    table = params.layer_table(model)
    assert table[0].index == 1 and table[0].type == "Conv2D"
    assert [row.output_shape for row in table] == [(None, 24, 24, 32), (None, 12, 12, 32),
                                                   (None, 4608,), (None, 10)]
    assert [row.params_formula for row in table] == [832, 0, 0, 46_090]


def test_layer_table_renderings(mixed_model, english):
    table = params.layer_table(mixed_model)
    dicts = table.to_dicts()
    assert len(dicts) == len(table)
    assert set(dicts[1]) == {"index", "name", "type", "output_shape", "params_formula",
                             "params_keras", "formula", "agrees"}
    assert dicts[1]["name"] == "conv" and dicts[1]["agrees"] is True
    text = str(table)
    assert text.splitlines()[0] == 'Model: "mixed"'
    assert "conv (Conv2D)" in text and "8·3·5·3 + 8" in text and "n/a" in text
    assert f"Total params: {mixed_model.count_params():,}" in text
    by_type = table.by_type("BatchNormalization")
    assert [row.name for row in by_type] == ["bn"]
    # The same table in Spanish: headers and totals translated, the numbers and formulas unchanged.
    spanish = table.to_text("es")
    lines = spanish.splitlines()
    assert lines[0] == 'Modelo: "mixed"'
    assert [cell.strip() for cell in re.split(r"\s{2,}", lines[2].strip())] == [
        "#", "Capa (tipo)", "Forma de salida", "Fórmula", "Por fórmula", "Según Keras", "OK"]
    assert "8·3·5·3 + 8" in spanish and "n/d" in spanish and "n/a" not in spanish
    assert lines[-3:] == [f"Parámetros totales: {mixed_model.count_params():,}",
                          f"Parámetros entrenables: {table.trainable_params:,}",
                          f"Parámetros no entrenables: {table.non_trainable_params:,}"]
    for word in ("Total params", "Trainable", "Layer (type)", "Output shape", "By formula", " yes"):
        assert word not in spanish, word


def test_disagreement_is_reported(spanish):
    row = params.LayerRow(index=1, name="conv", type="Conv2D", output_shape=(None, 4),
                          params_formula=896, params_keras=900, formula="32·3²·3 + 32")
    table = params.LayerTable("m", [row], 900, 900, 0)
    assert row.agrees is False
    assert table.disagreements() == [row]
    assert " NO" in table.to_text() and " NO" in table.to_text("en")
    assert str(table) == table.to_text("es")                # print() follows $CNNKIT_LANG


# --------------------------------------------------------------------------
# architecture_table (seed 001, parte 2)
# --------------------------------------------------------------------------

def test_architecture_table_figures_and_sources(english):
    table = params.architecture_table()
    assert [row.name for row in table] == ["AlexNet", "VGG-19", "ResNet-50"]
    alexnet, vgg19, resnet50 = table
    assert (alexnet.depth, vgg19.depth, resnet50.depth) == (8, 19, 50)
    assert (alexnet.params, alexnet.top1, alexnet.top5) == (61_100_840, 56.5, 79.1)
    assert (vgg19.params, vgg19.top1, vgg19.top5) == (143_667_240, 71.3, 90.0)
    assert (resnet50.params, resnet50.top1, resnet50.top5) == (25_636_712, 74.9, 92.1)
    assert "Krizhevsky" in alexnet.paper and "torchvision" in alexnet.accuracy_source
    assert "Simonyan" in vgg19.paper and "keras.io" in vgg19.accuracy_source
    assert "K. He" in resnet50.paper and "keras.io" in resnet50.params_source
    for row in table:
        assert row.params_source and row.accuracy_source and row.depth_note
    assert table["vgg-19"] is vgg19
    text = str(table)
    assert "Sources:" in text and "143,667,240" in text and "arXiv:1512.03385" in text
    assert table.to_dicts()[2]["top5"] == 92.1


def test_architecture_table_in_spanish(spanish):
    table = params.architecture_table()
    english = params.architecture_table(lang="en")
    # the figures and the papers cited do not depend on the language
    assert [(r.name, r.depth, r.params, r.top1, r.top5, r.paper) for r in table] == \
        [(r.name, r.depth, r.params, r.top1, r.top5, r.paper) for r in english]
    alexnet, vgg19, resnet50 = table
    assert alexnet.depth_note.startswith("5 capas convolucionales") and "torchvision" in alexnet.accuracy_source
    assert "keras.io" in vgg19.accuracy_source and "keras.io" in resnet50.params_source
    text = str(table)
    lines = text.splitlines()
    assert lines[0].split() == ["Red", "Año", "Profundidad", "Parámetros", "Top-1", "%", "Top-5", "%"]
    assert "Fuentes:" in text and "    profundidad: " in text and "    exactitud: " in text and "    nota: " in text
    prose = text.replace(params.KRIZHEVSKY_2012, "").replace(params.SIMONYAN_2015, "").replace(params.HE_2016, "")
    for word in ("Sources:", "depth:", "accuracy", "note:", "layers", "paper", "Table", "exact count", "i.e."):
        assert word not in prose, word


def test_architecture_table_with_built_models(english):
    table = params.architecture_table(compute_params=True)
    counts = {row.name: row.params for row in table}
    assert counts == {"AlexNet": 62_378_344, "VGG-19": 143_667_240, "ResNet-50": 25_636_712}
    assert all(row.params_source.startswith("built:") for row in table)
    assert table["AlexNet"].top1 == 56.5       # accuracies stay the cited ones


def test_docstring_examples_are_correct():
    import doctest

    result = doctest.testmod(params)
    assert result.attempted >= 14 and result.failed == 0
