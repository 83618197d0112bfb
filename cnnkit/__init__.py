"""cnnkit: a teaching kit for convolutional neural networks (Keras 3).

Importing :mod:`cnnkit` is cheap: it does not import Keras or TensorFlow.
Submodules are imported on first use::

    import cnnkit
    PROFILE = cnnkit.setup(seed=0)          # notebooks' first cell
    data = cnnkit.data.course_dataset("cifar10")
    model = cnnkit.models.build("keras_cifar10_cnn", kernel_size=3)
"""
from __future__ import annotations

import importlib

from .profile import Profile, profile
from .runtime import import_keras, quiet, set_seed, setup

__version__ = "0.1.0"

__all__ = [
    "Profile", "profile", "import_keras", "quiet", "set_seed", "setup",
    "data", "models", "params", "train", "evaluate", "transfer",
    "featuremaps", "plots", "recipes",
]

_LAZY_SUBMODULES = {
    "data", "models", "params", "train", "evaluate", "transfer",
    "featuremaps", "plots", "recipes", "checks", "messages", "assignment",
}


def __getattr__(name: str):
    # Lazy submodules keep `import cnnkit` (and the CLI) fast: Keras/TF load
    # only when a submodule that needs them is touched.
    if name in _LAZY_SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'cnnkit' has no attribute {name!r}")
