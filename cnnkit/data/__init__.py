"""Offline-first dataset loaders for the course's exercises.

Every loader returns a :class:`Dataset` (uint8 NHWC images, int64 labels of
shape (n,), class names, where the data came from). Files are looked for in
the ``path`` you pass, then ``$CNNKIT_DATA_DIR``, then the Keras cache
(``$KERAS_HOME/datasets`` or ``~/.keras/datasets``); only then are they
downloaded with ``keras.datasets`` -- never when ``$CNNKIT_OFFLINE`` is set.
A missing dataset raises :class:`DatasetNotFoundError` saying what to put where.

Importing this package does not import Keras or TensorFlow.

    >>> from cnnkit.data import course_dataset, describe
    >>> data = course_dataset("cifar10")          # sample in smoke, full data in full
    >>> print(describe(data))
"""
from ._cifar import CIFAR10_CLASSES, load_cifar10, load_cifar100, load_cifar100_subset
from ._course import COURSE_DATASETS, course_dataset, course_holdout, resize_images, save_view, view_path
from ._dataset import Dataset, train_val_split
from ._describe import DatasetDescription, describe
from ._fashion_mnist import FASHION_MNIST_CLASSES, load_fashion_mnist
from ._folders import load_cub200, load_image_folder
from ._locate import DatasetNotFoundError
from ._sample import load_cifar10_sample
from . import synthetic

__all__ = [
    "Dataset", "DatasetNotFoundError", "DatasetDescription",
    "load_cifar10", "load_cifar100", "load_cifar100_subset", "load_fashion_mnist",
    "load_image_folder", "load_cub200", "load_cifar10_sample",
    "train_val_split", "describe", "course_dataset", "course_holdout", "resize_images", "save_view", "view_path", "synthetic",
    "COURSE_DATASETS", "CIFAR10_CLASSES", "FASHION_MNIST_CLASSES",
]
