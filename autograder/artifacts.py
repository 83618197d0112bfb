"""Artifacts: what a student's kernel hands to the grader, in plain formats.

Objects cross the kernel → grader boundary as files the grader can read
without running student code:

=============  ===========================  ==========================================
format         file                         read back as
=============  ===========================  ==========================================
``model``      ``KEY.keras`` (weights)      ``keras.Model`` loaded with ``safe_mode``
``config``     ``KEY.model.json``           ``keras.Model`` rebuilt from its config
``json``       ``KEY.json``                 plain JSON (numbers, strings, lists, dicts)
``arrays``     ``KEY.npz``                  ``dict[str, np.ndarray]``, no pickle
=============  ===========================  ==========================================

Plain values are checked for their exact type on the way out, so an object
whose ``__eq__`` always answers ``True`` (nbgrader #1379) cannot be exported.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

ARTIFACTS_ENV = "CNNKIT_ARTIFACTS_DIR"

SUFFIX = {"model": ".keras", "config": ".model.json", "json": ".json", "arrays": ".npz"}


class ArtifactError(ValueError):
    """An object that cannot be exported, or a file that cannot be read back.

    ``code`` and ``params`` name a message in :mod:`autograder.messages`.
    """

    def __init__(self, code: str, **params: Any):
        self.code = code
        self.params = params
        super().__init__(f"{code}: {params}")


def artifacts_dir() -> Path | None:
    """Where the grader asked the kernel to export artifacts, if anywhere."""
    value = os.environ.get(ARTIFACTS_ENV)
    return Path(value) if value else None


def path_for(directory: Path, key: str, fmt: str) -> Path:
    if not key.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise ValueError(f"artifact key {key!r} must be letters, digits, '_', '-', '.'")
    return Path(directory) / f"{key}{SUFFIX[fmt]}"


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- plain values

_NUMPY_INTS = tuple(getattr(np, name) for name in
                    ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"))
_NUMPY_FLOATS = (np.float16, np.float32, np.float64)


def to_plain(value: Any, *, _path: str = "value") -> Any:
    """``value`` as plain JSON data, checking exact types.

    Accepts ``None``, ``bool``, ``int``, ``float``, ``str`` (exact types, not
    subclasses), NumPy integer/float scalars, 0-d/1-d/2-d NumPy arrays of
    numbers, and lists/tuples/dicts (string keys) of those. Anything else
    raises :class:`ArtifactError` with code ``artifact.type``.
    """
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        if not np.isfinite(value):
            return repr(value)
        return value
    if kind is np.bool_:
        return bool(value)
    if kind in _NUMPY_INTS:
        return int(value)
    if kind in _NUMPY_FLOATS:
        return to_plain(float(value), _path=_path)
    if kind is np.ndarray and value.dtype.kind in "biuf" and value.ndim <= 2:
        return [to_plain(v, _path=_path) for v in value.tolist()] if value.ndim else to_plain(value.item())
    if kind in (list, tuple):
        return [to_plain(v, _path=f"{_path}[{i}]") for i, v in enumerate(value)]
    if kind is dict:
        out = {}
        for k, v in value.items():
            if type(k) is not str:
                raise ArtifactError("artifact.type", where=f"{_path} key", type=type(k).__name__)
            out[k] = to_plain(v, _path=f"{_path}[{k!r}]")
        return out
    raise ArtifactError("artifact.type", where=_path, type=f"{kind.__module__}.{kind.__qualname__}")


# --------------------------------------------------------------------------- export

def export(obj: Any, key: str, fmt: str, directory: Path | None = None) -> Path | None:
    """Write ``obj`` as artifact ``key`` in ``fmt``; no-op outside the grader.

    Returns the written path, or ``None`` when no artifacts directory is set.
    """
    directory = directory or artifacts_dir()
    if directory is None:
        return None
    path = path_for(directory, key, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        _atomic_write_bytes(path, json.dumps(to_plain(obj), ensure_ascii=False).encode())
    elif fmt == "arrays":
        arrays = obj if isinstance(obj, dict) else {"array": obj}
        clean = {}
        for name, arr in arrays.items():
            arr = np.asarray(arr)
            if arr.dtype == object:
                raise ArtifactError("artifact.type", where=name, type="object array")
            clean[str(name)] = arr
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
        os.close(fd)
        np.savez(tmp, **clean)
        os.replace(tmp, path)
    elif fmt == "config":
        _atomic_write_bytes(path, _model_json(obj).encode())
    elif fmt == "model":
        _require_keras_model(obj)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".keras")
        os.close(fd)
        try:
            obj.save(tmp)
            os.replace(tmp, path)
        except Exception as exc:
            Path(tmp).unlink(missing_ok=True)
            raise ArtifactError("artifact.model_save", error=f"{type(exc).__name__}: {exc}") from exc
    else:
        raise ValueError(f"unknown artifact format {fmt!r}")
    return path


def _require_keras_model(obj: Any) -> None:
    import keras

    if not isinstance(obj, keras.Model):
        raise ArtifactError("artifact.not_model", type=type(obj).__name__)


def _model_json(model: Any) -> str:
    _require_keras_model(model)
    try:
        return model.to_json()
    except Exception as exc:  # subclassed models have no config
        raise ArtifactError("artifact.model_config", error=f"{type(exc).__name__}: {exc}") from exc


# --------------------------------------------------------------------------- load

def load(key: str, fmt: str, directory: Path) -> Any:
    """Read artifact ``key``; raises :class:`ArtifactError` (``artifact.missing``
    or ``artifact.unreadable``) with a message a student can act on."""
    path = path_for(directory, key, fmt)
    if not path.exists():
        raise ArtifactError("artifact.missing", key=key)
    try:
        if fmt == "json":
            return json.loads(path.read_text())
        if fmt == "arrays":
            with np.load(path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        if fmt == "config":
            return model_from_json(path.read_text())
        if fmt == "model":
            return load_model(path)
    except ArtifactError:
        raise
    except Exception as exc:
        raise ArtifactError("artifact.unreadable", key=key, error=f"{type(exc).__name__}: {exc}") from exc
    raise ValueError(f"unknown artifact format {fmt!r}")


_INITIALIZER_KEYS = ("kernel_initializer", "bias_initializer", "depthwise_initializer", "pointwise_initializer",
                     "embeddings_initializer", "recurrent_initializer", "gamma_initializer", "beta_initializer",
                     "moving_mean_initializer", "moving_variance_initializer")


def _zero_initializers(node: Any) -> Any:
    """The config with every weight initializer replaced by zeros.

    A config artifact is rebuilt to read its structure (shapes, parameter
    counts, layers), never its weights; drawing random numbers for VGG-19's
    144 M parameters would cost seconds per check for nothing.
    """
    if isinstance(node, dict):
        return {k: ({"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": None}
                    if k in _INITIALIZER_KEYS and v is not None else _zero_initializers(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_zero_initializers(v) for v in node]
    return node


def model_from_json(text: str):
    """Rebuild a model's structure from its JSON config; ``Lambda`` code is refused (safe mode)."""
    import keras

    config = _zero_initializers(json.loads(text))
    with keras.saving.custom_object_scope({}):
        return keras.models.model_from_json(json.dumps(config))


def load_model(path: Path):
    """Load a ``.keras`` file without compiling, in Keras' safe mode."""
    import keras

    return keras.saving.load_model(path, compile=False, safe_mode=True)


def compile_config(path: Path) -> dict | None:
    """The ``compile_config`` stored in a ``.keras`` file (loss, optimizer), if any.

    Read straight from the archive so that a student's loss can be inspected
    (e.g. ``from_logits=True`` with a softmax output) without compiling it.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError):
        return None
    return config.get("compile_config")
