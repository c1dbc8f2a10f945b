"""Ray job submission: the sweep driver runs as a Ray job with the project as working dir."""

from __future__ import annotations

import shlex
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


def _client(address: str):
    from ray.job_submission import JobSubmissionClient

    try:
        return JobSubmissionClient(address)
    except Exception as exc:  # ConnectionError, ValueError, RuntimeError depending on version
        raise RayUnavailable(
            f"cannot reach Ray at {address} ({type(exc).__name__}: {str(exc)[:300]}); check the "
            "address (the dashboard URL, e.g. http://127.0.0.1:8265), that the head runs "
            "(`ray status`), or tunnel to it (`ray dashboard ray-cluster.yaml`)"
        ) from None


def submit_sweep_job(
    address: str, sweep_id: str, redis_url: str, action: str = "run", prefix: str = "sweep:"
) -> str:
    """Submit ``python -m cluster.job ACTION ID``; returns the Ray job id."""
    client = _client(address)
    runtime_env: dict = {"env_vars": {"SWEEP_REDIS_URL": redis_url}}
    root = project_root()
    if root is not None:
        runtime_env["working_dir"] = str(root)
        runtime_env["excludes"] = _EXCLUDES
    entrypoint = " ".join(
        shlex.quote(a)
        for a in ["python", "-m", "cluster.job", action, sweep_id, "--prefix", prefix]
    )
    try:
        return client.submit_job(entrypoint=entrypoint, runtime_env=runtime_env)
    except Exception as exc:
        raise RayUnavailable(f"Ray at {address} refused the job: {str(exc)[:500]}") from None


def stop_job(address: str, job_id: str) -> bool:
    try:
        return bool(_client(address).stop_job(job_id))
    except Exception:
        return False


def job_status(address: str, job_id: str) -> str | None:
    try:
        return str(_client(address).get_job_status(job_id))
    except Exception:
        return None
