"""A content-addressed cache of stage results on disk: ``outputs/.cache/<hash>/``.

The what-if controls (:mod:`fupinsim.widgets`) re-plan in seconds because the slow stages (the
synthetic registry, the exit yields) are computed once per *content* of the scenario sections
they read and kept here. A key is a hash (:func:`content_key`) of those sections and the code
version, so a changed model parameter or a new commit gives a new folder, never a stale result.

Each entry is a folder of Parquet tables plus ``entry.json`` (what the key was made from)::

    outputs/.cache/<hash>/entry.json
    outputs/.cache/<hash>/<table>.parquet

Writes are atomic: the tables go into a hidden sibling ``.<hash>.tmp-<pid>-<token>/`` that is
renamed into place when complete, so a reader sees a whole entry or none, and two processes
storing the same entry both succeed (the second finds it there and drops its copy).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["ENTRY_INFO", "TableCache", "content_key"]

logger = logging.getLogger(__name__)

#: The description of a cache entry, written last (an entry without it is incomplete).
ENTRY_INFO = "entry.json"


def content_key(stage: str, content: Mapping[str, Any], code_version: str = "") -> str:
    """A 16-hex-digit key of a stage and the (JSON-able) content it depends on."""
    text = json.dumps(
        {"stage": stage, "content": content, "code": code_version},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class TableCache:
    """Tables by content key, in ``root`` (default ``outputs/.cache``).

    Parameters
    ----------
    root:
        The cache folder; created on the first :meth:`store`.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """The folder of entry ``key``."""
        return self.root / key

    def load(self, key: str) -> dict[str, pd.DataFrame] | None:
        """The tables stored under ``key``, or ``None`` if there is no complete entry."""
        folder = self.path(key)
        info_path = folder / ENTRY_INFO
        if not info_path.is_file():
            return None
        try:
            info = json.loads(info_path.read_text(encoding="utf-8"))
            return {name: pd.read_parquet(folder / f"{name}.parquet") for name in info["tables"]}
        except (OSError, ValueError, KeyError) as error:  # damaged entry: recompute it
            logger.warning("cache entry %s unreadable (%s); it will be recomputed", folder, error)
            return None

    def store(
        self, key: str, tables: Mapping[str, pd.DataFrame], about: Mapping[str, Any] | None = None
    ) -> Path:
        """Store ``tables`` under ``key`` atomically; ``about`` goes into ``entry.json``."""
        final = self.path(key)
        if (final / ENTRY_INFO).is_file():
            return final
        self.root.mkdir(parents=True, exist_ok=True)
        work = self.root / f".{key}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        work.mkdir()
        try:
            for name, frame in tables.items():
                frame.to_parquet(work / f"{name}.parquet", index=False)
            info = {"key": key, "tables": list(tables), **dict(about or {})}
            (work / ENTRY_INFO).write_text(
                json.dumps(info, indent=2, sort_keys=True, default=str), encoding="utf-8"
            )
            if final.exists():  # an incomplete entry left by a killed process
                shutil.rmtree(final, ignore_errors=True)
            try:
                work.rename(final)
            except OSError:  # another process stored it first
                if not (final / ENTRY_INFO).is_file():
                    raise
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
        logger.info("cached %s in %s", ", ".join(tables), final)
        return final
