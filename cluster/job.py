"""Entry point of a sweep's Ray job: ``python -m cluster.job run|resume SWEEP_ID``.

The Redis URL comes from ``SWEEP_REDIS_URL`` (set in the job's runtime environment).
"""

from __future__ import annotations

import sys

import click

from ._settings import resolve_redis_url, with_password


@click.command()
@click.argument("action", type=click.Choice(["run", "resume"]))
@click.argument("sweep_id")
@click.option("--prefix", default="sweep:", show_default=True)
def job(action: str, sweep_id: str, prefix: str) -> None:
    from ._runner import execute_sweep

    record = execute_sweep(
        sweep_id, with_password(resolve_redis_url()), prefix=prefix, resume=action == "resume"
    )
    click.echo(f"sweep {sweep_id} {record.get('status')}: {record.get('artifact', '')}")


if __name__ == "__main__":
    sys.exit(job())
