"""autograder.checks, artifacts, archdiff and verify: in-process, no kernel."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from autograder import artifacts, checks, messages
from autograder.archdiff import compare, operations
from autograder.artifacts import ArtifactError
from autograder.specs import Spec, load_assignment
from autograder.verify import keys_in_source, verify_key


@pytest.fixture(scope="module")
def keras():
    from cnnkit._runtime import import_keras

    return import_keras()


def small_cnn(keras, *, units=10, activation="softmax", separate_activation=False, extra_dense=False):
    layers = keras.layers
    body = [keras.Input((32, 32, 3))]
    if separate_activation:
        body += [layers.Conv2D(8, 3, padding="same"), layers.Activation("relu")]
    else:
        body += [layers.Conv2D(8, 3, padding="same", activation="relu")]
    body += [layers.MaxPooling2D(), layers.Flatten()]
    if extra_dense:
        body += [layers.Dense(16, activation="relu")]
    body += [layers.Dense(units, activation=activation)]
    return keras.Sequential(body)


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


def test_export_and_load_round_trip(tmp_path, keras):
    model = small_cnn(keras)
    for obj, fmt in [({"x": 1}, "json"), ({"cm": np.eye(3, dtype=int)}, "arrays"), (model, "config"), (model, "model")]:
        artifacts.export(obj, "k", fmt, tmp_path)
        back = artifacts.load("k", fmt, tmp_path)
        if fmt in ("config", "model"):
            assert back.count_params() == model.count_params()
        elif fmt == "arrays":
            np.testing.assert_array_equal(back["cm"], np.eye(3, dtype=int))
        else:
            assert back == {"x": 1}


def test_missing_artifact_is_a_student_facing_error(tmp_path):
    with pytest.raises(ArtifactError) as err:
        artifacts.load("nothing", "json", tmp_path)
    assert "nothing" in messages.render(err.value.code, "en", **err.value.params)


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
    text = diff.render("en")
    assert "layer 4 (Dense) has 20 units; the dataset has 10 classes" in text
    assert "10 classes" in diff.render("en")
    assert "tiene 20 unidades; el conjunto de datos tiene 10 clases" in diff.render("es")
    assert not diff.matches


def test_missing_layer_is_reported_once_not_as_a_cascade(keras):
    diff = compare(small_cnn(keras), small_cnn(keras, extra_dense=True))
    codes = [m.code for m in diff.differences]
    assert codes.count("arch.missing") == 1
    assert "arch.type" not in codes
    assert "Dense(16, relu) is missing after layer 3" in diff.render("en")


def test_activation_difference(keras):
    diff = compare(small_cnn(keras, activation="sigmoid"), small_cnn(keras))
    assert [m.code for m in diff.differences] == ["arch.activation"]


def test_reference_builder_matches_itself_and_the_other_kernel_size_does_not(keras):
    from cnnkit.models import build

    assert compare(build("keras_cifar10_cnn", kernel_size=3), build("keras_cifar10_cnn", kernel_size=3)).matches
    diff = compare(build("keras_cifar10_cnn", kernel_size=5), build("keras_cifar10_cnn", kernel_size=3))
    codes = {m.code for m in diff.differences}
    assert "arch.kernel_size" in codes and "arch.params_total" in codes


# --------------------------------------------------------------------------- check kinds

def ctx(num_classes=None, **extras):
    from autograder.specs import AssignmentSpec

    assignment = AssignmentSpec("t", Path("t.toml"), num_classes, {}, {}, {})
    return checks.Context(profile="smoke", assignment=assignment, extras=extras)


def test_value_check_is_exact_about_types():
    spec = Spec("n", "value", {"type": "int", "expected": 896})
    assert checks.run_check(spec, 896, ctx()).passed
    assert not checks.run_check(spec, 896.0, ctx()).passed
    assert not checks.run_check(spec, True, ctx()).passed
    assert not checks.run_check(spec, 895, ctx()).passed


def test_value_check_ranges_and_profile_tables():
    spec = Spec("t", "value", {"type": "float", "min": 0.0, "max": 1.0})
    assert checks.run_check(spec, 0.5, ctx()).passed
    assert [m.code for m in checks.run_check(spec, 1.5, ctx()).failures] == ["value.range"]
    spec = Spec("n", "value", {"type": "int", "expected": {"smoke": 1200, "full": 60000}})
    assert checks.run_check(spec, 1200, ctx()).passed          # ctx() is the smoke profile
    assert not checks.run_check(spec, 60000, ctx()).passed


def test_value_check_expected_from_a_formula():
    spec = Spec("n", "value", {"type": "int", "expected_from": "cnnkit.params:conv2d_params", "args": [32, 5, 3]})
    assert checks.run_check(spec, 32 * 25 * 3 + 32, ctx()).passed


def test_accuracy_check_detects_a_reported_number_that_is_not_true(keras):
    model = small_cnn(keras, units=3)
    x = np.zeros((30, 32, 32, 3), dtype="float32")
    y = np.full(30, 2)   # an untrained model will rarely say "2" for all
    spec = Spec("acc", "accuracy", {"threshold": 0.0})
    predicted = model.predict(x, verbose=0).argmax(1)
    truth = float((predicted == y).mean())
    outcome = checks.run_check(spec, model, ctx(x=x, y=y, reported=0.99))
    assert outcome.details["accuracy"] == pytest.approx(truth)
    assert ("accuracy.reported_mismatch" in {m.code for m in outcome.failures}) == (abs(truth - 0.99) > 0.05)


def test_accuracy_check_refuses_wrong_number_of_outputs(keras):
    spec = Spec("acc", "accuracy", {"threshold": 0.1})
    outcome = checks.run_check(spec, small_cnn(keras, units=20), ctx(num_classes=10, x=np.zeros((2, 32, 32, 3)),
                                                                      y=np.zeros(2)))
    assert [m.code for m in outcome.failures] == ["classifier.units"]


def test_figure_summary_and_check():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 5)
    for i, ax in enumerate(axes.flat):
        ax.imshow(np.zeros((4, 4)))
        ax.set_title(f"class{i} ({i})")
    summary = checks.summarize_figure(fig)
    assert summary["grid"] == [2, 5] and len(summary["axes"]) == 10
    spec = Spec("grid", "figure", {"axes": 10, "grid": [2, 5], "images": True, "title_pattern": r"\w+ \(\d\)"})
    assert checks.run_check(spec, summary, ctx()).passed
    axes[0, 0].set_title("airplane")
    outcome = checks.run_check(spec, checks.summarize_figure(fig), ctx())
    assert [m.code for m in outcome.failures] == ["figure.title_pattern"]
    plt.close(fig)


def test_confusion_matrix_must_match_its_predictions():
    from sklearn.metrics import confusion_matrix

    y_true, y_pred = np.array([0, 1, 2, 2, 1]), np.array([0, 2, 2, 2, 1])
    cm = confusion_matrix(y_true, y_pred)
    spec = Spec("cm", "confusion_matrix", {"num_classes": 3})
    assert checks.run_check(spec, {"cm": cm, "y_true": y_true, "y_pred": y_pred}, ctx()).passed
    outcome = checks.run_check(spec, {"cm": cm.T, "y_true": y_true, "y_pred": y_pred}, ctx())
    assert [m.code for m in outcome.failures] == ["cm.inconsistent"]


def test_history_check_wants_validation_curves():
    spec = Spec("h", "history", {"keys": ["loss", "val_loss"], "min_epochs": {"smoke": 2, "full": 10}})
    assert checks.run_check(spec, {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}, ctx()).passed
    outcome = checks.run_check(spec, {"loss": [1.0]}, ctx())
    assert {m.code for m in outcome.failures} == {"history.keys", "history.epochs"}


def test_assert_helpers_raise_assertion_errors_with_messages(keras):
    model = small_cnn(keras)
    checks.assert_output_shape(model, (None, 10))
    with pytest.raises(AssertionError, match=r"\(None, 10\); expected \(None, 3\)"):
        checks.assert_output_shape(model, (None, 3), lang="en")
    with pytest.raises(AssertionError, match="is 3; expected 4"):
        checks.assert_exact(3, 4, key="answer", lang="en")
    with pytest.raises(AssertionError):
        checks.assert_exact(LyingEquals(), 4)


def test_verify_returns_none_so_nbgrader_sees_no_partial_credit(tmp_path, monkeypatch):
    spec_dir = tmp_path / "specs"
    spec_dir.mkdir()
    (spec_dir / "mini.toml").write_text('[assignment]\nid = "mini"\n[checks.answer]\nkind = "value"\n'
                                        'type = "int"\nexpected = 7\n')
    monkeypatch.setenv("CNNKIT_SPECS_PATH", str(spec_dir))
    monkeypatch.setenv(artifacts.ARTIFACTS_ENV, str(tmp_path / "art"))
    checks.use_assignment("mini")
    assert checks.verify("answer", 7) is None
    assert json.loads((tmp_path / "art" / "answer.json").read_text()) == 7
    with pytest.raises(AssertionError):
        checks.verify("answer", 8)
    # the grader re-checks the file; a forged file is judged on its content
    (tmp_path / "art" / "answer.json").write_text("8")
    assert not verify_key("answer", load_assignment("mini"), tmp_path / "art", "smoke").passed
    assert verify_key("missing", load_assignment("mini"), tmp_path / "art", "smoke").failures[0].code == \
        "verify.unknown_key"


def test_keys_in_source_reads_verify_calls_in_order():
    source = "%matplotlib inline\n# test\nchecks.verify('b', x)\nverify(\"a\", y)\nother('c', z)\n"
    assert keys_in_source(source) == ["b", "a"]
    assert keys_in_source("checks.verify('k', x) (") == ["k"]   # syntax error: regex fallback


def test_every_course_spec_parses_and_names_known_kinds_and_references():
    from autograder.specs import available_assignments
    from cnnkit.models import names

    for assignment_id in available_assignments():
        spec = load_assignment(assignment_id)
        for key, check in spec.specs.items():
            assert check.kind in checks.KINDS, (assignment_id, key)
            if "reference" in check.options:
                assert check.options["reference"] in names(), (assignment_id, key)


def test_every_registered_message_renders_in_both_languages_after_load_all():
    messages.load_all()
    assert any(code.startswith("static.") for code in messages.codes())
    assert any(code.startswith("compat.") for code in messages.codes())
    for code in messages.codes():
        for lang in messages.LANGUAGES:
            assert messages._CATALOGUE[code][lang].strip(), (code, lang)


def test_stored_static_findings_render_as_sentences_in_feedback():
    from autograder import report

    result = {"findings": [{"code": "static.optimizer_lr", "severity": "warning", "cell_index": 3, "line": 2,
                            "params": {"optimizer": "SGD", "value": "0.01"}}], "keras2": []}
    [hint] = report.hints(result, "en")
    assert "learning_rate=0.01" in hint["text"] and "static.optimizer_lr" not in hint["text"]
