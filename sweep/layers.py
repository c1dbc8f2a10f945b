"""Importing this module registers sweep's Keras layers and optimizers (package ``sweep``),
so plain Keras loads an exported model::

    import keras
    import sweep.layers  # noqa: F401

    model = keras.saving.load_model("runs/<id>/best/model.keras", safe_mode=True)

(``sweep.load_model`` does this and checks the export's checksums first.)
"""

from sweep.model import _layers, _lstm, _optimizers  # noqa: F401  (registration on import)
