"""Executors that map a pure, top-level function over tasks, returning results in task order.

- :class:`LocalExecutor`: a ``concurrent.futures.ProcessPoolExecutor`` with the ``spawn`` start
  method (``n_jobs=1`` runs inline, in this process);
- :class:`RayExecutor`: ``ray.remote`` over the same function, on the cluster named by
  ``RAY_ADDRESS`` (or the given address), else on a local Ray started for the purpose.

Both take the function by reference (module and name) so it must be defined at the top level
of an importable module; tasks and results travel between processes in memory (pipes, Ray's
shared-memory object store). Nothing is written to disk. Results come back as a list in the
order of the tasks whatever the number of workers, and the first failing task (in task order)
raises its exception.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from types import TracebackType
from typing import Any, Protocol, TypeVar

from clusterfolio.enums import ExecutorName
from clusterfolio.errors import ConfigError
from clusterfolio.manifest import TournamentSettings

__all__ = ["Executor", "LocalExecutor", "Managed", "RayExecutor", "make_executor", "resolve"]

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """What the tournament needs from an executor."""

    name: ExecutorName

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> list[R]:
        """Apply ``fn`` to every task; results in task order."""
        ...

    def share(self, value: T) -> Any:
        """Read-only data many tasks need: what a task carries instead (see :func:`resolve`)."""
        ...

    def shutdown(self) -> None:
        """Release workers (idempotent)."""
        ...


def resolve(value: Any) -> Any:
    """The value behind :meth:`Executor.share`'s handle (a Ray object reference is fetched).

    A task calls it in its worker: with Ray the data crosses the network once per node and is
    read from the node's shared-memory object store; any other value is returned as is.
    """
    kind = type(value)
    if kind.__name__ == "ObjectRef" and kind.__module__.startswith("ray"):
        import ray

        return ray.get(value)
    return value


def _check_importable(fn: Callable[..., Any]) -> None:
    """Reject lambdas, closures and bound methods: workers import the function by name."""
    qualname = getattr(fn, "__qualname__", "")
    module = getattr(fn, "__module__", None)
    if (
        not callable(fn)
        or module is None
        or not qualname
        or "<" in qualname
        or "." in qualname
        or getattr(fn, "__self__", None) is not None
    ):
        raise TypeError(
            f"executors need a top-level function of an importable module, got {fn!r} "
            "(no lambda, closure or method)"
        )


class Managed:
    """Context-manager support: ``with make_executor(...) as ex: ...`` shuts down on exit."""

    def shutdown(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self: Any) -> Any:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()


class LocalExecutor(Managed):
    """Process-pool executor (``spawn``); ``n_jobs=1`` runs inline.

    Parameters
    ----------
    n_jobs : int, default 1
        Worker processes. The pool is created on the first parallel :meth:`map` and reused
        until :meth:`shutdown`.
    """

    name = ExecutorName.LOCAL

    def __init__(self, n_jobs: int = 1) -> None:
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
            raise ConfigError(f"LocalExecutor: n_jobs must be an integer >= 1, got {n_jobs!r}")
        self.n_jobs = n_jobs
        self._pool: ProcessPoolExecutor | None = None

    def share(self, value: T) -> T:
        """The value itself: a process pool pickles it into every task that carries it."""
        return value

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> list[R]:
        """Apply ``fn`` to every task; results in task order.

        Parameters
        ----------
        fn : callable
            A top-level function of an importable module (spawned workers import it).
        tasks : sequence
            Picklable arguments, one per call.

        Returns
        -------
        list
            ``[fn(task) for task in tasks]``, whatever ``n_jobs``.
        """
        _check_importable(fn)
        tasks = list(tasks)
        if self.n_jobs == 1 or len(tasks) <= 1:
            return [fn(task) for task in tasks]
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.n_jobs, mp_context=multiprocessing.get_context("spawn")
            )
        futures: list[Future[R]] = [self._pool.submit(fn, task) for task in tasks]
        try:
            return [future.result() for future in futures]
        finally:
            for future in futures:
                future.cancel()

    def shutdown(self) -> None:
        """Stop the worker processes (idempotent)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __repr__(self) -> str:
        return f"LocalExecutor(n_jobs={self.n_jobs})"


class RayExecutor(Managed):
    """Ray executor: ``ray.remote`` over the function, results in task order.

    Parameters
    ----------
    address : str, optional
        Ray cluster to join. The environment variable ``RAY_ADDRESS`` wins over it. When neither
        is set, a local Ray is started with ``num_cpus`` CPUs, no dashboard and worker logs
        kept out of the driver's output.
    num_cpus : int, optional
        CPUs of the local Ray (its worker count); ignored when joining a cluster.

    Notes
    -----
    Ray starts on the first :meth:`map`. If Ray is already initialised in this process, it is
    used as is and left running by :meth:`shutdown`; a Ray this executor started is shut down.
    """

    name = ExecutorName.RAY

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        if num_cpus is not None and (
            isinstance(num_cpus, bool) or not isinstance(num_cpus, int) or num_cpus < 1
        ):
            raise ConfigError(f"RayExecutor: num_cpus must be an integer >= 1, got {num_cpus!r}")
        self.address = address
        self.num_cpus = num_cpus
        self._owns_ray = False

    def _ensure_started(self) -> Any:
        import ray

        if ray.is_initialized():
            return ray
        address = os.environ.get("RAY_ADDRESS") or self.address
        if address:
            try:
                ray.init(address=address, log_to_driver=False)
            except (ConnectionError, RuntimeError) as exc:
                raise ConfigError(
                    f"cannot join the Ray cluster at {address!r} (tournament.ray.address or "
                    f"RAY_ADDRESS): {exc}; start it with `ray start --head` (README, 'The "
                    "tournament on a Ray cluster')"
                ) from exc
        else:
            ray.init(num_cpus=self.num_cpus, include_dashboard=False, log_to_driver=False)
        self._owns_ray = True
        return ray

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> list[R]:
        """Apply ``fn`` to every task on Ray; results in task order.

        Parameters
        ----------
        fn : callable
            A top-level function of a module the Ray workers can import.
        tasks : sequence
            Arguments, one per call (serialised by Ray, in memory).

        Returns
        -------
        list
            ``[fn(task) for task in tasks]``.
        """
        _check_importable(fn)
        tasks = list(tasks)
        if not tasks:
            return []
        ray = self._ensure_started()
        remote = ray.remote(num_cpus=1)(fn)
        refs = [remote.remote(task) for task in tasks]
        return list(ray.get(refs))

    def share(self, value: T) -> Any:
        """``ray.put(value)``: stored once in the object store, fetched once per node.

        Tasks carry the reference (a few bytes) and :func:`resolve` it in their worker.
        """
        return self._ensure_started().put(value)

    def shutdown(self) -> None:
        """Disconnect from Ray, and stop it if this executor started it (idempotent)."""
        if self._owns_ray:
            import ray

            ray.shutdown()
            self._owns_ray = False

    def __repr__(self) -> str:
        return f"RayExecutor(address={self.address!r}, num_cpus={self.num_cpus!r})"


def make_executor(
    settings: TournamentSettings, *, ray_address: str | None = None
) -> LocalExecutor | RayExecutor:
    """Build the executor the manifest asks for.

    Parameters
    ----------
    settings : TournamentSettings
        ``executor`` picks the kind; ``n_jobs`` is the local worker count, or the CPUs of a
        local Ray.
    ray_address : str, optional
        Ray cluster to join; default ``settings.ray.address`` (``RAY_ADDRESS`` wins over both).

    Returns
    -------
    LocalExecutor or RayExecutor
    """
    if settings.executor is ExecutorName.RAY:
        address = ray_address or settings.ray.address
        return RayExecutor(address=address, num_cpus=settings.n_jobs)
    return LocalExecutor(n_jobs=settings.n_jobs)
