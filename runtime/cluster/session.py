"""One command's Ray session: a private cluster on this machine (127.0.0.1 only), or an existing cluster joined.

``--ray`` with no address starts Ray here for the command and stops it after: every Ray process bound to the
loopback address and usage statistics off (``RAY_USAGE_STATS_ENABLED=0`` unless set), so nothing is sent to
any other address. ``--ray auto`` / ``HOST:PORT`` joins a cluster from one of its nodes, ``--ray
ray://HOST:10001`` through the Ray Client; such a cluster is the user's and is left running. A session that is
already open in this process (a test's, a notebook's) is used as it is.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from types import ModuleType

from edgeconv.errors import EdgeConvError, UsageError, first_line

LOCAL = "local"  # the address meaning: start a private cluster on this machine
LOOPBACK = "127.0.0.1"
REACH_TIMEOUT_S = 10
INSTALL = "install it with: pip install 'edgeconv[cluster]'"
# Ray resolves a loopback node address to the machine's network address unless it runs in its single-machine
# mode, which this variable switches on where Ray allows clusters (Linux); read when Ray starts a node
SINGLE_MACHINE = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
# logs that token authentication is on, at every start: true (it guards the loopback ports too), and no news
TOKEN_NOTICE = "ray._private.authentication.authentication_token_setup"


def import_ray() -> ModuleType:
    """Ray, imported with usage statistics off; a one-line ``UsageError`` naming the extra when it is missing."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError as exc:
        raise UsageError("--ray", "needs Ray, which is not installed", INSTALL) from exc
    return ray


def is_local(address: str | None) -> bool:
    """The address asks for a private cluster on this machine (none given, or ``local``)."""
    return address is None or address == LOCAL


@contextmanager
def ray_session(address: str | None = LOCAL, cpus: int | None = None) -> Iterator[ModuleType]:
    """Ray, connected for the block: a private local cluster (``cpus`` CPUs, default all) started and stopped
    here, or the cluster at ``address`` joined and left; a session already open is used and left open."""
    with _process_state_kept():  # from before the import: importing Ray already sets PYTHONBREAKPOINT
        ray = import_ray()
        if ray.is_initialized():
            yield ray
            return
        if is_local(address):
            _start_local(ray, cpus)
        else:
            _join(ray, address)
        try:
            yield ray
        finally:
            ray.shutdown()


@contextmanager
def _process_state_kept() -> Iterator[None]:
    """Give back what ``ray.init`` changes in the driver's process beyond Ray itself: it swaps ``builtins.print``
    for its own, sets ``PYTHONBREAKPOINT`` (inherited by every child process) and installs a SIGTERM handler
    (measured with Ray 2.60). Its ``RAY_*`` variables stay: the imported module keeps matching state, and a later
    session in the same process needs them."""
    import builtins
    import signal

    printer, on_sigterm = builtins.print, signal.getsignal(signal.SIGTERM)
    foreign = {name: os.environ.get(name) for name in ("PYTHONBREAKPOINT",)}
    try:
        yield
    finally:
        builtins.print = printer
        for name, value in foreign.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, on_sigterm)


def _start_local(ray: ModuleType, cpus: int | None) -> None:
    """Start a one-node cluster bound to 127.0.0.1, no dashboard; refuse to go on if Ray bound elsewhere."""
    logging.getLogger(TOKEN_NOTICE).setLevel(logging.ERROR)
    with _single_machine(ray):
        ray.init(address="local", _node_ip_address=LOOPBACK, include_dashboard=False, num_cpus=cpus,
                 logging_level=logging.WARNING)  # "local": a new cluster even when RAY_ADDRESS names one
    bound = sorted({node["NodeManagerAddress"] for node in ray.nodes()} - {LOOPBACK})
    if bound:
        ray.shutdown()
        raise EdgeConvError("--ray", f"Ray bound its local cluster to {', '.join(bound)}, not {LOOPBACK}",
                            "stopped it; join a cluster you started yourself with --ray ADDRESS")


def _join(ray: ModuleType, address: str) -> None:
    """Connect to the cluster at ``address``; one line when it cannot be reached."""
    _check_reachable(address)
    loopback = address.split("://")[-1].startswith((LOOPBACK, "localhost"))  # a cluster on this machine alone
    try:
        with _single_machine(ray) if loopback else nullcontext():
            ray.init(address=address, logging_level=logging.WARNING)
    except (ConnectionError, ValueError, RuntimeError, TimeoutError) as exc:
        raise UsageError(f"--ray {address}", f"no Ray cluster there: {first_line(exc)}",
                         "give auto (on a cluster node), HOST:PORT of the head, or ray://HOST:10001") from exc


def _check_reachable(address: str) -> None:
    """Refuse a ``HOST:PORT`` (or ``ray://HOST:PORT``) that takes no connection, at once: Ray itself retries for
    minutes before it gives up."""
    host, _, port = address.split("://")[-1].rpartition(":")
    if not host or not port.isdigit():
        return  # auto: Ray finds the cluster of this node, or says at once that there is none
    try:
        socket.create_connection((host, int(port)), timeout=REACH_TIMEOUT_S).close()
    except OSError as exc:
        raise UsageError(f"--ray {address}", f"no Ray cluster there: {first_line(exc)}",
                         "give auto (on a cluster node), HOST:PORT of the head, or ray://HOST:10001") from exc


@contextmanager
def _single_machine(ray: ModuleType) -> Iterator[None]:
    """Ray's single-machine mode while a local node starts (so 127.0.0.1 stays loopback), then as it was."""
    constants = sys.modules.get("ray._private.ray_constants")
    before_env, before = os.environ.get(SINGLE_MACHINE), getattr(constants, "ENABLE_RAY_CLUSTER", None)
    os.environ[SINGLE_MACHINE] = "0"
    if constants is not None:
        constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        if before_env is None:
            os.environ.pop(SINGLE_MACHINE, None)
        else:
            os.environ[SINGLE_MACHINE] = before_env
        if constants is not None:
            constants.ENABLE_RAY_CLUSTER = before


def check_fits(ray: ModuleType, cpus: int, gpus: int) -> None:
    """Refuse work whose tasks ask more CPUs or GPUs than any node has: Ray would wait for such a node forever."""
    nodes = [n["Resources"] for n in ray.nodes() if n["Alive"]]
    for kind, need, option in (("CPU", cpus, "--threads"), ("GPU", gpus, "--device")):
        largest = max((n.get(kind, 0) for n in nodes), default=0)
        if need > largest:
            raise UsageError(option, f"asks {need} {kind} per Ray worker", f"the largest node has {largest:g}")


def raised_on_ray(exc: BaseException, what: str) -> EdgeConvError:
    """The error to show for a Ray failure of ``what``: the edgeconv error a task raised, else one line of Ray's."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, EdgeConvError):
        return cause
    return EdgeConvError(what, f"failed on Ray: {first_line(cause or exc)}",
                         "finished outputs are kept; run the same command again to continue")
