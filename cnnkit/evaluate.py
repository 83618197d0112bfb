"""Evaluation: accuracy, confusion matrix, per-class scores, single-image predictions.

Every metric is computed by scikit-learn (or equals its result exactly), so a
student's ``sklearn.metrics`` call and the autograder's reference agree::

    from cnnkit.evaluate import evaluate_model

    report = evaluate_model(model, x_test, y_test, class_names)
    print(report)                       # accuracy, classification report, best/worst class
    report.confusion_matrix             # (k, k) int64, rows = true class
    report.most_confused[:3]            # the pairs the model mixes up most

Labels may be given in any of the shapes Keras code produces: ``(n,)``,
``(n, 1)`` (``keras.datasets`` loaders), one-hot or probability rows ``(n, k)``.

What ``print(report)`` shows is in the notebook's language
(:func:`cnnkit.messages.current_lang`), except scikit-learn's classification
report, whose columns (precision, recall, f1-score, support) are sklearn's own.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Sequence

import numpy as np

from . import messages

__all__ = [
    "as_labels", "accuracy", "calcularAccuracy", "predictions", "as_probabilities",
    "confusion_matrix", "classification_report", "per_class_accuracy",
    "ClassScore", "best_and_worst_class", "ConfusedPair", "most_confused_pairs",
    "predict_one", "EvaluationReport", "evaluate_model",
]


# "exactitud" is accuracy throughout cnnkit: "precisión" would read as the
# report's precision column.
messages.register({
    "evaluate.accuracy": {"es": "exactitud: {accuracy:.4f} en {n} imágenes",
                          "en": "accuracy: {accuracy:.4f} on {n} images"},
    "evaluate.best": {"es": "mejor clase: {name} ({accuracy:.1%})", "en": "best class:  {name} ({accuracy:.1%})"},
    "evaluate.worst": {"es": "peor clase:  {name} ({accuracy:.1%})", "en": "worst class: {name} ({accuracy:.1%})"},
    "evaluate.most_confused": {"es": "confusiones más frecuentes:", "en": "most confused:"},
    "evaluate.none": {"es": "(ninguna)", "en": "(none)"},
    "evaluate.pair": {"es": "{true} → {predicted}: {count} ({rate:.1%} de {true})",
                      "en": "{true} → {predicted}: {count} ({rate:.1%} of {true})"},
})


def as_labels(y) -> np.ndarray:
    """Integer class labels from labels, one-hot rows or probability rows.

    Parameters
    ----------
    y : array-like of shape (n,), (n, 1) or (n, k) with k > 1
        ``(n,)`` and ``(n, 1)`` are labels; ``(n, k)`` rows (one-hot,
        probabilities or logits) become their ``argmax``.

    Returns
    -------
    ndarray of shape (n,), dtype int64
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    elif y.ndim == 2:
        return np.argmax(y, axis=1).astype(np.int64)
    if y.ndim != 1:
        raise ValueError(f"labels must have shape (n,), (n, 1) or (n, k); got {y.shape}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        if not np.all(np.equal(np.mod(y, 1), 0)):
            raise ValueError("1-D labels must be whole numbers; pass probability rows "
                             "as a 2-D (n, k) array")
    return y.astype(np.int64)


def accuracy(y_true, y_pred) -> float:
    """Fraction of correct predictions (the seeds' ``calcularAccuracy``).

    Parameters
    ----------
    y_true, y_pred : labels (n,) / (n, 1), or one-hot / probability rows (n, k)

    Returns
    -------
    float in [0, 1]
        ``sklearn.metrics.accuracy_score`` of the labels.
    """
    from sklearn.metrics import accuracy_score

    y_true, y_pred = as_labels(y_true), as_labels(y_pred)
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    return float(accuracy_score(y_true, y_pred))


def calcularAccuracy(labels, preds) -> float:  # noqa: N802 - the seeds' name
    """Spanish alias of :func:`accuracy` (``calcularAccuracy(labels, preds)`` in seed 002)."""
    return accuracy(labels, preds)


def predictions(model, x, batch_size: int = 256) -> np.ndarray:
    """Predicted class labels of ``model`` for images ``x``.

    Parameters
    ----------
    model : keras.Model
        Outputs ``(n, k)`` class scores (probabilities or logits: the argmax is
        the same), or ``(n, 1)`` for a binary sigmoid model (threshold 0.5).
    x : ndarray of shape (n, h, w, c)
    batch_size : int

    Returns
    -------
    ndarray of shape (n,), dtype int64
    """
    scores = np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    if scores.ndim == 2 and scores.shape[1] == 1:
        return (scores[:, 0] > 0.5).astype(np.int64)
    return np.argmax(scores.reshape(len(scores), -1), axis=1).astype(np.int64)


def _is_distribution(rows: np.ndarray, atol: float = 1e-3) -> np.ndarray:
    return np.all((rows >= -atol) & (rows <= 1 + atol), axis=-1) & \
        np.isclose(rows.sum(axis=-1), 1.0, atol=atol)


def as_probabilities(outputs) -> np.ndarray:
    """Model outputs as probability rows.

    Rows that already are a probability distribution (entries in [0, 1]
    summing to 1, e.g. a softmax output) are returned unchanged; any other row
    is treated as logits and passed through softmax. A sigmoid output trained
    with ``from_logits=True`` (seed 003) is therefore softmaxed, exactly as the
    training loss treated it.

    Parameters
    ----------
    outputs : array-like of shape (k,) or (n, k)

    Returns
    -------
    ndarray of the same shape, float64, rows summing to 1
    """
    out = np.asarray(outputs, dtype="float64")
    rows = np.atleast_2d(out)
    done = _is_distribution(rows)
    shifted = rows - rows.max(axis=-1, keepdims=True)
    soft = np.exp(shifted)
    soft /= soft.sum(axis=-1, keepdims=True)
    probs = np.where(done[:, None], rows, soft)
    return probs.reshape(out.shape)


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """Confusion matrix by ``sklearn.metrics.confusion_matrix``.

    Parameters
    ----------
    y_true, y_pred : labels or probability rows (see :func:`as_labels`)
    num_classes : int, optional
        Rows/columns for labels ``0..num_classes-1`` even when a class never
        occurs; default ``max(label) + 1``.

    Returns
    -------
    ndarray of shape (k, k), dtype int64
        ``cm[i, j]``: images of true class ``i`` predicted as ``j``.
    """
    from sklearn.metrics import confusion_matrix as sk_confusion_matrix

    y_true, y_pred = as_labels(y_true), as_labels(y_pred)
    k = num_classes if num_classes is not None else int(max(y_true.max(initial=-1),
                                                            y_pred.max(initial=-1)) + 1)
    return sk_confusion_matrix(y_true, y_pred, labels=np.arange(k)).astype(np.int64)


def classification_report(y_true, y_pred, class_names: Sequence[str] | None = None, *,
                          output_dict: bool = False, digits: int = 3):
    """``sklearn.metrics.classification_report`` with class names as ``target_names``.

    ``zero_division=0`` is set so a class that is never predicted scores 0
    instead of emitting a warning (in a graded notebook a warning on stderr
    would fail the cell).

    Returns
    -------
    str, or dict when ``output_dict=True`` (sklearn's format).
    """
    from sklearn.metrics import classification_report as sk_report

    y_true, y_pred = as_labels(y_true), as_labels(y_pred)
    labels = np.arange(len(class_names)) if class_names is not None else None
    return sk_report(y_true, y_pred, labels=labels,
                     target_names=list(class_names) if class_names is not None else None,
                     output_dict=output_dict, digits=digits, zero_division=0)


def per_class_accuracy(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """Accuracy within each true class (= per-class recall).

    Returns
    -------
    ndarray of shape (k,), float64
        ``cm[i, i] / cm[i].sum()``; ``nan`` for a class with no images.
        Equals ``sklearn.metrics.recall_score(average=None)`` where defined.
    """
    cm = confusion_matrix(y_true, y_pred, num_classes)
    support = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(cm) / np.maximum(support, 1), np.nan)


class ClassScore(NamedTuple):
    """One class and its accuracy."""

    index: int
    name: str
    accuracy: float


def _name(class_names, index: int) -> str:
    return str(class_names[index]) if class_names is not None else str(index)


def best_and_worst_class(y_true, y_pred, class_names: Sequence[str] | None = None
                         ) -> tuple[ClassScore, ClassScore]:
    """The classes with the highest and lowest per-class accuracy.

    Classes with no images are ignored; ties go to the smaller label.

    Returns
    -------
    (best, worst) : ClassScore, ClassScore
    """
    k = len(class_names) if class_names is not None else None
    scores = per_class_accuracy(y_true, y_pred, k)
    if np.all(np.isnan(scores)):
        raise ValueError("no class has any images")
    best, worst = int(np.nanargmax(scores)), int(np.nanargmin(scores))
    return (ClassScore(best, _name(class_names, best), float(scores[best])),
            ClassScore(worst, _name(class_names, worst), float(scores[worst])))


class ConfusedPair(NamedTuple):
    """Images of class ``true`` predicted as class ``predicted``."""

    true_index: int
    true_name: str
    predicted_index: int
    predicted_name: str
    count: int
    rate: float  # count / images of the true class

    def __str__(self) -> str:
        return messages.render("evaluate.pair", true=self.true_name, predicted=self.predicted_name,
                               count=self.count, rate=self.rate)


def most_confused_pairs(cm, class_names: Sequence[str] | None = None, k: int = 5
                        ) -> list[ConfusedPair]:
    """The ``k`` largest off-diagonal cells of a confusion matrix.

    Parameters
    ----------
    cm : ndarray of shape (n, n)
        Rows are true classes (as :func:`confusion_matrix` returns).
    class_names : sequence of str, optional
    k : int

    Returns
    -------
    list of ConfusedPair
        Sorted by count, largest first (ties: smaller true, then predicted
        label); cells with count 0 are left out, so the list may be shorter.
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion matrix must be square, got shape {cm.shape}")
    support = cm.sum(axis=1)
    cells = [(int(cm[i, j]), i, j) for i in range(len(cm)) for j in range(len(cm))
             if i != j and cm[i, j] > 0]
    cells.sort(key=lambda c: (-c[0], c[1], c[2]))
    return [ConfusedPair(i, _name(class_names, i), j, _name(class_names, j), count,
                         count / support[i])
            for count, i, j in cells[:k]]


def predict_one(model, image, class_names: Sequence[str] | None = None) -> tuple[str, float]:
    """Class and probability of one image (seed 003's last cell).

    Parameters
    ----------
    model : keras.Model
    image : ndarray of shape (h, w, c) or (1, h, w, c)
        Preprocessed the way the model was trained (e.g. divided by 255).
    class_names : sequence of str, optional
        Default: the label as a string.

    Returns
    -------
    (class_name, probability) : (str, float in [0, 1])
        Softmax is applied only when the output is not already a probability
        distribution (see :func:`as_probabilities`).
    """
    image = np.asarray(image)
    batch = image[None] if image.ndim == 3 else image
    if batch.shape[0] != 1:
        raise ValueError(f"predict_one takes one image, got a batch of {batch.shape[0]}")
    probs = as_probabilities(np.asarray(model.predict(batch, verbose=0)).reshape(1, -1))[0]
    label = int(np.argmax(probs))
    return _name(class_names, label), float(probs[label])


@dataclass
class EvaluationReport:
    """Everything :func:`evaluate_model` measured on one test set."""

    accuracy: float
    y_true: np.ndarray
    y_pred: np.ndarray
    class_names: list[str]
    confusion_matrix: np.ndarray
    report_text: str
    report: dict
    per_class_accuracy: np.ndarray
    best: ClassScore
    worst: ClassScore
    most_confused: list[ConfusedPair]
    keras_metrics: dict[str, float] = field(default_factory=dict)

    def summary(self, lang: str | None = None) -> str:
        """The report as text, in ``lang`` (default :func:`cnnkit.messages.current_lang`).

        Accuracy, Keras' own metrics (under their Keras names), scikit-learn's
        classification report, the best and worst class, the most confused pairs.
        """
        lang = messages.current_lang(lang)
        lines = [messages.render("evaluate.accuracy", lang, accuracy=self.accuracy, n=len(self.y_true))]
        lines += [f"{name}: {value:.4f}" for name, value in self.keras_metrics.items()]
        lines += ["", self.report_text,
                  messages.render("evaluate.best", lang, name=self.best.name, accuracy=self.best.accuracy),
                  messages.render("evaluate.worst", lang, name=self.worst.name, accuracy=self.worst.accuracy),
                  messages.render("evaluate.most_confused", lang)]
        pairs = [messages.render("evaluate.pair", lang, true=p.true_name, predicted=p.predicted_name,
                                 count=p.count, rate=p.rate) for p in self.most_confused]
        lines += [f"  {pair}" for pair in pairs] or ["  " + messages.render("evaluate.none", lang)]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()



def evaluate_model(model, x_test, y_test, class_names: Sequence[str] | None = None, *,
                   batch_size: int = 256, top_confused: int = 5,
                   keras_evaluate: bool = False) -> EvaluationReport:
    """Predict ``x_test`` once and compute every metric the seeds report.

    Parameters
    ----------
    model : keras.Model
    x_test : ndarray of shape (n, h, w, c)
    y_test : labels (n,) / (n, 1) or one-hot (n, k)
    class_names : sequence of str, optional
        Default: ``"0".."k-1"`` for the model's ``k`` outputs.
    batch_size : int
    top_confused : int
        How many confused pairs to keep.
    keras_evaluate : bool
        Also run ``model.evaluate`` (compiled models only) and keep its
        metrics in ``keras_metrics`` (seed 000, 2d, asks for it).

    Returns
    -------
    EvaluationReport
    """
    scores = np.asarray(model.predict(x_test, batch_size=batch_size, verbose=0))
    y_true = as_labels(y_test)
    y_pred = (scores[:, 0] > 0.5).astype(np.int64) if scores.shape[-1] == 1 \
        else np.argmax(scores, axis=-1).astype(np.int64)
    k = max(2, scores.shape[-1])
    names = [str(c) for c in class_names] if class_names is not None else [str(i) for i in range(k)]
    cm = confusion_matrix(y_true, y_pred, len(names))
    best, worst = best_and_worst_class(y_true, y_pred, names)
    keras_metrics: dict[str, float] = {}
    if keras_evaluate:
        if not getattr(model, "compiled", False):
            raise ValueError("keras_evaluate=True needs a compiled model")
        results = model.evaluate(x_test, np.asarray(y_test), batch_size=batch_size,
                                 verbose=0, return_dict=True)
        keras_metrics = {f"keras_{name}": float(value) for name, value in results.items()}
    return EvaluationReport(
        accuracy=accuracy(y_true, y_pred), y_true=y_true, y_pred=y_pred, class_names=names,
        confusion_matrix=cm,
        report_text=classification_report(y_true, y_pred, names),
        report=classification_report(y_true, y_pred, names, output_dict=True),
        per_class_accuracy=per_class_accuracy(y_true, y_pred, len(names)),
        best=best, worst=worst,
        most_confused=most_confused_pairs(cm, names, top_confused),
        keras_metrics=keras_metrics,
    )
