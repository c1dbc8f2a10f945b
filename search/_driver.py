"""The sweep driver: data once, Tuner(OptunaSearch + ASHA), then retrain and export the winner.

Ray must already be initialised (``cluster`` connects to a cluster or starts a local one).
Side effects on shared state go through the ``on_status`` hook and the Tune ``callbacks``
the caller passes in, so this module knows nothing about Redis.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from sweep.data import (
    DataError,
    Splits,
    Vectorized,
    prepare_splits,
    sequence_view,
    vectorize_splits,
)
from sweep.model import (
    Evaluation,
    build_model,
    compile_model,
    configure_runtime,
    evaluate,
    export_model,
    fit,
)
from sweep.states import TrialStatus

from ._pretrain import with_language_model
from ._replay import ReplayContext, replay_trial
from ._searcher import (
    close_lost,
    finished_ray_trials,
    make_scheduler,
    make_searcher,
)
from ._single import branch_blend, report_writer
from ._snapshot import mend_snapshot
from ._sweep_spec import SweepSpec, experiment_path, join_storage, spec_to_dict, storage_root
from ._trial import TrialContext, lstm_trial, start_encoder, trial_configs
from ._warm import WarmSource, seed_study, warm_start_points
from ._winner import TrialSummary, Winner, select_winner

BEST_DIR = "best"
StatusHook = Callable[..., None]
FieldsHook = Callable[..., None]


@dataclass(frozen=True)
class SweepOutcome:
    """The winner and its export; ``test`` and ``artifact`` are None for a replayed sweep."""

    winner: Winner
    test: Evaluation | None
    artifact: str | None
    trials: list[TrialSummary]


def prepare_data(spec: SweepSpec, progress: bool = True) -> tuple[Splits, Vectorized]:
    """Load and vectorize once, at the largest vocabulary and length of the space, with the
    pre-trained encoders the space can draw (word vectors; the language model, cached)."""
    vectors = spec.data.pretrain_embeddings or spec.space.uses("vectors")
    # pre-training reads the unlabelled reviews, and the vocabulary covers them
    unlabeled = vectors or spec.space.uses("lm")
    splits = prepare_splits(replace(spec.data, pretrain_embeddings=unlabeled), progress=progress)
    if spec.metric == "val_auc" and len(splits.classes) > 2:
        raise DataError(
            f"metric=val_auc is for two classes; {spec.data.source} has {len(splits.classes)} "
            f"({', '.join(splits.classes)}). Use metric: val_macro_f1 (or val_accuracy, "
            "val_loss)"
        )

    def with_cleaning(clean):
        return vectorize_splits(
            splits,
            spec.space.max_vocab_size,
            spec.space.max_sequence_length,
            clean,
            progress,
            embedding_dim=spec.space.max_embedding_dim if vectors else None,
        )

    def cleaned(key: tuple[bool, bool]):
        return with_cleaning(replace(spec.data.clean, stop_words=key[0], lemmatize=key[1]))

    clean = spec.data.clean
    drawn = spec.space.cleanings((clean.stop_words, clean.lemmatize))
    # the base is the data section's cleaning, or the one cleaning a space fixes
    base = cleaned(drawn[0] if len(drawn) == 1 else (clean.stop_words, clean.lemmatize))
    if spec.space.uses("lm"):  # the space allows no cleaning variants with it
        base = with_language_model(spec, splits, base, progress)
    variants = {key: cleaned(key) for key in drawn if key != base.cleaning}
    return splits, replace(base, variants=variants) if variants else base


@dataclass(frozen=True)
class Search:
    """What every Ray Tune run of one sweep shares: the spec, the data in the object store
    (``None`` for a replayed sweep), the Optuna study's storage (``None``: in memory), the
    callbacks and stopper, and whether runs restore from their snapshots (``sweep resume``)."""

    spec: SweepSpec
    sweep_id: str
    data: Vectorized | None = None
    optuna_storage: Any = None
    callbacks: tuple[Any, ...] = ()
    stopper: Any = None
    resume: bool = False
    reuse_actors: bool = True


def _tuner(search: Search, run: Run):
    """Ray Tune's Tuner for ``run``: restored from its snapshot on resume, else new."""
    from ray import tune

    spec = search.spec
    if spec.trial == "replay":  # the same sweep, with trials that replay a curve
        function, context = replay_trial, ReplayContext(spec.replay, spec.asha.max_epochs)
    else:
        function = lstm_trial
        context = TrialContext(
            spec.train, spec.asha.max_epochs, spec.resources.cpus, spec.metric, spec.resources.gpus
        )
    trainable = tune.with_resources(
        tune.with_parameters(function, data=search.data, context=context),
        {"cpu": spec.resources.cpus, "gpu": spec.resources.gpus},
    )
    path = experiment_path(spec, run.name)
    if search.resume and tune.Tuner.can_restore(path):
        mend_snapshot(path)
        if search.optuna_storage is not None:
            close_lost(search.optuna_storage, search.sweep_id, run.name, snapshot_trial_ids(path))
        return tune.Tuner.restore(path, trainable=trainable, resume_errored=True)
    # an extension must not replay the first run's draws: each run seeds TPE differently
    searcher = make_searcher(
        spec,
        search.sweep_id,
        search.optuna_storage,
        seed_offset=run.index,
        run_name=run.name,
        quota=run.trials,
    )
    return tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            scheduler=make_scheduler(spec),
            num_samples=run.trials,
            max_concurrent_trials=spec.concurrency,
            time_budget_s=spec.time_budget_s,
            reuse_actors=search.reuse_actors,
        ),
        run_config=tune.RunConfig(
            name=run.name,
            storage_path=storage_root(spec),
            failure_config=tune.FailureConfig(max_failures=spec.max_failures),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
            callbacks=list(search.callbacks),
            stop=search.stopper,
            verbose=0,
        ),
    )


def run_search(search: Search, run: Run) -> list[TrialSummary]:
    """Run (or restore and finish) one Ray Tune run; its trials as the winner reads them."""
    return summarize(_tuner(search, run).fit(), search.spec.metric)


@dataclass(frozen=True)
class Run:
    """One Ray Tune run of a sweep: the first is named after the sweep, each ``sweep extend``
    adds ``<id>.ext<N>`` with its own number of trials, all on the same Optuna study."""

    name: str
    trials: int
    index: int = 0

    @classmethod
    def of(cls, sweep_id: str, index: int, trials: int) -> Run:
        return cls(sweep_id if index == 0 else f"{sweep_id}.ext{index}", trials, index)


def snapshot_trial_ids(path: str) -> set[str]:
    """Ray trial ids in the newest experiment snapshot at ``path`` (local or remote): the
    trials ``Tuner.restore`` will bring back, read as it reads them."""
    import json

    from ray.train._internal.storage import get_fs_and_path
    from ray.tune.execution.experiment_state import _find_newest_experiment_checkpoint

    fs, fs_path = get_fs_and_path(path)
    newest = _find_newest_experiment_checkpoint(fs_path, fs=fs)
    if newest is None:
        return set()
    with fs.open_input_stream(newest) as stream:
        state = json.loads(stream.read())
    return {json.loads(trial)["trial_id"] for trial, _ in state["trial_data"]}


def past_trials(spec: SweepSpec, runs: Sequence[Run]) -> list[TrialSummary]:
    """Trials of earlier runs, read back from their Ray Tune experiments."""
    from ray.tune import ExperimentAnalysis, ResultGrid

    out: list[TrialSummary] = []
    for run in runs:
        analysis = ExperimentAnalysis(
            experiment_path(spec, run.name), default_metric=spec.metric, default_mode=spec.mode
        )
        out.extend(summarize(ResultGrid(analysis), spec.metric))
    return out


# Ray Tune's message when a resumed trial's checkpoint is gone: the killed driver's last
# experiment snapshot named a checkpoint that ``num_to_keep`` had already deleted
_GONE_CHECKPOINT = "Could not recover from checkpoint"
LOST = TrialStatus.LOST
MAX_REPLACEMENT_RUNS = 3


def lost_on_restore(error: Any) -> bool:
    """Whether a trial failed only because the checkpoint it was resumed from is gone."""
    return error is not None and _GONE_CHECKPOINT in str(error)


def shortfall(run: Run, trials: Sequence[TrialSummary], finished_elsewhere=frozenset()) -> int:
    """Trials a resumed run still owes: the ones Ray Tune never restored (its searcher state
    was newer than its trial list when the driver died) and the ones lost on restore.

    ``finished_elsewhere``: Ray trial ids of the run that the study has as finished, which
    includes trials that ended after Ray's last experiment snapshot and before the driver
    died (so Ray's results lack them): they count as done."""
    done = {t.trial_id for t in trials if t.status != LOST} | set(finished_elsewhere)
    return max(0, run.trials - len(done))


def settle_restored(trials: Sequence[TrialSummary], finished: set[str]) -> list[TrialSummary]:
    """A trial lost on restore that had in fact finished before the driver died (the
    snapshot Ray restored from still said RUNNING) keeps its results and counts as finished."""
    return [
        replace(t, status=TrialStatus.TERMINATED)
        if t.status == LOST and t.trial_id in finished
        else t
        for t in trials
    ]


def _number_or_none(value: Any) -> float | None:
    """A reported number, or ``None`` for a missing one (pandas reads ``None`` as NaN)."""
    return None if value is None or value != value else float(value)


def _last_line(error: Any) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1][:500] if lines else type(error).__name__


def summarize(grid, metric: str) -> list[TrialSummary]:
    """Trial histories from Ray Tune's own results."""
    out = []
    for result in grid:
        frame = result.metrics_dataframe
        history = (
            tuple(float(v) for v in frame[metric].tolist())
            if frame is not None and metric in frame
            else ()
        )
        weights = (
            tuple(_number_or_none(v) for v in frame["branch_weight"].tolist())
            if frame is not None and "branch_weight" in frame
            else ()
        )
        trial_id = (result.metrics or {}).get("trial_id") or Path(result.path).name
        status = (
            LOST
            if lost_on_restore(result.error)
            else TrialStatus.ERROR
            if result.error
            else TrialStatus.TERMINATED
        )
        error = _last_line(result.error) if result.error else None
        out.append(
            TrialSummary(trial_id, dict(result.config or {}), history, status, weights, error)
        )
    return out


def search_only(
    spec: SweepSpec,
    name: str,
    data: Vectorized,
    *,
    optuna_storage: Any = None,
    callbacks: Sequence[Any] = (),
    reuse_actors: bool = True,
) -> list[TrialSummary]:
    """Only the search (no retrain, no export): one Tune run named ``name``; for benchmarks."""
    search = Search(spec, name, data, optuna_storage, tuple(callbacks), reuse_actors=reuse_actors)
    return run_search(search, Run(name, spec.trials))


def retrain_and_export(
    spec: SweepSpec,
    sweep_id: str,
    data: Vectorized,
    winner: Winner,
    destination: str,
    on_status: StatusHook,
    extra_metadata: dict[str, Any] | None = None,
    test_frame: Any = None,
) -> tuple[Evaluation, str]:
    """Retrain the winner on train + validation for its best epoch count, test once, export."""
    configure_runtime(seed=spec.train.seed)
    data = data.for_config(winner.config)  # the winner's stop words and lemmas
    model_cfg, train_cfg = trial_configs(winner.config, spec.train, len(data.classes))
    v, n = model_cfg.vocab_size, model_cfg.sequence_length
    x_train = sequence_view(data.x_train, v, n)
    x_val = sequence_view(data.x_val, v, n)
    net = compile_model(build_model(model_cfg), train_cfg)
    tuning = start_encoder(net, winner.config, model_cfg, train_cfg, data)
    if spec.retrain:
        x = np.concatenate([x_train, x_val])
        y = np.concatenate([data.y_train, data.y_val])
        history = fit(net, (x, y), None, replace(train_cfg, epochs=winner.epoch), callbacks=tuning)
    else:
        history = fit(
            net,
            (x_train, data.y_train),
            (x_val, data.y_val),
            replace(train_cfg, epochs=winner.epoch),
            callbacks=tuning,
        )
    x_test = sequence_view(data.x_test, v, n)
    # a retrained model takes the weight its trial fitted on validation at the winning epoch
    # (validation is in its training data now); one trained on train alone fits its own
    blend = branch_blend(
        net,
        (x_test, data.y_test),
        val=None if spec.retrain else (x_val, data.y_val),
        metric=spec.metric,
        weight=winner.branch_weight if spec.retrain else None,
        fitted_with=f"trial {winner.trial_id}, epoch {winner.epoch}" if spec.retrain else None,
    )
    test, probabilities = evaluate(net, x_test, data.y_test, classes=data.classes)
    on_status("exporting")
    report = None
    if test_frame is not None:
        report = report_writer(
            test_frame,
            probabilities,
            [asdict(r) for r in history],
            {
                "sweep": sweep_id,
                "trial": winner.trial_id,
                "split": "test",
                "architecture": model_cfg.architecture,
            },
            classes=data.classes,
        )
    metadata = {
        "source": "sweep",
        "sweep_id": sweep_id,
        "trial_id": winner.trial_id,
        "trial_config": winner.config,
        "epochs": winner.epoch,
        "retrained_on": "train+validation" if spec.retrain else "train",
        "train_config": asdict(train_cfg),
        "validation": {spec.metric: winner.value},
        "branch_weight": blend,
        "test": test.to_dict(),
        "classes": list(data.classes),
        "data": {
            "fingerprint": data.fingerprint,
            "n_train": len(data.y_train),
            "n_validation": len(data.y_val),
            "n_test": len(data.y_test),
            "source": spec.data.source,
            "embeddings_pretrained_on": data.embeddings_from,
            "language_model": data.language_model_info or None,
        },
        "spec": spec_to_dict(spec),
        "history": [asdict(r) for r in history],
        **(extra_metadata or {}),
    }
    if "://" not in destination:
        export_model(net, data.vocabulary, model_cfg, destination, metadata, report=report)
        return test, destination
    with tempfile.TemporaryDirectory() as tmp:  # cloud storage: export locally, then upload
        local = export_model(
            net, data.vocabulary, model_cfg, Path(tmp) / BEST_DIR, metadata, report=report
        )
        _upload(local, destination)
    return test, destination


def _upload(local: Path, uri: str) -> None:
    import pyarrow.fs as pafs

    fs, path = pafs.FileSystem.from_uri(uri)
    pafs.copy_files(str(local), path, destination_filesystem=fs)


def run_sweep(
    spec: SweepSpec,
    sweep_id: str,
    *,
    optuna_storage: Any = None,
    callbacks: Sequence[Any] = (),
    stopper: Any = None,
    on_status: StatusHook = lambda status, **fields: None,
    resume: bool = False,
    progress: bool = True,
    runs: Sequence[Run] = (),
    warm_sources: Sequence[WarmSource] = (),
    on_fields: FieldsHook = lambda **fields: None,
) -> SweepOutcome:
    """Run (or resume) the sweep and export its winner to ``<storage>/<id>/best``:
    prepare the data, warm-start the study, search, settle a resumed run's shortfall,
    select the winner, retrain and export it.

    ``runs`` lists the sweep's Ray Tune runs (default: one run of ``spec.trials``); the last
    is the one to run, earlier ones only count for the winner. ``warm_sources`` are
    configurations of earlier sweeps to evaluate first. ``on_fields`` records facts found
    on the way (data fingerprint, warm-start report) in the sweep record.
    """
    runs = list(runs) or [Run.of(sweep_id, 0, spec.trials)]
    replay = spec.trial == "replay"  # trains nothing: no data, no export
    splits, data = (None, None) if replay else prepare_data(spec, progress)
    if data is not None:
        on_fields(data_fingerprint=data.fingerprint)
        if data.language_model_info:  # which language model the trials start from
            lm = data.language_model_info
            on_fields(
                language_model={
                    k: lm[k] for k in ("key", "reused", "perplexity", "seconds", "device")
                }
            )
        if warm_sources and not resume:
            warm = warm_start_points(warm_sources, spec.space, data.fingerprint)
            seed_study(optuna_storage, sweep_id, spec.objectives[1], warm)
            on_fields(warm_start=warm.to_dict())
    search = Search(spec, sweep_id, data, optuna_storage, tuple(callbacks), stopper, resume)
    earlier = past_trials(spec, runs[:-1])
    trials = earlier + settle(search, runs, run_search(search, runs[-1]), on_fields)
    winner = select_winner(trials, spec.mode)
    if splits is None:
        return SweepOutcome(winner, None, None, trials)
    on_status("retraining", best_trial=winner.trial_id, best_metric=winner.value)
    destination = join_storage(experiment_path(spec, sweep_id), BEST_DIR)
    test, artifact = retrain_and_export(
        spec, sweep_id, data, winner, destination, on_status, test_frame=splits.test
    )
    return SweepOutcome(winner, test, artifact, trials)


def settle(
    search: Search, runs: list[Run], latest: list[TrialSummary], on_fields: FieldsHook
) -> list[TrialSummary]:
    """The trials of the last run of ``runs``, settled after a resume: those the study saw
    finish count as finished, and replacement runs (appended to ``runs`` and recorded, so
    that a later resume restores them) make up a shortfall (see ``shortfall``). Not under a
    time budget (there the budget, not the count, ends the run) or after a cancel."""
    if not search.resume:
        return latest
    storage, sweep_id = search.optuna_storage, search.sweep_id
    if storage is not None:
        latest = settle_restored(latest, finished_ray_trials(storage, sweep_id))
    trials = list(latest)
    for _ in range(0 if search.spec.time_budget_s else MAX_REPLACEMENT_RUNS):
        if search.stopper is not None and search.stopper.stop_all():
            break
        elsewhere = (
            finished_ray_trials(storage, sweep_id, runs[-1].name) if storage is not None else set()
        )
        missing = shortfall(runs[-1], latest, elsewhere)
        if not missing:
            break
        runs.append(Run(f"{sweep_id}.replace{len(runs)}", missing, len(runs)))
        on_fields(runs=[asdict(r) for r in runs])
        latest = run_search(search, runs[-1])
        trials += latest
    return trials
