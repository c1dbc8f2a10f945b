"""Ray job submission: the sweep driver runs as a Ray job with the project as working dir."""

from __future__ import annotations

import shlex
import time
from pathlib import Path


class RayUnavailable(RuntimeError):
    """Ray cannot be reached at the given address."""


_EXCLUDES = [
    ".git",
    ".venv",
    "artifacts",
    "runs",
    "**/__pycache__",
    "*.parquet",
    "*.tar.gz",
    ".pytest_cache",
    ".ruff_cache",
    "*.keras",
]


def project_root() -> Path | None:
    """The source checkout holding the packages (None when installed from a wheel)."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() else None


def _auth_headers(address: str) -> dict[str, str]:
    """Ray token authentication: the token from RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or
    ~/.ray/auth_token, sent when RAY_AUTH_MODE=token or the head is on this machine."""
    import os
    import urllib.parse

    host = urllib.parse.urlsplit(address if "://" in address else f"http://{address}").hostname
    if os.environ.get("RAY_AUTH_MODE", "").lower() != "token" and host not in (
        "127.0.0.1",
        "localhost",
        "::1",
    ):
        return {}
    token = os.environ.get("RAY_AUTH_TOKEN")
    if not token:
        path = Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray/auth_token")
        token = path.read_text().strip() if path.is_file() else ""
    return {"Authorization": f"Bearer {token}"} if token else {}


def _client(address: str):
    from ray.job_submission import JobSubmissionClient

    try:
        return JobSubmissionClient(address, headers=_auth_headers(address))
    except Exception as exc:  # ConnectionError, ValueError, RuntimeError depending on version
        raise RayUnavailable(
            f"cannot reach Ray at {address} ({type(exc).__name__}: {str(exc)[:300]}); check the "
            "address (the dashboard URL, e.g. http://127.0.0.1:8265), that the head runs "
            "(`ray status`), the token (RAY_AUTH_MODE=token, ~/.ray/auth_token), or tunnel "
            "to it (`ray dashboard ray-cluster.yaml`)"
        ) from None


def cluster_nodes(address: str):
    """The alive nodes of the cluster behind a dashboard address (Ray's State API)."""
    from ray.util.state import StateApiClient
    from ray.util.state.common import ListApiOptions, StateResource

    from ._storage import NodeInfo

    try:
        client = StateApiClient(address, headers=_auth_headers(address))
        rows = client.list(
            StateResource.NODES,
            options=ListApiOptions(filters=[("state", "=", "ALIVE")], detail=True),
            raise_on_missing_output=False,
        )
    except Exception as exc:
        raise RayUnavailable(
            f"cannot list the nodes of the Ray cluster at {address} ({type(exc).__name__}: "
            f"{str(exc)[:300]}); check the address (the dashboard URL, e.g. "
            "http://127.0.0.1:8265), that the head runs, and the token (RAY_AUTH_MODE=token)"
        ) from None
    return [
        NodeInfo(
            node_id=row.node_id,
            ip=row.node_ip,
            is_head=bool(row.is_head_node),
            cpus=float((row.resources_total or {}).get("CPU", 0)),
            gpus=float((row.resources_total or {}).get("GPU", 0)),
        )
        for row in rows
    ]


# The dashboard takes at most 100 MiB per request (ray_constants.DASHBOARD_CLIENT_MAX_SIZE),
# and a job's working dir travels as one zip: leave room for the project
MAX_UPLOAD_BYTES = 90 * 2**20
UPLOAD_DIR = ".sweep-inputs"


def _stage(root: Path | None, uploads: dict[str, Path], into: Path) -> Path:
    """A job working dir: the project (without the excluded files) and the uploaded files
    under ``.sweep-inputs/``."""
    import shutil

    stage = into / "job"
    if root is not None:
        # not .gitignore: Ray applies it to the working dir, and it names the IMDB archive
        patterns = [p.removeprefix("**/") for p in _EXCLUDES] + [".gitignore"]
        shutil.copytree(root, stage, ignore=shutil.ignore_patterns(*patterns))
    (stage / UPLOAD_DIR).mkdir(parents=True, exist_ok=True)
    for name, source in uploads.items():
        shutil.copyfile(source, stage / UPLOAD_DIR / name)
    return stage


def _working_dir(uploads: dict[str, Path], tmp: Path) -> dict:
    """The job's working dir: the project checkout, and the uploaded files beside it."""
    root = project_root()
    if not uploads:
        return {"working_dir": str(root), "excludes": _EXCLUDES} if root is not None else {}
    return {"working_dir": str(_stage(root, uploads, tmp))}


_TRY_AGAIN = "try again later"
_AGENT_RETRY_DELAYS = (0.5, 1, 2, 4, 8, 15)  # about 30 s in all


def submit_sweep_job(
    address: str,
    sweep_id: str,
    redis_url: str,
    action: str = "run",
    prefix: str = "sweep:",
    uploads: dict[str, Path] | None = None,
) -> str:
    """Submit ``python -m sweep.cluster.job ACTION ID``; returns the Ray job id.

    ``uploads`` (name -> local file) travel with the job: the driver finds them under
    ``.sweep-inputs/`` in its working directory.
    """
    import os
    import tempfile

    from ._settings import ENV_REDIS_PASSWORD_FILE, ENV_REDIS_PATIENCE, strip_password

    client = _client(address)
    # never the password: Ray logs runtime environments. The driver finds it on its node
    # (SWEEP_REDIS_PASSWORD_FILE, or the `sweep local up` state file).
    env = {"SWEEP_REDIS_URL": strip_password(redis_url)}
    # where to look and how long to wait, not secrets
    for name in (ENV_REDIS_PASSWORD_FILE, "SWEEP_STATE_DIR", ENV_REDIS_PATIENCE):
        if os.environ.get(name):
            env[name] = os.environ[name]
    entrypoint = " ".join(
        shlex.quote(a)
        for a in ["python", "-m", "sweep.cluster.job", action, sweep_id, "--prefix", prefix]
    )
    with tempfile.TemporaryDirectory(prefix="sweep-job-") as tmp:
        runtime_env = {"env_vars": env, **_working_dir(uploads or {}, Path(tmp))}
        for delay in (*_AGENT_RETRY_DELAYS, None):
            try:
                return client.submit_job(entrypoint=entrypoint, runtime_env=runtime_env)
            except Exception as exc:
                # a head just started has no job agent yet, and says to try again later
                if delay is None or _TRY_AGAIN not in str(exc):
                    message = f"Ray at {address} refused the job: {str(exc)[:500]}"
                    raise RayUnavailable(message) from None
                time.sleep(delay)


def stop_job(address: str, job_id: str) -> bool:
    try:
        return bool(_client(address).stop_job(job_id))
    except Exception:
        return False


def job_status(address: str, job_id: str) -> str | None:
    """The job's status name (PENDING, RUNNING, SUCCEEDED, FAILED, STOPPED) or None."""
    try:
        status = _client(address).get_job_status(job_id)
    except Exception:
        return None
    return str(getattr(status, "value", status))


def job_log_tail(address: str, job_id: str, lines: int = 5) -> str:
    try:
        text = _client(address).get_job_logs(job_id)
    except Exception:
        return ""
    return " | ".join(ln.strip() for ln in text.strip().splitlines()[-lines:] if ln.strip())
