"""Where datasets are looked for, the optional Keras download, and the not-found error.

Search order for every downloadable dataset:

1. the ``path`` the caller passed (a file, the dataset's folder, or a folder holding it);
2. ``$CNNKIT_DATA_DIR``;
3. the Keras cache, ``$KERAS_HOME/datasets`` or ``~/.keras/datasets``, under the
   names Keras 3 (and Keras 2 / tf.keras) leave there;
4. a download through ``keras.datasets.<name>.load_data()`` unless
   ``$CNNKIT_OFFLINE`` is set -- the only place Keras/TensorFlow is imported.

Anything that fails ends in one :class:`DatasetNotFoundError` whose message says
what is needed, where to put it and how to pass it.
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from .. import messages

__all__ = ["DatasetNotFoundError", "Wanted", "find", "offline", "data_dir",
           "keras_datasets_dirs", "cache_dir"]

_TRUE = {"1", "true", "yes", "on"}

messages.register({
    "data.not_found": {
        "es": "No se encontró {title}. {loader}() necesita {description}.",
        "en": "{title} was not found. {loader}() needs {description}.",
    },
    "data.put_it": {"es": "Ponlo en cualquiera de estos sitios:", "en": "Put it at either of:"},
    "data.in_data_dir": {"es": "{path}   ($CNNKIT_DATA_DIR/{file})", "en": "{path}   ($CNNKIT_DATA_DIR/{file})"},
    "data.no_data_dir": {
        "es": "$CNNKIT_DATA_DIR/{file}   (CNNKIT_DATA_DIR no está definida; expórtala con la carpeta de tus datos)",
        "en": "$CNNKIT_DATA_DIR/{file}   (CNNKIT_DATA_DIR is not set; export it to point at your data folder)",
    },
    "data.keras_cache": {
        "es": "{path}   (la caché de Keras, $KERAS_HOME/datasets)",
        "en": "{path}   (the Keras cache, $KERAS_HOME/datasets)",
    },
    "data.pass_it": {
        "es": 'o indica dónde está: {loader}(path="/ruta/a/{file}"{args}).',
        "en": 'or pass its location: {loader}(path="/path/to/{file}"{args}).',
    },
    "data.bad_path": {
        "es": "No hay nada utilizable en la ruta que indicaste, {path}: {why}.",
        "en": "Nothing usable at the path you passed, {path}: {why}.",
    },
    "data.bad_path_missing": {"es": "no existe", "en": "it does not exist"},
    "data.bad_path_folder": {"es": "es una carpeta que no lo contiene", "en": "it is a folder that does not hold it"},
    "data.bad_path_file": {"es": "no es el fichero esperado", "en": "it is not the expected file"},
    "data.no_download": {"es": "No hay descarga automática para él.", "en": "There is no automatic download for it."},
    "data.offline": {
        "es": "No se descargó nada porque CNNKIT_OFFLINE está definida ({value!r}).",
        "en": "Nothing was downloaded because CNNKIT_OFFLINE is set ({value!r}).",
    },
    "data.download_failed": {
        "es": "La descarga con {call} falló ({error}).",
        "en": "Downloading it with {call} failed ({error}).",
    },
    "data.download_elsewhere": {
        "es": "{call} terminó, pero sus ficheros no están en {folders}.",
        "en": "{call} finished, but its files are not in {folders}.",
    },
})


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is not on this machine (and could not, or may not, be downloaded).

    The message names the file or folder needed, the places it can go
    (``$CNNKIT_DATA_DIR/...`` or the Keras cache) and the ``path=`` argument.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)

    def __str__(self) -> str:
        return self.args[0]


def offline() -> bool:
    """True when ``$CNNKIT_OFFLINE`` forbids downloads (``1``/``true``/``yes``/``on``)."""
    return os.environ.get("CNNKIT_OFFLINE", "").strip().lower() in _TRUE


def data_dir() -> Optional[Path]:
    """``$CNNKIT_DATA_DIR`` as a path, or None when unset."""
    value = os.environ.get("CNNKIT_DATA_DIR", "").strip()
    return Path(value).expanduser() if value else None


def keras_datasets_dirs() -> list[Path]:
    """The Keras dataset cache(s), first the one Keras writes to.

    Mirrors ``keras.src.backend.config`` and ``keras.utils.get_file`` without
    importing Keras: ``$KERAS_HOME`` or ``~/.keras`` (``/tmp/.keras`` when the
    home folder is read-only), plus ``/tmp/.keras`` when that home is not
    writable, because ``get_file`` falls back there.
    """
    home = os.environ.get("KERAS_HOME", "").strip()
    if not home:
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    dirs = [Path(home).expanduser() / "datasets"]
    if os.path.isdir(home) and not os.access(home, os.W_OK):
        dirs.append(Path("/tmp/.keras/datasets"))
    return dirs


def cache_dir() -> Path:
    """Where cnnkit writes generated files: ``$CNNKIT_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/cnnkit``, else ``~/.cache/cnnkit``."""
    value = os.environ.get("CNNKIT_CACHE_DIR", "").strip()
    if value:
        return Path(value).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "cnnkit"


@dataclass(frozen=True)
class Wanted:
    """What a loader needs on disk and how to recognise it.

    ``file_name`` is the name to tell users to put in place (e.g.
    ``cifar-10-python.tar.gz``); ``description`` is the code of a registered
    message saying what that is (rendered in the reader's language);
    ``candidates`` are every name it may have
    inside a data folder or the Keras cache, best first; ``usable(path)``
    says whether a path actually holds the dataset.
    """

    title: str
    loader: str
    file_name: str
    description: str
    candidates: Sequence[str]
    usable: Callable[[Path], bool]
    keras_module: Optional[str] = None
    loader_args: str = ""


def _probe(folder: Path, wanted: Wanted) -> Optional[Path]:
    for name in wanted.candidates:
        candidate = folder / name
        if wanted.usable(candidate):
            return candidate
    return None


def find(wanted: Wanted, path=None) -> Path:
    """The on-disk location of ``wanted``, downloading it if allowed.

    Raises
    ------
    DatasetNotFoundError
        When nothing usable is found and no download was possible.
    """
    if path is not None:
        given = Path(path).expanduser()
        if wanted.usable(given):
            return given
        found = _probe(given, wanted) if given.is_dir() else None
        if found is not None:
            return found
        why = ("data.bad_path_missing" if not given.exists() else
               "data.bad_path_folder" if given.is_dir() else "data.bad_path_file")
        raise not_found(wanted, messages.render("data.bad_path", path=given, why=messages.nested(why)))

    folders = ([data_dir()] if data_dir() else []) + keras_datasets_dirs()
    for folder in folders:
        found = _probe(folder, wanted)
        if found is not None:
            return found

    if wanted.keras_module is None:
        raise not_found(wanted, messages.render("data.no_download"))
    if offline():
        raise not_found(wanted, messages.render("data.offline", value=os.environ.get("CNNKIT_OFFLINE")))
    return _download(wanted)


def _download(wanted: Wanted) -> Path:
    call = f"keras.datasets.{wanted.keras_module}.load_data()"
    try:
        # Imported here, never at module level: importing Keras pulls in a
        # backend (TensorFlow by default), which costs seconds and memory.
        module = importlib.import_module(f"keras.datasets.{wanted.keras_module}")
        module.load_data()   # downloads and extracts into the Keras cache
    except Exception as error:  # URLError, HTTP errors, hash mismatch, no Keras...
        message = f"{type(error).__name__}: {error}".strip()
        # `from None`: the student sees one clear error, not a urllib traceback.
        raise not_found(wanted, messages.render("data.download_failed", call=call, error=message)) from None
    folders = keras_datasets_dirs()
    for folder in folders:
        found = _probe(folder, wanted)
        if found is not None:
            return found
    try:  # Keras reads KERAS_HOME once, at import: ask it where it really wrote
        from keras.src.backend.config import keras_home

        folders.append(Path(keras_home()) / "datasets")
        found = _probe(folders[-1], wanted)
        if found is not None:
            return found
    except ImportError:
        pass
    raise not_found(wanted, messages.render("data.download_elsewhere", call=call,
                                            folders=", ".join(map(str, folders))))


def not_found(wanted: Wanted, reason: str) -> DatasetNotFoundError:
    """The error for a missing dataset, with a message that says how to fix it.

    In :func:`cnnkit.messages.current_lang`; ``reason`` is already rendered.
    """
    env_dir = data_dir()
    in_data_dir = (messages.render("data.in_data_dir", path=env_dir / wanted.file_name, file=wanted.file_name)
                   if env_dir else messages.render("data.no_data_dir", file=wanted.file_name))
    keras_dir = keras_datasets_dirs()[0]
    args = f", {wanted.loader_args}" if wanted.loader_args else ""
    lines = [
        messages.render("data.not_found", title=wanted.title, loader=wanted.loader,
                        description=messages.nested(wanted.description)),
        messages.render("data.put_it"),
        f"  {in_data_dir}",
        "  " + messages.render("data.keras_cache", path=keras_dir / wanted.file_name),
        messages.render("data.pass_it", loader=wanted.loader, file=wanted.file_name, args=args),
        reason,
    ]
    return DatasetNotFoundError("\n".join(lines))
