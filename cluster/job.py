"""Entry point of a sweep's Ray job: ``python -m sweep.cluster.job run|resume SWEEP_ID``.

The Redis URL comes from ``SWEEP_DRIVER_REDIS_URL`` when the head's environment sets it (the
address of Redis as the cluster sees it, e.g. ``redis://127.0.0.1:6380/0`` on the head of
ray-cluster.yaml, where the user reaches it through a tunnel), else from ``SWEEP_REDIS_URL``
(set in the job's runtime environment by ``sweep launch``). Passwords come from the node.
"""

from __future__ import annotations

import os
import sys

import click

from ._redis_store import RedisStateStore
from ._settings import ENV_DRIVER_REDIS_URL, resolve_redis_url, with_password
from ._store import StoreUnavailable


@click.command()
@click.argument("action", type=click.Choice(["run", "resume"]))
@click.argument("sweep_id")
@click.option("--prefix", default="sweep:", show_default=True)
def job(action: str, sweep_id: str, prefix: str) -> None:
    # Redis is checked before the sweep's imports (TensorFlow, Ray Tune: seconds), so a driver
    # that cannot reach it or lacks its password fails at once with the store's message
    redis_url = with_password(os.environ.get(ENV_DRIVER_REDIS_URL) or resolve_redis_url())
    try:
        RedisStateStore(redis_url, prefix).ping()
    except StoreUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    from ._redis_store import RedisGone
    from ._runner import execute_sweep

    try:
        record = execute_sweep(sweep_id, redis_url, prefix=prefix, resume=action == "resume")
    except RedisGone as exc:  # the job log's last line is what `sweep launch` shows
        raise click.ClickException(exc.stopped(sweep_id)) from None
    click.echo(f"sweep {sweep_id} {record.get('status')}: {record.get('artifact', '')}")


if __name__ == "__main__":
    sys.exit(job())
