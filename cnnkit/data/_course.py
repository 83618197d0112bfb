"""``course_dataset(name)``: the data a course notebook uses under the active profile."""
from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .. import messages
from ._cifar import load_cifar10, load_cifar100_subset
from ._dataset import Dataset, stratified_indices
from ._fashion_mnist import load_fashion_mnist
from ._folders import load_cub200, load_image_folder
from ._locate import DatasetNotFoundError, cache_dir, data_dir
from ._sample import SAMPLE_PATH, load_cifar10_sample, sample_jpegs
from . import synthetic

__all__ = ["course_dataset", "course_holdout", "save_view", "view_path", "COURSE_DATASETS", "HOLDOUT_FRACTION",
           "COURSE_DATA_ENV", "resize_images"]

COURSE_DATASETS = ("cifar10", "cifar100_25", "fashion_mnist", "image_folder", "cub200")

# The grader measures accuracy on images no student receives. In the full
# profile that is a stratified share of each dataset's test split: the
# student's `x_test` is the rest. (In smoke, the public sample and stand-ins
# are whole; the grader's images come from its private folder.) The rule is
# public; what keeps the holdout private is that the grading kernel only ever
# sees a saved copy of the public part (COURSE_DATA_ENV), never the files.
HOLDOUT_FRACTION = 0.5
HOLDOUT_SPLIT_SEED = 1009
COURSE_DATA_ENV = "CNNKIT_COURSE_DATA_DIR"
# Images per class the grader generates for a synthetic stand-in's holdout.
_STAND_IN_HOLDOUT_PER_CLASS = 20

# Default image sizes where the loader resizes: the sample's native 32×32 /
# a small 64×64 in smoke; mini-ImageNet's 84×84 / ResNet-50's 224×224 in full.
# Notebooks that need the same input shape in both profiles pass image_size.
_DEFAULT_SIZES = {("image_folder", "smoke"): (32, 32), ("image_folder", "full"): (84, 84),
                  ("cub200", "smoke"): (64, 64), ("cub200", "full"): (224, 224)}

# The smoke CUB tree: a handful of sample classes in CUB_200_2011's layout.
_CUB_STAND_IN_CLASSES = (0, 2, 3, 5, 8)    # airplane, bird, cat, dog, ship
_CUB_STAND_IN_TRAIN, _CUB_STAND_IN_TEST = 16, 8
# The smoke class-folder tree: the sample's train images split into train/val.
_FOLDER_STAND_IN_VAL = 20                  # of the 100 train images per class

messages.register({
    "data.holdout_note": {
        "es": "{source} · test: {kept:,} de {total:,} imágenes (el corrector se queda las demás para medir "
              "la exactitud con imágenes que ningún estudiante ha visto)",
        "en": "{source} · test: {kept:,} of {total:,} images (the grader keeps the others "
              "to measure accuracy on images no student has seen)",
    },
    "data.stand_in_cifar100": {
        "es": "sustituto de CIFAR-100 ({num_classes} clases) en el perfil smoke: {source}",
        "en": "stand-in for CIFAR-100 ({num_classes} classes) in the smoke profile: {source}",
    },
    "data.stand_in_fashion_mnist": {
        "es": "sustituto de Fashion-MNIST en el perfil smoke: {source}",
        "en": "stand-in for Fashion-MNIST in the smoke profile: {source}",
    },
    "data.stand_in_image_folder": {
        "es": "sustituto de un conjunto de carpetas por clase (mini-ImageNet / Places-25 / el tuyo) en el "
              "perfil smoke: la muestra de CIFAR-10 incluida en cnnkit, escrita como carpetas train/val/test "
              "en {tree} y leída con load_image_folder",
        "en": "stand-in for a class-folder dataset (mini-ImageNet / Places-25 / your own) in the smoke "
              "profile: the shipped CIFAR-10 sample written as train/val/test folders at {tree}, read back "
              "with load_image_folder",
    },
    "data.stand_in_cub200": {
        "es": "sustituto de CUB-200-2011 en el perfil smoke: {num_classes} clases de CIFAR-10 de la muestra "
              "incluida en cnnkit, escritas en el formato de CUB_200_2011 en {tree} y leídas con load_cub200",
        "en": "stand-in for CUB-200-2011 in the smoke profile: {num_classes} CIFAR-10 classes from the "
              "shipped sample written in CUB_200_2011's format at {tree}, read back with load_cub200",
    },
    "data.missing_root": {
        "es": "course_dataset({what!r}) necesita en el perfil full {hint}. Pon su carpeta en ${env} o "
              'pásala: course_dataset({what!r}, root="/ruta/a/la/carpeta"). (El perfil smoke, '
              "CNNKIT_PROFILE=smoke, usa en su lugar un sustituto pequeño.)",
        "en": "course_dataset({what!r}) in the full profile needs {hint}. Set ${env} to its "
              'folder or pass it: course_dataset({what!r}, root="/path/to/it"). '
              "(The smoke profile, CNNKIT_PROFILE=smoke, uses a small stand-in instead.)",
    },
    "data.missing_image_folder": {
        "es": "un árbol de carpetas con una carpeta de imágenes por clase (mini-ImageNet, Places-25 o tu "
              "propio conjunto; train/ val/ test/ opcionales)",
        "en": "a class-per-folder image tree (mini-ImageNet, Places-25 or "
              "your own dataset; train/ val/ test/ optional)",
    },
    "data.missing_cub": {
        "es": "la carpeta CUB_200_2011/ extraída de CUB_200_2011.tgz "
              "(https://www.vision.caltech.edu/datasets/cub_200_2011/), o $CNNKIT_DATA_DIR/CUB_200_2011",
        "en": "the CUB_200_2011/ folder extracted from CUB_200_2011.tgz "
              "(https://www.vision.caltech.edu/datasets/cub_200_2011/), or $CNNKIT_DATA_DIR/CUB_200_2011",
    },
})


def _sample_digest() -> str:
    # Trees generated from the sample are named after its content, so a new
    # sample (or layout version) never reuses a stale tree from the cache.
    return hashlib.sha256(SAMPLE_PATH.read_bytes()).hexdigest()[:12]


def _materialise(name: str, write) -> Path:
    """``cache_dir()/name``, created by ``write(tmp_folder)`` once, atomically.

    The tree is written into a temporary sibling and renamed into place, so a
    reader never sees half a tree, and two processes racing both succeed.
    """
    final = cache_dir() / name
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=final.parent))
    try:
        write(tmp)
        os.rename(tmp, final)
    except OSError:
        if not final.is_dir():   # a concurrent writer that won the race is fine
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _write_folder_tree(root: Path) -> None:
    class_names = load_cifar10_sample().class_names
    seen: dict[int, int] = {}
    for split in ("train", "test"):
        for label, number, jpeg in sample_jpegs(split):
            target = split
            if split == "train":
                seen[label] = seen.get(label, 0) + 1
                target = "val" if seen[label] <= _FOLDER_STAND_IN_VAL else "train"
            folder = root / target / class_names[label]
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{number:04d}.jpg").write_bytes(jpeg)


def _write_cub_tree(root: Path) -> None:
    """A CUB_200_2011-format tree (text files 1-based, images/NNN.name/...)."""
    class_names = load_cifar10_sample().class_names
    class_ids = {label: k + 1 for k, label in enumerate(_CUB_STAND_IN_CLASSES)}
    images, image_labels, splits = [], [], []
    for split, per_class in (("train", _CUB_STAND_IN_TRAIN), ("test", _CUB_STAND_IN_TEST)):
        taken: dict[int, int] = {}
        for label, number, jpeg in sample_jpegs(split):
            if label not in class_ids or taken.get(label, 0) >= per_class:
                continue
            taken[label] = taken.get(label, 0) + 1
            class_folder = f"{class_ids[label]:03d}.{class_names[label]}"
            relative = f"{class_folder}/{class_names[label]}_{split}_{number:04d}.jpg"
            (root / "images" / class_folder).mkdir(parents=True, exist_ok=True)
            (root / "images" / relative).write_bytes(jpeg)
            image_id = len(images) + 1
            images.append(f"{image_id} {relative}")
            image_labels.append(f"{image_id} {class_ids[label]}")
            splits.append(f"{image_id} {1 if split == 'train' else 0}")
    classes = [f"{class_ids[label]} {class_ids[label]:03d}.{class_names[label]}"
               for label in _CUB_STAND_IN_CLASSES]
    for file_name, lines in (("images.txt", images), ("image_class_labels.txt", image_labels),
                             ("train_test_split.txt", splits), ("classes.txt", classes)):
        (root / file_name).write_text("\n".join(lines) + "\n")


def _holdout_indices(y_test: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(HOLDOUT_SPLIT_SEED)
    return stratified_indices(y_test, int(round(HOLDOUT_FRACTION * len(y_test))), rng)


def _without_holdout(data: Dataset, lang: str | None = None) -> Dataset:
    """The full-profile dataset a student receives: the test split minus the grader's share."""
    keep = np.setdiff1d(np.arange(len(data.y_test)), _holdout_indices(data.y_test))
    return dataclasses.replace(data, x_test=data.x_test[keep], y_test=data.y_test[keep], source=messages.render(
        "data.holdout_note", lang, source=data.source, kept=len(keep), total=len(data.y_test)))


def view_path(directory: Path, name: str, profile: str) -> Path:
    return Path(directory) / f"{name}-{profile}.npz"


def save_view(data: Dataset, path: Path) -> Path:
    """Write a dataset (the public part a kernel may read) as one NumPy archive, no pickle."""
    arrays = {"x_train": data.x_train, "y_train": data.y_train, "x_test": data.x_test, "y_test": data.y_test,
              "class_names": np.array(data.class_names), "name": np.array(data.name),
              "source": np.array(data.source), "is_stand_in": np.array(data.is_stand_in)}
    if data.x_val is not None:
        arrays.update(x_val=data.x_val, y_val=data.y_val)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    return path


def _load_view(path: Path) -> Dataset:
    with np.load(path, allow_pickle=False) as npz:
        return Dataset(x_train=npz["x_train"], y_train=npz["y_train"], x_test=npz["x_test"], y_test=npz["y_test"],
                       class_names=[str(c) for c in npz["class_names"]], name=str(npz["name"]),
                       source=str(npz["source"]), is_stand_in=bool(npz["is_stand_in"]),
                       x_val=npz["x_val"] if "x_val" in npz.files else None,
                       y_val=npz["y_val"] if "y_val" in npz.files else None)


def resize_images(x: np.ndarray, size) -> np.ndarray:
    """uint8 images (n, h, w, c) resized to ``size`` (an int or (height, width)) with bilinear filtering."""
    from PIL import Image

    height, width = (size, size) if isinstance(size, int) else size
    if x.shape[1:3] == (height, width):
        return x
    return np.stack([np.asarray(Image.fromarray(img.squeeze()).resize((width, height), Image.Resampling.BILINEAR))
                     .reshape(height, width, -1) for img in x])


def course_holdout(name: str, profile, private_dir: Path | None, *, image_size=None) -> tuple[np.ndarray, np.ndarray]:
    """The grader's private images of course dataset ``name``: ``(x uint8 NHWC, y int64)``.

    Full profile: the share of the real test split that :func:`course_dataset`
    withholds. Smoke: CIFAR-10 test images that are not in the shipped sample
    (``private_dir/cifar10_holdout.npz``, also behind the folder and CUB
    stand-ins, relabelled to their classes), or, for the synthetic stand-ins,
    fresh images drawn with the seed in ``private_dir/holdout.toml``. Neither
    file is in the student package; the grading kernel never sees them.
    """
    from ..profile import Profile, profile as active_profile

    chosen = (profile if isinstance(profile, Profile) else active_profile(str(profile) if profile else None))
    if not chosen.is_smoke:
        raw = course_dataset(name, chosen, image_size=image_size, _with_holdout=True)
        keep = _holdout_indices(raw.y_test)
        return raw.x_test[keep], raw.y_test[keep]
    if private_dir is None:
        raise FileNotFoundError("the smoke holdout lives in the grader's private folder (solutions/_data)")
    private_dir = Path(private_dir)
    if name in ("cifar100_25", "fashion_mnist"):
        try:
            import tomllib
        except ModuleNotFoundError:  # pragma: no cover
            import tomli as tomllib
        seed = int(tomllib.loads((private_dir / "holdout.toml").read_text())["stand_ins"]["seed"])
        num_classes, size, channels = {"cifar100_25": (25, (32, 32), 3), "fashion_mnist": (10, (28, 28), 1)}[name]
        data = synthetic.shapes(num_classes, size, channels, n_train_per_class=1,
                                n_test_per_class=_STAND_IN_HOLDOUT_PER_CLASS, seed=seed)
        return data.x_test, data.y_test
    from ._sample import decode_jpegs

    with np.load(private_dir / "cifar10_holdout.npz", allow_pickle=False) as npz:
        x, y = decode_jpegs(npz, "holdout")
    if name == "cifar10":
        return x, y
    if name == "image_folder":
        return resize_images(x, image_size or _DEFAULT_SIZES[(name, "smoke")]), y
    keep = np.isin(y, _CUB_STAND_IN_CLASSES)
    relabel = {label: k for k, label in enumerate(_CUB_STAND_IN_CLASSES)}
    return (resize_images(x[keep], image_size or _DEFAULT_SIZES[(name, "smoke")]),
            np.array([relabel[int(v)] for v in y[keep]], dtype=np.int64))


def _stand_in(dataset: Dataset, name: str, source: str) -> Dataset:
    return dataclasses.replace(dataset, name=name, source=source, is_stand_in=True)


def _missing_root(what: str, env: str, hint: str, lang: str | None) -> DatasetNotFoundError:
    return DatasetNotFoundError(messages.render("data.missing_root", lang, what=what, env=env,
                                                hint=messages.nested(hint)))


def course_dataset(name: str, profile=None, *, root=None, image_size=None,
                   max_per_class: int | None = None, lang: str | None = None,
                   _with_holdout: bool = False) -> Dataset:
    """The dataset a course notebook uses, chosen by the run profile.

    ============== ================================== ===================================
    name           smoke profile (offline, small)     full profile
    ============== ================================== ===================================
    cifar10        the shipped sample (1,000 / 200)   :func:`load_cifar10` (50,000 / 10,000)
    cifar100_25    synthetic shapes, 25 classes,      :func:`load_cifar100_subset`
                   32×32×3, 400 / 100                 (12,500 / 2,500)
    fashion_mnist  synthetic shapes, 10 classes,      :func:`load_fashion_mnist`
                   28×28×1, 300 / 100                 (60,000 / 10,000)
    image_folder   the sample written as a train/val/ ``root`` or ``$CNNKIT_IMAGE_FOLDER``
                   test class-folder tree, read back  (mini-ImageNet, Places-25, the
                   by :func:`load_image_folder`       student's dataset)
    cub200         5 sample classes written as a      ``root``, ``$CNNKIT_CUB_DIR`` or
                   CUB_200_2011 tree, read back by    ``$CNNKIT_DATA_DIR/CUB_200_2011``
                   :func:`load_cub200`
    ============== ================================== ===================================

    Parameters
    ----------
    name : str
        One of the names above.
    profile : Profile or str, optional
        Defaults to ``cnnkit.profile()`` (``$CNNKIT_PROFILE``, else full on a
        GPU machine and smoke elsewhere).
    root : str or Path, optional
        Full profile, ``image_folder``/``cub200`` only: where the images are.
    image_size : int or (height, width), optional
        ``image_folder``/``cub200`` only. Default 32×32 / 64×64 in smoke and
        84×84 / 224×224 in full; pass it when a model needs one input shape
        in both profiles.
    max_per_class : int, optional
        ``image_folder``/``cub200`` in the full profile: read at most this many
        images per class and folder.
    lang : {"es", "en"}, optional
        Language of ``source`` and of the synthetic stand-ins' class names;
        default :func:`cnnkit.messages.current_lang` (``$CNNKIT_LANG``, else
        Spanish, the notebooks' language). Real datasets keep their own
        class names ("airplane", "T-shirt/top") in every language. A dataset
        the grader saved for the kernel (``$CNNKIT_COURSE_DATA_DIR``) keeps
        the text it was saved with.

    Returns
    -------
    Dataset
        ``is_stand_in`` is True for synthetic or substituted data, and
        ``source`` then says what it is and why. Images uint8 NHWC, labels
        int64 of shape (n,).

    Raises
    ------
    DatasetNotFoundError
        Full profile, when the real data is not on this machine.
    """
    from ..profile import Profile, profile as active_profile

    if name not in COURSE_DATASETS:
        raise ValueError(f"unknown course dataset {name!r}; expected one of {COURSE_DATASETS}")
    chosen = (profile if isinstance(profile, Profile)
              else active_profile(str(profile) if profile is not None else None))
    if name not in ("image_folder", "cub200") and (image_size or max_per_class or root):
        raise ValueError("root, image_size and max_per_class apply to 'image_folder' and "
                         f"'cub200' only, not {name!r}")
    size = image_size or _DEFAULT_SIZES.get((name, chosen.name))
    views = os.environ.get(COURSE_DATA_ENV, "").strip()
    if views and not _with_holdout and view_path(Path(views), name, chosen.name).exists():
        # Graded: the grader saved the public part of this dataset; the files behind it are not here.
        data = _load_view(view_path(Path(views), name, chosen.name))
        if size and data.x_train.shape[1:3] != tuple((size, size) if isinstance(size, int) else size):
            data = dataclasses.replace(data, x_train=resize_images(data.x_train, size), x_test=resize_images(data.x_test, size),
                                       x_val=None if data.x_val is None else resize_images(data.x_val, size))
        return data
    lang = messages.current_lang(lang)
    if not chosen.is_smoke and not _with_holdout:
        return _without_holdout(course_dataset(name, chosen, root=root, image_size=image_size,
                                               max_per_class=max_per_class, lang=lang, _with_holdout=True),
                                lang)

    if chosen.is_smoke:
        if name == "cifar10":
            return load_cifar10_sample(lang=lang)
        if name == "cifar100_25":
            data = synthetic.shapes(25, (32, 32), 3, n_train_per_class=16, n_test_per_class=4, lang=lang)
            return _stand_in(data, "cifar100_25", messages.render(
                "data.stand_in_cifar100", lang, num_classes=25, source=data.source))
        if name == "fashion_mnist":
            data = synthetic.shapes(10, (28, 28), 1, n_train_per_class=30, n_test_per_class=10, lang=lang)
            return _stand_in(data, "fashion_mnist", messages.render(
                "data.stand_in_fashion_mnist", lang, source=data.source))
        # The trees below are cached on disk under CIFAR-10's own class names,
        # which no language changes: one tree serves every language.
        if name == "image_folder":
            tree = _materialise(f"cifar10-sample-folders-{_sample_digest()}", _write_folder_tree)
            data = load_image_folder(tree, size)
            return _stand_in(data, "image_folder", messages.render(
                "data.stand_in_image_folder", lang, tree=tree))
        tree = _materialise(f"cifar10-sample-cub-{_sample_digest()}", _write_cub_tree)
        data = load_cub200(tree, size)
        return _stand_in(data, "cub200", messages.render(
            "data.stand_in_cub200", lang, num_classes=len(data.class_names), tree=tree))

    if name == "cifar10":
        return load_cifar10()
    if name == "cifar100_25":
        return load_cifar100_subset(num_classes=25)
    if name == "fashion_mnist":
        return load_fashion_mnist()
    if name == "image_folder":
        folder = root or os.environ.get("CNNKIT_IMAGE_FOLDER", "").strip()
        if not folder:
            raise _missing_root("image_folder", "CNNKIT_IMAGE_FOLDER", "data.missing_image_folder", lang)
        return load_image_folder(folder, size, max_per_class=max_per_class)
    folder = root or os.environ.get("CNNKIT_CUB_DIR", "").strip()
    if not folder and data_dir() is not None and (data_dir() / "CUB_200_2011").is_dir():
        folder = data_dir() / "CUB_200_2011"
    if not folder:
        raise _missing_root("cub200", "CNNKIT_CUB_DIR", "data.missing_cub", lang)
    return load_cub200(folder, size, max_per_class=max_per_class)
