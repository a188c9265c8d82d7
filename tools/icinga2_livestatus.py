"""A real Livestatus server for the tests: Debian's ``icinga2`` and its ``livestatus`` feature.

``python3 tools/icinga2_livestatus.py install`` (``make test`` runs it first): installs the
``icinga2`` package with ``apt-get install -y --no-install-recommends icinga2`` when
``/usr/sbin/icinga2`` is missing; does nothing when it is present. It needs root (or sudo without
a password: then it runs itself through sudo) and apt: without them it prints one line and exits 0
(a developer's machine: the tests that need the server are skipped with that reason) or, under
``CI=true``, exits 1 (CI installs what the suite needs). While apt-get runs,
``/usr/sbin/policy-rc.d`` answers 101 (Debian's ``invoke-rc.d`` policy interface, ``man
invoke-rc.d``) so the package's postinst does not start the system-wide icinga2 service; the file
is removed afterwards (only when this tool wrote it).

``Icinga2Livestatus`` (imported by the tests) runs a private daemon as the current user in a
directory of its own: its own configuration file (``icinga2 daemon -c FILE``), every path
constant pointed into that directory (``-DDataDir= -DLogDir= -DCacheDir= -DSpoolDir=
-DInitRunDir=``; ``-DRunAsUser``/``-DRunAsGroup`` the current user, so nothing is dropped or
changed), no system configuration read except the template library ``include <itl>`` (for the
``dummy`` check command), no file outside the directory written. Its ``LivestatusListener``
listens on a Unix socket in the directory. Hosts and services get forced states from the
``dummy`` check command (``vars.dummy_state``, ``vars.dummy_text``), checked every second, one
attempt to a hard state. ``start()`` returns once every object has been checked (the socket
answers and ``has_been_checked`` is 1 everywhere); ``stop()`` sends SIGTERM to the process it started (icinga2's
umbrella process, which passes it on to the daemon; about 1.5 s), SIGKILL to the whole process
group after 10 s.

Object names: icinga2 2.13 accepts blanks, runs of blanks, tabs and any UTF-8 in host and
service names (the names are quoted strings of the configuration language, escapes ``\\t``,
``\\"``, ``\\\\``); ``!`` is refused in names (it joins host and service in icinga2's object names).
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

ICINGA2 = "/usr/sbin/icinga2"
POLICY_RC_D = "/usr/sbin/policy-rc.d"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def installed() -> bool:
    return os.access(ICINGA2, os.X_OK)


def _strict() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def install() -> int:
    """Install icinga2 when missing; the exit code for ``make`` (see the module docstring)."""
    if installed():
        print("icinga2_livestatus: icinga2 is installed (%s)" % version())
        return 0
    problem = ""
    if os.geteuid() != 0 and shutil.which("sudo") and subprocess.run(
            ["sudo", "-n", "true"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
        # a CI runner that is not root but may sudo without a password: install through it
        os.execvp("sudo", ["sudo", "-n", "--preserve-env=CI", sys.executable, os.path.abspath(__file__), "install"])
    if os.geteuid() != 0:
        problem = "not root (and no password-less sudo)"
    elif shutil.which("apt-get") is None:
        problem = "no apt-get"
    if problem:
        print("icinga2_livestatus: !!! icinga2 is NOT installed and cannot be (%s): the tests against a real "
              "Livestatus server %s; as root: apt-get install --no-install-recommends icinga2"
              % (problem, "FAIL (CI=true)" if _strict() else "are skipped"), flush=True)
        return 1 if _strict() else 0
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    wrote_policy = False
    if not os.path.exists(POLICY_RC_D):
        with open(POLICY_RC_D, "w", encoding="ascii") as handle:
            handle.write("#!/bin/sh\n# written by cmk_ilert tools/icinga2_livestatus.py during apt-get\nexit 101\n")
        os.chmod(POLICY_RC_D, 0o755)
        wrote_policy = True
    try:
        command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "icinga2"]
        if not _candidate():
            _run(["apt-get", "update", "-q"], env)
        if _run(command, env) != 0:  # stale package lists (a 404 from the mirror): refresh once
            _run(["apt-get", "update", "-q"], env)
            if _run(command, env) != 0:
                print("icinga2_livestatus: !!! apt-get install icinga2 failed (output above)", flush=True)
                return 1
    finally:
        if wrote_policy:
            os.unlink(POLICY_RC_D)
    print("icinga2_livestatus: installed icinga2 (%s)" % version(), flush=True)
    return 0


def _candidate() -> bool:
    proc = subprocess.run(["apt-cache", "policy", "icinga2"], capture_output=True, text=True)
    return "Candidate:" in proc.stdout and "Candidate: (none)" not in proc.stdout


def _run(argv: Sequence[str], env: Mapping[str, str]) -> int:
    print("icinga2_livestatus: %s" % " ".join(argv), flush=True)
    proc = subprocess.run(list(argv), env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout[-4000:])
    return proc.returncode


def version() -> str:
    proc = subprocess.run([ICINGA2, "--version"], capture_output=True, text=True)
    first = proc.stdout.splitlines()[0] if proc.stdout else ""
    return first.rpartition("(version: ")[2].rstrip(")") or "version unknown"


# --- the private daemon -----------------------------------------------------------------------


def quote(text: str) -> str:
    """``text`` as a string of icinga2's configuration language."""
    if "!" in text:
        raise ValueError("icinga2 refuses '!' in object names: %r" % text)
    return json.dumps(text, ensure_ascii=False)  # the language's escapes are JSON's: \\ \" \t \n


class Icinga2Livestatus:
    """A private icinga2 with hosts ``{name: state}`` and services ``{(host, description): state}``.

    Host states are exit codes of the ``dummy`` check: 0 UP, 2 DOWN (icinga2 maps 0/1 to UP and
    2/3 to DOWN); service states 0 OK ... 3 UNKNOWN. ``socket`` is the Livestatus socket."""

    def __init__(self, hosts: Mapping[str, int], services: Mapping[Tuple[str, str], int],
                 directory: Optional[Path] = None) -> None:
        self.hosts = dict(hosts)
        self.services = dict(services)
        self._own_dir = directory is None
        # a short path: AF_UNIX allows 107 bytes for the socket
        self.dir = Path(tempfile.mkdtemp(prefix="icinga2-")) if directory is None else Path(directory)
        self.socket = self.dir / "live"
        self.proc: Optional["subprocess.Popen[bytes]"] = None

    def config(self) -> str:
        lines = [
            "include <itl>",
            'object LivestatusListener "livestatus" {',
            '  socket_type = "unix"',
            "  socket_path = %s" % quote(str(self.socket)),
            "}",
            'object CheckerComponent "checker" { }',
            'template Host "forced-host" {',
            '  check_command = "dummy"',
            "  max_check_attempts = 1",
            "  check_interval = 1s",
            "  retry_interval = 1s",
            "}",
            'template Service "forced-service" {',
            '  check_command = "dummy"',
            "  max_check_attempts = 1",
            "  check_interval = 1s",
            "  retry_interval = 1s",
            "}",
        ]
        for name, state in self.hosts.items():
            lines += ["object Host %s {" % quote(name), '  import "forced-host"', "  vars.dummy_state = %d" % state,
                      '  vars.dummy_text = "forced state %d"' % state, "}"]
        for (host, description), state in self.services.items():
            lines += ["object Service %s {" % quote(description), '  import "forced-service"',
                      "  host_name = %s" % quote(host), "  vars.dummy_state = %d" % state,
                      '  vars.dummy_text = "forced state %d"' % state, "}"]
        return "\n".join(lines) + "\n"

    def argv(self) -> List[str]:
        user = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
        paths = {"DataDir": "data", "LogDir": "log", "CacheDir": "cache", "SpoolDir": "spool", "InitRunDir": "run"}
        argv = [ICINGA2, "daemon", "-c", str(self.dir / "icinga2.conf"), "-DRunAsUser=" + user,
                "-DRunAsGroup=" + group, "-DConfigDir=" + str(self.dir)]
        return argv + ["-D%s=%s" % (constant, self.dir / sub) for constant, sub in paths.items()]

    def start(self, timeout: float = START_TIMEOUT) -> "Icinga2Livestatus":
        if not installed():
            raise RuntimeError("icinga2 is not installed (python3 tools/icinga2_livestatus.py install)")
        for sub in ("data", "log", "cache", "spool", "run"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        (self.dir / "icinga2.conf").write_text(self.config(), encoding="utf-8")
        log = open(self.dir / "daemon.log", "wb")
        try:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("icinga2 exited with %s: %s" % (self.proc.returncode, self.log_tail()))
            if self.socket.exists() and self._all_checked():
                return self
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("icinga2 did not answer on %s within %gs: %s" % (self.socket, timeout,
                                                                                     self.log_tail()))
            time.sleep(0.05)

    def _all_checked(self) -> bool:
        try:
            pending = self.query(["GET hosts", "Columns: name", "Filter: has_been_checked = 0"])
            pending += self.query(["GET services", "Columns: description", "Filter: has_been_checked = 0"])
        except OSError:
            return False
        return not pending

    def log_tail(self) -> str:
        try:
            return (self.dir / "daemon.log").read_text(encoding="utf-8", errors="replace")[-2000:]
        except OSError:
            return ""

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()  # the umbrella process: it passes SIGTERM on to the daemon and waits for it
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(STOP_TIMEOUT)
        if proc is not None:
            try:  # helpers the daemon forked (its check-command spawner) leave with it
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "Icinga2Livestatus":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --- talking to it ---------------------------------------------------------------------

    def exchange(self, request: bytes, timeout: float = 10.0) -> bytes:
        """Send ``request``, close the writing side, read the answer to its end."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(self.socket))
            sock.sendall(request)
            sock.shutdown(socket.SHUT_WR)
            chunks: List[bytes] = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)

    def query(self, lines: Sequence[str]) -> List[List[Any]]:
        """The JSON rows of a GET request (fixed16 checked); RuntimeError on another status."""
        raw = self.exchange(("\n".join(list(lines) + ["OutputFormat: json", "ResponseHeader: fixed16"])
                             + "\n\n").encode("utf-8"))
        code, body = int(raw[:3]), raw[16:]
        if code != 200:
            raise RuntimeError("Livestatus answered %d: %s" % (code, body[:200].decode("utf-8", "replace")))
        rows = json.loads(body.decode("utf-8"))
        assert isinstance(rows, list)
        return rows

    def objects(self, host: str, service: str = "") -> Dict[str, Any]:
        """One host's or service's ``state``, ``acknowledged``, ``acknowledgement_type`` and
        ``comments_with_info``, as icinga2 answers them."""
        columns = ["state", "acknowledged", "acknowledgement_type", "comments_with_info"]
        if service:
            lines = ["GET services", "Columns: " + " ".join(columns), "Filter: host_name = " + host,
                     "Filter: description = " + service]
        else:
            lines = ["GET hosts", "Columns: " + " ".join(columns), "Filter: name = " + host]
        rows = self.query(lines)
        assert len(rows) == 1, rows
        return dict(zip(columns, rows[0]))


def main(argv: Sequence[str]) -> int:
    if list(argv) == ["install"]:
        return install()
    if list(argv) == ["start-time"]:  # one private daemon with a few objects, started and stopped
        began = time.monotonic()
        with Icinga2Livestatus({"web01": 0, "db01": 2}, {("web01", "CPU load"): 2}) as daemon:
            ready = time.monotonic() - began
            print("icinga2_livestatus: a daemon answered on %s with every object checked after %.2fs"
                  % (daemon.socket, ready))
        print("icinga2_livestatus: started and stopped in %.2fs" % (time.monotonic() - began))
        return 0
    print("usage: python3 tools/icinga2_livestatus.py install|start-time", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
