"""Benchmark: IMDB's star-rating task (8 classes: 1-4 and 7-10 stars), baselines beside a model.

Scores on the same test split: the majority class, a bag of n-grams (scikit-learn's
``TfidfVectorizer`` over words and bigrams + multinomial ``LogisticRegression``, fitted on
train + validation), and with ``--model DIR`` an exported K-class model (a sweep's winner,
``sweep launch --labels rating``). Per method: accuracy, macro-F1 and the mean absolute
error of the predicted rating in stars. Prints JSON.

    python bench/rating_task.py --data ../shared/data/imdb/aclImdb_v1.tar.gz --model best/
    python bench/rating_task.py --data ... --quick     # 1,000 reviews (CI)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def scores(y, predicted, stars) -> dict:
    """Accuracy, macro-F1 and mean absolute rating error of predicted class indices."""
    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error

    labels = list(range(len(stars)))
    value = np.asarray(stars, dtype=float)
    return {
        "accuracy": float(accuracy_score(y, predicted)),
        "macro_f1": float(f1_score(y, predicted, labels=labels, average="macro", zero_division=0)),
        "mean_absolute_error_stars": float(mean_absolute_error(value[y], value[predicted])),
    }


def majority(train_y, test_y, stars) -> dict:
    import numpy as np
    from sklearn.dummy import DummyClassifier

    dummy = DummyClassifier(strategy="most_frequent").fit(np.zeros((len(train_y), 1)), train_y)
    return scores(test_y, dummy.predict(np.zeros((len(test_y), 1))), stars)


def ngram_bag(train_texts, train_y, test_texts, test_y, stars) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    start = time.perf_counter()
    pipe = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=200_000, sublinear_tf=True),
        LogisticRegression(C=4.0, max_iter=2000),
    )
    pipe.fit(train_texts, train_y)
    out = scores(test_y, pipe.predict(test_texts), stars)
    return {**out, "fit_seconds": round(time.perf_counter() - start, 1)}


def model(model_dir: str, test_texts, test_y, stars) -> dict:
    from sweep.model import export_classes, load_model, predict_texts, predicted_classes

    net, meta = load_model(model_dir)
    classes = export_classes(meta, net)
    if classes != [str(s) for s in stars]:
        raise SystemExit(f"{model_dir}: its classes {classes} are not the ratings {stars}")
    predicted = predicted_classes(predict_texts(net, list(test_texts)))
    return {
        **scores(test_y, predicted, stars),
        "model": model_dir,
        "architecture": meta["model_config"]["architecture"],
        "sweep_id": meta.get("sweep_id"),
        "trial_config": meta.get("trial_config"),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="imdb", help="the IMDB archive or folder")
    parser.add_argument("--model", help="an exported model trained with --labels rating")
    parser.add_argument("--max-reviews", type=int, help="train and test reviews (stratified)")
    parser.add_argument("--quick", action="store_true", help="1,000 train and test reviews")
    args = parser.parse_args(argv)
    from sweep.data import DataConfig, prepare_splits
    from sweep.data._dataset import IMDB_RATINGS

    max_reviews = 1000 if args.quick else args.max_reviews
    splits = prepare_splits(
        DataConfig(source=args.data, labels="rating", max_reviews=max_reviews), progress=False
    )
    train = [*splits.train["text"], *splits.validation["text"]]
    train_y = [*splits.train["label"], *splits.validation["label"]]
    test_texts, test_y = splits.test["text"].tolist(), splits.test["label"].to_numpy()
    stars = list(IMDB_RATINGS)
    methods = {
        "majority_class": majority(train_y, test_y, stars),
        "tfidf_ngrams_logistic_regression": ngram_bag(train, train_y, test_texts, test_y, stars),
    }
    if args.model:
        methods["model"] = model(args.model, test_texts, test_y, stars)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
    ).stdout.strip()
    out = {
        "task": "IMDB star rating, 8 classes",
        "classes": list(splits.classes),
        "n_train": len(train),
        "n_test": len(test_y),
        "methods": methods,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "commit": commit,
    }
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
