"""cnnkit.evaluate: every metric equals scikit-learn's; predictions of small fixed models."""
import numpy as np
import pytest
from sklearn import metrics as skm

from cnnkit import evaluate as ev

NAMES = ["airplane", "automobile", "bird", "cat"]


@pytest.fixture
def labels():
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 4, size=200)
    # A noisy classifier: right 60 % of the time, with cats often called birds.
    y_pred = np.where(rng.random(200) < 0.6, y_true, rng.integers(0, 4, size=200))
    y_pred[(y_true == 3) & (rng.random(200) < 0.5)] = 2
    return y_true, y_pred


def one_hot(y, k=4):
    return np.eye(k)[y]


def test_as_labels_accepts_every_label_layout():
    y = np.array([2, 0, 1])
    for layout in (y, y[:, None], one_hot(y, 3), one_hot(y, 3) * 0.8 + 0.05, y.astype(float)):
        out = ev.as_labels(layout)
        assert out.dtype == np.int64 and out.shape == (3,)
        np.testing.assert_array_equal(out, y)
    with pytest.raises(ValueError):
        ev.as_labels(np.array([0.5, 1.0]))


def test_accuracy_equals_sklearn_for_labels_one_hot_and_probabilities(labels):
    y_true, y_pred = labels
    expected = skm.accuracy_score(y_true, y_pred)
    assert 0.3 < expected < 0.9  # the fixture is neither trivial nor hopeless
    assert ev.accuracy(y_true, y_pred) == expected
    assert ev.accuracy(y_true[:, None], one_hot(y_pred)) == expected
    probs = one_hot(y_pred) * 0.7 + 0.075
    assert ev.accuracy(one_hot(y_true), probs) == expected
    assert ev.calcularAccuracy(y_true, y_pred) == expected
    with pytest.raises(ValueError):
        ev.accuracy(y_true, y_pred[:-1])


def test_confusion_matrix_equals_sklearn_and_keeps_absent_classes(labels):
    y_true, y_pred = labels
    cm = ev.confusion_matrix(y_true, y_pred)
    np.testing.assert_array_equal(cm, skm.confusion_matrix(y_true, y_pred))
    assert cm.sum() == len(y_true)
    wide = ev.confusion_matrix(y_true, y_pred, num_classes=6)
    assert wide.shape == (6, 6) and wide[4:].sum() == 0 and wide[:, 4:].sum() == 0
    np.testing.assert_array_equal(wide[:4, :4], cm)


def test_classification_report_equals_sklearn_as_text_and_dict(labels):
    y_true, y_pred = labels
    text = ev.classification_report(y_true, y_pred, NAMES)
    assert text == skm.classification_report(y_true, y_pred, target_names=NAMES, digits=3,
                                             zero_division=0)
    assert all(name in text for name in NAMES)
    as_dict = ev.classification_report(y_true, y_pred, NAMES, output_dict=True)
    assert as_dict == skm.classification_report(y_true, y_pred, target_names=NAMES,
                                                output_dict=True, zero_division=0)
    assert as_dict["cat"]["recall"] == pytest.approx(
        skm.recall_score(y_true, y_pred, average=None)[3])


def test_report_of_a_never_predicted_class_does_not_warn():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = ev.classification_report([0, 1, 2, 2], [0, 1, 1, 1], ["a", "b", "c"],
                                          output_dict=True)
    assert report["c"]["precision"] == 0


def test_per_class_accuracy_is_sklearn_recall_and_nan_for_empty_classes(labels):
    y_true, y_pred = labels
    per_class = ev.per_class_accuracy(y_true, y_pred)
    np.testing.assert_array_equal(per_class, skm.recall_score(y_true, y_pred, average=None))
    with_empty = ev.per_class_accuracy(y_true, y_pred, num_classes=5)
    assert np.isnan(with_empty[4]) and np.allclose(with_empty[:4], per_class)


def test_best_and_worst_class(labels):
    y_true, y_pred = labels
    recall = skm.recall_score(y_true, y_pred, average=None)
    best, worst = ev.best_and_worst_class(y_true, y_pred, NAMES)
    assert best.index == int(np.argmax(recall)) and best.name == NAMES[best.index]
    assert worst.index == int(np.argmin(recall)) == 3  # the fixture's cats
    assert best.accuracy == pytest.approx(recall.max())
    assert worst.accuracy == pytest.approx(recall.min())


def test_confused_pairs_print_in_spanish(spanish):
    (pair,) = ev.most_confused_pairs(np.array([[3, 1], [0, 4]]), ["gato", "perro"])
    assert str(pair) == "gato → perro: 1 (25.0% de gato)"


def test_most_confused_pairs_sorted_by_count_without_zero_cells(english):
    cm = np.array([[50, 3, 0],
                   [7, 40, 7],
                   [0, 12, 30]])
    pairs = ev.most_confused_pairs(cm, ["a", "b", "c"], k=10)
    assert [(p.true_index, p.predicted_index, p.count) for p in pairs] == \
        [(2, 1, 12), (1, 0, 7), (1, 2, 7), (0, 1, 3)]
    assert pairs[0].true_name == "c" and pairs[0].predicted_name == "b"
    assert pairs[0].rate == pytest.approx(12 / 42)
    assert str(pairs[0]) == "c → b: 12 (28.6% of c)"
    assert len(ev.most_confused_pairs(cm, k=2)) == 2
    assert ev.most_confused_pairs(np.diag([5, 5])) == []
    with pytest.raises(ValueError):
        ev.most_confused_pairs(np.zeros((2, 3)))


def test_as_probabilities_softmaxes_only_non_distributions():
    dist = np.array([0.1, 0.7, 0.2])
    logits = np.array([2.0, -1.0, 0.5])
    sigmoids = np.array([0.99, 0.77, 0.99])  # seed 003: sigmoid outputs, not a distribution
    out = ev.as_probabilities(np.stack([dist, logits, sigmoids]))
    np.testing.assert_allclose(out[0], dist)
    softmax = np.exp(logits) / np.exp(logits).sum()
    np.testing.assert_allclose(out[1], softmax)
    np.testing.assert_allclose(out[2], np.exp(sigmoids) / np.exp(sigmoids).sum())
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    assert ev.as_probabilities(dist).shape == (3,)


def _channel_mean_model(activation):
    """Scores = mean of each channel (then `activation`): the class is the brightest channel."""
    import keras

    inputs = keras.Input((4, 4, 3))
    scores = keras.layers.GlobalAveragePooling2D()(inputs)
    if activation is not None:
        scores = keras.layers.Activation(activation)(scores)
    return keras.Model(inputs, scores)


def _images_of(classes, brightness=1.0):
    x = np.full((len(classes), 4, 4, 3), 0.1, dtype="float32")
    for i, c in enumerate(classes):
        x[i, :, :, c] = brightness
    return x


def test_predictions_and_predict_one_with_softmax_and_logit_outputs():
    x = _images_of([0, 2, 1, 2])
    for activation in ("softmax", None):
        model = _channel_mean_model(activation)
        np.testing.assert_array_equal(ev.predictions(model, x), [0, 2, 1, 2])
        name, prob = ev.predict_one(model, x[1], ["r", "g", "b"])
        raw = np.array([0.1, 0.1, 1.0])
        expected = np.exp(raw[2]) / np.exp(raw).sum()  # softmax applied exactly once
        assert name == "b" and prob == pytest.approx(expected, rel=1e-5)
    assert ev.predict_one(_channel_mean_model("softmax"), x[:1])[0] == "0"
    with pytest.raises(ValueError):
        ev.predict_one(_channel_mean_model("softmax"), x)


def test_predict_one_keeps_a_distribution_as_is():
    # Outputs already summing to one (0.8, 0.1, 0.1) must not be softmaxed again.
    x = np.zeros((1, 4, 4, 3), dtype="float32")
    x[..., 0], x[..., 1], x[..., 2] = 0.8, 0.1, 0.1
    name, prob = ev.predict_one(_channel_mean_model(None), x[0], ["r", "g", "b"])
    assert name == "r" and prob == pytest.approx(0.8, rel=1e-5)


def test_binary_sigmoid_predictions_threshold_at_half():
    import keras

    inputs = keras.Input((4, 4, 3))
    mean = keras.layers.GlobalAveragePooling2D()(inputs)
    out = keras.layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros")(mean)
    model = keras.Model(inputs, out)
    x = np.stack([np.full((4, 4, 3), v, dtype="float32") for v in (0.05, 0.4)])
    np.testing.assert_array_equal(ev.predictions(model, x), [0, 1])


def test_evaluate_model_bundles_sklearn_metrics(english):
    rng = np.random.default_rng(0)
    y_test = rng.integers(0, 3, size=60)
    # Brightness of the true channel varies: dim images are misread as class 0
    # because channel 0 gets a constant 0.5.
    x = _images_of(y_test, brightness=1.0)
    dim = rng.random(60) < 0.3
    x[dim] = _images_of(y_test[dim], brightness=0.3)
    x[..., 0] = np.maximum(x[..., 0], 0.5)
    model = _channel_mean_model("softmax")
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    y_pred = np.argmax(x.mean(axis=(1, 2)), axis=1)
    names = ["red", "green", "blue"]

    report = ev.evaluate_model(model, x, y_test[:, None], names, keras_evaluate=True)
    assert 0.5 < report.accuracy < 1.0
    assert report.accuracy == skm.accuracy_score(y_test, y_pred)
    np.testing.assert_array_equal(report.y_pred, y_pred)
    np.testing.assert_array_equal(report.confusion_matrix, skm.confusion_matrix(y_test, y_pred))
    assert report.report == skm.classification_report(y_test, y_pred, target_names=names,
                                                      output_dict=True, zero_division=0)
    np.testing.assert_allclose(report.per_class_accuracy,
                               skm.recall_score(y_test, y_pred, average=None))
    assert report.best.name == "red"  # dim images fall into red, so red is always right
    assert report.most_confused and all(p.predicted_name == "red" for p in report.most_confused)
    assert report.keras_metrics["keras_accuracy"] == pytest.approx(report.accuracy, abs=1e-6)
    text = str(report)
    assert text.startswith(f"accuracy: {report.accuracy:.4f} on 60 images")
    assert "worst class" in text and "green" in text and "most confused:" in text
    # Spanish (the notebooks' language): cnnkit's lines are Spanish, sklearn's report keeps its own columns.
    spanish = report.summary("es")
    assert spanish.startswith(f"exactitud: {report.accuracy:.4f} en 60 imágenes")
    assert "\nmejor clase: red (" in spanish and "\npeor clase:" in spanish
    assert "confusiones más frecuentes:" in spanish and " de " in spanish.splitlines()[-1]
    assert report.report_text in spanish and "precision" in spanish      # sklearn's columns, untouched
    ours = "\n".join(line for line in spanish.replace(report.report_text, "").splitlines()
                     if not line.startswith("keras_"))            # Keras' metrics keep their Keras names
    for english_word in ("accuracy", "best class", "worst class", "most confused", " of ", " on "):
        assert english_word not in ours, english_word
