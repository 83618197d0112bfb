"""Where a builder's weights come from: ``None``, ``"imagenet"`` or a local file.

All builders resolve ``weights=`` here, so the offline behaviour and the
error messages are the same everywhere:

* ``None`` — random initialisation.
* ``"imagenet"`` — the file ``keras.applications`` would download, looked up
  first in the Keras cache (``$KERAS_HOME/models`` when ``KERAS_HOME`` is
  set, else ``~/.keras/models``), so a cached file works offline. If it is
  not cached and the machine is offline (``CNNKIT_OFFLINE=1``, or the
  download host does not answer within a few seconds) a
  :class:`WeightsNotFoundError` names the file, the folder to put it in and
  how to pass a local file instead. Online, Keras downloads it into that cache.
* a path — a weights file (``.weights.h5``, a legacy ``.h5`` such as the
  Keras Applications files, or ``.keras``), loaded with ``model.load_weights``;
  a file that does not fit the model raises :class:`WeightsMismatchError`.
"""
from __future__ import annotations

import math
import os
import socket
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "ImagenetFile", "IMAGENET_FILES", "WeightsError", "WeightsNotFoundError",
    "WeightsMismatchError", "keras_cache_dir", "resolve_weights", "load_weights_file",
]

_KERAS_APPLICATIONS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"
# Seconds to wait for the download host before declaring the machine offline:
# long enough for a slow network, short enough that offline fails "fast".
_PROBE_TIMEOUT_S = 3.0


class WeightsError(Exception):
    """Base class of the weights errors below."""


class WeightsNotFoundError(WeightsError, FileNotFoundError):
    """The requested weights file is neither cached nor downloadable (or a path does not exist)."""


class WeightsMismatchError(WeightsError, ValueError):
    """A weights file does not fit the model it is loaded into."""


@dataclass(frozen=True)
class ImagenetFile:
    """One ImageNet weights file as ``keras.applications`` downloads and caches it."""

    fname: str          # the cache file name keras.applications uses
    folder: str         # its folder under the Keras Applications bucket
    md5: str            # file_hash keras.applications checks after download

    @property
    def origin(self) -> str:
        return f"{_KERAS_APPLICATIONS_URL}{self.folder}/{self.fname}"


# (architecture, include_top) -> file; names and hashes as in keras/src/applications.
IMAGENET_FILES: dict[tuple[str, bool], ImagenetFile] = {
    ("vgg16", True): ImagenetFile("vgg16_weights_tf_dim_ordering_tf_kernels.h5", "vgg16",
                                  "64373286793e3c8b2b4e3219cbf3544b"),
    ("vgg16", False): ImagenetFile("vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "vgg16",
                                   "6d6bbae143d832006294945121d1f1fc"),
    ("vgg19", True): ImagenetFile("vgg19_weights_tf_dim_ordering_tf_kernels.h5", "vgg19",
                                  "cbe5617147190e668d6c5d5026f83318"),
    ("vgg19", False): ImagenetFile("vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5", "vgg19",
                                   "253f8cb515780f3b799900260a226db6"),
    ("resnet50", True): ImagenetFile("resnet50_weights_tf_dim_ordering_tf_kernels.h5", "resnet",
                                     "2cb95161c43110f7111970584f804107"),
    ("resnet50", False): ImagenetFile("resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
                                      "resnet", "4d473c1dd8becc155b73f8504c6f6626"),
}


def keras_cache_dir() -> Path:
    """The folder Keras caches downloaded model weights in, read from the environment now.

    ``$KERAS_HOME/models`` when ``KERAS_HOME`` is set, else ``~/.keras/models``
    (``/tmp/.keras/models`` when the home directory is not writable), as
    ``keras.utils.get_file`` does. Keras itself reads ``KERAS_HOME`` once at
    import; reading it here at call time lets tests and notebooks point it
    elsewhere after Keras is imported.
    """
    home = os.environ.get("KERAS_HOME")
    if home:
        base = Path(home).expanduser()
    else:
        user_home = Path("~").expanduser()
        base = (user_home if os.access(user_home, os.W_OK) else Path("/tmp")) / ".keras"
    return base / "models"


def _env_offline() -> bool:
    return os.environ.get("CNNKIT_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _host_answers(url: str, timeout: float) -> bool:
    """True when a TCP connection to ``url``'s host opens within ``timeout`` seconds.

    Name resolution has no timeout of its own and can hang for much longer
    on a machine without network, so the whole probe runs in a daemon thread
    that is abandoned after ``timeout``.
    """
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    answered = threading.Event()

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                answered.set()
        except OSError:
            pass

    worker = threading.Thread(target=probe, daemon=True, name="cnnkit-weights-probe")
    worker.start()
    worker.join(timeout)
    return answered.is_set()


def _not_found_message(model: str, spec: ImagenetFile, cache: Path, reason: str) -> str:
    return (
        f"ImageNet weights for {model} are not available: {reason}.\n"
        f"  Expected file: {spec.fname}\n"
        f"  Looked in:     {cache}\n"
        f"  Fix one of:\n"
        f"   - download {spec.origin}\n"
        f"     (on any machine with internet) and put it in {cache}\n"
        f"     (the Keras cache: $KERAS_HOME/models, or ~/.keras/models when KERAS_HOME is unset);\n"
        f"   - or pass the file itself: weights=\"/path/to/{spec.fname}\";\n"
        f"   - or use weights=None (random initialisation)."
    )


def resolve_weights(weights: Any, *, model: str, imagenet: ImagenetFile | None,
                    imagenet_requirements: str | None = None) -> Path | None:
    """Turn a builder's ``weights=`` argument into a local file path (or ``None``).

    Args:
        weights: ``None``, ``"imagenet"`` or a path (str / ``os.PathLike``).
        model: the builder's name, for messages.
        imagenet: the ImageNet file this model configuration would use, or
            ``None`` when no ImageNet weights exist for it.
        imagenet_requirements: why ImageNet weights do not apply to this
            configuration (e.g. wrong number of classes); raised as
            ``ValueError`` before anything is looked up.

    Returns:
        ``None`` for random initialisation, else the path of a file to load.

    Raises:
        ValueError: ``"imagenet"`` for a model or configuration without
            ImageNet weights, or an unrecognised ``weights`` value.
        WeightsNotFoundError: the ImageNet file is not cached and cannot be
            downloaded, or a given path does not exist.
    """
    if weights is None:
        return None
    if isinstance(weights, str) and weights == "imagenet":
        if imagenet_requirements:
            raise ValueError(f"{model}: {imagenet_requirements}")
        if imagenet is None:
            raise ValueError(
                f"{model}: no ImageNet weights are published for this architecture; "
                f"use weights=None or the path of a weights file saved from the same model.")
        cache = keras_cache_dir()
        cached = cache / imagenet.fname
        if cached.is_file():
            return cached
        if _env_offline():
            raise WeightsNotFoundError(_not_found_message(
                model, imagenet, cache, "the file is not in the Keras cache and CNNKIT_OFFLINE is set"))
        if not _host_answers(imagenet.origin, _PROBE_TIMEOUT_S):
            raise WeightsNotFoundError(_not_found_message(
                model, imagenet, cache,
                f"the file is not in the Keras cache and {urllib.parse.urlsplit(imagenet.origin).hostname} "
                f"did not answer within {_PROBE_TIMEOUT_S:g} s (offline?)"))
        import keras

        try:
            downloaded = keras.utils.get_file(imagenet.fname, imagenet.origin, cache_subdir="models",
                                              file_hash=imagenet.md5, cache_dir=str(cache.parent))
        except Exception as exc:  # network errors come in many types; all mean "not available"
            raise WeightsNotFoundError(_not_found_message(
                model, imagenet, cache, f"the download failed ({type(exc).__name__}: {exc})")) from exc
        return Path(downloaded)
    if isinstance(weights, (str, os.PathLike)):
        path = Path(weights).expanduser()
        if not path.is_file():
            raise WeightsNotFoundError(
                f"{model}: weights file {str(path)!r} does not exist. Pass None, 'imagenet' "
                f"or the path of an existing weights file.")
        return path
    raise ValueError(f"{model}: weights must be None, 'imagenet' or a file path, got {weights!r}")


def _h5_weight_shapes(path: Path) -> list[tuple[int, ...]] | None:
    """Shapes of the weight arrays stored in an HDF5 weights file, or None if unknown.

    ``.weights.h5`` (Keras 3) keeps layer variables under ``layers/`` and,
    after training, optimizer state under ``optimizer/`` (skipped here);
    legacy ``.h5`` files (Keras Applications) keep them per layer at the top
    level, or under ``model_weights/`` for a whole saved model.
    """
    import h5py

    shapes: list[tuple[int, ...]] = []
    try:
        with h5py.File(path, "r") as handle:
            if path.name.endswith(".weights.h5"):
                roots = [handle[key] for key in ("layers", "vars") if key in handle]
            else:
                roots = [handle["model_weights"] if "model_weights" in handle else handle]
            for root in roots:
                root.visititems(lambda _, obj: shapes.append(tuple(obj.shape))
                                if isinstance(obj, h5py.Dataset) else None)
    except OSError:
        return None  # not an HDF5 file: let Keras report what it is
    return shapes


def load_weights_file(model: Any, path: str | os.PathLike, *, what: str | None = None) -> None:
    """``model.load_weights(path)`` with a clear error when the file does not fit.

    Keras 3 silently ignores extra layers in a ``.weights.h5`` file, so for
    HDF5 files the stored array shapes are first compared with the model's
    (as multisets: the count and size of every array must match).

    Raises:
        WeightsNotFoundError: ``path`` does not exist.
        WeightsMismatchError: the file's arrays do not match the model's, or
            Keras refuses the file (wrong format, layer count or shapes).
    """
    path = Path(path).expanduser()
    label = what or model.name
    if not path.is_file():
        raise WeightsNotFoundError(f"{label}: weights file {str(path)!r} does not exist.")

    def mismatch(detail: str) -> WeightsMismatchError:
        return WeightsMismatchError(
            f"{label}: weights file {str(path)!r} does not fit this model: {detail}. "
            f"The file must come from a model built the same way (same builder, input_shape, "
            f"num_classes and options); the model has {len(model.weights)} weight arrays, "
            f"{model.count_params():,} parameters.")

    if path.suffix in {".h5", ".hdf5"}:
        stored = _h5_weight_shapes(path)
        expected = [tuple(int(d) for d in w.shape) for w in model.weights]
        if stored is not None and sorted(stored) != sorted(expected):
            count = sum(math.prod(s) for s in stored)
            raise mismatch(f"it holds {len(stored)} arrays ({count:,} values)")
    try:
        model.load_weights(str(path))
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise mismatch(f"{type(exc).__name__}: {exc}") from exc

