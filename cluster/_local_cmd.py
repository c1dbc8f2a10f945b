"""``sweep local up|down|status``."""

from __future__ import annotations

import click

from ._errors import WorkFailed, cli_errors


@click.group()
def local() -> None:
    """Start or stop a local Ray head and Redis, bound to 127.0.0.1.

    \b
    Example:
      sweep local up && export RAY_ADDRESS=http://127.0.0.1:8265
      sweep launch examples/quick.yaml --data aclImdb_v1.tar.gz
      sweep local down
    """


@local.command()
@click.option("--redis-port", default=6380, show_default=True)
@click.option("--ray-port", default=6379, show_default=True, help="Ray GCS port.")
@click.option("--dashboard-port", default=8265, show_default=True)
@click.option("--num-cpus", type=int, help="CPUs the Ray head offers (default: all).")
@click.option("--num-gpus", type=int, help="GPUs the Ray head offers (default: detected).")
@cli_errors
def up(redis_port, ray_port, dashboard_port, num_cpus, num_gpus):
    """Start Redis (append-only, noeviction, generated password) and a Ray head."""
    from ._local import LocalError, LocalPorts
    from ._local import up as start
    from ._settings import redact

    try:
        state = start(LocalPorts(redis_port, ray_port, dashboard_port), num_cpus, num_gpus)
    except LocalError as exc:
        raise WorkFailed(str(exc)) from None
    click.echo(
        f"redis: {redact(state['redis_url'])} (password in a 0600 file under "
        "~/.local/state/sweep; sweep commands find it)"
    )
    click.echo(f"ray:   {state['ray_address']}")
    click.echo(f"to submit sweeps as Ray jobs: export RAY_ADDRESS={state['ray_address']}")


@local.command()
@cli_errors
def down():
    """Stop the local Ray head and Redis (Redis data stays on disk)."""
    from ._local import down as stop

    click.echo(f"stopped: {', '.join(stop()) or 'nothing was running'}")


@local.command(name="status")
@click.option("--json", "as_json", is_flag=True)
@cli_errors
def local_status(as_json):
    """Whether the local Redis and Ray head are up."""
    from ._common import echo_json
    from ._local import status as probe

    info = probe()
    if as_json:
        echo_json(info)
    else:
        for k, v in info.items():
            click.echo(f"{k}: {v}")
