"""``python -m sweep.cluster`` = the ``sweep`` command."""

from ._cli import main

main(prog_name="sweep")
