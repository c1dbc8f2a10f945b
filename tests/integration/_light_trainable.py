"""A trainable for Ray Tune tests that need many trial processes at once.

It lives apart from the test modules so that each trial's worker process imports only Ray Tune
to unpickle it: a trainable defined in a test module makes every worker import what that module
imports (the search package, and with it TensorFlow: about 12 s of one core each).
"""

from __future__ import annotations

import time


def score_after_a_second(config):
    from ray import tune

    time.sleep(1.0)  # all trials run at once: suggestions are asked before any result is in
    tune.report({"val_accuracy": (config["units"] + config["embedding_dim"]) / 100})


def replay_fixed_curve(config):
    """Report the fixed curve of ``config`` (tests/search/test_simulate.py) epoch by epoch."""
    from ray import tune

    from tests.search.test_simulate import fixed_curve

    for epoch, value in enumerate(fixed_curve(config).val_accuracy, start=1):
        tune.report({"epoch": epoch, "val_accuracy": value})
