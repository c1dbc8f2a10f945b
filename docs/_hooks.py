"""MkDocs hooks: the home page is the README, and the spec reference is generated from the
dataclasses the spec parser fills, so neither can go stale."""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC_MARKER = "<!-- spec-reference -->"


def on_page_markdown(markdown: str, page, config, files) -> str:
    if page.file.src_uri == "index.md":
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        return readme.replace("](docs/", "](")
    markdown = markdown.replace("](../README.md", "](index.md")
    if SPEC_MARKER in markdown:
        markdown = markdown.replace(SPEC_MARKER, spec_reference())
    return markdown


def _comments(default_spec: str) -> dict[str, str]:
    """``dotted.key -> comment`` from the default spec's ``key: value  # comment`` lines."""
    out, stack = {}, []
    for line in default_spec.splitlines():
        match = re.match(r"^( *)([a-z_]+):([^#]*)(?:#\s*(.*))?$", line)
        if not match:
            continue
        indent = len(match.group(1)) // 2
        stack[indent:] = [match.group(2)]
        if match.group(4):
            out[".".join(stack)] = match.group(4).strip()
    return out


def _type_text(tp) -> str:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_text(a) for a in typing.get_args(tp))
    if origin in (tuple, list):
        return f"list of {_type_text(typing.get_args(tp)[0])}"
    if tp is type(None):
        return "null"
    if dataclasses.is_dataclass(tp):
        return "section"
    return {str: "string", int: "integer", float: "number", bool: "true/false"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _default_text(field: dataclasses.Field) -> str:
    if field.default is not dataclasses.MISSING:
        value = field.default
    elif field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
    else:
        return "required"
    if dataclasses.is_dataclass(value):
        return "(below)"
    if value is None:
        return "`null`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        return "`[" + ", ".join(map(str, value)) + "]`"
    return f"`{value}`"


def spec_reference() -> str:
    from sweep.search import SweepSpec
    from sweep.search._sweep_spec import default_spec_text

    notes = _comments(default_spec_text())
    sections: list[str] = []

    def table(cls, prefix: str) -> None:
        hints = typing.get_type_hints(cls)
        rows, nested = [], []
        for field in dataclasses.fields(cls):
            if not field.init:
                continue
            key = f"{prefix}{field.name}"
            if key == "space":  # its own section below
                continue
            kind = hints[field.name]
            rows.append(
                f"| `{key}` | {_type_text(kind)} | {_default_text(field)} | {notes.get(key, '')} |"
            )
            if dataclasses.is_dataclass(kind):
                nested.append((kind, f"{key}."))
        title = f"`{prefix.rstrip('.')}`" if prefix else "Top-level keys"
        doc = (cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        header = "| key | type | default | meaning |\n| --- | --- | --- | --- |"
        sections.append(f"## {title}\n\n{doc}\n\n{header}\n" + "\n".join(rows))
        for kind, sub in nested:
            table(kind, sub)

    table(SweepSpec, "")
    return "\n\n".join(sections)
