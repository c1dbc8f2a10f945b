"""`sweep report ID [ID...]` from a real Redis: sweep records, trial tables and Optuna
studies in the journal, as a sweep leaves them (built here without Ray)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from sweep.cluster import RedisStateStore, main
from sweep.cluster._optuna_journal import optuna_storage
from sweep.search import parse_sweep_spec, spec_to_dict
from tests._browser import assert_png
from tests._studies import sweep_study

ASHA = {"max_epochs": 4, "grace_period": 1, "reduction_factor": 2}


def _record(store: RedisStateStore, sweep_id: str, reach: list[int], offset: float) -> dict:
    spec = parse_sweep_spec({"trials": len(reach), "asha": ASHA})
    store.create_sweep(sweep_id, spec_to_dict(spec), "/tmp")
    store.set_fields(sweep_id, running_at=0.0)
    storage = optuna_storage(store.url, sweep_id, store.keys)
    _, rows = sweep_study(reach, storage=storage, name=sweep_id, offset=offset)
    for trial_id, row in rows.items():
        store.write_trial(sweep_id, trial_id, row, row["best"], "completed")
    return rows


def test_report_of_several_sweeps_overlays_their_best_so_far(redis_url, tmp_path):
    store = RedisStateStore(redis_url)
    first = _record(store, "first", [4, 1, 1, 2, 4, 1, 2, 1, 4], 0.0)
    second = _record(store, "second", [4, 4, 2], 0.1)
    out = tmp_path / "compared"

    result = CliRunner().invoke(
        main, ["report", "first", "second", "--redis-url", redis_url, "-o", str(out), "--json"]
    )

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["sweeps"]["first"]["trials"] == 9
    assert summary["sweeps"]["first"]["trial_epochs"] == sum([4, 1, 1, 2, 4, 1, 2, 1, 4])
    assert summary["sweeps"]["first"]["best"] == max(r["best"] for r in first.values())
    assert summary["sweeps"]["second"]["best"] == max(r["best"] for r in second.values())
    assert_png(out / "comparison.png")
    for sweep_id in ("first", "second"):  # each sweep's own report beside the comparison
        assert_png(out / sweep_id / "optimization_history.png")
    assert summary["reports"]["first"]["figures"]["param_importances"] == {
        "trials": 9,
        "epoch": 1,
    }
    assert "withheld" in summary["reports"]["second"]["figures"]["param_importances"]


def test_report_of_an_unknown_sweep_exits_2_naming_it(redis_url, tmp_path):
    store = RedisStateStore(redis_url)
    _record(store, "first", [4, 4], 0.0)
    result = CliRunner().invoke(
        main, ["report", "first", "nope", "--redis-url", redis_url, "-o", str(tmp_path / "r")]
    )
    assert result.exit_code == 2 and "nope" in result.output
    assert not (tmp_path / "r").exists()  # nothing written before every sweep was found
