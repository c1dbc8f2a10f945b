"""Export of an end-to-end model, sha256-checked loading, safe_mode, raw-string parity."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from sweep.data import CleanConfig, build_vocabulary, clean_text, sequence_view, vectorize
from sweep.model import (
    ModelConfig,
    ModelFileError,
    TextCleaner,
    TrainConfig,
    build_model,
    end_to_end,
    export_model,
    fit,
    load_model,
    predict_texts,
    set_branch_weight,
    write_metadata,
)
from tests import _synthetic

CFG = ModelConfig(vocab_size=120, sequence_length=24, embedding_dim=8, units=4)
# with the n-gram branch: its hashing ops and BranchDropout must survive both export formats
NGRAMS = replace(CFG, architecture="bilstm", pooling="max", ngram_buckets=50, ngram_dim=4)
TRICKY = [
    "Great film!<br /><br />I DIDN'T expect it... 10/10",
    "ÉCOLE İstanbul ÄÖÜ Straße ΣΊΣΥΦΟΣ — “quoted” café",
    "tabs\tand\nnew\rlines\u00a0nbsp  <i>italic</i> a<b",
    "",
    "x" * 5000,
]


@pytest.fixture(scope="module", params=[CFG, NGRAMS], ids=["lstm", "bilstm-ngrams"])
def exported(request, tmp_path_factory):
    config = request.param
    keras.utils.set_random_seed(0)
    texts = [t for t, _, _ in _synthetic.corpus(40)]
    labels = np.array([y for _, y, _ in _synthetic.corpus(40)])
    vocab = build_vocabulary(texts, 120)
    ids, _ = vectorize(texts, vocab, 24)
    net = build_model(config)
    fit(net, (ids, labels), None, TrainConfig(epochs=1, batch_size=32))
    set_branch_weight(net, 0.3)  # a fitted blend must survive both formats (LSTM-only: no-op)
    out = export_model(
        net,
        vocab,
        config,
        tmp_path_factory.mktemp("e") / "model",
        metadata={"test": {"accuracy": 0.5}},
    )
    return net, vocab, texts, ids, out


def test_export_layout_and_metadata(exported):
    *_, out = exported
    meta = json.loads((out / "metadata.json").read_text())
    assert (out / "model.keras").is_file() and (out / "saved_model" / "saved_model.pb").is_file()
    assert "model.keras" in meta["files"] and "saved_model/saved_model.pb" in meta["files"]
    assert meta["model_config"]["vocab_size"] == 120 and meta["test"] == {"accuracy": 0.5}
    assert {"keras", "tensorflow"} <= set(meta["libraries"])


def test_reloaded_model_on_raw_text_matches_trained_model_on_ids(exported):
    net, _, texts, ids, out = exported
    loaded, _meta = load_model(out)
    np.testing.assert_allclose(
        predict_texts(loaded, texts), net.predict(ids, verbose=0).reshape(-1), atol=1e-5
    )


def test_saved_model_serves_raw_strings(exported):
    net, _, texts, ids, out = exported
    served = tf.saved_model.load(str(out / "saved_model"))
    p = served.serve(tf.constant(texts[:5])[:, None]).numpy().reshape(-1)
    np.testing.assert_allclose(p, net.predict(ids[:5], verbose=0).reshape(-1), atol=1e-5)


def test_text_cleaner_layer_equals_python_cleaning():
    for config in (CleanConfig(), CleanConfig(False, False, False), CleanConfig(True, False, True)):
        layer = TextCleaner(config.strip_html, config.lowercase, config.strip_punctuation)
        got = [s.decode() for s in layer(tf.constant(TRICKY)).numpy()]
        assert got == [clean_text(t, config) for t in TRICKY]


def test_exported_vectorizer_gives_the_training_ids(exported):
    _, vocab, texts, _, _ = exported
    full = end_to_end(build_model(CFG), vocab, CFG)
    cleaned = full.get_layer("clean")(tf.constant(texts + TRICKY)[:, None])
    ids = full.get_layer("keep_last")(full.get_layer("vectorize")(cleaned))
    expected, _ = vectorize(texts + TRICKY, vocab, 24)
    assert (np.count_nonzero(expected, axis=1) == 24).any()  # some texts are truncated
    np.testing.assert_array_equal(ids.numpy(), expected)


@pytest.mark.parametrize(
    "clean",
    [
        CleanConfig(stop_words=True),
        CleanConfig(lemmatize=True),
        CleanConfig(stop_words=True, lemmatize=True, keep_negations=False),
    ],
    ids=["stop words", "lemmas", "both, negations removed"],
)
def test_stop_words_and_lemmas_give_the_export_the_training_ids(clean, tmp_path):
    """Through the vocabulary's word-form map: the exported model (raw text in, loaded with
    safe_mode in this process) gives exactly the ids training used, for seen and unseen
    words, and predicts what the trained classifier predicts on them."""
    texts = [
        *TRICKY,
        "The children weren't loving these movies; I didn't, not at all!",
        "Films about loved actors are the best of all the films I have seen",
    ]
    vocab = build_vocabulary(texts[:-1], 40, clean)
    assert vocab.surface and len(vocab.surface) == len(vocab.surface_ids)
    cfg = ModelConfig(vocab_size=30, sequence_length=12, embedding_dim=4, units=3, ngram_buckets=16)
    net = build_model(cfg)
    out = export_model(net, vocab, cfg, tmp_path / "m", saved_model=False)
    loaded, meta = load_model(out)
    assert meta["clean"]["stop_words"] == clean.stop_words
    to_ids = keras.Model(loaded.input, loaded.get_layer("keep_last").output)
    got = np.asarray(to_ids(tf.constant(texts)[:, None]))
    expected, _ = vectorize(texts, vocab, 12)
    expected = sequence_view(expected, cfg.vocab_size, 12)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_allclose(
        predict_texts(loaded, texts),
        np.asarray(net.predict(expected, verbose=0)).reshape(-1),
        atol=1e-5,
    )


def test_tampered_file_is_refused(exported, tmp_path):
    import shutil

    *_, out = exported
    copy = tmp_path / "m"
    shutil.copytree(out, copy)
    with open(copy / "model.keras", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelFileError, match=r"model\.keras fails its sha256 check"):
        load_model(copy)


def test_missing_file_and_missing_folder_are_refused(exported, tmp_path):
    import shutil

    *_, out = exported
    copy = tmp_path / "m"
    shutil.copytree(out, copy)
    (copy / "saved_model" / "saved_model.pb").unlink()
    with pytest.raises(ModelFileError, match=r"saved_model\.pb is missing"):
        load_model(copy)
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFileError, match=r"no metadata\.json"):
        load_model(tmp_path / "empty")


def test_model_with_lambda_layer_is_refused_even_with_valid_checksums(tmp_path):
    inp = keras.Input((3,))
    out = keras.layers.Lambda(lambda x: x * 2)(inp)
    folder = tmp_path / "evil"
    folder.mkdir()
    keras.Model(inp, out).save(folder / "model.keras")
    write_metadata(folder, {"format_version": 1})
    with pytest.raises(ModelFileError, match="cannot be loaded safely"):
        load_model(folder)


def test_export_holds_weights_but_no_optimizer_state(exported):
    import io
    import zipfile

    import h5py

    net, *_, out = exported
    assert net.optimizer is not None and net.optimizer.variables  # the trained model has one
    with zipfile.ZipFile(out / "model.keras") as archive:
        weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
        names: list[str] = []
        weights.visit(names.append)
    assert any("lstm" in n for n in names)
    assert not [n for n in names if "optimizer" in n]


def test_metadata_is_strict_json_even_with_a_metric_never_computed(tmp_path):
    """A run without validation data reports NaN; metadata.json stays parseable by strict
    JSON parsers (NaN and Infinity are not JSON) and says null."""
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"\0")
    write_metadata(
        folder,
        {
            "val": {
                "accuracy": float("nan"),
                "loss": np.float32("inf"),
                "curve": [0.5, float("nan")],
            }
        },
    )

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    meta = json.loads((folder / "metadata.json").read_text(), parse_constant=refuse)
    assert meta["val"] == {"accuracy": None, "loss": None, "curve": [0.5, None]}
    assert "weights.bin" in meta["files"]


def _fresh(code: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=cwd
    )


@pytest.mark.parametrize(
    "registers",
    ["import sweep.layers\n", "import sweep\n", "import keras\nimport sweep\n"],
    ids=["sweep.layers", "sweep before keras", "sweep after keras"],
)
def test_plain_keras_loads_an_export_once_sweep_is_imported(exported, tmp_path, registers):
    """In a fresh process: ``keras.saving.load_model(..., safe_mode=True)`` after
    ``import sweep`` (before or after Keras) or ``import sweep.layers`` predicts what the
    trained model does; without it, Keras cannot find the package's layers (so the import
    is what registers them)."""
    net, _, texts, ids, out = exported
    load = (
        "import json, keras, numpy as np, tensorflow as tf\n"
        f"m = keras.saving.load_model({str(out / 'model.keras')!r}, safe_mode=True)\n"
        f"print(json.dumps(m.predict(tf.constant({texts[:5]!r})[:, None], verbose=0)"
        ".reshape(-1).tolist()))\n"
    )
    done = _fresh(registers + load, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(got, net.predict(ids[:5], verbose=0).reshape(-1), atol=1e-5)
    bare = _fresh(load, tmp_path)
    assert bare.returncode != 0 and "TextCleaner" in bare.stderr


def test_the_saved_model_serves_with_tensorflow_alone(exported, tmp_path):
    """A fresh process in which importing sweep fails still serves the SavedModel."""
    net, _, texts, ids, out = exported
    code = (
        "import sys\nsys.modules['sweep'] = None  # any import of the package fails\n"
        "import json, tensorflow as tf\n"
        f"served = tf.saved_model.load({str(out / 'saved_model')!r})\n"
        f"p = served.serve(tf.constant({texts[:5]!r})[:, None]).numpy().reshape(-1)\n"
        "print(json.dumps(p.tolist()))\n"
    )
    done = _fresh(code, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(got, net.predict(ids[:5], verbose=0).reshape(-1), atol=1e-5)


def test_the_python_api_loads_verifies_and_predicts(exported, tmp_path):
    import shutil

    import sweep

    net, _, texts, ids, out = exported
    expected = net.predict(ids[:5], verbose=0).reshape(-1)
    np.testing.assert_allclose(sweep.predict(out, texts[:5]), expected, atol=1e-5)
    model = sweep.load_model(out)
    np.testing.assert_allclose(sweep.predict(model, texts[:5]), expected, atol=1e-5)
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    with open(copy / "model.keras", "ab") as fh:
        fh.write(b"tampered")
    with pytest.raises(ModelFileError, match="sha256"):
        sweep.load_model(copy)


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_an_export_written_before_k_classes_loads_and_predicts_the_same(tmp_path):
    """``tests/fixtures/export-968401d`` was exported by commit 968401d (binary only: no
    ``classes`` in its metadata, the BranchDropout of that time, a blend weight of 0.3),
    with its predictions on three probe texts recorded then."""
    from click.testing import CliRunner

    from sweep.cluster import main

    folder = FIXTURES / "export-968401d"
    recorded = json.loads((FIXTURES / "export-968401d.json").read_text())
    net, meta = load_model(folder)
    assert "classes" not in meta and "num_classes" not in meta["model_config"]
    np.testing.assert_allclose(
        predict_texts(net, recorded["texts"]), recorded["p_positive"], rtol=1e-5, atol=1e-6
    )
    result = CliRunner().invoke(main, ["predict", str(folder), "--json", *recorded["texts"][:2]])
    assert result.exit_code == 0, result.output
    assert [r["label"] for r in json.loads(result.output)] == ["positive", "negative"]
