"""Argument checks and the last step shared by all builders."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence, Tuple, Union

from ..params import conv_output_size, pool_output_size
from ._weights import load_weights_file

# (kind, window, stride, padding): one spatial operation of a model, for check_input_shape.
Step = Tuple[str, int, int, Union[str, int]]


def conv(kernel: int, stride: int = 1, padding: str = "valid") -> Step:
    return ("conv", kernel, stride, padding)


def pool(window: int = 2, stride: int | None = None) -> Step:
    return ("pool", window, window if stride is None else stride, "valid")


def check_input_shape(input_shape: Any, *, builder: str, steps: Sequence[Step] = (),
                      channels: int | None = None) -> tuple[int, int, int]:
    """``input_shape`` as a ``(height, width, channels)`` tuple of positive ints, or a ValueError.

    ``steps`` are the model's spatial operations in order, each
    ``(kind, window, stride, padding)`` with kind ``"conv"`` or ``"pool"``;
    an input too small for them is refused here with the step that fails,
    instead of a negative-dimension error from deep inside Keras.
    """
    try:
        shape = tuple(input_shape)
    except TypeError:
        shape = ()
    if len(shape) != 3 or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0
                                  for d in shape):
        raise ValueError(f"{builder}: input_shape must be (height, width, channels) "
                         f"with positive ints, got {input_shape!r}")
    for side in shape[:2]:
        size = side
        for number, (kind, window, stride, padding) in enumerate(steps, start=1):
            try:
                size = (conv_output_size(size, window, stride, padding) if kind == "conv"
                        else pool_output_size(size, window, stride, padding))
            except ValueError as exc:
                raise ValueError(f"{builder}: input_shape {shape} is too small for this "
                                 f"architecture (spatial step {number}, {kind}): {exc}") from None
    if channels is not None and shape[2] != channels:
        raise ValueError(f"{builder}: input_shape must have {channels} channels, got {shape}")
    return shape


def check_num_classes(num_classes: Any, *, builder: str) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"{builder}: num_classes must be a positive int, got {num_classes!r}")
    return num_classes


def finish(model: Any, weights_path: Path | None, *, builder: str) -> Any:
    """Load ``weights_path`` (when given) into the freshly built ``model`` and return it."""
    if weights_path is not None:
        load_weights_file(model, weights_path, what=builder)
    return model
