"""Write constraints.txt: the exact version of every package sweep installs.

Pins what this environment has for sweep's dependencies with the dev and dashboard extras
(walked through the installed packages' metadata, markers evaluated here), plus what pip
would install for the gpu extra (resolved from the index, nothing downloaded but metadata).
CI (`scripts/install.sh`) and every node of ray-cluster.yaml install with this file, so a node
added later runs the versions the suite ran.

    python scripts/lock.py            # rewrites constraints.txt
    python scripts/lock.py --check    # exit 1 if constraints.txt differs from what it writes
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = ("dev", "dashboard")
HEADER = """\
# Exact versions of everything sweep installs (Python 3.11, Linux x86_64), written by
# `python scripts/lock.py`. Used by scripts/install.sh (and so by CI) and by every node of
# ray-cluster.yaml: `pip install -c constraints.txt -e .`. Regenerate after changing
# pyproject.toml's dependencies, in an environment installed from it.
"""


def _closure(name: str, extras: tuple[str, ...]) -> dict[str, str]:
    """Installed versions of ``name``'s dependencies (with ``extras``), transitively."""
    pins: dict[str, str] = {}
    todo = [(name, extras)]
    while todo:
        current, wanted = todo.pop()
        for text in md.requires(current) or []:
            req = Requirement(text)
            env_ok = [
                req.marker is None or req.marker.evaluate({"extra": extra})
                for extra in (wanted or ("",))
            ]
            if not any(env_ok):
                continue
            key = canonicalize_name(req.name)
            if key in pins and not req.extras:
                continue
            try:
                pins[key] = md.version(req.name)
            except md.PackageNotFoundError:
                sys.exit(f"{req.name} (needed by {current}) is not installed: install sweep first")
            todo.append((req.name, tuple(req.extras)))
    pins.pop(canonicalize_name(name), None)
    return pins


def _gpu_pins() -> dict[str, str]:
    """What pip installs for the gpu extra on top of tensorflow (resolved, not downloaded)."""
    reqs = [Requirement(t) for t in md.requires("tensorflow") or []]
    extra = [
        f"{r.name}{r.specifier}"
        for r in reqs
        if r.marker is not None
        and r.marker.evaluate({"extra": "and-cuda"})
        and not r.marker.evaluate({"extra": ""})
    ]
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed"),
                *("-q", "--report", str(report), *extra),
            ],
            check=True,
        )
        data = json.loads(report.read_text())
    return {
        canonicalize_name(i["metadata"]["name"]): i["metadata"]["version"] for i in data["install"]
    }


def render() -> str:
    pins = _closure("sweep", EXTRAS)
    pins.update({k: v for k, v in _gpu_pins().items() if k not in pins})
    return HEADER + "".join(f"{name}=={pins[name]}\n" for name in sorted(pins))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    text = render()
    target = ROOT / "constraints.txt"
    if args.check:
        same = target.exists() and target.read_text() == text
        print("constraints.txt is current" if same else "constraints.txt differs; rerun lock.py")
        return 0 if same else 1
    target.write_text(text)
    print(f"wrote {target} ({text.count('==')} pins)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
