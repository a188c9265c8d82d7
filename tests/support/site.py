"""A simulated Checkmk site for tests: run the notification script as Checkmk does.

``FakeSite`` is a temporary ``$OMD_ROOT``. ``run()`` starts the real script in a
subprocess with Checkmk's environment (``NOTIFY_*`` variables, or ``--bulk``
with the stdin block format), under the interpreter named by
``$CMK_ILERT_TEST_PYTHON`` (default: the simulated site's Python that ``make setup``
makes, ``.cache/site-python``: requests only, never the checkout), so the same tests
run on every site Python of the compatibility matrix. Every output is recorded for the
session-wide secret scan.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

REPO = Path(__file__).resolve().parents[2]
#: Bytecode of src/ as the simulated sites' Pythons compile it (one tag per interpreter).
PYCACHE = REPO / ".cache" / "pycache"
SCRIPT = REPO / "notifications" / "cmk_ilert"
SRC = REPO / "src"

#: Fake keys used throughout the tests; the secret scan looks for all of them.
KEY_API = "il1api-TEST-KEY-a1b2c3d4e5f6a7b8"
KEY_CMK = "il1cmk-TEST-KEY-f6e5d4c3b2a1f0e9"
KEY_UNAUTHORIZED = "il1api-UNAUTH-z9y8x7w6v5u4t3s2"
KEY_STORED = "il1api-STORED-q1w2e3r4t5y6u7i8"
PROXY_PASSWORD = "proxyPassw0rd-Secret-77"
SECRETS = (KEY_API, KEY_CMK, KEY_UNAUTHORIZED, KEY_STORED, PROXY_PASSWORD)

#: Everything any test's script run printed: scanned for secrets at session end.
RECORDED_OUTPUT: List[str] = []
#: Every fake site root created: scanned for secrets in file names at session end.
SITE_ROOTS: List[Path] = []


#: The simulated site's Python (tools/site_python.py): a site never sees the dev venv.
SITE_PYTHON = REPO / ".cache" / "site-python" / "bin" / "python"


def runtime_python() -> str:
    explicit = os.environ.get("CMK_ILERT_TEST_PYTHON")
    if explicit:
        return explicit
    if not SITE_PYTHON.exists():
        raise RuntimeError("no simulated site Python at %s: run 'make setup' (tools/site_python.py)" % SITE_PYTHON)
    return str(SITE_PYTHON)


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def lines(self) -> List[str]:
        return [line for line in self.output.splitlines() if line.strip()]


@dataclass
class FakeSite:
    root: Path
    site: str = "mysite"
    lib_dirs: List[Path] = field(default_factory=list)
    script: Path = SCRIPT
    #: False for an installed MKP: then only the site's own local/lib/python3 is importable.
    use_repo_src: bool = True

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "var" / "log").mkdir(parents=True, exist_ok=True)
        SITE_ROOTS.append(self.root)

    @property
    def state_dir(self) -> Path:
        return self.root / "var" / "cmk_ilert"

    def password_store(self, entries: Mapping[str, str], raises: bool = False) -> None:
        """A stand-in for the site's ``cmk.utils.password_store`` module.

        ``extract`` returns None for unknown ids (2.0-2.3) or raises (2.4+,
        ``raises=True``), as the real one does (Checkmk's ``cmk/utils/password_store``;
        per release in tests/forms/facts/).
        """
        lib = self.root / "lib" / "python3"
        pkg = lib / "cmk" / "utils"
        pkg.mkdir(parents=True, exist_ok=True)
        (lib / "cmk" / "__init__.py").write_text("")
        (pkg / "__init__.py").write_text("")
        lines = ["_STORE = %r" % dict(entries), "", "", "def extract(ident):"]
        if raises:
            lines += ["    if ident not in _STORE:", "        raise Exception('Unknown password id %s' % ident)",
                      "    return _STORE[ident]"]
        else:
            lines += ["    return _STORE.get(ident)"]
        (pkg / "password_store.py").write_text("\n".join(lines) + "\n")
        if lib not in self.lib_dirs:
            self.lib_dirs.append(lib)

    def environment(self, extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.root),
            "LANG": "C.UTF-8",
            "OMD_ROOT": str(self.root),
            "OMD_SITE": self.site,
            "PYTHONPATH": os.pathsep.join(([str(SRC)] if self.use_repo_src else [])
                                          + [str(p) for p in self.lib_dirs]),
        }
        # Bytecode is kept as on a real site, where the site user's Python writes it beside
        # local/lib/python3 on the first run: here outside the code, compiled once per interpreter
        # for the checkout's src/ (the same for every test), once per test for an installed MKP.
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE if self.use_repo_src else self.root / "tmp" / "pycache")
        for name in ("COVERAGE_PROCESS_START", "COVERAGE_FILE"):  # tools/matrix_subset.py measures the runtime
            if name in os.environ:
                env[name] = os.environ[name]
        if extra:
            env.update(extra)
        return env

    def run(
        self,
        context: Optional[Mapping[str, str]] = None,
        bulk: Optional[Sequence[Mapping[str, str]]] = None,
        bulk_parameters: Optional[Mapping[str, str]] = None,
        env: Optional[Mapping[str, str]] = None,
        timeout: float = 120.0,
    ) -> Run:
        """Run the script once. ``context`` keys are given without ``NOTIFY_``."""
        environment = self.environment(env)
        argv = [runtime_python(), str(self.script)]
        stdin = None
        if bulk is not None:
            argv.append("--bulk")
            stdin = bulk_stdin(bulk_parameters or {}, bulk)
        else:
            for key, value in (context or {}).items():
                environment["NOTIFY_" + key] = value
        proc = subprocess.run(argv, input=stdin, env=environment, capture_output=True, timeout=timeout)
        run = Run(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))
        RECORDED_OUTPUT.append(run.output)
        return run

    def cli(self, *args: str, env: Optional[Mapping[str, str]] = None, stdin: Optional[bytes] = None,
            timeout: float = 120.0) -> Run:
        """``python3 -m cmk_ilert ARGS`` with the site environment."""
        proc = subprocess.run([runtime_python(), "-m", "cmk_ilert", *args], input=stdin,
                              env=self.environment(env), capture_output=True, timeout=timeout)
        run = Run(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))
        RECORDED_OUTPUT.append(run.output)
        return run

    def queue(self) -> List[Path]:
        folder = self.state_dir / "queue"
        return sorted(folder.glob("*.json")) if folder.exists() else []

    def dead(self) -> List[Path]:
        folder = self.state_dir / "dead"
        return sorted(folder.glob("*.json")) if folder.exists() else []


def bulk_stdin(parameters: Mapping[str, str], contexts: Sequence[Mapping[str, str]]) -> bytes:
    """Checkmk's bulk format: parameter block, then one block per notification,
    blank-line separated, newlines inside values encoded as \\x01."""

    def block(values: Mapping[str, str]) -> str:
        return "".join("%s=%s\n" % (k, v.replace("\r", "").replace("\n", "\x01")) for k, v in values.items())

    text = block(parameters)
    for ctx in contexts:
        merged = dict(parameters)
        merged.update(ctx)
        text += "\n" + block(merged)
    return text.encode("utf-8")


def without_kept_secrets(text: str) -> str:
    """A dead letter as far as it may be shown: it keeps its event for ``retry`` the way the queue
    keeps it (a 0600 file), so the key reference (a store id, or a key typed into the rule) and
    the proxy URL may hold a secret there, and only there (docs/delivery.md, what is stored
    where). What this returns must hold none."""
    try:
        record = json.loads(text)
    except ValueError:
        return text
    if not isinstance(record, dict):
        return text
    kept = record.get("entry") if isinstance(record.get("entry"), dict) else record  # *.unresolved.json: the entry
    kept.pop("key", None)
    if isinstance(kept.get("transport"), dict):
        kept["transport"].pop("proxy_url", None)
    return json.dumps(record)
