"""Build frozen config dataclasses from parsed YAML, refusing unknown keys and wrong types."""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


class SpecError(ValueError):
    """A spec is invalid; the message names the key, the value, the rule and the fix."""


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except SpecError:
                continue
        raise SpecError(f"{where}: {value!r} is not a valid {' or '.join(map(_type_name, args))}")
    if dataclasses.is_dataclass(tp):
        return from_mapping(tp, value, where)
    if origin in (tuple, list):
        if not isinstance(value, list | tuple) or not value:
            raise SpecError(f"{where}: expected a non-empty list, got {value!r}")
        (item,) = typing.get_args(tp)[:1]
        return tuple(_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise SpecError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SpecError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise SpecError(f"{where}: expected a string, got {value!r}")
        return value
    return value


def from_mapping(cls: type[T], mapping: Any, where: str = "spec") -> T:
    """Instantiate dataclass ``cls`` from ``mapping``; its ``__post_init__`` checks ranges."""
    if mapping is None:
        mapping = {}
    if not isinstance(mapping, Mapping):
        raise SpecError(f"{where}: expected a mapping of keys to values, got {mapping!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    kwargs = {}
    for key, value in mapping.items():
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise SpecError(f"{where}.{key}: unknown key; {hint}allowed keys: {', '.join(names)}")
        kwargs[key] = _coerce(value, hints[key], f"{where}.{key}")
    try:
        return cls(**kwargs)
    except SpecError:
        raise
    except (ValueError, TypeError) as exc:
        raise SpecError(f"{where}: {exc}") from exc


def load_yaml(path: str) -> Any:
    """Parse a YAML file, turning I/O and syntax problems into :class:`SpecError`."""
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError as exc:
        raise SpecError(f"spec file {path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"spec file {path} cannot be read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise SpecError(f"spec file {path} is not valid YAML: {exc}") from exc


def override(spec: T, values: Mapping[str, Any]) -> T:
    """Return ``spec`` with the non-None ``values`` replacing its keys, named as in the spec
    file: ``"trials"``, or ``"asha.max_epochs"`` for a key of a section. Each replaced
    section is validated again; a broken rule is a :class:`SpecError` naming the section."""
    sections: dict[str, dict[str, Any]] = {}
    top: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        section, _, name = key.partition(".")
        if name:
            sections.setdefault(section, {})[name] = value
        else:
            top[key] = value
    for section, fields in sections.items():
        try:
            top[section] = dataclasses.replace(getattr(spec, section), **fields)
        except ValueError as exc:
            raise SpecError(f"{section}: {exc}") from exc
    try:
        return dataclasses.replace(spec, **top) if top else spec
    except ValueError as exc:
        raise SpecError(str(exc)) from exc
