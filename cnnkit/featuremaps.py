"""Feature maps: what a convolutional layer outputs for some images (seed 000, exercise 4).

The seed's recipe, in Keras 3::

    feature_model = keras.Model(model.inputs, model.layers[0].output)
    maps = feature_model.predict(images)

:func:`feature_maps` does that for a layer given by name, index or object,
also when the layer sits inside a nested model (a transfer-learning base, or
the model :func:`cnnkit.train.train` wraps with preprocessing layers)::

    from cnnkit.featuremaps import feature_maps, first_conv

    maps = feature_maps(model, first_conv(model), x_train[:4])   # (4, 32, 32, 32)

Two Keras 3 details it takes care of:

* A ``Sequential`` model created without ``keras.Input`` has no
  ``model.inputs`` until it is built. It is built here from the images'
  shape (batch dimension left free).
* A layer used in more than one graph (e.g. a model nested in a wrapper)
  has one output per graph; ``layer.output`` is only the first one, so the
  output that belongs to *this* model's graph is looked up among the layer's
  call nodes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

import keras

from . import messages

__all__ = [
    "CONV_TYPES", "conv_layers", "first_conv", "last_conv", "resolve_layer",
    "feature_model", "feature_maps", "FeatureMapComparison", "compare_feature_maps",
    "compare_kernel_sizes", "compare_pretrained_and_trained", "compare_first_and_last",
]

CONV_TYPES = tuple(getattr(keras.layers, name) for name in (
    "Conv1D", "Conv2D", "Conv3D", "SeparableConv1D", "SeparableConv2D",
    "DepthwiseConv1D", "DepthwiseConv2D", "Conv1DTranspose", "Conv2DTranspose",
    "Conv3DTranspose") if hasattr(keras.layers, name))

# Row labels and titles of the comparison figures; the labels are also the
# keys of FeatureMapComparison.maps, so they follow the notebook's language.
messages.register({
    "featuremaps.kernels": {"es": "núcleos {size}", "en": "{size} kernels"},
    "featuremaps.kernels_title": {"es": "Primera capa convolucional: núcleos 3×3 frente a 5×5",
                                  "en": "First convolutional layer: 3×3 vs 5×5 kernels"},
    "featuremaps.pretrained": {"es": "preentrenada (ImageNet)", "en": "pretrained (ImageNet)"},
    "featuremaps.trained": {"es": "entrenada con nuestros datos", "en": "trained on our data"},
    "featuremaps.pretrained_title": {"es": "Primera capa convolucional: preentrenada frente a entrenada",
                                     "en": "First convolutional layer: pretrained vs trained"},
    "featuremaps.first": {"es": "primera capa convolucional", "en": "first conv layer"},
    "featuremaps.last": {"es": "última capa convolucional", "en": "last conv layer"},
    "featuremaps.first_last_title": {"es": "{model}: primera frente a última capa convolucional",
                                     "en": "{model}: first vs last convolutional layer"},
})


def _walk(model: keras.Model, path: tuple = ()):
    """Yield ``(layer, path)`` depth-first; ``path`` lists the models from the outer one down."""
    path = path + (model,)
    for layer in model.layers:
        yield layer, path
        if isinstance(layer, keras.Model):
            yield from _walk(layer, path)


def conv_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Convolutional layers of ``model`` in order, including those of nested models."""
    return [layer for layer, _ in _walk(model) if isinstance(layer, CONV_TYPES)]


def first_conv(model: keras.Model) -> keras.layers.Layer:
    """The first convolutional layer of ``model`` (searching nested models)."""
    layers = conv_layers(model)
    if not layers:
        raise ValueError(f"model {model.name!r} has no convolutional layer")
    return layers[0]


def last_conv(model: keras.Model) -> keras.layers.Layer:
    """The last convolutional layer of ``model`` (searching nested models)."""
    layers = conv_layers(model)
    if not layers:
        raise ValueError(f"model {model.name!r} has no convolutional layer")
    return layers[-1]


def resolve_layer(model: keras.Model, layer: int | str | keras.layers.Layer
                  ) -> tuple[keras.layers.Layer, tuple[keras.Model, ...]]:
    """Find ``layer`` in ``model``.

    Parameters
    ----------
    layer : int, str or Layer
        An index into ``model.layers`` (as in ``model.layers[0]``), a layer
        name (searched in ``model`` first, then in nested models) or the layer
        object itself.

    Returns
    -------
    (layer, path)
        ``path`` is the chain of models from ``model`` down to the one whose
        ``layers`` contain the layer.
    """
    if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
        return model.layers[int(layer)], (model,)
    found = list(_walk(model))
    if isinstance(layer, str):
        matches = [(l, p) for l, p in found if l.name == layer]
        if not matches:
            names = ", ".join(l.name for l, _ in found)
            raise ValueError(f"no layer named {layer!r} in {model.name!r}; layers: {names}")
        return min(matches, key=lambda m: len(m[1]))
    for candidate, path in found:
        if candidate is layer:
            return candidate, path
    raise ValueError(f"layer {getattr(layer, 'name', layer)!r} is not part of model {model.name!r}")


def _ensure_built(model: keras.Model, image_shape: Sequence[int] | None) -> None:
    if isinstance(model, keras.Sequential) and not model.built:
        if image_shape is None:
            raise ValueError(f"Sequential model {model.name!r} is not built; pass images "
                             "or build it with model.build((None, h, w, c))")
        model.build((None, *image_shape))
    try:
        model.inputs
    except AttributeError:
        raise ValueError(
            f"model {model.name!r} has no symbolic inputs (a subclassed model?); feature "
            "maps need a Sequential or functional model") from None


def _connected(model: keras.Model, tensors) -> bool:
    try:
        keras.Model(model.inputs, tensors)
        return True
    except (ValueError, TypeError, KeyError, AttributeError):
        return False


def _symbolic(tensors):
    return tensors[0] if len(tensors) == 1 else list(tensors)


def _output_in(model: keras.Model, layer: keras.layers.Layer):
    # `layer._inbound_nodes` holds one node per call of the layer (one per
    # graph it is used in). The newest call is the likeliest to be in `model`.
    for node in reversed(layer._inbound_nodes):
        tensors = _symbolic(node.output_tensors)
        if _connected(model, tensors):
            return tensors
    raise ValueError(f"layer {layer.name!r} is not connected to the inputs of {model.name!r}")


def _input_in(model: keras.Model, layer: keras.layers.Layer):
    for node in reversed(layer._inbound_nodes):
        tensors = _symbolic(node.input_tensors)
        if _connected(model, tensors):
            return tensors
    raise ValueError(f"nested model {layer.name!r} is not called in {model.name!r}")


def feature_model(model: keras.Model, layer: int | str | keras.layers.Layer,
                  image_shape: Sequence[int] | None = None) -> keras.Model:
    """A ``keras.Model`` from ``model``'s inputs to the output of ``layer``.

    Parameters
    ----------
    model : keras.Model
        Sequential or functional, possibly with nested models.
    layer : int, str or Layer
        See :func:`resolve_layer`.
    image_shape : (h, w, c), optional
        Needed only to build a Sequential model that was created without
        ``keras.Input`` and never called.

    Returns
    -------
    keras.Model
        Shares its weights with ``model``; predicting with it runs every layer
        in inference mode (augmentation off, dropout off).
    """
    _ensure_built(model, image_shape)
    target, path = resolve_layer(model, layer)
    # Innermost model first: its inputs to the layer's output, then each
    # enclosing model feeds it the tensor it gives the nested model.
    owner = path[-1]
    inner = keras.Model(owner.inputs, _output_in(owner, target), name=f"{target.name}_maps")
    for parent in reversed(path[:-1]):
        inputs_in_parent = _input_in(parent, owner)
        inner = keras.Model(parent.inputs, inner(inputs_in_parent), name=f"{target.name}_maps")
        owner = parent
    return inner


def feature_maps(model: keras.Model, layer: int | str | keras.layers.Layer, images,
                 batch_size: int = 64) -> np.ndarray:
    """Outputs of ``layer`` for ``images``.

    Parameters
    ----------
    model : keras.Model
    layer : int, str or Layer
        Index into ``model.layers``, a name, or the layer (e.g. :func:`first_conv`).
    images : ndarray of shape (n, h, w, c) or (h, w, c)
        Preprocessed as the model expects (unless the model does it itself).
    batch_size : int

    Returns
    -------
    ndarray of shape (n, h', w', channels), float32
        E.g. the first conv layer of ``keras_cifar10_cnn`` (32 filters,
        ``padding="same"``) on 32×32 images gives ``(n, 32, 32, 32)``.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    extractor = feature_model(model, layer, image_shape=images.shape[1:])
    return np.asarray(extractor.predict(images, batch_size=batch_size, verbose=0))


@dataclass
class FeatureMapComparison:
    """Feature maps of several models/layers for the same images, and their figure.

    Attributes
    ----------
    maps : dict[str, ndarray]
        Label → maps of shape (n, h, w, channels).
    layers : dict[str, str]
        Label → name of the layer the maps come from.
    figure : matplotlib.figure.Figure
        One row per label, the first channels of image ``image_index``.
    """

    maps: dict[str, np.ndarray]
    layers: dict[str, str]
    figure: Any


def compare_feature_maps(entries: Mapping[str, tuple], images, *, n: int = 8,
                         image_index: int = 0, title: str | None = None,
                         save: str | None = None) -> FeatureMapComparison:
    """Feature maps of several ``(model, layer)`` pairs, side by side.

    Parameters
    ----------
    entries : mapping label → (model, layer)
        ``layer`` as in :func:`feature_maps` (name, index or object).
    images : ndarray (n, h, w, c), or mapping label → ndarray
        The same images for every entry, or per entry (e.g. a pretrained
        model's images after its ``preprocess_input``).
    n : int
        Channels shown per row.
    image_index : int
        Which image the figure shows.
    title, save
        Figure title; a path to write the figure as PNG.

    Returns
    -------
    FeatureMapComparison
    """
    from . import plots

    maps, names = {}, {}
    for label, (model, layer) in entries.items():
        batch = images[label] if isinstance(images, Mapping) else images
        target, _ = resolve_layer(model, layer)
        maps[label] = feature_maps(model, target, batch)
        names[label] = target.name
    labelled = {f"{label}\n{names[label]} {maps[label].shape[1:]}": value
                for label, value in maps.items()}
    figure = plots.feature_map_comparison(labelled, n=n, image_index=image_index,
                                          title=title, save=save)
    return FeatureMapComparison(maps=maps, layers=names, figure=figure)


def compare_kernel_sizes(model_3x3: keras.Model, model_5x5: keras.Model, images, *,
                         n: int = 8, image_index: int = 0,
                         save: str | None = None) -> FeatureMapComparison:
    """First conv layer of the 3×3 and the 5×5 model (seed 000, exercise 4a).

    The rows (and keys of ``maps``) are labelled "núcleos 3×3" / "núcleos 5×5"
    ("3×3 kernels" / "5×5 kernels" in English).
    """
    return compare_feature_maps(
        {messages.render("featuremaps.kernels", size="3×3"): (model_3x3, first_conv(model_3x3)),
         messages.render("featuremaps.kernels", size="5×5"): (model_5x5, first_conv(model_5x5))},
        images, n=n, image_index=image_index,
        title=messages.render("featuremaps.kernels_title"), save=save)


def compare_pretrained_and_trained(pretrained: keras.Model, trained: keras.Model, images, *,
                                   n: int = 8, image_index: int = 0,
                                   labels: tuple[str, str] | None = None,
                                   save: str | None = None) -> FeatureMapComparison:
    """First conv layer of a pretrained and a self-trained VGG16 (seed 000, exercise 4b).

    ``labels`` default to "preentrenada (ImageNet)" / "entrenada con nuestros
    datos" ("pretrained (ImageNet)" / "trained on our data" in English).
    ``images`` may be a mapping ``{labels[0]: ..., labels[1]: ...}`` when the
    two models expect differently preprocessed inputs (pass ``labels`` then,
    so the keys do not depend on the language).
    """
    if labels is None:
        labels = (messages.render("featuremaps.pretrained"), messages.render("featuremaps.trained"))
    return compare_feature_maps(
        {labels[0]: (pretrained, first_conv(pretrained)),
         labels[1]: (trained, first_conv(trained))},
        images, n=n, image_index=image_index,
        title=messages.render("featuremaps.pretrained_title"), save=save)


def compare_first_and_last(model: keras.Model, images, *, n: int = 8, image_index: int = 0,
                           save: str | None = None) -> FeatureMapComparison:
    """First and last conv layer of one model (seed 000, exercise 4c).

    The first layer's maps keep the image's resolution and show edges and
    colours; the last layer's are small and abstract. Rows (and keys of
    ``maps``): "primera capa convolucional" / "última capa convolucional"
    ("first conv layer" / "last conv layer" in English).
    """
    return compare_feature_maps(
        {messages.render("featuremaps.first"): (model, first_conv(model)),
         messages.render("featuremaps.last"): (model, last_conv(model))},
        images, n=n, image_index=image_index,
        title=messages.render("featuremaps.first_last_title", model=model.name), save=save)
