"""The hostile-conditions family (issue 9): a misbehaving iLert or network, a full or read-only
disk, clocks stepped back, tampered state, odd input, closed outputs.

Everything runs for real: the notification script and ``python3 -m cmk_ilert`` in their own
processes (the environment of ``tests/support/site.py``'s FakeSite), the hostile servers of
``tests/support/hostile.py`` and ``tests/hostile/servers.py`` on loopback sockets, the iLert
stand-in, and real file systems: a size-limited tmpfs mounted over the state directory for a full
disk (real ENOSPC), a read-only bind mount (real EROFS), and a private mount namespace
(``unshare -m``) to give one process its own ``/etc/hosts`` or ``/etc/resolv.conf`` (a host name
with six black-holed addresses, a DNS server that never answers). Tests that need a mount skip
when the machine does not allow one (not root).

``CMK_ILERT_CODE_UNDER_TEST=/path/to/checkout`` runs the family against another checkout's
``notifications/cmk_ilert`` and ``src`` (e.g. the code before the fix, to see which tests fail
there); the default is this repository.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import random
import resource
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Union

import pytest

from tests.support.site import RECORDED_OUTPUT, REPO, FakeSite, Run, bulk_stdin, runtime_python

#: Checkmk kills a notification plugin after 60 s: a run that ends later lost its notification.
CHECKMK_LIMIT = 60.0
#: What a run may take beyond one exchange's ``timeout``: interpreter start, imports and file
#: writes on a loaded 2-core machine. A per-read or per-address timeout adds whole timeouts.
SLACK = 5.0
#: The rule timeout of the time-bound tests (short, so the family stays fast).
T = 2.0

CODE_ENV = "CMK_ILERT_CODE_UNDER_TEST"


def code_root() -> Path:
    return Path(os.environ.get(CODE_ENV) or REPO).resolve()


def make_site(root: Path) -> FakeSite:
    code = code_root()
    if code == REPO.resolve():
        return FakeSite(root)
    return FakeSite(root, script=code / "notifications" / "cmk_ilert", use_repo_src=False,
                    lib_dirs=[code / "src"])


@pytest.fixture
def site(tmp_path: Path) -> FakeSite:
    """A fake site running the code under test (this repository unless CODE_ENV says otherwise)."""
    return make_site(tmp_path / "site")


# --- processes -----------------------------------------------------------------------------


@dataclass
class Timed:
    """A finished process: what it printed, how long it ran, its peak memory."""

    run: Run
    elapsed: float
    maxrss_mb: float

    @property
    def returncode(self) -> int:
        return self.run.returncode

    @property
    def output(self) -> str:
        return self.run.output

    @property
    def lines(self) -> List[str]:
        return self.run.lines


Preexec = Callable[[], None]
EnvMap = Mapping[Union[str, bytes], Union[str, bytes]]


class Process:
    """A started process (script or CLI) with the site environment; ``finish()`` reaps it with
    ``wait4`` (exit code and peak RSS of exactly this child) and records its output."""

    def __init__(self, argv: Sequence[str], env: EnvMap, stdin: Optional[bytes], stdout: str,
                 preexec: Sequence[Preexec], keep_stdin_open: bool = False) -> None:
        self._read_fd = -1
        out_target: Any = subprocess.PIPE
        if stdout == "closed":
            out_target = None  # inherited, then closed in the child
            preexec = list(preexec) + [lambda: os.close(1)]
        elif stdout == "broken":
            self._read_fd, write_fd = os.pipe()
            out_target = write_fd
        steps = list(preexec)

        def before_exec() -> None:
            for step in steps:
                step()

        self.started = time.monotonic()
        piped = stdin is not None or keep_stdin_open
        self.popen = subprocess.Popen(
            list(argv), env=env, stdin=subprocess.PIPE if piped else subprocess.DEVNULL,
            stdout=out_target, stderr=subprocess.PIPE, preexec_fn=before_exec if steps else None)
        if stdout == "broken":
            os.close(out_target)
            os.close(self._read_fd)  # the reader is gone before the first line is written
        self._out: List[bytes] = []
        self._err: List[bytes] = []
        self._threads = []
        if self.popen.stdout is not None:
            self._threads.append(self._drain(self.popen.stdout, self._out))
        assert self.popen.stderr is not None
        self._threads.append(self._drain(self.popen.stderr, self._err))
        if stdin is not None and not keep_stdin_open:
            threading.Thread(target=self._feed, args=(stdin,), daemon=True).start()

    @staticmethod
    def _drain(stream: Any, sink: List[bytes]) -> threading.Thread:
        def work() -> None:
            for chunk in iter(lambda: stream.read1(65536), b""):
                sink.append(chunk)

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        return thread

    def _feed(self, data: bytes) -> None:
        assert self.popen.stdin is not None
        with contextlib.suppress(OSError):
            self.popen.stdin.write(data)
        with contextlib.suppress(OSError):
            self.popen.stdin.close()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.returncode is None and os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG
                                                           | os.WNOWAIT) is None

    def finish(self, timeout: float = CHECKMK_LIMIT, what: str = "the run") -> Timed:
        """Wait for the end; a process still running after ``timeout`` is killed and the test fails."""
        deadline = self.started + timeout
        while True:
            pid, status, usage = os.wait4(self.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() >= deadline:
                self.popen.kill()
                os.wait4(self.pid, 0)
                self.popen.returncode = -9
                self._record()
                pytest.fail("%s was still running after %.0fs and was killed (Checkmk kills a notification "
                            "plugin after 60 s): %r" % (what, timeout, self._text()[-500:]))
            time.sleep(0.02)
        elapsed = time.monotonic() - self.started
        code = os.waitstatus_to_exitcode(status)
        self.popen.returncode = code
        run = self._record(code)
        return Timed(run, elapsed, usage.ru_maxrss / 1024.0)

    def _record(self, code: int = -9) -> Run:
        for thread in self._threads:
            thread.join(timeout=5)
        for stream in (self.popen.stdout, self.popen.stderr, self.popen.stdin):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        run = Run(code, b"".join(self._out).decode("utf-8", "replace"), b"".join(self._err).decode("utf-8", "replace"))
        RECORDED_OUTPUT.append(run.output)
        return run

    def _text(self) -> str:
        return (b"".join(self._out) + b"".join(self._err)).decode("utf-8", "replace")

    def kill(self) -> None:
        if self.popen.returncode is None:
            with contextlib.suppress(OSError):
                self.popen.kill()


def start(site: FakeSite, *cli: str, context: Optional[Mapping[str, str]] = None,
          bulk: Optional[Sequence[Mapping[str, str]]] = None, raw_stdin: Optional[bytes] = None,
          env: Optional[Mapping[str, str]] = None, bytes_env: Optional[Mapping[bytes, bytes]] = None,
          prefix: Sequence[str] = (), preexec: Sequence[Preexec] = (), stdout: str = "pipe",
          keep_stdin_open: bool = False, interpreter: Optional[str] = None) -> Process:
    """Start the notification script (no ``cli``) or ``python3 -m cmk_ilert CLI...`` the way
    FakeSite does. ``prefix`` runs it under a wrapper (a private mount namespace), ``preexec``
    changes the child before exec (umask, limits), ``stdout`` is ``pipe``, ``closed`` (``>&-``)
    or ``broken`` (a pipe whose reader is gone); ``interpreter`` replaces the runtime Python."""
    environment: Dict[Union[str, bytes], Union[str, bytes]] = dict(site.environment(env))
    stdin: Optional[bytes] = None
    python = interpreter or runtime_python()
    if cli:
        argv = [python, "-m", "cmk_ilert", *cli]
        stdin = raw_stdin
    else:
        argv = [python, str(site.script)]
        if bulk is not None or raw_stdin is not None:
            argv.append("--bulk")
            stdin = raw_stdin if raw_stdin is not None else bulk_stdin({}, bulk or [])
        for key, value in (context or {}).items():
            environment["NOTIFY_" + key] = value
    if bytes_env:
        environment = {os.fsencode(k): os.fsencode(v) for k, v in environment.items()}
        environment.update(bytes_env)
    return Process([*prefix, *argv], environment, stdin, stdout, preexec, keep_stdin_open)


def run(site: FakeSite, *cli: str, timeout: float = CHECKMK_LIMIT, **kwargs: Any) -> Timed:
    """``start`` and ``finish``: fails the test if the process outlives ``timeout``."""
    what = "python3 -m cmk_ilert %s" % cli[0] if cli else "the notification script"
    return start(site, *cli, **kwargs).finish(timeout, what)


def no_crash(result: Union[Run, Timed]) -> None:
    """No traceback, no internal error, no complaint of the interpreter at exit."""
    text = result.output
    for bad in ("Traceback", "internal error", "Exception ignored", "Error in sys.excepthook"):
        assert bad not in text, text


def umask(mask: int) -> Preexec:
    return lambda: os.umask(mask) and None


def memory_limit(megabytes: int) -> Preexec:
    """RLIMIT_AS for the child: a safety net for the machine when a run would read forever."""

    def apply() -> None:
        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def as_user(uid: int, gid: int) -> Preexec:
    def apply() -> None:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)

    return apply


# --- state files ----------------------------------------------------------------------------


def load(path: Path) -> Dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def rewrite(path: Path, **changes: Any) -> None:
    data = load(path)
    for name, value in changes.items():
        if "." in name:  # "transport.timeout"
            outer, inner = name.split(".", 1)
            data[outer] = dict(data[outer], **{inner: value})
        else:
            data[name] = value
    path.write_text(json.dumps(data), encoding="utf-8")


def queue_names(site: FakeSite) -> List[str]:
    folder = site.state_dir / "queue"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def group_and_identity(path: Path) -> List[str]:
    """``queue/<group>.<identity>.json`` -> [group, identity]."""
    group, identity, _ = path.name.split(".")
    return [group, identity]


def strict_json(text: str) -> Any:
    """JSON as RFC 8259 has it: no NaN, no Infinity."""

    def refuse(name: str) -> Any:
        raise ValueError("not JSON: %s" % name)

    return json.loads(text, parse_constant=refuse)


def fragments(secret: str, size: int = 10) -> List[str]:
    """Every piece of ``size`` characters of a secret: none may appear anywhere."""
    return [secret[i:i + size] for i in range(0, max(1, len(secret) - size + 1))]


def assert_no_fragment(text: str, *secrets: str, size: int = 10) -> None:
    for secret in secrets:
        for piece in fragments(secret, size):
            assert piece not in text, "a piece of a secret (%r...) leaked: %r" % (piece[:4], text[:300])


def files_below(root: Path) -> List[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def refused_url() -> str:
    """An http URL on loopback where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return "http://127.0.0.1:%d" % port


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "%s not reached within %.0fs" % (what, timeout)
        time.sleep(0.02)


# --- file systems ----------------------------------------------------------------------------


class Mounts:
    """Mounts made by one test, undone at its end (lazy unmount: nothing is left mounted)."""

    def __init__(self) -> None:
        self._mounted: List[Path] = []

    def _mount(self, argv: List[str], path: Path) -> None:
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode:
            pytest.skip("cannot mount here (%s): %s" % (" ".join(argv[:3]), done.stderr.strip()[:200]))
        self._mounted.append(path)

    def tmpfs(self, path: Path, size_kb: int = 256, inodes: Optional[int] = None) -> "SmallFs":
        """A tmpfs of ``size_kb`` (mode 0700, owned by us) at ``path``: a disk that can be filled."""
        path.mkdir(parents=True, exist_ok=True)
        options = "size=%dk,mode=0700" % size_kb + (",nr_inodes=%d" % inodes if inodes else "")
        self._mount(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], path)
        return SmallFs(path)

    def read_only(self, path: Path) -> None:
        """``path`` read-only from now on (a bind mount over itself, remounted ro): real EROFS."""
        self._mount(["mount", "--bind", str(path), str(path)], path)
        self._mount(["mount", "-o", "remount,bind,ro", str(path)], path)

    def undo(self) -> None:
        for path in reversed(self._mounted):
            subprocess.run(["umount", "-l", str(path)], capture_output=True)
        self._mounted.clear()


class SmallFs:
    """A small tmpfs: ``fill()`` takes every free block (and inode), ``free()`` gives them back."""

    FILLER = ".filler"

    def __init__(self, path: Path) -> None:
        self.path = path

    def fill(self, inodes: bool = False) -> None:
        filler = self.path / self.FILLER
        filler.mkdir(exist_ok=True)
        fd = os.open(filler / "blocks", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
        finally:
            os.close(fd)
        if inodes:
            n = 0
            while True:
                try:
                    (filler / ("i%d" % n)).touch()
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
                    break
                n += 1
        probe = os.open(self.path / ".probe", os.O_WRONLY | os.O_CREAT, 0o600) if not inodes else -1
        try:
            with pytest.raises(OSError) as caught:
                os.write(probe, b"x" * 8192) if probe >= 0 else (self.path / ".probe").touch()
            assert caught.value.errno == errno.ENOSPC
        finally:
            if probe >= 0:
                os.close(probe)
            with contextlib.suppress(OSError):
                (self.path / ".probe").unlink()

    def free(self) -> None:
        filler = self.path / self.FILLER
        if filler.exists():
            for child in filler.iterdir():
                child.unlink()
            filler.rmdir()


@pytest.fixture
def mounts() -> Iterator[Mounts]:
    done = Mounts()
    try:
        yield done
    finally:
        done.undo()


@pytest.fixture(scope="session")
def private_mounts_work() -> bool:
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount --bind /etc/hosts /etc/hosts"], capture_output=True)
    return probe.returncode == 0


def private_files(binds: Mapping[str, Path]) -> List[str]:
    """An argv prefix: run the command in a private mount namespace where each system file
    (``/etc/hosts``, ``/etc/resolv.conf``) is replaced by the given one; nothing changes for
    any other process."""
    script = " && ".join('mount --bind "%s" "%s"' % (source, target) for target, source in binds.items())
    return ["unshare", "-m", "sh", "-c", script + ' && exec "$@"', "private-files"]


@pytest.fixture
def namespace(private_mounts_work: bool) -> Callable[[Mapping[str, Path]], List[str]]:
    if not private_mounts_work:
        pytest.skip("no private mount namespaces here (unshare -m)")
    return private_files


class SilentDns:
    """A DNS server on a loopback address that reads every query and never answers."""

    def __init__(self) -> None:
        self.queries = 0
        self._stop = threading.Event()
        for _ in range(50):
            address = "127.0.%d.%d" % (random.randint(1, 254), random.randint(2, 254))
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sock.bind((address, 53))
            except OSError:
                sock.close()
                continue
            self.address, self._sock = address, sock
            break
        else:
            pytest.skip("no loopback address with a free port 53 (needs root)")
        self._sock.settimeout(0.1)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                self._sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            self.queries += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()


@pytest.fixture
def silent_dns() -> Iterator[SilentDns]:
    server = SilentDns()
    try:
        yield server
    finally:
        server.close()


# --- contexts and what iLert got --------------------------------------------------------------

#: MICROTIME of the first notification of a test; later ones count up (oldest first per key).
T0 = 1795341600000000


def notification(url: str, ntype: str = "PROBLEM", host: str = "web01", n: int = 0, fmt: str = "api",
                 key: Optional[str] = None, **params: str) -> Dict[str, str]:
    """A service notification for ``host`` (its own alert key) to the server at ``url``;
    ``params`` are rule parameters by their lower-case names (``timeout="2"``)."""
    from tests.support.contexts import api_params, checkmk_params, service

    build = api_params if fmt == "api" else checkmk_params
    rule = build(url, key, **params) if key else build(url, **params)
    return service(ntype, rule, HOSTNAME=host, MICROTIME=str(T0 + n), SERVICENOTIFICATIONNUMBER=str(n + 1),
                   SERVICEOUTPUT="%s n%d on %s" % (ntype, n, host))


def posted(standin: Any) -> List[Dict[str, Any]]:
    """Event requests (both wire formats) the stand-in received, in arrival order."""
    return [e for e in standin.log() if e["method"] == "POST"
            and e["path"].startswith(("/api/events", "/api/v1/events/checkmk-ext/"))]


def event_types(standin: Any, host: Optional[str] = None) -> List[str]:
    """``eventType`` of every api-format event the stand-in received (optionally for one host)."""
    out = []
    for entry in posted(standin):
        body = entry.get("body")
        if isinstance(body, dict) and (host is None or "/%s/" % host in str(body.get("alertKey", "")) + "/"):
            out.append(str(body.get("eventType")))
    return out
