"""Artifacts: what a student's kernel hands to the grader, in plain formats.

Objects cross the kernel → grader boundary as files the grader reads without
running student code, and treats as untrusted input:

=============  ======================================  ==========================================
format         files                                   read back as
=============  ======================================  ==========================================
``json``       ``KEY.json``                            plain JSON (numbers, strings, lists, dicts)
``arrays``     ``KEY.npz``                             ``dict[str, np.ndarray]`` (numbers only)
``config``     ``KEY.model.json``                      ``keras.Model`` rebuilt from its config
``model``      ``KEY.model.json`` + ``KEY.weights.npz``  the same model with the student's weights
               (+ ``KEY.compile.json``)                (and its loss and optimizer step count)
=============  ======================================  ==========================================

Plain values are checked for their exact type on the way out, so an object
whose ``__eq__`` always answers ``True`` (nbgrader #1379) cannot be exported.
On the way in, every file must be a regular file (no symbolic links: a link
to a grader file would be read with the grader's rights), within a size cap,
and is parsed without pickle; models are rebuilt in Keras' safe mode, so a
``Lambda`` layer's code never runs in the grader. Weights travel as a NumPy
archive rather than HDF5 or a ``.keras`` zip: the simplest format to parse,
and no optimizer slots (a fine-tuned ResNet-50 is 98 MB instead of 293 MB).
"""
from __future__ import annotations

import io
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .. import messages

ARTIFACTS_ENV = "CNNKIT_ARTIFACTS_DIR"
FORMATS = ("json", "arrays", "config", "model")
SUFFIXES = {"json": (".json",), "arrays": (".npz",), "config": (".model.json",),
            "model": (".model.json", ".weights.npz", ".compile.json")}
MAX_BYTES = {".json": 16 * 2**20, ".npz": 1024 * 2**20, ".model.json": 32 * 2**20,
             ".weights.npz": 2048 * 2**20, ".compile.json": 2**20}

messages.register({
    "artifact.type": {
        "es": "{where}: se esperaba un número, texto, lista o array de NumPy, no un objeto de tipo {type}",
        "en": "{where}: expected a number, text, list or NumPy array, not an object of type {type}",
    },
    "artifact.not_model": {
        "es": "se esperaba un modelo de Keras (keras.Model), no {type}",
        "en": "expected a Keras model (keras.Model), not {type}",
    },
    "artifact.model_config": {
        "es": "no se pudo exportar la configuración del modelo ({error}); usa Sequential o la API funcional",
        "en": "the model's configuration could not be exported ({error}); use Sequential or the functional API",
    },
    "artifact.model_save": {
        "es": "no se pudo guardar el modelo ({error}); usa capas estándar de Keras",
        "en": "the model could not be saved ({error}); use standard Keras layers",
    },
    "artifact.missing": {
        "es": "el corrector no recibió «{key}»: la celda que lo calcula no se ejecutó o falló antes",
        "en": "the grader did not receive '{key}': the cell computing it did not run or failed earlier",
    },
    "artifact.unreadable": {
        "es": "el corrector no pudo leer «{key}» ({error})",
        "en": "the grader could not read '{key}' ({error})",
    },
    "artifact.not_regular": {
        "es": "el corrector no acepta «{key}»: no es un fichero normal (¿un enlace simbólico?)",
        "en": "the grader does not accept '{key}': it is not a regular file (a symbolic link?)",
    },
    "artifact.too_large": {
        "es": "«{key}» ocupa {size:,} bytes, más de los {limit:,} que acepta el corrector",
        "en": "'{key}' takes {size:,} bytes, more than the grader's limit of {limit:,}",
    },
})


class ArtifactError(ValueError):
    """An object that cannot be exported, or a file that cannot be read back.

    ``code`` and ``params`` name a message of the catalogue.
    """

    def __init__(self, code: str, **params: Any):
        self.code = code
        self.params = params
        super().__init__(f"{code}: {params}")


def artifacts_dir() -> Path | None:
    """Where the grader asked the kernel to export artifacts, if anywhere."""
    value = os.environ.get(ARTIFACTS_ENV)
    return Path(value) if value else None


def path_for(directory: Path, key: str, suffix: str) -> Path:
    if not key or not key.replace("_", "").replace("-", "").replace(".", "").isalnum() or key.startswith("."):
        raise ValueError(f"artifact key {key!r} must be letters, digits, '_', '-', '.'")
    return Path(directory) / f"{key}{suffix}"


# The process's umask, read once (os.umask can only be read by setting it).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (never half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        # mkstemp creates 0600; the file gets the mode a plain open() would (a TA's group can read
        # grades.csv and feedback under the usual umask 022).
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
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
        return value if np.isfinite(value) else repr(value)
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


def numeric_arrays(arrays: dict[str, Any]) -> dict[str, np.ndarray]:
    """``{name: array}`` of plain numeric NumPy arrays (bool, int, float), refusing anything else."""
    clean = {}
    for name, value in arrays.items():
        if isinstance(value, (list, tuple)) or type(value) in (bool, int, float) or isinstance(value, np.generic):
            value = np.asarray(value)
        if type(value) is not np.ndarray or value.dtype.kind not in "biuf":
            raise ArtifactError("artifact.type", where=str(name), type=type(value).__name__
                                if type(value) is not np.ndarray else f"array of {value.dtype}")
        clean[str(name)] = value
    return clean


# --------------------------------------------------------------------------- export (in the kernel)

def _require_keras_model(obj: Any) -> None:
    import keras

    if not isinstance(obj, keras.Model):
        raise ArtifactError("artifact.not_model", type=type(obj).__name__)


def _model_json(model: Any) -> str:
    """The model's architecture as JSON, without its compile settings (exported apart: a custom
    learning-rate schedule must not make the architecture unreadable)."""
    _require_keras_model(model)
    try:
        config = json.loads(model.to_json())
    except Exception as exc:  # subclassed models have no config
        raise ArtifactError("artifact.model_config", error=f"{type(exc).__name__}: {exc}") from exc
    config.pop("compile_config", None)
    return json.dumps(config)


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def export(payload: Any, key: str, fmt: str, directory: Path | None = None) -> Path | None:
    """Write ``payload`` as artifact ``key`` in ``fmt``; a no-op outside the grader.

    Returns the main file written, or ``None`` when no artifacts directory is set.
    """
    directory = directory or artifacts_dir()
    if directory is None:
        return None
    if fmt == "json":
        path = path_for(directory, key, ".json")
        atomic_write(path, json.dumps(to_plain(payload), ensure_ascii=False))
    elif fmt == "arrays":
        path = path_for(directory, key, ".npz")
        atomic_write(path, _npz_bytes(numeric_arrays(payload if isinstance(payload, dict) else {"array": payload})))
    elif fmt == "config":
        path = path_for(directory, key, ".model.json")
        atomic_write(path, _model_json(payload))
    elif fmt == "model":
        config = _model_json(payload)
        try:
            import keras

            weights = {f"w{i:04d}": np.asarray(keras.ops.convert_to_numpy(w)) for i, w in
                       enumerate(payload.weights)}
            compiled = {"compile_config": payload.get_compile_config() if payload.compiled else None,
                        "optimizer_iterations": _iterations(payload)}
            compiled_text = json.dumps(compiled, default=str)
        except Exception as exc:
            raise ArtifactError("artifact.model_save", error=f"{type(exc).__name__}: {exc}") from exc
        path = path_for(directory, key, ".model.json")
        atomic_write(path_for(directory, key, ".weights.npz"), _npz_bytes(weights))
        atomic_write(path_for(directory, key, ".compile.json"), compiled_text)
        atomic_write(path, config)
    else:
        raise ValueError(f"unknown artifact format {fmt!r}")
    return path


def _iterations(model: Any) -> int | None:
    optimizer = getattr(model, "optimizer", None)
    try:
        return int(optimizer.iterations.numpy()) if optimizer is not None else None
    except Exception:
        try:
            import keras

            return int(keras.ops.convert_to_numpy(optimizer.iterations))
        except Exception:
            return None


# --------------------------------------------------------------------------- load (in the grader)

def exists(key: str, fmt: str, directory: Path) -> bool:
    return path_for(directory, key, SUFFIXES[fmt][0]).exists()


def read_untrusted(path: Path, key: str) -> bytes:
    """The bytes of ``path``, only if it is a regular file (not a link) within its size cap."""
    suffix = next((s for s in sorted(MAX_BYTES, key=len, reverse=True) if path.name.endswith(s)), None)
    limit = MAX_BYTES.get(suffix, 16 * 2**20) if suffix else 16 * 2**20
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise ArtifactError("artifact.missing", key=key) from None
    except OSError:
        raise ArtifactError("artifact.not_regular", key=key) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ArtifactError("artifact.not_regular", key=key)
        if info.st_size > limit:
            raise ArtifactError("artifact.too_large", key=key, size=info.st_size, limit=limit)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise ArtifactError("artifact.too_large", key=key, size=len(data), limit=limit)
        return data
    finally:
        os.close(fd)


def _load_npz(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return numeric_arrays({name: npz[name] for name in npz.files})


def load(key: str, fmt: str, directory: Path) -> Any:
    """Read artifact ``key``; raises :class:`ArtifactError` with a message a student can act on."""
    try:
        if fmt == "json":
            return json.loads(read_untrusted(path_for(directory, key, ".json"), key))
        if fmt == "arrays":
            return _load_npz(read_untrusted(path_for(directory, key, ".npz"), key))
        if fmt == "config":
            return model_from_json(read_untrusted(path_for(directory, key, ".model.json"), key).decode())
        if fmt == "model":
            # Zero initialisers: every weight is overwritten from the archive below.
            model = model_from_json(read_untrusted(path_for(directory, key, ".model.json"), key).decode())
            weights = _load_npz(read_untrusted(path_for(directory, key, ".weights.npz"), key))
            values = [weights[name] for name in sorted(weights)]
            if len(values) != len(model.weights):
                raise ValueError(f"{len(values)} weight arrays for a model with {len(model.weights)}")
            for variable, value in zip(model.weights, values):
                if tuple(variable.shape) != value.shape:
                    raise ValueError(f"weight {variable.path} has shape {value.shape}, expected "
                                     f"{tuple(variable.shape)}")
                variable.assign(value.astype(variable.dtype, copy=False))
            return model
    except ArtifactError:
        raise
    except Exception as exc:
        raise ArtifactError("artifact.unreadable", key=key, error=f"{type(exc).__name__}: {str(exc)[:300]}") from exc
    raise ValueError(f"unknown artifact format {fmt!r}")


def compile_info(key: str, directory: Path) -> dict:
    """``{"compile_config": ..., "optimizer_iterations": ...}`` of a ``model`` artifact (``{}`` if absent)."""
    path = path_for(directory, key, ".compile.json")
    if not path.exists():
        return {}
    try:
        info = json.loads(read_untrusted(path, key))
    except (ArtifactError, json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return info if isinstance(info, dict) else {}


_INITIALIZER_KEYS = ("kernel_initializer", "bias_initializer", "depthwise_initializer", "pointwise_initializer",
                     "embeddings_initializer", "recurrent_initializer", "gamma_initializer", "beta_initializer",
                     "moving_mean_initializer", "moving_variance_initializer")


def _zero_initializers(node: Any) -> Any:
    """The config with every weight initializer replaced by zeros.

    A config artifact is rebuilt to read its structure (shapes, parameter
    counts, layers); drawing random numbers for VGG-19's 144 M parameters
    would cost seconds per check for nothing.
    """
    if isinstance(node, dict):
        return {k: ({"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": None}
                    if k in _INITIALIZER_KEYS and v is not None else _zero_initializers(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_zero_initializers(v) for v in node]
    return node


def model_from_json(text: str):
    """Rebuild a model from its JSON config, with zero initialisers.

    Keras 3 deserialises in safe mode unless ``keras.config.enable_unsafe_deserialization()``
    was called in this process, which the grader never does: a ``Lambda`` layer's
    code is refused, and no custom object is known.
    """
    import keras

    config = json.loads(text)
    if isinstance(config, dict):
        config.pop("compile_config", None)      # architecture only: never rebuild an optimizer or a loss
    config = _zero_initializers(config)
    with keras.saving.custom_object_scope({}):
        return keras.models.model_from_json(json.dumps(config))
