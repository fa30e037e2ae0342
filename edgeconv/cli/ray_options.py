"""``--ray [ADDRESS]``, shared by the commands that scale out on Ray (``upscale`` of a folder, ``compare``).

Typer options cannot take an optional value, so the entry point rewrites a bare ``--ray`` (last, or followed by
something that is not an address: another option, a path) as ``--ray local`` before parsing.
"""

from __future__ import annotations

import re
from typing import Annotated

import typer

RAY_PANEL = "Ray (pip install 'edgeconv\\[cluster]')"  # \\[: rich markup would eat [cluster]
LOCAL = "local"  # the address of a private cluster started on this machine (edgeconv.runtime.cluster.session)
# local, auto, a URL (ray://HOST:10001) or HOST:PORT; a path or another option is not an address
ADDRESS = re.compile(r"^(local|auto|[a-z][a-z0-9+.-]*://\S+|[^\s/:]+:\d+)$")
CLUSTER_HELP = ("--ray alone starts a cluster on this machine (127.0.0.1 only) for this command; auto joins the "
                "cluster of the node it runs on, HOST:PORT its head, ray://HOST:10001 through the Ray Client.")

RayWorkers = Annotated[int, typer.Option(
    min=0, rich_help_panel=RAY_PANEL,
    help="Upscale workers on Ray, each loading the model once (0, and at most: one per --threads CPUs the cluster "
         "has; 1 thread each by default).")]


def ray_option(job: str) -> object:
    """The ``--ray`` option of a command whose ``job`` runs on the cluster (help text and panel)."""
    return typer.Option("--ray", metavar="[ADDRESS]", show_default=False, rich_help_panel=RAY_PANEL,
                        help=f"{job} {CLUSTER_HELP}")


def bare_ray_means_local(args: list[str]) -> list[str]:
    """``args`` with each ``--ray`` that has no address after it given ``local``."""
    out: list[str] = []
    for i, arg in enumerate(args):
        out.append(arg)
        if arg == "--ray" and (i + 1 == len(args) or not ADDRESS.match(args[i + 1])):
            out.append(LOCAL)
    return out
