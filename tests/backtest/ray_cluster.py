"""A real multi-process Ray cluster on this machine: a head and worker nodes via ``ray start``.

Each node is a ``ray start ... --block`` subprocess in its own session (its own raylet, object
store and workers), started with exactly the commands of the README and stopped by its own pid
(SIGTERM, then SIGKILL of the process group it leads): never ``ray stop``, which would stop every
Ray of the machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

READY = "Ray runtime started"
HOST = "127.0.0.1"
AUTH_MODE = "disabled"
"""A loopback-only test cluster: no token (a real one uses ``RAY_AUTH_MODE=token``, README)."""
START_TIMEOUT_S = 240.0
STOP_TIMEOUT_S = 30.0
ATTEMPTS = 3


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ray_binary() -> str:
    here = Path(sys.executable).parent / "ray"
    return str(here) if here.exists() else "ray"


def _start(args: list[str], log: Path, attempts: int = ATTEMPTS) -> subprocess.Popen[bytes]:
    """``ray start ARGS --block``, again after a failure (a node that cannot register with the
    GCS within Ray's 30 s, as on a loaded machine, fails its start)."""
    for attempt in range(1, attempts + 1):
        try:
            return _start_once(args, log)
        except RuntimeError:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


def _start_once(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    env["RAY_AUTH_MODE"] = AUTH_MODE
    with log.open("wb") as out:
        process = subprocess.Popen(
            [_ray_binary(), "start", *args, "--block"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while READY not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            _stop(process)
            raise RuntimeError(f"ray start {' '.join(args)} failed:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the node's ``ray start`` (it stops its own processes), then SIGKILL its group."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(STOP_TIMEOUT_S)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # the session it leads: raylet, store, workers
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(STOP_TIMEOUT_S)


@contextlib.contextmanager
def local_ray_cluster(workers: int = 1, cpus: int = 1) -> Iterator[str]:
    """A head and ``workers`` worker nodes of ``cpus`` CPUs each; yields the head's address."""
    temp = Path(tempfile.mkdtemp(prefix="cfray-", dir="/tmp"))  # short: socket paths are limited
    port = _free_port()
    address = f"{HOST}:{port}"
    nodes: list[subprocess.Popen[bytes]] = []
    try:
        head = [
            "--head",
            f"--port={port}",
            f"--num-cpus={cpus}",
            "--include-dashboard=false",
            "--disable-usage-stats",
            f"--temp-dir={temp}",
            f"--node-ip-address={HOST}",
        ]
        nodes.append(_start(head, temp / "head.log"))
        for k in range(workers):
            worker = [
                f"--address={address}",
                f"--num-cpus={cpus}",
                "--disable-usage-stats",
                f"--node-ip-address={HOST}",
            ]
            nodes.append(_start(worker, temp / f"worker-{k}.log"))
        yield address
    finally:
        for node in reversed(nodes):
            _stop(node)
        shutil.rmtree(temp, ignore_errors=True)


def alive_nodes() -> int:
    """Alive nodes of the Ray cluster this process is connected to."""
    import ray

    return sum(1 for node in ray.nodes() if node.get("Alive"))
