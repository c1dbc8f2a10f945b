"""Two sweeps at once against one Redis: keys, studies and artifacts never mix."""

from __future__ import annotations

import json
import subprocess

import optuna
import pytest

from sweep.cluster._keys import Keys
from sweep.cluster._optuna_journal import optuna_storage
from sweep.cluster._redis_store import RedisStateStore
from tests.conftest import SWEEP
from tests.integration.conftest import write_spec

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_two_simultaneous_sweeps_stay_apart(redis_url, sweep_archive, tmp_path):
    procs, folders = [], []
    for name in ("alpha", "beta"):
        folder = tmp_path / name
        folder.mkdir()
        spec = write_spec(
            folder,
            sweep_archive,
            name=name,
            trials=3,
            concurrency=1,
            asha={"max_epochs": 2, "grace_period": 1, "reduction_factor": 2},
        )
        folders.append(folder)
        procs.append(
            subprocess.Popen(
                [
                    *SWEEP,
                    "launch",
                    spec,
                    "--redis-url",
                    redis_url,
                    "--json",
                    "-q",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    records = []
    for proc in procs:
        out, _ = proc.communicate(timeout=400)
        assert proc.returncode == 0, out[-3000:]
        records.append(json.loads(out[out.rindex('{\n  "artifact"') :]))
    store = RedisStateStore(redis_url)
    ids = [r["id"] for r in records]
    assert [i.split("-")[0] for i in ids] == ["alpha", "beta"]
    trial_sets = [set(store.trials(i)) for i in ids]
    assert all(len(t) == 3 for t in trial_sets) and not trial_sets[0] & trial_sets[1]
    for sweep_id, trials, folder, record in zip(ids, trial_sets, folders, records, strict=True):
        study = optuna.load_study(
            study_name=sweep_id, storage=optuna_storage(redis_url, sweep_id, Keys())
        )
        assert len(study.trials) == 3
        assert {t for t, _ in store.leaderboard(sweep_id, "max")} == trials
        assert record["artifact"] == str(folder / "runs" / sweep_id / "best")
        meta = json.loads((folder / "runs" / sweep_id / "best" / "metadata.json").read_text())
        assert meta["sweep_id"] == sweep_id and meta["trial_id"] in trials
    keys = {k.split(":")[1] for k in store.client.keys("sweep:*") if k != "sweep:index"}
    assert keys == set(ids)
