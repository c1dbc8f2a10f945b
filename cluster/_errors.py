"""Mapping of the packages' exceptions to CLI exit codes (0 ok, 1 work failed, 2 bad input)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import click


class BadInput(click.ClickException):
    """Bad usage or bad input: printed as one line, exit code 2."""

    exit_code = 2


class WorkFailed(click.ClickException):
    """The work itself failed: printed as one line, exit code 1."""

    exit_code = 1


def _input_errors() -> tuple[type[BaseException], ...]:
    from sweep.data import DataError
    from sweep.model import ConfigError, ModelFileError
    from sweep.search import SpecError

    from ._launch import LaunchRefused
    from ._settings import BadSetting

    return DataError, ConfigError, ModelFileError, SpecError, LaunchRefused, BadSetting


def _lost_redis(exc: BaseException) -> bool:
    redis = sys.modules.get("redis")  # not imported: the error cannot be one of its
    return redis is not None and isinstance(exc, (redis.ConnectionError, redis.TimeoutError))


def cli_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn known exceptions into one-line messages with the right exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except click.ClickException:
            raise
        except _input_errors() as exc:
            raise BadInput(str(exc)) from exc
        except KeyboardInterrupt:
            raise WorkFailed("interrupted") from None
        except Exception as exc:
            if _lost_redis(exc):
                raise WorkFailed(
                    f"lost the connection to Redis ({type(exc).__name__}: {exc}); once it is "
                    "reachable again, run the command again (`sweep status` shows each sweep)"
                ) from None
            raise

    return wrapper
