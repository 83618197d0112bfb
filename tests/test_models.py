"""cnnkit.models: the registry contract (names, exact parameter counts), layer
sequences faithful to the seeds, VGG-19 step by step, ResNet-50 transfer
variants, and weights resolution (offline ImageNet, cache, local files)."""
from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from cnnkit import models, params  # noqa: E402
from cnnkit.models import _registry, _weights  # noqa: E402

# The contract: instructors and the autograder rely on these exact counts.
EXPECTED_PARAMS = {
    "keras_cifar10_cnn": 1_250_858,
    "tf_tutorial_cnn": 122_570,
    "basenet": 24_197,
    "fashion_cnn": 62_346,
    "vgg16_cifar": 33_638_218,
    "vgg16_features": 14_714_688,
    "vgg19": 143_667_240,
    "alexnet": 62_378_344,
    "resnet50_transfer": 25_890_888,
}
EXPECTED_OUTPUT = {
    "keras_cifar10_cnn": (None, 10),
    "tf_tutorial_cnn": (None, 10),
    "basenet": (None, 25),
    "fashion_cnn": (None, 10),
    "vgg16_cifar": (None, 10),
    "vgg16_features": (None, 1, 1, 512),
    "vgg19": (None, 1000),
    "alexnet": (None, 1000),
    "resnet50_transfer": (None, 200),
}
CHECKED_TYPES = ("Conv2D", "Dense", "BatchNormalization", "DepthwiseConv2D", "SeparableConv2D")


def _trainable(model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def _weights_equal(a, b) -> bool:
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) and all(np.array_equal(x, y) for x, y in zip(wa, wb))


# --------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------

def test_registry_names_are_the_contract():
    assert models.names() == sorted(EXPECTED_PARAMS)


def test_info_describes_each_model():
    for name in models.names():
        meta = models.info(name)
        assert meta.name == name
        assert "seed 00" in meta.source
        assert meta.description
        assert meta.builder is getattr(models, name)
        assert f"{EXPECTED_PARAMS[name]:,}" not in str(meta)


def test_builders_share_one_keyword_only_signature():
    for name in models.names():
        builder = models.info(name).builder
        parameters = inspect.signature(builder).parameters
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters.values()), name
        assert {"input_shape", "weights", "name"} <= set(parameters), name
        if models.info(name).num_classes is not None:
            assert "num_classes" in parameters, name


def test_unknown_name_suggests_the_closest():
    with pytest.raises(KeyError, match="Did you mean 'basenet'"):
        models.build("basenett")


def test_register_adds_a_builder_and_refuses_duplicates(monkeypatch):
    monkeypatch.setattr(_registry, "_REGISTRY", dict(_registry._REGISTRY))

    @models.register(description="two dense layers", source="test",
                     input_shape=(1, 1, 2), num_classes=2)
    def tiny(*, input_shape=(1, 1, 2), num_classes=2, weights=None, name="tiny"):
        return keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(),
                                 keras.layers.Dense(num_classes)], name=name)

    assert "tiny" in models.names()
    assert models.build("tiny").count_params() == 6
    with pytest.raises(ValueError, match="already registered"):
        models.register("basenet", description="x", source="x",
                        input_shape=(1, 1, 1), num_classes=1)(tiny)


# --------------------------------------------------------------------------
# every registry model: exact count, output shape, formulas agree with Keras
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(EXPECTED_PARAMS))
def test_registry_model_count_shape_and_layer_table(name):
    model = models.build(name)            # each model is built once in this file
    try:
        assert model.count_params() == EXPECTED_PARAMS[name]
        assert tuple(model.output_shape) == EXPECTED_OUTPUT[name]
        table = params.layer_table(model)
        checked = [row for row in table if row.type in CHECKED_TYPES]
        assert checked, "no weighted layer found"
        for row in checked:
            assert row.agrees is True, f"{name} layer {row.index} {row.name}: {row}"
        # Nested models (the ResNet-50 base) are summed by formula as well.
        assert sum(row.params_formula for row in table) == EXPECTED_PARAMS[name]
        if name == "vgg19":   # seed 001 actividades 4-6 on the full model
            rows = {row.name: row for row in table}
            assert rows["block5_pool"].output_shape == (None, 7, 7, 512)
            assert rows["flatten"].output_shape == (None, 25_088)
            assert rows["fc1"].params_keras == 102_764_544
            assert [rows[n].output_shape for n in ("fc1", "fc2", "predictions")] == [
                (None, 4096), (None, 4096), (None, 1000)]
            assert rows["predictions"].formula == "1000·4096 + 1000"
    finally:
        del model
        keras.backend.clear_session()


# --------------------------------------------------------------------------
# small course CNNs: faithful layer sequences
# --------------------------------------------------------------------------

def _signature(model):
    rows = []
    for layer in model.layers:
        cfg = layer.get_config()
        rows.append((type(layer).__name__, cfg.get("filters") or cfg.get("units"),
                     tuple(cfg["kernel_size"]) if "kernel_size" in cfg else None,
                     cfg.get("padding") if "kernel_size" in cfg else None,
                     cfg.get("activation")))
    return rows


def test_keras_cifar10_cnn_follows_the_classic_example():
    model = models.build("keras_cifar10_cnn")
    k = (3, 3)
    assert _signature(model) == [
        ("Conv2D", 32, k, "same", "linear"), ("Activation", None, None, None, "relu"),
        ("Conv2D", 32, k, "valid", "linear"), ("Activation", None, None, None, "relu"),
        ("MaxPooling2D", None, None, None, None), ("Dropout", None, None, None, None),
        ("Conv2D", 64, k, "same", "linear"), ("Activation", None, None, None, "relu"),
        ("Conv2D", 64, k, "valid", "linear"), ("Activation", None, None, None, "relu"),
        ("MaxPooling2D", None, None, None, None), ("Dropout", None, None, None, None),
        ("Flatten", None, None, None, None),
        ("Dense", 512, None, None, "linear"), ("Activation", None, None, None, "relu"),
        ("Dropout", None, None, None, None),
        ("Dense", 10, None, None, "linear"), ("Activation", None, None, None, "softmax"),
    ]
    assert [l.rate for l in model.layers if isinstance(l, keras.layers.Dropout)] == [.25, .25, .5]


def test_keras_cifar10_cnn_5x5_counts_and_shapes():
    model = models.build("keras_cifar10_cnn", kernel_size=5)
    assert model.count_params() == 1_006_634
    assert model.name == "keras_cifar10_cnn_5x5"
    assert model.get_layer("conv1").count_params() == 2_432
    assert model.get_layer("pool2").output.shape[1:] == (5, 5, 64)
    convs = sum(l.count_params() for l in model.layers if isinstance(l, keras.layers.Conv2D))
    assert convs == 181_792   # more in the convolutions than the 3x3 model's 65,568 ...
    # ... but fewer overall: the smaller final map feeds Dense(512) fewer inputs.
    assert model.count_params() < EXPECTED_PARAMS["keras_cifar10_cnn"]


def test_basenet_is_seed_002_table():
    model = models.build("basenet")
    shapes = [tuple(l.output.shape[1:]) for l in model.layers]
    assert shapes == [(28, 28, 6), (28, 28, 6), (14, 14, 6), (10, 10, 16), (10, 10, 16),
                      (5, 5, 16), (400,), (50,), (50,), (25,)]
    assert [type(l).__name__ for l in model.layers] == [
        "Conv2D", "Activation", "MaxPooling2D", "Conv2D", "Activation", "MaxPooling2D",
        "Flatten", "Dense", "Activation", "Dense"]
    assert model.layers[-1].get_config()["activation"] == "softmax"


def test_fashion_cnn_walks_28_24_12_8_4():
    model = models.build("fashion_cnn")
    sides = [l.output.shape[1] for l in model.layers[:4]]
    assert sides == [24, 12, 8, 4]
    assert model.input_shape == (None, 28, 28, 1)


def test_tf_tutorial_cnn_has_a_softmax_output():
    model = models.build("tf_tutorial_cnn")
    assert model.layers[-1].get_config()["activation"] == "softmax"
    assert model.layers[-1].units == 10
    assert model.get_layer("conv3").output.shape[1:] == (4, 4, 64)


def test_builders_refuse_inputs_too_small_for_the_architecture():
    with pytest.raises(ValueError, match="too small"):
        models.build("basenet", input_shape=(8, 8, 3))
    with pytest.raises(ValueError, match="too small"):
        models.build("alexnet", input_shape=(66, 66, 3))
    assert models.build("alexnet", input_shape=(67, 67, 3)).output_shape == (None, 1000)
    with pytest.raises(ValueError, match="input_shape"):
        models.build("fashion_cnn", input_shape=(28, 28))
    with pytest.raises(ValueError, match="num_classes"):
        models.build("fashion_cnn", num_classes=0)


def test_alexnet_shapes_follow_the_documented_table():
    # A 10-class head keeps this build small; the 1000-class count is in the registry test.
    model = models.build("alexnet", num_classes=10)
    sides = {l.name: tuple(l.output.shape[1:]) for l in model.layers}
    assert sides["conv1"] == (55, 55, 96)
    assert sides["pool1"] == (27, 27, 96)
    assert sides["pool2"] == (13, 13, 256)
    assert sides["pool5"] == (6, 6, 256)
    assert sides["flatten"] == (9216,)
    assert [l.rate for l in model.layers if isinstance(l, keras.layers.Dropout)] == [.5, .5]
    assert model.count_params() == 62_378_344 - 4_097_000 + params.dense_params(10, 4096)


# --------------------------------------------------------------------------
# VGG-19 step by step (seed 001, parte 1)
# --------------------------------------------------------------------------

def test_vgg19_block_by_block_shapes_and_counts():
    model = keras.Sequential(name="vgg19_steps")
    expected_params, channels = 0, 3
    for k, ((convs, filters), side) in enumerate(zip(models.VGG19_BLOCKS, [112, 56, 28, 14, 7]), 1):
        models.add_vgg19_block(model, k, input_shape=(224, 224, 3) if k == 1 else None)
        for _ in range(convs):
            expected_params += params.conv2d_params(filters, 3, channels)
            channels = filters
        assert model.output_shape == (None, side, side, filters)
        assert model.count_params() == expected_params
        # The builder's partial model is the same network.
        partial = models.vgg19(up_to_block=k, include_top=False)
        assert partial.output_shape == model.output_shape
        assert partial.count_params() == expected_params
        assert [l.name for l in partial.layers] == [l.name for l in model.layers]
    assert expected_params == 20_024_384
    models.add_vgg19_top(model, up_to="flatten")
    assert model.output_shape == (None, 25_088)
    assert model.count_params() == 20_024_384


def test_vgg19_partial_tops_and_order_checks():
    # Small input: fc1 then has 512 inputs, so building the top stays cheap.
    fc1 = models.vgg19(input_shape=(32, 32, 3), include_top="fc1")
    assert fc1.output_shape == (None, 4096)
    assert [l.name for l in fc1.layers[-2:]] == ["flatten", "fc1"]
    assert fc1.count_params() == 20_024_384 + params.dense_params(4096, 512)
    models.add_vgg19_top(fc1, num_classes=7)          # continues with fc2, predictions
    assert fc1.output_shape == (None, 7)
    with pytest.raises(ValueError, match="block 3 follows block 2"):
        models.add_vgg19_block(models.vgg19(up_to_block=1, include_top=False), 3)
    with pytest.raises(ValueError, match="top sits on block 5"):
        models.vgg19(up_to_block=3, include_top=True)
    with pytest.raises(ValueError, match="include_top"):
        models.vgg19(include_top="fc3")


# --------------------------------------------------------------------------
# ResNet-50 transfer (seed 002, apartado 3)
# --------------------------------------------------------------------------

RESNET_BASE_PARAMS = 23_587_712
RESNET_BN_PARAMS = 106_240        # 4·C per BatchNorm layer; frozen while fine-tuning
RESNET_HEADS = {"new_head": 2_303_176, "output_only": 409_800, "no_pooling": 3_033_544}


@pytest.fixture(scope="module")
def resnet50_base():
    # One ResNet-50 for the three heads; the registry test above builds the
    # default (base=None) path. Same construction as the builder's.
    return keras.applications.ResNet50(include_top=False, weights=None,
                                       input_shape=(224, 224, 3), name="resnet50")


@pytest.mark.parametrize("variant,fine_tune", [("new_head", True), ("output_only", False),
                                               ("no_pooling", False)])
def test_resnet50_transfer_variants(variant, fine_tune, resnet50_base):
    model = models.build("resnet50_transfer", variant=variant, fine_tune=fine_tune,
                         base=resnet50_base)
    head = RESNET_HEADS[variant]
    tuned = RESNET_BASE_PARAMS - RESNET_BN_PARAMS + head
    assert model.count_params() == RESNET_BASE_PARAMS + head
    assert model.output_shape == (None, 200)
    base = models.transfer_base(model)
    assert base is model.base_model is model.get_layer("resnet50") is resnet50_base
    assert base.output_shape == (None, 7, 7, 2048)
    assert _trainable(model) == (tuned if fine_tune else head)
    # Callers switch between the two phases (seed 002, 3.1 then 3.2).
    models.set_fine_tune(model, not fine_tune)
    assert _trainable(model) == (head if fine_tune else tuned)
    has_pool = any(isinstance(l, keras.layers.GlobalAveragePooling2D) for l in model.layers)
    assert has_pool == (variant != "no_pooling")


def _tiny_base():
    return keras.Sequential([
        keras.Input((16, 16, 3)),
        keras.layers.Conv2D(8, 3, name="c1"),
        keras.layers.BatchNormalization(name="bn"),
        keras.layers.ReLU(),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(16, 3, name="c2"),
    ], name="tiny_base")      # output (None, 5, 5, 16)


@pytest.mark.parametrize("variant", models.RESNET50_TRANSFER_VARIANTS)
def test_transfer_with_a_tiny_base(variant):
    base = _tiny_base()
    base_params = base.count_params()           # 224 + 32 + 1168 = 1424, 16 BN statistics
    model = models.resnet50_transfer(variant=variant, base=base, num_classes=5,
                                     head_units=(12,), reduce_channels=4)
    head = {
        "new_head": params.dense_params(12, 16) + params.dense_params(5, 12),
        "output_only": params.dense_params(5, 16),
        "no_pooling": params.conv2d_params(4, 1, 16) + params.dense_params(5, 5 * 5 * 4),
    }[variant]
    assert model.output_shape == (None, 5)
    assert model.input_shape == (None, 16, 16, 3)
    assert model.count_params() == base_params + head
    assert _trainable(model) == head
    tuned = models.resnet50_transfer(variant=variant, base=_tiny_base(), num_classes=5,
                                     head_units=(12,), reduce_channels=4, fine_tune=True)
    assert _trainable(tuned) == base_params - 32 + head          # BatchNorm stays frozen
    everything = models.resnet50_transfer(variant=variant, base=_tiny_base(), num_classes=5,
                                          head_units=(12,), reduce_channels=4, fine_tune=True,
                                          freeze_batchnorm=False)
    assert _trainable(everything) == base_params - 16 + head     # all but moving statistics


@pytest.mark.parametrize("freeze_batchnorm", [True, False])
def test_fine_tuning_keeps_batchnorm_statistics_unless_asked(freeze_batchnorm):
    base = _tiny_base()
    model = models.resnet50_transfer(variant="output_only", base=base, num_classes=3,
                                     fine_tune=True, freeze_batchnorm=freeze_batchnorm)
    before = np.array(base.get_layer("bn").moving_mean)
    # training=True is what fit() passes; it must not override the frozen BatchNorm.
    model(np.random.default_rng(0).normal(size=(4, 16, 16, 3)).astype("float32"), training=True)
    unchanged = np.array_equal(before, np.array(base.get_layer("bn").moving_mean))
    assert unchanged == freeze_batchnorm


def test_transfer_base_survives_save_and_load(tmp_path):
    model = models.resnet50_transfer(variant="output_only", base=_tiny_base(), num_classes=3)
    path = tmp_path / "transfer.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    assert models.transfer_base(reloaded).name == "tiny_base"


def test_transfer_argument_errors():
    with pytest.raises(ValueError, match="variant"):
        models.resnet50_transfer(variant="head", base=_tiny_base())
    flat = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.GlobalAveragePooling2D()])
    with pytest.raises(ValueError, match="feature map"):
        models.resnet50_transfer(base=flat)
    with pytest.raises(ValueError, match="imagenet"):
        models.resnet50_transfer(base=_tiny_base(), weights="imagenet")


# --------------------------------------------------------------------------
# weights: "imagenet" offline, the Keras cache, local files
# --------------------------------------------------------------------------

@pytest.fixture
def empty_keras_home(tmp_path, monkeypatch):
    home = tmp_path / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


@pytest.mark.parametrize("name,kwargs,fname", [
    ("vgg16_features", {}, "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    ("vgg19", {}, "vgg19_weights_tf_dim_ordering_tf_kernels.h5"),
    ("resnet50_transfer", {}, "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"),
])
def test_imagenet_offline_with_empty_cache_fails_fast_and_clearly(name, kwargs, fname,
                                                                 empty_keras_home, monkeypatch):
    monkeypatch.setenv("CNNKIT_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(models.WeightsNotFoundError) as caught:
        models.build(name, weights="imagenet", **kwargs)
    assert time.monotonic() - start < 5    # before any model is built
    message = str(caught.value)
    assert fname in message                                   # the file keras.applications uses
    assert str(empty_keras_home / "models") in message        # where to put it
    assert "KERAS_HOME" in message and "~/.keras/models" in message
    assert f'weights="/path/to/{fname}"' in message           # how to pass a local file
    assert isinstance(caught.value, FileNotFoundError)


def test_imagenet_without_network_fails_fast_without_the_offline_flag(empty_keras_home,
                                                                      monkeypatch):
    monkeypatch.delenv("CNNKIT_OFFLINE", raising=False)
    probed = []
    monkeypatch.setattr(_weights, "_host_answers",
                        lambda url, timeout: probed.append(url) or False)
    with pytest.raises(models.WeightsNotFoundError, match="did not answer"):
        models.build("vgg16_features", weights="imagenet")
    assert probed == [_weights.IMAGENET_FILES[("vgg16", False)].origin]


def test_host_probe_is_bounded_and_can_succeed():
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        assert _weights._host_answers(f"http://127.0.0.1:{server.getsockname()[1]}/", 2.0)
    start = time.monotonic()
    # A non-routable address (RFC 5737 TEST-NET-1): no answer, bounded wait.
    assert not _weights._host_answers("https://192.0.2.1/", 0.5)
    assert time.monotonic() - start < 2


def _write_keras_applications_h5(model, path: Path) -> None:
    """Write ``model``'s weights in the legacy per-layer HDF5 layout of the Keras
    Applications ImageNet files (top-level ``layer_names``, per-layer ``weight_names``)."""
    import h5py

    weighted = [layer for layer in model.layers if layer.weights]
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as handle:
        handle.attrs["layer_names"] = [layer.name.encode() for layer in weighted]
        handle.attrs["backend"] = b"tensorflow"
        handle.attrs["keras_version"] = keras.__version__.encode()
        for layer in weighted:
            group = handle.create_group(layer.name)
            names = [f"{layer.name}/{w.name}:0".encode() for w in layer.weights]
            group.attrs["weight_names"] = names
            for name, weight in zip(names, layer.get_weights()):
                group.create_dataset(name.decode(), data=weight)


def test_cached_imagenet_file_loads_offline_into_our_vgg19(empty_keras_home, monkeypatch):
    # keras.applications.VGG19's conv base stands in for the ImageNet file: same
    # file name, same layout. Loading it proves the cache lookup works offline and
    # that the block-by-block Sequential matches Keras' VGG19 weight for weight.
    monkeypatch.setenv("CNNKIT_OFFLINE", "1")
    source = keras.applications.VGG19(include_top=False, weights=None, input_shape=(32, 32, 3))
    _write_keras_applications_h5(
        source, empty_keras_home / "models" / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5")
    ours = models.build("vgg19", include_top=False, input_shape=(32, 32, 3), weights="imagenet")
    assert _weights_equal(source, ours)


def test_imagenet_refused_where_it_does_not_apply():
    with pytest.raises(ValueError, match="no ImageNet weights"):
        models.build("basenet", weights="imagenet")
    with pytest.raises(ValueError, match="vgg16_features"):
        models.build("vgg16_cifar", weights="imagenet")
    with pytest.raises(ValueError, match="block2_pool"):
        models.build("vgg19", up_to_block=2, include_top=False, weights="imagenet")
    with pytest.raises(ValueError, match="RGB"):
        models.build("vgg16_features", input_shape=(32, 32, 1), weights="imagenet")


def test_local_weights_file_round_trip(tmp_path):
    source = models.build("fashion_cnn")
    path = tmp_path / "fashion.weights.h5"
    source.save_weights(path)
    loaded = models.build("fashion_cnn", weights=str(path))
    assert _weights_equal(source, loaded)
    assert not _weights_equal(source, models.build("fashion_cnn"))   # loading did something


def test_mismatched_weights_files_give_clear_errors(tmp_path):
    path = tmp_path / "basenet.weights.h5"
    models.build("basenet").save_weights(path)
    with pytest.raises(models.WeightsMismatchError, match="does not fit") as caught:
        models.build("fashion_cnn", weights=path)
    assert str(path) in str(caught.value)
    # Keras 3 alone would silently ignore the extra layers of a bigger model's file.
    bigger = tmp_path / "vgg_2_blocks.weights.h5"
    models.vgg19(up_to_block=2, include_top=False, input_shape=(32, 32, 3)).save_weights(bigger)
    with pytest.raises(models.WeightsMismatchError, match="holds 8 arrays"):
        models.vgg19(up_to_block=1, include_top=False, input_shape=(32, 32, 3), weights=bigger)
    with pytest.raises(models.WeightsNotFoundError, match="does not exist"):
        models.build("basenet", weights=tmp_path / "missing.weights.h5")
    with pytest.raises(ValueError, match="weights must be"):
        models.build("basenet", weights=3)


# --------------------------------------------------------------------------
# backends: Keras 3 API only
# --------------------------------------------------------------------------

def test_sources_use_no_tensorflow_api():
    package = Path(models.__file__).parent
    for path in [*package.glob("*.py"), Path(params.__file__)]:
        text = path.read_text()
        assert "import tensorflow" not in text and "tf." not in text, path


# Two models, because every new weight shape costs JAX a compilation: a
# Sequential course CNN and a functional transfer model, each built and run.
_JAX_SCRIPT = r"""
import json, keras, numpy as np
from cnnkit import models
assert keras.backend.backend() == "jax", keras.backend.backend()
basenet = models.build("basenet")
base = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(8, 3)])
transfer = models.build("resnet50_transfer", variant="no_pooling", base=base, num_classes=4,
                        reduce_channels=2)
out = {
    "basenet": basenet.count_params(),
    "basenet_pred": list(basenet.predict(np.zeros((2, 32, 32, 3), "float32"), verbose=0).shape),
    "transfer": transfer.count_params(),
    "transfer_pred": list(transfer.predict(np.zeros((2, 16, 16, 3), "float32"), verbose=0).shape),
}
print("RESULT" + json.dumps(out))
"""


def test_models_build_under_the_jax_backend():
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-c", _JAX_SCRIPT], env=env, capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(l for l in proc.stdout.splitlines() if l.startswith("RESULT"))
    result = json.loads(line[len("RESULT"):])
    transfer_params = (params.conv2d_params(8, 3, 3) + params.conv2d_params(2, 1, 8)
                       + params.dense_params(4, 14 * 14 * 2))
    assert result == {"basenet": 24_197, "basenet_pred": [2, 25],
                      "transfer": transfer_params, "transfer_pred": [2, 4]}
