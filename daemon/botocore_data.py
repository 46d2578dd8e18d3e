"""One botocore data loader per process, parsing compactly.

Every boto3 session normally gets its own loader, which parses and caches endpoints,
partitions and each service model again (~8 MB per session, up to 17 MB per model). The daemon
has a session per account (preflight, its own, one per assumed role): they all share one here.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

import boto3
import botocore.session
from botocore.loaders import JSONFileLoader, Loader


class _SearchPaths(list[str]):
    """boto3 appends its own data folder to the loader of every session it wraps: with one
    shared loader, once is enough."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


class _CompactJsonFiles(JSONFileLoader):  # type: ignore[misc]
    """botocore's JSON file loader, parsing into plain dicts (ordered too, and about half the
    size of the OrderedDicts botocore asks for) with documentation text emptied: kept as ""
    so every reader of `documentation` still finds the key, unused by a daemon (it only feeds
    docstrings). Overrides `_load_file`, botocore's one place that parses (pinned versions)."""

    def _load_file(self, full_path: str, open_method: Callable[..., Any]) -> Any:
        if not os.path.isfile(full_path):
            return None
        with open_method(full_path, "rb") as fp:
            return json.loads(fp.read().decode("utf-8"), object_pairs_hook=_compact)


def _compact(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return {key: "" if key == "documentation" else value for key, value in pairs}


_loader: Loader | None = None
_loader_lock = threading.Lock()


def shared_loader(data_path: str | None) -> Loader:
    """The process's one botocore data loader. A loader caches what it parses (endpoints,
    partitions, each service's model, paginators, ruleset): ~8 MB for the first client and
    up to 17 MB per service model (EC2). Per session, that was paid again by every session
    (preflight, the daemon's own, one per assumed-role account); shared, once per process,
    and compact (`_CompactJsonFiles`). The files are botocore's packaged data (plus
    AWS_DATA_PATH), the same for every session."""
    global _loader
    with _loader_lock:
        if _loader is None:
            extra: Iterable[str] = data_path.split(os.pathsep) if data_path else ()
            paths = _SearchPaths(os.path.expanduser(os.path.expandvars(p)) for p in extra)
            _loader = Loader(extra_search_paths=paths, file_loader=_CompactJsonFiles())
        return _loader


def new_session(
    core: botocore.session.Session | None = None, region_name: str | None = None
) -> boto3.session.Session:
    """A boto3 session (its own credentials and settings) over the process's shared loader."""
    core = core or botocore.session.Session()
    core.register_component("data_loader", shared_loader(core.get_config_variable("data_path")))
    return boto3.session.Session(botocore_session=core, region_name=region_name)
