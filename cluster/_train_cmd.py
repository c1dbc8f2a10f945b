"""``sweep train``: one training run from a spec file and/or flags, no Ray, no Redis."""

from __future__ import annotations

import click

from ._common import echo_json, test_metrics_line
from ._errors import cli_errors
from ._options import data_option, label_options, output_options, pretrain_option


@click.command()
@click.argument("spec", required=False, type=click.Path(dir_okay=False))
@data_option
@label_options
@click.option(
    "--max-reviews",
    type=int,
    help="Use at most N train and N test reviews "
    "(stratified sample) for a quick run. Overrides data.max_reviews.",
)
@pretrain_option
@click.option(
    "--stop-words/--no-stop-words",
    default=None,
    help="Remove English stop words (scikit-learn's list, negations such as not/no/dont kept) "
    "before the vocabulary. Overrides data.clean.stop_words.",
)
@click.option(
    "--lemmatize/--no-lemmatize",
    default=None,
    help="Merge inflected forms (movies -> movie) with simplemma's lemmatizer, through the "
    "vocabulary (the export still takes raw text). Overrides data.clean.lemmatize.",
)
@click.option(
    "--architecture",
    type=click.Choice(["lstm", "stacked_lstm", "bilstm", "conv_lstm"]),
    help="Overrides model.architecture (default lstm).",
)
@click.option("--vocab-size", type=int, help="Overrides model.vocab_size (default 20000).")
@click.option("--sequence-length", type=int, help="Overrides model.sequence_length (default 200).")
@click.option("--embedding-dim", type=int, help="Overrides model.embedding_dim (default 128).")
@click.option("--units", type=int, help="Overrides model.units (default 64).")
@click.option("--layers", type=int, help="Overrides model.layers (default 1).")
@click.option("--dropout", type=float, help="Overrides model.dropout (default 0.2).")
@click.option(
    "--pooling",
    type=click.Choice(["last", "max", "mean"]),
    help="bilstm pooling over time. Overrides model.pooling.",
)
@click.option(
    "--ngram-buckets",
    type=int,
    help="Add a bag-of-n-grams branch beside the LSTM: words and bigrams hashed into N "
    "buckets (e.g. 262144, as the default search space; 0 = none). "
    "Overrides model.ngram_buckets (default 0).",
)
@click.option("--ngram-dim", type=int, help="Overrides model.ngram_dim (default 16).")
@click.option(
    "--lstm-kernel",
    type=click.Choice(["auto", "keras", "projected"]),
    help="keras: keras.layers.LSTM (cuDNN on a GPU); projected: ProjectedLSTM (input "
    "projection in bfloat16, faster on CPUs with AMX/AVX512-BF16); auto: projected on such "
    "a CPU without a GPU. Overrides model.lstm_kernel (default auto).",
)
@click.option(
    "--optimizer",
    type=click.Choice(["adam", "rmsprop", "adamw"]),
    help="Overrides train.optimizer (default adam).",
)
@click.option("--learning-rate", type=float, help="Overrides train.learning_rate (default 1e-3).")
@click.option("--batch-size", type=int, help="Overrides train.batch_size (default 128).")
@click.option("--epochs", type=int, help="Overrides train.epochs (default 3).")
@click.option(
    "--class-weight",
    type=click.Choice(["none", "balanced"]),
    help="balanced: weigh each class by n / (K * n_class), for imbalanced classes. "
    "Overrides train.class_weight (default none).",
)
@click.option("--seed", type=int, help="Overrides train.seed and data.seed (default 0).")
@click.option(
    "--output",
    "-o",
    default="artifacts/model",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Export folder for the trained model.",
)
@output_options
@cli_errors
def train(
    spec,
    data_source,
    data_labels,
    max_reviews,
    pretrain_embeddings,
    stop_words,
    lemmatize,
    architecture,
    vocab_size,
    sequence_length,
    embedding_dim,
    units,
    layers,
    dropout,
    pooling,
    ngram_buckets,
    ngram_dim,
    lstm_kernel,
    optimizer,
    learning_rate,
    batch_size,
    epochs,
    class_weight,
    seed,
    output,
    quiet,
    as_json,
):
    """Train one model (no Ray, no Redis), evaluate it on test and export it.

    SPEC is an optional YAML file with `data:`, `model:` and `train:` sections (see
    examples/train.yaml); flags override it.

    \b
    Example:
      sweep train --data ../shared/data/imdb/aclImdb_v1.tar.gz --epochs 3 -o model/
      sweep train --data tickets.parquet --text-column body --label-column queue -o model/
    """
    from dataclasses import replace

    from sweep.search import TrainSpec, load_yaml, override, parse_train_spec, run_training

    parsed = parse_train_spec(load_yaml(spec)) if spec else TrainSpec()
    parsed = override(
        parsed,
        {
            "data.source": data_source,
            "data.max_reviews": max_reviews,
            "data.seed": seed,
            "data.pretrain_embeddings": pretrain_embeddings,
            **data_labels,
            "model.architecture": architecture,
            "model.vocab_size": vocab_size,
            "model.sequence_length": sequence_length,
            "model.embedding_dim": embedding_dim,
            "model.units": units,
            "model.layers": layers,
            "model.dropout": dropout,
            "model.pooling": pooling,
            "model.ngram_buckets": ngram_buckets,
            "model.ngram_dim": ngram_dim,
            "model.lstm_kernel": lstm_kernel,
            "train.optimizer": optimizer,
            "train.learning_rate": learning_rate,
            "train.batch_size": batch_size,
            "train.epochs": epochs,
            "train.class_weight": class_weight,
            "train.seed": seed,
        },
    )
    cleaning = {"stop_words": stop_words, "lemmatize": lemmatize}
    cleaning = {k: v for k, v in cleaning.items() if v is not None}
    if cleaning:
        parsed = override(parsed, {"data.clean": replace(parsed.data.clean, **cleaning)})

    def show(r):
        if not quiet and not as_json:
            click.echo(
                f"epoch {r.epoch}/{parsed.train.epochs}  loss {r.loss:.4f}  "
                f"acc {r.accuracy:.4f}  val_loss {r.val_loss:.4f}  "
                f"val_acc {r.val_accuracy:.4f}  lr {r.learning_rate:.2g}  {r.seconds:.0f}s"
            )

    outcome = run_training(parsed, output, on_epoch=show, progress=not quiet and not as_json)
    t = outcome.test
    if as_json:
        echo_json(
            {"export": str(outcome.export_dir), "test": t.to_dict(), "epochs": len(outcome.history)}
        )
    else:
        click.echo(test_metrics_line(t.to_dict()))
        click.echo(f"model exported to {outcome.export_dir}")
