"""Machines that share nothing but a network, on this one machine (needs root).

Each node is a network namespace wired to a bridge by a veth pair, with an address of its
own, plus mount, UTS and PID namespaces (as a container has): its own process table, a
private ``/tmp`` and ``/dev/shm``, a disk of its own at ``/mnt/node`` (``HOME=/mnt/node/home``),
the project at ``~/sweep`` as the cluster launcher's ``file_mounts`` puts it, and, if asked,
the cluster's shared folder at ``/mnt/sweep`` (what an NFS or EFS mount is on real
machines). Commands run inside a node with ``nsenter``. The bridge lives in a namespace of
its own; the test process is the user's machine, with a veth of its own on that network, and
reaches services a node binds to its loopback through :meth:`Node.tunnel` (what
``ray dashboard`` or ``ssh -L`` do).

Python and the installed packages are on the one root filesystem every node sees, as on
machines booted from one image. Nothing is routed off the bridge: the nodes' default route
is the bridge itself, the host does not forward, and every address is in a /24 chosen here.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import os
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

CLONE_NEWNET = 0x40000000
SHARED_MOUNT = "/mnt/sweep"
NODE_DISK = "/mnt/node"
HOME = f"{NODE_DISK}/home"
_libc = ctypes.CDLL(None, use_errno=True)
# Tests seed Python's global generator (keras.utils.set_random_seed), which would give every
# run the same tag and subnet; names here must differ between runs, so they use the OS's.
_rng = random.SystemRandom()
# Which process owns each cluster's namespaces: a run killed before its teardown (a machine
# restart, SIGKILL) leaves them behind, and the next run removes those whose owner is gone.
OWNERS = Path("/run/sweep-netcluster")


def available() -> str | None:
    """Why namespaces cannot be used here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root (network and mount namespaces)"
    for tool in ("ip", "unshare", "nsenter"):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    return None


def _ip(*args: str) -> str:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def _free_subnet() -> ipaddress.IPv4Network:
    taken = _ip("-4", "route") + _ip("-4", "addr")
    choices = list(range(16, 250))
    _rng.shuffle(choices)
    for third in choices:
        if f"10.213.{third}." not in taken:
            return ipaddress.IPv4Network(f"10.213.{third}.0/24")
    raise RuntimeError("no free 10.213.x.0/24 subnet")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_namespaces(tag: str) -> None:
    """Kill what runs in the namespaces named ``tag-*`` and delete them and the host's veth."""
    for name in _ip("netns", "list").split():
        if not name.startswith(f"{tag}-"):
            continue
        for pid in _ip("netns", "pids", name).split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        with contextlib.suppress(RuntimeError):
            _ip("netns", "del", name)
    with contextlib.suppress(RuntimeError):
        _ip("link", "del", f"{tag}h")


def reap_orphans() -> list[str]:
    """Remove the clusters whose owning process has died; returns their tags."""
    reaped = []
    for record in OWNERS.glob("sw*") if OWNERS.is_dir() else ():
        try:
            owner = int(record.read_text().strip() or 0)
        except (OSError, ValueError):
            owner = 0
        if owner and _alive(owner):
            continue
        _remove_namespaces(record.name)
        record.unlink(missing_ok=True)
        reaped.append(record.name)
    return reaped


def _new_tag() -> str:
    """A tag no namespace on this machine uses, recorded as owned by this process."""
    OWNERS.mkdir(parents=True, exist_ok=True)
    in_use = _ip("netns", "list")
    for _ in range(100):
        tag = f"sw{_rng.randrange(16**4):04x}"
        if f"{tag}-" in in_use:
            continue
        try:
            with (OWNERS / tag).open("x") as record:
                record.write(str(os.getpid()))
        except FileExistsError:
            continue
        return tag
    raise RuntimeError(f"no free namespace tag (see `ip netns list` and {OWNERS})")


def _connect_in(netns: str, port: int, timeout: float = 10.0) -> socket.socket:
    """A TCP connection to 127.0.0.1:port inside the network namespace ``netns``."""
    out: dict = {}

    def dial() -> None:  # setns changes this thread only; the socket keeps its namespace
        fd = os.open(f"/var/run/netns/{netns}", os.O_RDONLY)
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns into {netns}")
            out["sock"] = socket.create_connection(("127.0.0.1", port), timeout=timeout)
            out["sock"].settimeout(None)
        except OSError as exc:
            out["error"] = exc
        finally:
            os.close(fd)

    thread = threading.Thread(target=dial, daemon=True)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out["sock"]


class Tunnel:
    """127.0.0.1:<port> here forwards to 127.0.0.1:<remote> inside a node (like ssh -L)."""

    def __init__(self, netns: str, remote: int) -> None:
        self.netns, self.remote = netns, remote
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = _connect_in(self.netns, self.remote)
        except OSError:
            client.close()
            return
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(1 << 16):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def close(self) -> None:
        self._closed = True
        self.server.close()


class Node:
    """One machine: its namespaces, address, disk and the processes started in it."""

    def __init__(self, cluster: NetCluster, name: str, index: int, shared: bool) -> None:
        self.cluster, self.name, self.index = cluster, name, index
        self.netns = f"{cluster.tag}-{name}"
        self.ip = str(cluster.subnet.network_address + 10 + index)
        self.port = f"{cluster.tag}{index}s"  # the bridge's end of the veth pair
        self.disk = cluster.root / "nodes" / name
        (self.disk / "home" / "sweep").mkdir(parents=True, exist_ok=True)
        self.tunnels: list[Tunnel] = []
        self.env: dict[str, str] = {}
        self._start(shared)

    def _start(self, shared: bool) -> None:
        c = self.cluster
        inner = f"{c.tag}{self.index}n"
        _ip("netns", "add", self.netns)
        _ip("link", "add", inner, "type", "veth", "peer", "name", self.port)
        _ip("link", "set", self.port, "netns", c.switch)
        c.in_switch("link", "set", self.port, "master", "br0")
        c.in_switch("link", "set", self.port, "up")
        _ip("link", "set", inner, "netns", self.netns)
        for args in (
            ("link", "set", inner, "name", "eth0"),
            ("addr", "add", f"{self.ip}/{c.subnet.prefixlen}", "dev", "eth0"),
            ("link", "set", "eth0", "up"),
            ("link", "set", "lo", "up"),
            # on-link default route: Ray finds its address by routing to a public IP, and a
            # packet sent that way reaches only the bridge
            ("route", "add", "default", "dev", "eth0"),
        ):
            _ip("-n", self.netns, *args)
        project = c.project
        mounts = [
            "set -e",
            # the disk first: it lies under this machine's /tmp, which the node then hides
            "mount -t tmpfs sweep-node /mnt",
            f"mkdir -p {NODE_DISK} {SHARED_MOUNT}",
            f"mount --bind {shlex.quote(str(self.disk))} {NODE_DISK}",
            # the project as `ray up` copies it (file_mounts "~/sweep": "."), read-only
            f"mount --bind {shlex.quote(str(project))} {HOME}/sweep",
            f"mount -o remount,bind,ro {HOME}/sweep",
        ]
        if shared:
            mounts.append(f"mount --bind {shlex.quote(str(c.shared))} {SHARED_MOUNT}")
        mounts += [
            "mount -t tmpfs -o size=8g sweep-shm /dev/shm",
            "mount -t tmpfs sweep-tmp /tmp",
            f"hostname {self.name}",
            "echo ready",
            # this shell is the node's PID 1: it reaps what daemons leave behind, and when
            # it dies the kernel kills everything in the node
            "exec 1>/dev/null 2>&1",
            "while :; do sleep 3600 & wait $!; done",
        ]
        self.holder = subprocess.Popen(
            [
                *("ip", "netns", "exec", self.netns, "unshare", "--mount", "--uts", "--pid"),
                *("--fork", "--mount-proc", "--propagation", "private", "--"),
                *("bash", "-c", "\n".join(mounts)),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.holder.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"node {self.name} did not start: {self.holder.stderr.read()}")
        children = Path(f"/proc/{self.holder.pid}/task/{self.holder.pid}/children")
        self.init_pid = int(children.read_text().split()[0])  # PID 1 inside the node

    # -- running things ----------------------------------------------------------------
    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        base = {
            "PATH": f"{Path(sys.executable).parent}:/usr/local/sbin:/usr/local/bin:"
            "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": HOME,
            "USER": "root",
            "LANG": "C.UTF-8",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "RAY_USAGE_STATS_ENABLED": "0",
            "PYTHONUNBUFFERED": "1",
        }
        return {**base, **self.cluster.env, **self.env, **(extra or {})}

    def _argv(self, command: str) -> list[str]:
        nsenter = ("nsenter", "-t", str(self.init_pid), "-p", "-m", "-n", "-u")
        return [*nsenter, "bash", "-c", f"cd {HOME} && {command}"]

    def run(
        self, command: str, env: dict[str, str] | None = None, timeout: float = 300, check=True
    ) -> subprocess.CompletedProcess:
        done = subprocess.run(
            self._argv(command),
            env=self.environment(env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and done.returncode:
            raise RuntimeError(
                f"[{self.name}] {command!r} exited {done.returncode}:\n"
                f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        return done

    def popen(self, command: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(self._argv(command), env=self.environment(env), **kwargs)

    def read(self, path: str) -> str:
        """A file's text; ``path`` is read by the node's shell (``~`` is its home)."""
        return self.run(f"cat {path}").stdout

    def pids(self) -> list[int]:
        return [int(p) for p in _ip("netns", "pids", self.netns).split()]

    def tunnel(self, remote_port: int) -> int:
        """A local port that reaches 127.0.0.1:remote_port on this node."""
        tunnel = Tunnel(self.netns, remote_port)
        self.tunnels.append(tunnel)
        return tunnel.port

    # -- faults --------------------------------------------------------------------------
    def cut_link(self) -> None:
        self.cluster.in_switch("link", "set", self.port, "down")

    def restore_link(self) -> None:
        self.cluster.in_switch("link", "set", self.port, "up")

    def kill(self) -> None:
        """The machine is gone: every process in it is killed at once, its /tmp with them;
        its network namespace and address are removed."""
        for tunnel in self.tunnels:
            tunnel.close()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.init_pid, signal.SIGKILL)  # takes every process of the node with it
        for _ in range(20):
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.holder.wait(10)
        with contextlib.suppress(RuntimeError):
            _ip("netns", "del", self.netns)
        self.cluster.nodes.pop(self.name, None)


class NetCluster:
    """A bridge, the user's machine on it, and nodes added with :meth:`add_node`."""

    def __init__(self, root: Path, project: Path, env: dict[str, str] | None = None) -> None:
        reason = available()
        if reason:
            raise RuntimeError(f"a shared-nothing cluster {reason}")
        self.root, self.project = Path(root), Path(project)
        self.shared = self.root / "shared"  # the NFS-style share every node mounts
        self.shared.mkdir(parents=True, exist_ok=True)
        reap_orphans()
        self.tag = _new_tag()
        self.subnet = _free_subnet()
        self.switch = f"{self.tag}-switch"
        self.host_ip = str(self.subnet.network_address + 1)
        self.env = dict(env or {})
        self.nodes: dict[str, Node] = {}
        self._count = 0
        _ip("netns", "add", self.switch)
        self.in_switch("link", "add", "br0", "type", "bridge")
        self.in_switch("link", "set", "br0", "up")
        host, peer = f"{self.tag}h", f"{self.tag}hs"
        _ip("link", "add", host, "type", "veth", "peer", "name", peer)
        _ip("link", "set", peer, "netns", self.switch)
        self.in_switch("link", "set", peer, "master", "br0")
        self.in_switch("link", "set", peer, "up")
        _ip("addr", "add", f"{self.host_ip}/{self.subnet.prefixlen}", "dev", host)
        _ip("link", "set", host, "up")

    def in_switch(self, *args: str) -> str:
        return _ip("-n", self.switch, *args)

    def add_node(self, name: str, shared: bool = True) -> Node:
        self._count += 1
        node = Node(self, name, self._count, shared)
        self.nodes[name] = node
        return node

    def close(self) -> None:
        for node in list(self.nodes.values()):
            node.kill()
        with contextlib.suppress(RuntimeError):
            _ip("netns", "del", self.switch)  # takes the bridge and the host's veth with it
        (OWNERS / self.tag).unlink(missing_ok=True)


def wait_for(predicate, timeout: float, what: str, interval: float = 0.5):
    """Poll ``predicate`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
