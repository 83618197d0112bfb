"""cnnkit.checks: artifacts, declared kinds, the grader's outside judgement — in-process, no kernel."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from cnnkit import checks, messages
from cnnkit.checks import artifacts
from cnnkit.checks.archdiff import compare, operations
from cnnkit.checks.artifacts import ArtifactError
from cnnkit.checks.context import Context
from cnnkit.checks.spec import SpecError, parse_spec
from cnnkit.data import synthetic


@pytest.fixture(scope="module")
def keras():
    from cnnkit.runtime import import_keras

    return import_keras()


def small_cnn(keras, *, units=10, activation="softmax", separate_activation=False, extra_dense=False,
              shape=(32, 32, 3)):
    layers = keras.layers
    body = [keras.Input(shape)]
    if separate_activation:
        body += [layers.Conv2D(8, 3, padding="same"), layers.Activation("relu")]
    else:
        body += [layers.Conv2D(8, 3, padding="same", activation="relu")]
    body += [layers.MaxPooling2D(), layers.Flatten()]
    if extra_dense:
        body += [layers.Dense(16, activation="relu")]
    body += [layers.Dense(units, activation=activation)]
    return keras.Sequential(body)


def spec(key, kind, **options):
    return parse_spec(key, {"kind": kind, **options}, "test")


class FakeManifest:
    """Just what checks ask of a manifest."""

    def __init__(self, num_classes=None, workloads=None):
        self.num_classes = num_classes
        self.workloads = workloads or {}
        self.checks = {}

    def classes(self, profile):
        return self.num_classes

    def workload(self, exercise, profile):
        from cnnkit.profile import ExerciseSettings

        return ExerciseSettings.from_table(self.workloads[exercise][profile])


class GraderSide(Context):
    """The grader's context over in-memory objects: public data, a private holdout, measurements."""

    side = "grader"

    def __init__(self, data=None, holdout=None, related=None, values=None, measurements=None, num_classes=None,
                 compiled=None):
        super().__init__("smoke", FakeManifest(num_classes))
        self._data, self._holdout, self._compiled = data, holdout, dict(compiled or {})
        self._related, self._values = dict(related or {}), dict(values or {})
        self._measurements = dict(measurements or {})

    def related(self, key):
        if key not in self._related:
            raise ArtifactError("artifact.missing", key=key)
        return self._related[key]

    def related_value(self, key, name):
        return self._values.get((key, name))

    def dataset(self, name):
        return self._data

    def holdout(self, name):
        return self._holdout

    def measurement(self, name):
        return self._measurements.get(name)

    def compile_info(self, key):
        return self._compiled.get(key, {})


def codes(outcome):
    return [m.code for m in outcome.failures]


# --------------------------------------------------------------------------- artifacts

class LyingEquals:
    def __eq__(self, other):   # nbgrader #1379: passes any == assert
        return True


class SneakyInt(int):
    def __eq__(self, other):
        return True


@pytest.mark.parametrize("value", [LyingEquals(), SneakyInt(3), np.array(["a"], dtype=object), {1: 2}])
def test_to_plain_refuses_objects_that_could_lie(value):
    with pytest.raises(ArtifactError) as err:
        artifacts.to_plain(value)
    assert err.value.code == "artifact.type"


def test_to_plain_keeps_plain_data_exactly():
    value = {"a": [1, 2.5, np.int64(3), np.float32(0.5)], "b": True, "c": None, "d": np.arange(3)}
    assert artifacts.to_plain(value) == {"a": [1, 2.5, 3, 0.5], "b": True, "c": None, "d": [0, 1, 2]}
    assert type(artifacts.to_plain(np.int64(3))) is int


def test_export_and_load_round_trip_keeps_weights_not_the_optimizer(tmp_path, keras):
    model = small_cnn(keras)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=keras.optimizers.schedules.CosineDecay(0.1, 10)),
                  loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).random((4, 32, 32, 3)).astype("float32")
    for obj, fmt in [({"x": 1}, "json"), ({"cm": np.eye(3, dtype=int)}, "arrays"), (model, "config"), (model, "model")]:
        artifacts.export(obj, "k", fmt, tmp_path)
        back = artifacts.load("k", fmt, tmp_path)
        if fmt == "model":
            np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
        elif fmt == "config":
            assert back.count_params() == model.count_params()
        elif fmt == "arrays":
            np.testing.assert_array_equal(back["cm"], np.eye(3, dtype=int))
        else:
            assert back == {"x": 1}
    assert "compile_config" not in json.loads((tmp_path / "k.model.json").read_text())
    assert artifacts.compile_info("k", tmp_path)["compile_config"]["loss"] == "sparse_categorical_crossentropy"


def test_missing_artifact_is_a_student_facing_error(tmp_path):
    with pytest.raises(ArtifactError) as err:
        artifacts.load("nothing", "json", tmp_path)
    assert "nothing" in messages.render(err.value.code, "en", **err.value.params)


def test_a_symlink_to_a_grader_file_is_refused(tmp_path):
    secret = tmp_path / "secret.toml"
    secret.write_text('{"expected": 42}')
    (tmp_path / "art").mkdir()
    os.symlink(secret, tmp_path / "art" / "answer.json")
    with pytest.raises(ArtifactError) as err:
        artifacts.load("answer", "json", tmp_path / "art")
    assert err.value.code == "artifact.not_regular"


def test_an_oversized_artifact_is_refused(tmp_path, monkeypatch):
    monkeypatch.setitem(artifacts.MAX_BYTES, ".json", 100)
    (tmp_path / "big.json").write_text(json.dumps(list(range(100))))
    with pytest.raises(ArtifactError) as err:
        artifacts.load("big", "json", tmp_path)
    assert err.value.code == "artifact.too_large"


def test_a_lambda_layer_in_an_exported_model_is_never_deserialised(tmp_path, keras):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda t: t * 2), keras.layers.Dense(2)])
    artifacts.export(model, "m", "config", tmp_path)
    with pytest.raises(ArtifactError) as err:
        artifacts.load("m", "config", tmp_path)
    assert err.value.code == "artifact.unreadable" and "Lambda" in err.value.params["error"]


def test_export_is_a_no_op_outside_the_grader(monkeypatch):
    monkeypatch.delenv(artifacts.ARTIFACTS_ENV, raising=False)
    assert artifacts.export({"a": 1}, "k", "json") is None


# --------------------------------------------------------------------------- archdiff

def test_activation_layers_and_padding_are_normalised(keras):
    layers = keras.layers
    separate = keras.Sequential([keras.Input((8, 8, 3)), layers.ZeroPadding2D(1), layers.Conv2D(4, 3),
                                 layers.Activation("relu"), layers.Flatten(), layers.Dense(2), layers.Softmax()])
    fused = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(4, 3, padding="same", activation="relu"),
                              layers.Flatten(), layers.Dense(2, activation="softmax")])
    assert [op.type for op in operations(separate)] == ["Conv2D", "Flatten", "Dense"]
    assert compare(separate, fused).matches


def test_output_units_message_names_the_classes(keras):
    diff = compare(small_cnn(keras, units=20), small_cnn(keras), num_classes=10)
    assert "layer 4 (Dense) has 20 units; the dataset has 10 classes" in diff.render("en")
    assert "tiene 20 unidades; el conjunto de datos tiene 10 clases" in diff.render("es")
    assert not diff.matches


def test_missing_layer_is_reported_once_not_as_a_cascade(keras):
    diff = compare(small_cnn(keras), small_cnn(keras, extra_dense=True))
    found = [m.code for m in diff.differences]
    assert found.count("arch.missing") == 1 and "arch.type" not in found
    assert "Dense(16, relu) is missing after layer 3" in diff.render("en")


def test_reference_builder_matches_itself_and_the_other_kernel_size_does_not(keras):
    from cnnkit.models import build

    assert compare(build("keras_cifar10_cnn", kernel_size=3), build("keras_cifar10_cnn", kernel_size=3)).matches
    diff = compare(build("keras_cifar10_cnn", kernel_size=5), build("keras_cifar10_cnn", kernel_size=3))
    assert {"arch.kernel_size", "arch.params_total"} <= {m.code for m in diff.differences}


# --------------------------------------------------------------------------- declared options

def test_a_spec_is_validated_against_its_kinds_declarations():
    with pytest.raises(SpecError, match=r"test: \[checks.k\]: unknown check kind 'nope'"):
        spec("k", "nope")
    with pytest.raises(SpecError, match=r"kind 'value' has no option 'expect'"):
        spec("k", "value", expect=3)
    with pytest.raises(SpecError, match=r"option 'type' must be of type str"):
        spec("k", "value", type=3)
    with pytest.raises(SpecError, match=r"option 'rel_tol' cannot differ by profile"):
        spec("k", "value", rel_tol={"smoke": 0.1, "full": 0.2})
    with pytest.raises(SpecError, match=r"needs option\(s\) threshold"):
        spec("k", "accuracy", dataset="cifar10")


def test_the_authoring_table_is_generated_from_the_declarations():
    from autograder.authoring import AUTHORING_DOC, authoring_doc_with_kinds

    text = AUTHORING_DOC.read_text(encoding="utf-8")
    assert text == authoring_doc_with_kinds(text), "run: python -m autograder.authoring --kinds"
    for name in checks.KINDS:
        assert f"| `{name}` |" in text


# --------------------------------------------------------------------------- kinds, judged as the grader does

def test_value_check_is_exact_about_types():
    s = spec("n", "value", type="int", expected=896)
    assert checks.run_check(s, 896, GraderSide()).passed
    for wrong in (896.0, True, 895):
        assert not checks.run_check(s, wrong, GraderSide()).passed


def test_value_ranges_profile_tables_formulas_and_dict_shapes():
    assert codes(checks.run_check(spec("t", "value", type="float", min=0.0, max=1.0), 1.5, GraderSide())) == \
        ["value.range"]
    s = spec("n", "value", type="int", expected={"smoke": 1200, "full": 60000})
    assert checks.run_check(s, 1200, GraderSide()).passed and not checks.run_check(s, 60000, GraderSide()).passed
    s = spec("n", "value", type="int", expected_from="cnnkit.params:conv2d_params", args=[32, 5, 3])
    assert checks.run_check(s, 32 * 25 * 3 + 32, GraderSide()).passed
    table = spec("t", "value", type="dict", keys=["A", "B"], fields=["depth"])
    assert checks.run_check(table, {"A": {"depth": 1}, "B": {"depth": 2}}, GraderSide()).passed
    assert codes(checks.run_check(table, {"A": {"depth": 1}}, GraderSide())) == ["value.keys"]
    assert codes(checks.run_check(table, {"A": {}, "B": {"depth": 2}}, GraderSide())) == ["value.fields"]


@pytest.fixture(scope="module")
def shapes():
    """A learnable 10-class stand-in and a private holdout drawn with another seed."""
    data = synthetic.shapes(10, (16, 16), 3, n_train_per_class=40, n_test_per_class=10, seed=0)
    holdout = synthetic.shapes(10, (16, 16), 3, n_train_per_class=1, n_test_per_class=30, seed=99)
    return data, (holdout.x_test, holdout.y_test)


@pytest.fixture(scope="module")
def trained(keras, shapes):
    """A small CNN trained on the stand-in (and one trained on its test split only, memorising it)."""
    data, _ = shapes
    keras.utils.set_random_seed(0)

    def fit(x, y, epochs):
        model = small_cnn(keras, shape=(16, 16, 3))
        model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        history = model.fit(x.astype("float32") / 255, y, epochs=epochs, batch_size=32, verbose=0,
                            validation_data=(data.x_test.astype("float32") / 255, data.y_test))
        return model, history.history

    return {"good": fit(data.x_train, data.y_train, 12), "on_test": fit(data.x_test, data.y_test, 60)}


def test_dataset_facts_are_counted_on_the_students_data(shapes):
    data, _ = shapes
    ctx = GraderSide(data)
    assert checks.run_check(spec("n", "dataset_fact", dataset="d", fact="num_images", type="int"), 500, ctx).passed
    assert checks.run_check(spec("s", "dataset_fact", dataset="d", fact="split_sizes"), [400, 100], ctx).passed
    assert not checks.run_check(spec("n", "dataset_fact", dataset="d", fact="num_images", type="int"), 60000,
                                ctx).passed


def test_class_indices_must_be_distinct_images_of_that_class(shapes):
    data, _ = shapes
    s = spec("ships", "class_indices", dataset="d", class_name=data.class_names[3], count=3)
    right = np.flatnonzero(data.y_train == 3)[:3]
    assert checks.run_check(s, {"array": right}, GraderSide(data)).passed
    assert "indices.repeated" in codes(checks.run_check(s, {"array": np.repeat(right[:1], 3)}, GraderSide(data)))
    wrong = np.flatnonzero(data.y_train == 4)[:3]
    assert codes(checks.run_check(s, {"array": wrong}, GraderSide(data))) == ["indices.class"]


def test_accuracy_is_measured_on_the_holdout_and_untrained_or_constant_models_fail(keras, shapes, trained):
    data, holdout = shapes
    s = spec("acc", "accuracy", dataset="d", threshold=0.5, num_classes=10)
    good = checks.run_check(s, trained["good"][0], GraderSide(data, holdout, num_classes=10))
    assert good.passed, good.failures
    assert good.details["n"] == len(holdout[1])
    untrained = checks.run_check(s, small_cnn(keras, shape=(16, 16, 3)), GraderSide(data, holdout))
    assert codes(untrained) == ["accuracy.low"]
    constant = small_cnn(keras, shape=(16, 16, 3))
    weights = constant.layers[-1].get_weights()
    constant.layers[-1].set_weights([np.zeros_like(weights[0]), np.eye(10)[0] * 10])   # always class 0
    assert codes(checks.run_check(s, constant, GraderSide(data, holdout))) == ["accuracy.low"]


def test_a_model_fitted_to_the_test_set_is_caught(trained, shapes):
    data, holdout = shapes
    s = spec("acc", "accuracy", dataset="d", threshold=0.2)
    outcome = checks.run_check(s, trained["on_test"][0], GraderSide(data, holdout))
    assert "accuracy.test_overfit" in codes(outcome), outcome.details


def test_a_reported_accuracy_must_be_the_models_on_x_test(trained, shapes):
    data, holdout = shapes
    model = trained["good"][0]
    s = spec("acc", "accuracy", dataset="d", threshold=0.1)
    measured = checks.run_check(s, model, GraderSide(data, holdout)).details["public_accuracy"]
    assert checks.run_check(s, model, GraderSide(data, holdout, values={("acc", "reported"): measured})).passed
    lie = GraderSide(data, holdout, values={("acc", "reported"): 0.99})
    assert "accuracy.reported_mismatch" in codes(checks.run_check(s, model, lie))
    percent = GraderSide(data, holdout, values={("acc", "reported"): measured * 100})
    assert "accuracy.reported_type" in codes(checks.run_check(s, model, percent))


def test_wrong_number_of_outputs_is_reported_before_measuring(keras, shapes):
    data, holdout = shapes
    s = spec("acc", "accuracy", dataset="d", threshold=0.1, num_classes=10)
    assert codes(checks.run_check(s, small_cnn(keras, units=20, shape=(16, 16, 3)), GraderSide(data, holdout))) \
        == ["classifier.units"]


def test_a_confusion_matrix_must_be_of_the_models_predictions_on_x_test(trained, shapes):
    from sklearn.metrics import confusion_matrix

    data, _ = shapes
    model = trained["good"][0]
    ctx = GraderSide(data, related={"acc": model})
    s = spec("cm", "confusion_matrix", num_classes=10, model="acc", dataset="d", split="test")
    y_pred = model.predict(data.x_test.astype("float32") / 255, verbose=0).argmax(1)
    honest = {"cm": confusion_matrix(data.y_test, y_pred, labels=range(10)), "y_true": data.y_test, "y_pred": y_pred}
    assert checks.run_check(s, honest, ctx).passed
    perfect = {"cm": confusion_matrix(data.y_test, data.y_test, labels=range(10)), "y_true": data.y_test,
               "y_pred": data.y_test}                       # y_pred = y_test: consistent, but not the model's
    assert codes(checks.run_check(s, perfect, ctx)) == ["cm.not_model_predictions"]
    transposed = dict(honest, cm=honest["cm"].T)
    assert "cm.inconsistent" in codes(checks.run_check(s, transposed, ctx))


def test_best_and_worst_class_and_one_prediction_are_recomputed(trained, shapes):
    from cnnkit.evaluate import per_class_accuracy

    data, _ = shapes
    model = trained["good"][0]
    ctx = GraderSide(data, related={"acc": model})
    probs = model.predict(data.x_test.astype("float32") / 255, verbose=0)
    per_class = per_class_accuracy(data.y_test, probs.argmax(1), num_classes=10)
    best = data.class_names[int(np.argmax(per_class))]
    s = spec("best", "class_extreme", which="best", model="acc", dataset="d", split="test")
    assert checks.run_check(s, best, ctx).passed
    worst_only = [data.class_names[c] for c in range(10) if per_class[c] < per_class.max() - 0.2]
    if worst_only:
        assert codes(checks.run_check(s, worst_only[0], ctx)) == ["extreme.wrong"]
    p = spec("p", "prediction", model="acc", dataset="d", split="test", index=7, field="probability")
    assert checks.run_check(p, float(probs[7].max()), ctx).passed
    assert codes(checks.run_check(p, float(probs[7].max()) * 100, ctx)) == ["prediction.probability"]
    c = spec("c", "prediction", model="acc", dataset="d", split="test", index=7)
    assert checks.run_check(c, data.class_names[int(probs[7].argmax())], ctx).passed


def test_history_accepts_keras2_names_and_catches_validation_on_test(trained, shapes):
    data, _ = shapes
    model, history = trained["good"]
    s = spec("h", "history", keys=["loss", "accuracy", "val_loss"], min_epochs=2, model="acc",
             not_validated_on="test", dataset="d")
    ctx = GraderSide(data, related={"acc": model}, compiled={"acc": {"optimizer_iterations": 12 * 13}})
    outcome = checks.run_check(s, history, ctx)           # the fixture validated on x_test
    assert codes(outcome) == ["history.validated_on_test"]
    honest = dict(history, val_loss=[v * 1.3 for v in history["val_loss"]])
    keras2 = {("acc" if k == "accuracy" else k): v for k, v in honest.items()}
    outcome = checks.run_check(s, keras2, ctx)
    assert outcome.passed and [m.code for m in outcome.notes] == ["history.keras2_name"]
    assert codes(checks.run_check(s, {"loss": ["x"]}, ctx)) == ["history.malformed"]
    untrained = GraderSide(data, related={"acc": model}, compiled={"acc": {"optimizer_iterations": 0}})
    assert "history.not_trained" in codes(checks.run_check(s, honest, untrained))
    assert "history.no_model" in codes(checks.run_check(s, honest, GraderSide(data)))


def test_a_figure_must_show_the_datasets_images_and_the_real_training_curves(shapes):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cnnkit.checks.kinds.figures import summarize_figure

    data, _ = shapes
    fig, axes = plt.subplots(1, 3)
    for label, ax in enumerate(axes):
        ax.imshow(data.x_train[np.flatnonzero(data.y_train == label)[0]] / 255.0)   # [0, 1] floats are fine
    s = spec("f", "figure", dataset="d", images_from="train", first_of_class=True)
    assert checks.run_check(s, summarize_figure(fig), GraderSide(data)).passed
    axes[1].images[0].set_data(data.x_train[np.flatnonzero(data.y_train == 1)[1]])
    assert codes(checks.run_check(s, summarize_figure(fig), GraderSide(data))) == ["figure.image_not_first"]
    axes[2].images[0].set_data(np.zeros((16, 16, 3), dtype=np.uint8))
    assert "figure.image_unknown" in codes(checks.run_check(s, summarize_figure(fig), GraderSide(data)))
    plt.close(fig)
    history = {"loss": [1.0, 0.5, 0.25], "val_loss": [1.1, 0.7, 0.6]}
    fig, ax = plt.subplots()
    ax.plot(history["loss"])
    ax.plot(history["val_loss"])
    curves = spec("c", "figure", lines_from="h")
    assert checks.run_check(curves, summarize_figure(fig), GraderSide(related={"h": history})).passed
    ax.plot([0.9, 0.1, 0.05])                         # a curve the training never produced
    assert codes(checks.run_check(curves, summarize_figure(fig), GraderSide(related={"h": history}))) == \
        ["figure.lines_not_history"]
    plt.close(fig)


def test_a_time_the_student_reports_must_fit_what_the_grader_measured():
    s = spec("t", "cell_time", cell="train")
    ctx = GraderSide(measurements={"cpu:train": 20.0})
    assert checks.run_check(s, 18.5, ctx).passed
    assert codes(checks.run_check(s, 500.0, ctx)) == ["time.mismatch"]
    assert codes(checks.run_check(s, 0.0, ctx)) == ["time.positive"]
    assert codes(checks.run_check(s, 18.5, GraderSide())) == ["time.unmeasured"]


def test_figure_summary_and_check():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cnnkit.checks.kinds.figures import summarize_figure

    fig, axes = plt.subplots(2, 5)
    for i, ax in enumerate(axes.flat):
        ax.imshow(np.zeros((4, 4)))
        ax.set_title(f"class{i} ({i})")
    summary = summarize_figure(fig)
    assert summary["grid"] == [2, 5] and len(summary["axes"]) == 10
    s = spec("grid", "figure", axes=10, grid=[2, 5], images=True, title_pattern=r"\w+ \(\d\)")
    assert checks.run_check(s, summary, GraderSide()).passed
    axes[0, 0].set_title("airplane")
    assert codes(checks.run_check(s, summarize_figure(fig), GraderSide())) == ["figure.title_pattern"]
    plt.close(fig)
    assert codes(checks.run_check(s, {"axes": "forged"}, GraderSide())) == ["figure.not_figure"]


def test_layers_and_parameter_diagnoses(keras):
    model = small_cnn(keras)
    s = spec("p", "params", expected=int(model.count_params()), trainable=5,
             diagnoses=[{"trainable": int(model.count_params()), "es": "congela la base", "en": "freeze the base"}])
    outcome = checks.run_check(s, model, GraderSide())
    assert codes(outcome) == ["params.diagnosis"] and outcome.failures[0].render("en") == "freeze the base"
    has = spec("l", "contains_layers", layers=["Conv2D", "Random*"],
               hints={"Random*": {"es": "pon el aumento", "en": "add the augmentation"}})
    outcome = checks.run_check(has, model, GraderSide())
    assert codes(outcome) == ["layers.missing"] and "add the augmentation" in outcome.failures[0].render("en")
    dense = spec("d", "layer_attrs", type="Dense", attrs=["units", "activation"], expected=[[10, "softmax"]])
    assert checks.run_check(dense, model, GraderSide()).passed


# --------------------------------------------------------------------------- the in-kernel API

@pytest.fixture
def mini(tmp_path, monkeypatch):
    """A public manifest with one visible key, as a release folder holds it."""
    folder = tmp_path / "assignments" / "mini"
    folder.mkdir(parents=True)
    (folder / "assignment.toml").write_text('[assignment]\nid = "mini"\n[checks.answer]\nkind = "value"\n'
                                            'type = "int"\nexpected = 7\n')
    monkeypatch.setenv("CNNKIT_ASSIGNMENT_PATH", str(tmp_path / "assignments"))
    monkeypatch.delenv(artifacts.ARTIFACTS_ENV, raising=False)
    return tmp_path


def test_a_students_own_run_checks_public_keys_and_defers_hidden_ones(mini, capsys):
    checks.use_assignment("mini")
    assert checks.verify("answer", 7) is None          # None: nbgrader sees no partial credit
    with pytest.raises(AssertionError):
        checks.verify("answer", 8)
    checks.verify("secret_key", 123)                  # not in the public manifest: graded at submission
    assert "secret_key" in capsys.readouterr().out


def test_a_graded_kernel_only_exports_and_judges_nothing(mini, monkeypatch):
    art = mini / "art"
    kinds = mini / "kinds.json"
    kinds.write_text(json.dumps({"answer": "value", "hidden_model": "accuracy"}))
    monkeypatch.setenv(artifacts.ARTIFACTS_ENV, str(art))
    monkeypatch.setenv(checks.EXPORT_KINDS_ENV, str(kinds))
    checks.use_assignment("mini")
    assert checks.verify("answer", 8) is None          # wrong, but the kernel decides nothing
    assert json.loads((art / "answer.json").read_text()) == 8
    checks.verify("answer", 7, reported=0.5)
    assert json.loads((art / "answer.reported.json").read_text()) == 0.5
    with pytest.raises(AssertionError):                # still: only plain, exactly typed values travel
        checks.verify("answer", LyingEquals())


def test_keys_in_source_and_hidden_parts():
    from autograder.verify import keys_in_source, split_hidden

    source = "%matplotlib inline\n# test\nchecks.verify('b', x)\nverify(\"a\", y)\nother('c', z)\n"
    assert keys_in_source(source) == ["b", "a"]
    assert keys_in_source("checks.verify('k', x) (") == ["k"]   # syntax error: regex fallback
    visible, hidden = split_hidden("a\n### BEGIN HIDDEN TESTS\nb\n### END HIDDEN TESTS\nc")
    assert visible == "a\nc" and hidden == "b"


def test_every_course_manifest_parses_and_names_known_kinds_and_references():
    from autograder.manifest import assignment_ids, load_assignment
    from cnnkit.models import names

    ids = assignment_ids()
    assert len(ids) >= 6
    for assignment_id in ids:
        assignment = load_assignment(assignment_id)
        for key, check in assignment.manifest.checks.items():
            if "reference" in check.options:
                assert check.options["reference"] in names(), (assignment_id, key)


def test_every_registered_message_renders_in_both_languages_after_load_all():
    import autograder.report  # noqa: F401  (adds the grader's message modules)

    messages.load_all()
    for prefix in ("static.", "compat.", "accuracy.", "sandbox.", "ui."):
        assert any(code.startswith(prefix) for code in messages.codes()), prefix
    for code in messages.codes():
        for lang in messages.LANGUAGES:
            assert messages._CATALOGUE[code][lang].strip() or code == "sandbox.unknown", (code, lang)


def test_a_nested_message_renders_in_the_outer_language():
    text = messages.render("accuracy.low", "en", got=0.1, threshold=0.2,
                           where=messages.nested("accuracy.where_holdout", n=1000))
    assert "the grader's own 1000 images" in text


# --------------------------------------------------------------------------- the course's thresholds

def accuracy_specs():
    from autograder.manifest import assignment_ids, load_assignment

    for assignment_id in assignment_ids():
        assignment = load_assignment(assignment_id)
        for key, check in assignment.manifest.checks.items():
            if check.kind == "accuracy":
                yield assignment, key, check


def test_every_accuracy_threshold_sits_above_chance_in_both_profiles():
    """Above chance by 4 standard errors of a chance-level model on the grader's smoke holdout, and by 5
    points in full (where the holdout is half a test split of thousands of images)."""
    from autograder.verify import GraderData

    found = 0
    for assignment, key, check in accuracy_specs():
        for profile in ("smoke", "full"):
            classes = check.option("num_classes", profile) or assignment.manifest.classes(profile)
            assert classes, (assignment.id, key)
            chance, threshold = 1.0 / classes, float(check.option("threshold", profile))
            if profile == "smoke":
                _, y = GraderData(assignment.private_data, assignment.probes).holdout(check.option("dataset"), profile)
                margin = 4 * (chance * (1 - chance) / len(y)) ** 0.5
            else:
                margin = 0.05
            assert threshold >= chance + margin, (assignment.id, key, profile, threshold, chance)
            found += 1
    assert found >= 10


@pytest.fixture(scope="module")
def course_cifar10():
    from autograder.manifest import load_assignment
    from autograder.verify import GraderContext, GraderData

    assignment = load_assignment("cifar10_cnn")
    ctx = GraderContext("smoke", assignment.manifest, artifacts_dir=Path("/nonexistent"),
                        data=GraderData(assignment.private_data))
    return assignment, ctx


def test_models_that_learned_nothing_or_only_the_test_set_fail_the_course_thresholds(keras, course_cifar10):
    assignment, ctx = course_cifar10
    data = ctx.dataset("cifar10")
    keras.utils.set_random_seed(0)
    untrained = small_cnn(keras)
    constant = small_cnn(keras)
    w = constant.layers[-1].get_weights()
    constant.layers[-1].set_weights([np.zeros_like(w[0]), np.eye(10)[3] * 10])
    on_test = small_cnn(keras)
    on_test.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    on_test.fit(data.x_test.astype("float32") / 255, data.y_test, epochs=40, batch_size=32, verbose=0)
    for key in ("acc_3x3", "acc_5x5", "acc_best"):
        s = assignment.manifest.checks[key]
        for name, model in (("untrained", untrained), ("constant", constant), ("trained on x_test", on_test)):
            outcome = checks.run_check(s, model, ctx)
            assert not outcome.passed, (key, name, outcome.details)
    flagged = checks.run_check(assignment.manifest.checks["acc_3x3"], on_test, ctx)
    assert "accuracy.test_overfit" in codes(flagged), flagged.details


def test_a_model_fitted_to_the_public_test_images_is_told_from_sampling_noise():
    from cnnkit.checks.kinds.predictions import fitted_to_public

    # benchmarks/calibrate.py's full-profile control (cifar10_cnn, seed 1): the Keras-example CNN
    # trained on the 5,000 public test images only — 0.506 on them, 0.447 on the grader's 5,000.
    assert fitted_to_public(0.5058, 0.4466, 5000, 5000, 0.03)
    assert fitted_to_public(0.503, 0.4422, 5000, 5000, 0.03)
    # the smoke control memorised its 200 public images (0.91) and reached 0.286 on the 1,000 holdout
    assert fitted_to_public(0.91, 0.286, 200, 1000, 0.03)
    # honest models: a gap within sampling error of two i.i.d. halves is not a finding
    assert not fitted_to_public(0.515, 0.50, 5000, 5000, 0.03)        # 1.5 standard errors
    assert not fitted_to_public(0.33, 0.27, 200, 1000, 0.03)         # smoke, 1.7 standard errors
    assert not fitted_to_public(0.40, 0.45, 5000, 5000, 0.03)        # better on the holdout
