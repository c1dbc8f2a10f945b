"""Reaching a cluster: the ``sweep`` CLI, Ray connection and job submission, the Redis
state store, local start/stop of a Ray head and Redis."""

from ._cli import main

__all__ = ["main"]
