"""sweep: distributed hyperparameter search for Keras LSTM sentiment models.

One import name. The parts are subpackages: ``sweep.data`` (sources, cleaning,
vectorization), ``sweep.model`` (Keras models, training, export), ``sweep.search`` (specs,
the Ray Tune sweep) and ``sweep.cluster`` (the CLI, the Redis state store, Ray). The names
below are the Python API beside the ``sweep`` command::

    import sweep

    model = sweep.load_model("runs/<id>/best")          # checksums verified, safe_mode
    sweep.predict(model, ["What a wonderful film"])     # P(positive) per text
    s = sweep.Sweep("<id>")                             # a recorded sweep, read from Redis
    s.status()["status"], s.trials(top=5), s.best()
    s = sweep.launch("sweep.yaml", overrides={"trials": 8})   # record and run a sweep
    sweep.train("train.yaml", output="model/")          # one training run, exported

``import sweep`` loads neither TensorFlow nor Ray: each name loads its module on first use.
It registers the package's Keras layers when Keras is imported (at once if it already is;
``import sweep.layers`` does it explicitly), so that plain
``keras.saving.load_model("model.keras", safe_mode=True)`` loads an export.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path as _Path
from typing import TYPE_CHECKING, Any

# A source checkout keeps the four subpackages at the repository's top level, beside this
# folder; a wheel installs them inside it. Either way they import as ``sweep.<name>``.
_checkout = _Path(__file__).resolve().parent.parent
if (_checkout / "pyproject.toml").is_file() and (_checkout / "search" / "__init__.py").is_file():
    __path__.append(str(_checkout))

if TYPE_CHECKING:
    import keras
    import numpy as np


def _register_layers_with_keras() -> None:
    """Register the package's Keras layers when Keras is imported (now, if it already is),
    so ``import sweep, keras; keras.saving.load_model(export)`` works while ``import
    sweep`` itself imports no Keras: a one-shot import hook wraps the loading of ``keras``."""
    import importlib.abc
    import importlib.util
    import sys

    def register() -> None:
        # not while one of the package's own modules is importing Keras: those register
        # what they define themselves, and importing sweep.layers there would be circular
        busy = [
            m
            for name, m in list(sys.modules.items())
            if (name == "sweep" or name.startswith("sweep."))
            and getattr(getattr(m, "__spec__", None), "_initializing", False)
        ]
        if not busy:
            import sweep.layers  # noqa: F401

    if "keras" in sys.modules:  # here, in this package's own __init__: nothing is circular
        import sweep.layers  # noqa: F401

        return

    class AfterKeras(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name != "keras":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            if spec is not None and spec.loader is not None:
                load = spec.loader.exec_module

                def exec_module(module) -> None:
                    load(module)
                    register()

                spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, AfterKeras())


_register_layers_with_keras()

__version__ = "0.2.0"


def load_model(folder: str | _Path) -> keras.Model:
    """The exported model in ``folder`` (``sweep train``'s output, a sweep's ``best/``, or
    ``sweep best --output``'s copy), after checking every file's sha256; it reads raw text."""
    from sweep.model import load_model as _load

    return _load(folder)[0]


def predict(model: keras.Model | str | _Path, texts: list[str]) -> np.ndarray:
    """For each text: P(positive) from a two-class model, or its K class probabilities
    (``[n, K]``, in the order of the export's ``metadata.json`` ``classes``) from a K-class
    one; ``model`` is a loaded model or an export folder."""
    from sweep.model import predict_texts

    if isinstance(model, str | _Path):
        model = load_model(model)
    return predict_texts(model, [str(t) for t in texts])


def _open_store(redis_url: str | None, prefix: str) -> Any:
    from sweep.cluster import RedisStateStore
    from sweep.cluster._settings import resolve_redis_url, with_password

    return RedisStateStore(with_password(resolve_redis_url(redis_url)), prefix)


def _spec_mapping(spec: str | _Path | Mapping[str, Any] | None, default: str | None) -> Any:
    import yaml

    from sweep.search import load_yaml

    if spec is None:
        return yaml.safe_load(default) if default is not None else {}
    if isinstance(spec, str | _Path):
        return load_yaml(str(spec))
    return dict(spec)


def train(
    spec: str | _Path | Mapping[str, Any] | None = None,
    output: str | _Path = "model",
    *,
    overrides: Mapping[str, Any] | None = None,
    progress: bool = False,
) -> Any:
    """Train one configuration and export it to ``output``, as ``sweep train`` does; the
    outcome (``history``, ``test`` metrics, ``export_dir``).

    ``spec``: a train YAML file, a mapping of its keys, or None for the defaults;
    ``overrides``: keys to replace, named as in the file (``{"data.source": "imdb",
    "train.epochs": 2}``). Raises ``SpecError`` / ``DataError`` for a bad spec or data."""
    from sweep.search import override, parse_train_spec, run_training

    parsed = override(parse_train_spec(_spec_mapping(spec, None)), overrides or {})
    return run_training(parsed, output, progress=progress)


def launch(
    spec: str | _Path | Mapping[str, Any] | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    address: str | None = None,
    redis_url: str | None = None,
    prefix: str = "sweep:",
    warm_start: Sequence[str] = (),
    progress: bool = False,
) -> Sweep:
    """Record a sweep and run it, as ``sweep launch`` does; the :class:`Sweep`.

    ``spec``: a sweep YAML file, a mapping of its keys, or None for the built-in spec;
    ``overrides``: keys to replace, named as in the file (``{"trials": 8,
    "asha.max_epochs": 3}``). Without ``address`` (or with a running Ray's ``host:port``)
    the driver runs in this process and ``launch`` returns when the sweep has ended; with a
    Ray dashboard URL (``http://HEAD:8265``) the sweep is submitted as a Ray job and
    ``launch`` returns at once: follow it with :meth:`Sweep.status`.

    Raises ``SpecError`` / ``DataError`` for a bad spec or data, ``LaunchRefused`` when the
    sweep cannot run where asked (nothing recorded), and the driver's error when the sweep
    fails (recorded as failed)."""
    from sweep.cluster._launch import is_job_api, place, record_sweep, run_here, submit
    from sweep.search import default_spec_text, override, parse_sweep_spec

    parsed = override(parse_sweep_spec(_spec_mapping(spec, default_spec_text())), overrides or {})
    store = _open_store(redis_url, prefix)
    store.ping()  # unreachable Redis, a wrong password: StoreUnavailable, before any work
    for source in warm_start:
        if store.get_sweep(source) is None:
            raise KeyError(f"warm start: sweep {source!r} is not recorded in Redis ({store!r})")
    placement = place(parsed, address)
    sweep_id = record_sweep(store, placement, warm_start)
    if is_job_api(address):
        submit(store, sweep_id, address, prefix, uploads=placement.uploads)
    else:
        run_here(store, sweep_id, address, prefix, progress=progress)
    return Sweep(sweep_id, redis_url, prefix)


class Sweep:
    """A sweep recorded in Redis, read as ``sweep status`` / ``trials`` / ``best`` read it.

    ``redis_url``: as the CLI resolves it when left out (``SWEEP_REDIS_URL``, then the
    ``sweep local up`` state, then ``redis://127.0.0.1:6379/0``)."""

    def __init__(self, sweep_id: str, redis_url: str | None = None, prefix: str = "sweep:"):
        self.id = sweep_id
        self._store = _open_store(redis_url, prefix)
        if self._store.get_sweep(sweep_id) is None:
            raise KeyError(f"sweep {sweep_id!r} is not recorded in Redis ({self._store!r})")

    def __repr__(self) -> str:
        return f"Sweep({self.id!r})"

    def status(self) -> dict[str, Any]:
        """The sweep's record: ``status``, its timestamps and history, the spec, the best
        trial and metric, the artifact and its test metrics once exported."""
        return self._store.get_sweep(self.id) or {}

    def trials(self, top: int | None = None) -> list[dict[str, Any]]:
        """Trials best first (leaderboard order), then those without a result."""
        return self._store.ranked_trials(self.id, self.status()["spec"]["mode"], top)

    def best(self) -> dict[str, Any] | None:
        """The best trial so far (None before any result)."""
        ranked = self.trials(top=1)
        return ranked[0] if ranked and ranked[0].get("best") is not None else None


__all__ = ["Sweep", "__version__", "launch", "load_model", "predict", "train"]
