"""Where a sweep's files go on a cluster.

Ray Tune writes every trial's results and checkpoints from the node the trial runs on, and the
driver exports the winner from the head, so the storage root must be one place that every node
reaches: object storage (``s3://``, ``gs://``, ...) or a folder mounted at the same path on
every node (NFS, EFS). A plain path is a folder on one machine. :func:`storage_refusal` is the
rule the CLI applies before anything is submitted (pure); :func:`check_storage_from_nodes`
is the driver's check, from every node, before the first trial.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)
PROBE_DIR = ".sweep-storage-check"


@dataclass(frozen=True)
class NodeInfo:
    """An alive Ray node as the cluster reports it."""

    node_id: str
    ip: str
    is_head: bool
    cpus: float = 0.0
    gpus: float = 0.0

    @property
    def runs_trials(self) -> bool:
        return self.cpus > 0 or self.gpus > 0


class StorageUnreachable(RuntimeError):
    """Some node cannot read or write the sweep's storage root."""


def _describe(nodes: Sequence[NodeInfo]) -> str:
    heads = sum(n.is_head for n in nodes)
    workers = len(nodes) - heads
    head = next((n for n in nodes if n.is_head), None)
    cpus = f", the head offering {head.cpus:g} CPUs" if head is not None else ""
    return f"{len(nodes)} node(s): {heads} head and {workers} worker(s){cpus}"


def storage_refusal(
    storage: str, shared: bool, nodes: Sequence[NodeInfo], address: str
) -> str | None:
    """Why ``storage`` cannot hold a sweep on this cluster, or ``None`` when it can.

    A URI of object storage always can; a path only on a cluster of one node that runs the
    trials itself, or when declared a folder every node mounts (``shared``), which the driver
    then checks from every node.
    """
    from sweep.search import is_remote_uri

    if is_remote_uri(storage) or shared:
        return None
    if len(nodes) == 1 and nodes[0].runs_trials:
        return None
    return (
        f"storage {storage!r} is a folder on one machine, but the cluster at {address} has "
        f"{_describe(nodes)}, so trials run on other machines, which cannot see that folder "
        "(Ray Tune fails at the first checkpoint). Use storage every node reaches: "
        "--storage s3://BUCKET/PREFIX (or gs://, abfs://), or a folder mounted at the same "
        "path on every node (NFS, EFS) with --storage /mnt/PATH --shared-storage"
    )


def connected_nodes() -> list[NodeInfo]:
    """The alive nodes of the Ray cluster this process is connected to."""
    import ray

    return [
        NodeInfo(
            node_id=n["NodeID"],
            ip=n["NodeManagerAddress"],
            is_head="node:__internal_head__" in n.get("Resources", {}),
            cpus=float(n.get("Resources", {}).get("CPU", 0)),
            gpus=float(n.get("Resources", {}).get("GPU", 0)),
        )
        for n in ray.nodes()
        if n.get("Alive")
    ]


def _filesystem(root: str):
    import pyarrow.fs as pafs

    if "://" in root:
        return pafs.FileSystem.from_uri(root)
    return pafs.LocalFileSystem(), root


def _probe(folder: str, node_id: str) -> str | None:
    """On one node: can it see the driver's file in ``folder``, and write one of its own?"""
    try:
        fs, path = _filesystem(folder)
        if fs.get_file_info(f"{path}/driver").type.name != "File":
            return "does not see the file the driver wrote there"
        with fs.open_output_stream(f"{path}/{node_id}") as out:
            out.write(b"ok")
    except Exception as exc:  # no credentials, permission denied, unreachable endpoint, ...
        return f"cannot use it ({type(exc).__name__}: {str(exc)[:200]})"
    return None


def check_storage_from_nodes(root: str, timeout_s: float = 120.0) -> list[NodeInfo]:
    """Write a file under ``root`` from here, then read it and write beside it from every
    alive node (a zero-CPU task pinned to each). Raises :class:`StorageUnreachable` naming the
    nodes that cannot; a node that does not answer within ``timeout_s`` is only logged."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from sweep.search import join_storage

    nodes = connected_nodes()
    folder = join_storage(root, PROBE_DIR, uuid.uuid4().hex)  # this check's own folder
    fs, path = _filesystem(folder)
    try:
        fs.create_dir(path)
        with fs.open_output_stream(f"{path}/driver") as out:
            out.write(b"driver")
    except Exception as exc:
        raise StorageUnreachable(
            f"storage {root!r} cannot be written from the driver's node "
            f"({type(exc).__name__}: {str(exc)[:200]}); check the path, its permissions or "
            "the credentials for it"
        ) from None
    probe = ray.remote(num_cpus=0)(_probe)
    refs = {
        probe.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(node.node_id, soft=False)
        ).remote(folder, node.node_id): node
        for node in nodes
    }
    ready, pending = ray.wait(list(refs), num_returns=len(refs), timeout=timeout_s)
    problems = []
    for ref in ready:
        try:
            problem = ray.get(ref)
        except Exception as exc:  # the node died while probing: Ray Tune handles that
            log.warning("storage check on %s failed: %s", refs[ref].ip, exc)
            continue
        if problem:
            node = refs[ref]
            problems.append(f"{'head' if node.is_head else 'worker'} {node.ip}: {problem}")
    for ref in pending:
        log.warning("node %s did not answer the storage check in %.0f s", refs[ref].ip, timeout_s)
        ray.cancel(ref, force=True)
    try:
        fs.delete_dir(path)
    except Exception:
        log.warning("could not remove the storage check's folder %s", folder)
    if problems:
        raise StorageUnreachable(
            f"storage {root!r} is not reachable from every node of the cluster: "
            + "; ".join(problems)
            + ". Mount it at the same path on every node (NFS, EFS), or use object storage "
            "(s3://BUCKET/PREFIX) with credentials on every node (an instance profile)"
        )
    return nodes
