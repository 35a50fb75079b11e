"""One batch at a time per outputs folder: a lock file that names its holder.

Two batches writing into the same ``outputs/`` would each rename their own work folders into
place, and the second to finish would silently replace the first one's results (possibly of
other settings). :func:`outputs_lock` takes an exclusive ``flock`` on
``outputs/.fupinsim-batch.lock`` for the whole batch; a second batch fails at once with a message
naming the holder (process id, machine, start time, command).

``fcntl.flock`` directly, not the ``filelock`` package (which uses the same call on POSIX): the
holder's description is written into the locked file itself, which ``filelock`` has no API for.
The kernel releases the lock when the holder's process ends in any way (also SIGKILL), so a
killed batch never leaves a stale lock; the file itself stays (deleting it would let two
processes lock two different files of the same name).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from fupinsim.errors import InputError
from fupinsim.io.outputs import not_writable

__all__ = ["LOCK_NAME", "outputs_lock"]

#: The lock file, in the outputs folder.
LOCK_NAME = ".fupinsim-batch.lock"

_MAX_HOLDER_BYTES = 4096


def _holder_text(fd: int) -> str:
    """The holder's description as read from the lock file (best effort)."""
    try:
        raw = os.pread(fd, _MAX_HOLDER_BYTES, 0)
        holder = json.loads(raw.decode("utf-8"))
        return (
            f"process {holder['pid']} on {holder['host']} (started {holder['started_at']}: "
            f"{holder['command']})"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "another process (its description could not be read)"


@contextmanager
def outputs_lock(outputs: Path) -> Iterator[Path]:
    """Hold the batch lock of ``outputs`` for the block.

    Raises
    ------
    InputError
        Another batch holds it (the message names its process id), or the folder cannot be
        written (read-only file system, no permission).
    """
    path = outputs / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise not_writable(outputs, exc) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError.single(
                str(outputs),
                f"in use by {_holder_text(fd)}",
                "must not receive two batches at once",
                fix="Wait for that batch to finish, or give this one another --outputs folder.",
            ) from None
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode("utf-8"), 0)
        yield path
        os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the lock
