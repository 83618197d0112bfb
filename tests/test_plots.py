"""cnnkit.plots: each figure has the right axes, titles and data, and saves as PNG."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import re  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from cnnkit import plots  # noqa: E402
from cnnkit.data import load_cifar10_sample  # noqa: E402


@pytest.fixture(scope="module")
def cifar():
    return load_cifar10_sample()


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def titles(fig):
    return [ax.get_title() for ax in fig.axes]


def test_class_grid_shows_the_first_image_of_each_class(cifar, tmp_path):
    fig = plots.class_grid(cifar.x_train, cifar.y_train, cifar.class_names,
                           save=tmp_path / "grid.png")
    assert len(fig.axes) == 10
    assert titles(fig) == [f"{name} ({k})" for k, name in enumerate(cifar.class_names)]
    assert titles(fig)[0] == "airplane (0)"
    for k, ax in enumerate(fig.axes):
        first = int(np.flatnonzero(cifar.y_train == k)[0])
        np.testing.assert_array_equal(ax.images[0].get_array(), cifar.x_train[first])
    rows = {round(ax.get_position().y0, 3) for ax in fig.axes}
    assert len(rows) == 2  # 2 × 5
    assert (tmp_path / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_class_grid_with_fewer_classes_has_no_empty_panels(cifar):
    keep = cifar.y_train < 5
    fig = plots.class_grid(cifar.x_train[keep], cifar.y_train[keep][:, None], cifar.class_names)
    assert len(fig.axes) == 5 and titles(fig)[-1] == "deer (4)"


def test_random_images_of_class_are_that_class_and_seeded(cifar):
    fig = plots.random_images_of_class(cifar.x_train, cifar.y_train, "ship", cifar.class_names,
                                       n=10, seed=0)
    assert len(fig.axes) == 10
    indices = [int(t.split("#")[1]) for t in titles(fig)]
    assert len(set(indices)) == 10 and all(t.startswith("ship #") for t in titles(fig))
    assert all(cifar.y_train[i] == cifar.class_names.index("ship") for i in indices)
    for ax, i in zip(fig.axes, indices):
        np.testing.assert_array_equal(ax.images[0].get_array(), cifar.x_train[i])
    again = plots.random_images_of_class(cifar.x_train, cifar.y_train, 8, cifar.class_names, seed=0)
    other = plots.random_images_of_class(cifar.x_train, cifar.y_train, 8, cifar.class_names, seed=1)
    assert titles(again) == titles(fig) and titles(other) != titles(fig)


HISTORY = {"loss": [1.2, 0.9, 0.7], "accuracy": [0.4, 0.6, 0.7],
           "val_loss": [1.1, 0.95, 1.0], "val_accuracy": [0.45, 0.55, 0.5]}


class FakeHistory:  # what keras.callbacks.History looks like
    history = HISTORY


class FakeResult:  # what cnnkit.train.TrainResult looks like
    history = FakeHistory()


@pytest.mark.parametrize("history", [HISTORY, FakeHistory(), FakeResult()])
def test_training_curves_train_vs_validation(history, english):
    fig = plots.training_curves(history)
    assert titles(fig) == ["loss", "accuracy"]
    loss_ax, acc_ax = fig.axes
    labels = [line.get_label() for line in loss_ax.get_lines()]
    assert labels[:2] == ["training", "validation"] and "best validation (epoch 2)" in labels[2]
    np.testing.assert_allclose(loss_ax.get_lines()[1].get_ydata(), HISTORY["val_loss"])
    np.testing.assert_allclose(acc_ax.get_lines()[0].get_xdata(), [1, 2, 3])
    assert "epoch 2" in acc_ax.get_lines()[2].get_label()


def test_training_curves_without_validation_and_unknown_metrics(english):
    fig = plots.training_curves({"loss": [1.0, 0.5]}, title="no validation")
    assert titles(fig) == ["loss"] and len(fig.axes[0].get_lines()) == 1
    with pytest.raises(ValueError):
        plots.training_curves({"mae": [1.0]})
    with pytest.raises(TypeError):
        plots.training_curves([1, 2, 3])


def test_confusion_matrix_heatmap(english):
    cm = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    fig = plots.confusion_matrix_heatmap(cm, ["a", "b", "c"])
    (ax,) = fig.axes
    assert ax.get_title() == "Confusion matrix"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted class", "true class")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert sorted(t.get_text() for t in ax.texts) == sorted(str(v) for v in cm.ravel())
    np.testing.assert_array_equal(ax.images[0].get_array(), cm)
    normalised = plots.confusion_matrix_heatmap(cm, normalize=True).axes[0]
    assert "0.70" in [t.get_text() for t in normalised.texts]


def test_feature_map_grid(english):
    maps = np.random.default_rng(0).random((2, 8, 8, 20)).astype("float32")
    fig = plots.feature_map_grid(maps, n=16, title="conv1")
    assert len(fig.axes) == 16
    assert titles(fig) == [f"channel {c}" for c in range(16)]
    assert fig._suptitle.get_text() == "conv1"
    np.testing.assert_array_equal(fig.axes[3].images[0].get_array(), maps[0, :, :, 3])
    assert len(plots.feature_map_grid(maps[1], n=32).axes) == 20


def test_feature_map_comparison_rows():
    maps = {"3×3": np.zeros((1, 8, 8, 5)), "5×5": np.ones((1, 6, 6, 5))}
    fig = plots.feature_map_comparison(maps, n=4, title="kernels")
    assert len(fig.axes) == 8
    assert [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()] == ["3×3", "5×5"]


def test_best_worst_images_marks_right_and_wrong(cifar, english):
    y_true = cifar.y_test
    y_pred = y_true.copy()
    cats = np.flatnonzero(y_true == 3)
    y_pred[cats[:15]] = 5           # cats mostly called dogs: worst class
    y_pred[np.flatnonzero(y_true == 0)[:2]] = 8
    fig = plots.best_worst_images(cifar.x_test, y_true, y_pred, cifar.class_names, n=4)
    assert len(fig.axes) == 8
    ylabels = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
    assert ylabels[0].startswith("best: automobile") and ylabels[1].startswith("worst: cat")
    worst_titles = titles(fig)[4:]
    assert all(t[0] in "✓✗" for t in titles(fig))
    assert any(t == "✗ dog" for t in worst_titles)
    assert all(t == "✓ automobile" for t in titles(fig)[:4])


def test_class_distribution_bars_are_the_counts(english):
    y = np.array([0, 0, 1, 2, 2, 2])
    fig = plots.class_distribution(y, ["a", "b", "c", "d"])
    (ax,) = fig.axes
    assert [p.get_height() for p in ax.patches] == [2, 1, 3, 0]
    assert "6 images" in ax.get_title()
    assert ax.get_lines()[0].get_ydata()[0] == pytest.approx(1.5)


def test_prediction_panel_title_and_grey_or_normalised_images(tmp_path, english):
    grey = np.random.default_rng(0).integers(0, 256, size=(28, 28, 1)).astype("uint8")
    fig = plots.prediction_panel(grey, "avión", 0.99871, true_name="avión",
                                 save=tmp_path / "p.png")
    assert len(fig.axes) == 1
    assert fig.axes[0].get_title() == "avión — 99.87 %\ntrue: avión"
    assert fig.axes[0].images[0].get_array().shape == (28, 28)
    normalised = np.random.default_rng(1).normal(size=(8, 8, 3))
    shown = plots.prediction_panel(normalised, "x", 0.5).axes[0].images[0].get_array()
    assert shown.min() >= 0 and shown.max() <= 1
    assert (tmp_path / "p.png").stat().st_size > 0


def test_image_grid_checks_titles():
    with pytest.raises(ValueError):
        plots.image_grid(np.zeros((3, 4, 4, 3)), ["a", "b"])
    assert len(plots.image_grid(np.zeros((7, 4, 4, 3)), cols=3).axes) == 7


# --------------------------------------------------------------------------- language

def figure_texts(fig) -> list[str]:
    """Every text the figure draws: titles, axis labels, legend entries, annotations, ticks."""
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


# English that must not reach a Spanish notebook's figures (class names are given as data).
ENGLISH = ("true", "predicted", "class", "classes", "channel", "channels", "image", "images", "best", "worst",
           "validation", "training", "epoch", "accuracy", "loss", "correct", "mean", "Confusion", "matrix",
           "Feature", "maps", "random", "First", "of", "per", "the", "and", "prediction")


def english_in(fig) -> list[str]:
    text = "\n".join(figure_texts(fig))
    return [w for w in ENGLISH if re.search(rf"\b{w}\b", text, flags=re.IGNORECASE)]


def every_figure(cifar):
    """One figure of each plots.* function, on data whose class names carry no English."""
    names = [f"clase{k}" for k in range(10)]
    y_pred = cifar.y_test.copy()
    y_pred[np.flatnonzero(cifar.y_test == 3)[:15]] = 5
    maps = np.random.default_rng(0).random((1, 8, 8, 6)).astype("float32")
    return {
        "image_grid": plots.image_grid(cifar.x_train[:3], ["a", "b", "c"]),
        "class_grid": plots.class_grid(cifar.x_train, cifar.y_train, names),
        "random_images_of_class": plots.random_images_of_class(cifar.x_train, cifar.y_train, 8, names, n=4),
        "training_curves": plots.training_curves(HISTORY),
        "confusion_matrix_heatmap": plots.confusion_matrix_heatmap(np.eye(3, dtype=int) * 4, ["a", "b", "c"]),
        "feature_map_grid": plots.feature_map_grid(maps, n=4),
        "feature_map_comparison": plots.feature_map_comparison({"a": maps, "b": maps}, n=3),
        "best_worst_images": plots.best_worst_images(cifar.x_test, cifar.y_test, y_pred, names, n=3),
        "class_distribution": plots.class_distribution(cifar.y_train, names),
        "prediction_panel": plots.prediction_panel(cifar.x_test[0], "avión", 0.9, true_name="barco"),
    }


def test_every_figure_is_spanish_by_default(cifar, spanish):
    figures = every_figure(cifar)
    assert set(figures) == set(plots.__all__)              # a new plot joins this test
    for name, fig in figures.items():
        assert english_in(fig) == [], (name, figure_texts(fig))
    curves = figures["training_curves"]
    assert titles(curves) == ["pérdida", "exactitud"]
    assert [ax.get_xlabel() for ax in curves.axes] == ["época", "época"]
    labels = [line.get_label() for line in curves.axes[0].get_lines()]
    assert labels == ["entrenamiento", "validación", "mejor validación (época 2)"]
    heatmap = figures["confusion_matrix_heatmap"].axes[0]
    assert (heatmap.get_title(), heatmap.get_xlabel(), heatmap.get_ylabel()) == (
        "Matriz de confusión", "clase predicha", "clase real")
    assert titles(figures["feature_map_grid"]) == ["canal 0", "canal 1", "canal 2", "canal 3"]
    ylabels = [ax.get_ylabel() for ax in figures["best_worst_images"].axes if ax.get_ylabel()]
    assert ylabels[0].startswith("mejor: ") and ylabels[1].startswith("peor: clase3")
    assert ylabels[1].endswith("de aciertos")
    distribution = figures["class_distribution"].axes[0]
    assert distribution.get_ylabel() == "imágenes"
    assert distribution.get_title() == "Imágenes por clase (1000 imágenes, 10 clases)"
    assert distribution.get_legend().get_texts()[0].get_text() == "media 100.0"
    assert figures["prediction_panel"].axes[0].get_title() == "avión — 90.00 %\nreal: barco"


def test_figures_follow_the_language_when_drawn(cifar, monkeypatch):
    monkeypatch.setenv("CNNKIT_LANG", "en")
    english = every_figure(cifar)
    assert titles(english["training_curves"]) == ["loss", "accuracy"]
    assert all(english_in(fig) for name, fig in english.items() if name != "image_grid")  # draws only our titles
    monkeypatch.setenv("CNNKIT_LANG", "es")
    assert titles(plots.training_curves(HISTORY)) == ["pérdida", "exactitud"]
    # a metric the catalogue does not know keeps its Keras name in either language
    assert titles(plots.training_curves({"mae": [1.0, 0.5]}, metrics=("mae",))) == ["mae"]
