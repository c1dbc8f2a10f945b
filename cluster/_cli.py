"""The ``sweep`` command line: parse, build config objects, call a package, print.

Heavy imports (TensorFlow, Ray) happen inside commands so ``sweep --help`` is instant.
"""

from __future__ import annotations

import os

import click

from ._extend_cmd import extend
from ._local_cmd import local
from ._predict_cmd import predict
from ._pretrain_cmd import pretrain
from ._report_cmds import COMMANDS as REPORT_COMMANDS
from ._simulate_cmd import simulate
from ._sweep_cmds import COMMANDS
from ._train_cmd import train


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="sweep")
def main() -> None:
    """Distributed hyperparameter search for Keras LSTM sentiment models.

    \b
    Quick start (one training run, no cluster):
      sweep train --data aclImdb_v1.tar.gz --output model/
      sweep predict model/ "An absolute masterpiece, I loved every minute"
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


main.add_command(train)
main.add_command(pretrain)
main.add_command(predict)
main.add_command(local)
main.add_command(extend)
main.add_command(simulate)
for _command in [*COMMANDS, *REPORT_COMMANDS]:
    main.add_command(_command)

__all__ = ["main"]
