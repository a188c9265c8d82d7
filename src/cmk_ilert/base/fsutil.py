"""Careful file primitives for the state directory.

Everything the product writes below ``var/cmk_ilert`` goes through here:
files are created 0600 whatever the umask, written to a temporary name and
renamed into place (so a symlink planted at the final name is replaced, never
followed), and only regular files are ever read (``O_NOFOLLOW`` + ``fstat``:
a FIFO, a device or a symlink to ``/dev/zero`` cannot hang or flood a run).
"""

from __future__ import annotations

import errno
import os
import stat

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


class NotRegular(OSError):
    """A name that is not a regular file (FIFO, device, symlink, directory) or is too large."""


def errno_name(exc: BaseException) -> str:
    """``ENOSPC``-style name of an OSError (never its text, which may hold a path);
    a full disk is said in words too: ``disk full (ENOSPC)``."""
    code = getattr(exc, "errno", None)
    if code == errno.ENOSPC:
        return "disk full (ENOSPC)"
    if isinstance(code, int) and code in errno.errorcode:
        return errno.errorcode[code]
    return type(exc).__name__


def read_regular(path: str, limit: int) -> bytes:
    """The content of ``path`` if it is a regular file of at most ``limit`` bytes.

    Raises FileNotFoundError when it is gone, NotRegular for anything else
    that is not a plain, bounded file, OSError for I/O errors.
    """
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotRegular(errno.ELOOP, "symbolic link") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegular(errno.EINVAL, "not a regular file")
        if info.st_size > limit:
            raise NotRegular(errno.EFBIG, "file too large")
        chunks = []
        total = 0
        while True:
            chunk = os.read(fd, min(65536, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise NotRegular(errno.EFBIG, "file too large")
        return b"".join(chunks)
    finally:
        os.close(fd)


def write_new(path: str, payload: bytes, sync: bool = True) -> None:
    """Create (or truncate) ``path`` 0600 and write ``payload``; a partial file is removed."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(payload)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        if sync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        unlink(path)
        raise
    os.close(fd)


def replace_atomically(path: str, payload: bytes, tmp_dir: str, sync: bool = True) -> None:
    """Write ``payload`` to a temporary file in ``tmp_dir`` and rename it to ``path``."""
    tmp = os.path.join(tmp_dir, ".%s.%d.tmp" % (os.path.basename(path), os.getpid()))
    write_new(tmp, payload, sync)
    try:
        os.replace(tmp, path)
    except BaseException:
        unlink(tmp)
        raise


def touch(path: str) -> None:
    """An empty 0600 file (markers, stamps)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | _NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.utime(fd if os.utime in os.supports_fd else path)
    finally:
        os.close(fd)


def fsync_path(path: str) -> None:
    """fsync a written file or a directory (to make a link/rename durable)."""
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def unlink(path: str) -> bool:
    """Remove ``path``; False if that failed for any reason but "already gone".
    A directory where a file belongs (planted, or left by hand) is removed with
    what it holds; symlinks inside it are removed, never followed."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return True
    except IsADirectoryError:
        import shutil  # lazy: only to clear a directory planted in the queue

        shutil.rmtree(path, ignore_errors=True)
        return not os.path.lexists(path)
    except OSError as exc:
        if exc.errno in (errno.EISDIR, errno.EPERM) and os.path.isdir(path) and not os.path.islink(path):
            import shutil  # lazy: only to clear a directory planted in the queue

            shutil.rmtree(path, ignore_errors=True)
            return not os.path.lexists(path)
        return False
    return True


def open_lock_file(path: str) -> int:
    """A file descriptor for flock on ``path`` (0600, never through a symlink)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask: a 0400 lock could not be reopened by the site user
    except OSError:
        pass  # a read-only file system: the lock still works
    return fd
