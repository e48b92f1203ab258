"""One bot per database: an exclusive lock on a file beside it, holding the pid of the process that runs.

The lock is flock(2): the kernel drops it when its holder exits or dies, so a lock file left behind by a
crashed or killed process is simply taken over by the next start; its pid is only there to be named.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType


class AlreadyRunning(RuntimeError):
    """Another process holds the database's lock; the message names its pid and the lock file."""

    def __init__(self, database: Path, lock_path: Path, pid: int | None) -> None:
        holder = f"pid {pid}" if pid is not None else "another process"
        super().__init__(
            f"Chokepoint is already running on {database} ({holder}, lock file {lock_path}); "
            "stop it first: one process per database"
        )
        self.pid = pid


def lock_path_for(database: Path) -> Path:
    """The lock file of a database: its name with .lock added, in the same folder."""
    return database.with_name(database.name + ".lock")


class InstanceLock:
    """Held for as long as the bot runs on a database; use with `with`."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.path = lock_path_for(database)
        self._fd: int | None = None

    def __enter__(self) -> InstanceLock:
        """Take the lock, or raise AlreadyRunning naming the holder."""
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Let the lock go."""
        self.release()

    def acquire(self) -> None:
        """Take the lock and write our pid in the file; OSError when the folder cannot be written."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _pid_in(fd)
            os.close(fd)
            raise AlreadyRunning(self.database, self.path, pid) from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError as error:  # a full disk, say: named, as an open's error would be
            os.close(fd)
            raise OSError(error.errno, error.strerror, str(self.path)) from error
        self._fd = fd

    def release(self) -> None:
        """Empty the file and let the lock go (the file stays: removing it would race with the next start)."""
        if self._fd is None:
            return
        os.ftruncate(self._fd, 0)
        os.close(self._fd)  # closing the last descriptor releases the flock
        self._fd = None


def _pid_in(fd: int) -> int | None:
    """The pid a lock file holds, if it holds one."""
    text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
    return int(text) if text.isascii() and text.isdecimal() else None
