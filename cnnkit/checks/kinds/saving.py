"""A model saved to disk: the file the student wrote is loaded and must predict like the trained model."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ... import messages
from ..artifacts import ArtifactError, to_plain
from ..context import select
from ..outcome import CheckOutcome
from ..spec import Option, Spec, kind
from ._common import DATA_OPTIONS, INPUT_OPTIONS, model_inputs, probabilities

messages.register({
    "saved.suffix": {
        "es": "{path!r} no termina en .keras: Keras 3 guarda el modelo completo en formato .keras (.h5 es el "
              "formato antiguo)",
        "en": "{path!r} does not end in .keras: Keras 3 saves the whole model as .keras (.h5 is the old format)",
    },
    "saved.missing": {
        "es": "no existe el fichero {path!r} en el directorio de trabajo del cuaderno: guarda el modelo con "
              "model.save(saved_path), usando solo el nombre del fichero",
        "en": "there is no file {path!r} in the notebook's working directory: save the model with "
              "model.save(saved_path), using just the file name",
    },
    "saved.unreadable": {
        "es": "el fichero {path!r} no se pudo cargar con keras.saving.load_model ({error})",
        "en": "the file {path!r} could not be loaded with keras.saving.load_model ({error})",
    },
    "saved.different": {
        "es": "el modelo guardado en {path!r} no predice lo mismo que el modelo entrenado: guárdalo después "
              "de entrenarlo",
        "en": "the model saved in {path!r} does not predict what the trained model does: save it after training",
    },
})


@kind("saved_model", "json", reads="the file name the model was saved to", prepare=to_plain, options={
    **DATA_OPTIONS, **INPUT_OPTIONS,
    "model": Option("str", None, "key of the trained model it must match", required=True),
    "split": Option("str", "test", "public split predicted"),
    "atol": Option("float", 1e-5, "tolerance of the predictions"),
})
def _check_saved_model(value: Any, spec: Spec, ctx) -> CheckOutcome:
    """A .keras file in the working directory that loads (safe mode) and predicts like the trained model."""
    import keras

    outcome = CheckOutcome(spec.key)
    if type(value) is not str or not value.endswith(".keras"):
        return outcome.fail("saved.suffix", path=value)
    path = ctx.student_file(value) if ctx.side == "grader" else (Path(value) if Path(value).is_file() else None)
    if path is None or Path(value).name != value.lstrip("./"):
        return outcome.fail("saved.missing", path=value)
    try:
        loaded = keras.saving.load_model(path, compile=False, safe_mode=True)
        trained = ctx.related(spec.option("model"))
    except ArtifactError as exc:
        return outcome.fail(exc.code, **exc.params)
    except Exception as exc:
        return outcome.fail("saved.unreadable", path=value, error=f"{type(exc).__name__}: {str(exc)[:200]}")
    x, _ = select(ctx, spec)
    x = model_inputs(x, spec)
    if not np.allclose(probabilities(loaded, x, spec), probabilities(trained, x, spec), atol=spec.option("atol")):
        outcome.fail("saved.different", path=value)
    return outcome
