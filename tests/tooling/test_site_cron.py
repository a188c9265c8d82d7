"""The site cron lines and the local check of docs/site-cron.md, run as written, on an installed package.

The package is built from the repository and installed into a simulated site the way Checkmk
installs it (``mkp/site_install.py``); the site's Python (``$OMD_ROOT/bin/python3``) is the
interpreter under test (``CMK_ILERT_TEST_PYTHON``: the matrix repeats this module per release).
A cron job gets only what cron and the site crontab's header set (docs/site-cron.md cites the
header from Checkmk's ``etc/init.d/crontab``): no ``PYTHONPATH``, and ``.profile`` (``BASH_ENV``)
is left out on purpose, to show the lines do not need it. The local check gets less: only a PATH.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List, Mapping, Sequence

import pytest

from cmk_ilert.admin.cli import CRON_LINE
from cmk_ilert.base.logfile import MAX_BYTES
from mkp.build import build
from mkp.site_install import InstallRefusedError, install
from tests.support.contexts import api_params, host, service
from tests.support.site import KEY_UNAUTHORIZED, RECORDED_OUTPUT, REPO, FakeSite, Run, bulk_stdin, runtime_python

pytestmark = pytest.mark.runtime

RELEASE = os.environ.get("CMK_ILERT_TEST_RELEASE", "2.3")
DOC = REPO / "docs" / "site-cron.md"
SCRIPT = "local/share/check_mk/notifications/cmk_ilert"
HEARTBEAT_KEY = "il1hbt-TEST-HEARTBEAT-0001"  # registered by the standin fixture
#: ISO 8601 local time with its UTC offset, as every cron log line starts
ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d"


def doc_cron_block() -> List[str]:
    text = DOC.read_text(encoding="utf-8")
    return text.split("cat > ~/etc/cron.d/cmk_ilert <<'CRON'\n", 1)[1].split("\nCRON\n", 1)[0].splitlines()


def doc_cron_lines() -> List[str]:
    """The crontab lines of the cron file the doc tells the admin to write (those that are on)."""
    return [line for line in doc_cron_block() if line.startswith("* * * * * ")]


def doc_optional_lines() -> List[str]:
    """The optional lines, off as written ('#' in front): as they run once the admin removes the '#'."""
    return [line[1:] for line in doc_cron_block() if line.startswith("#* * * * * ")]


def doc_sync_line() -> str:
    text = (REPO / "docs" / "sync.md").read_text(encoding="utf-8")
    [line] = [line for line in text.splitlines() if line.startswith("* * * * * ") and " sync " in line]
    return line


def command_of(line: str) -> str:
    """The cmk_ilert command a cron line runs."""
    return line.split("/notifications/cmk_ilert ")[-1].split()[0]


def doc_local_check() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text.split("<<'CHECK'\n", 1)[1].split("\nCHECK\n", 1)[0] + "\n"


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> List[Path]:
    return [a.path for a in build(REPO, tmp_path_factory.mktemp("dist"))]


@pytest.fixture
def installed(tmp_path: Path, artifacts: List[Path]) -> FakeSite:
    root = tmp_path / "omd" / "sites" / "mysite"  # as on a real host: the site's name is its folder's
    accepted = []
    for path in artifacts:
        try:
            install(path, root, RELEASE)
        except InstallRefusedError:
            continue
        accepted.append(path.name)
    assert len(accepted) == 1, accepted
    python = root / "bin" / "python3"  # the site's Python: here the interpreter under test, which never
    python.parent.mkdir(parents=True)  # sees the checkout (tools/site_python.py, or a matrix environment)
    python.write_text('#!/bin/sh\nexec "%s" "$@"\n' % runtime_python())
    python.chmod(0o755)
    site = FakeSite(root, site="mysite", use_repo_src=False, script=root / SCRIPT)
    site.lib_dirs.append(root / "local" / "lib" / "python3")
    return site


def record(proc: "subprocess.CompletedProcess[bytes]") -> Run:
    run = Run(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))
    RECORDED_OUTPUT.append(run.output)
    return run


def cron_env(site: FakeSite) -> Dict[str, str]:
    """What a site cron job's environment holds: the crontab header's variables plus what cron sets."""
    return {"SHELL": "/bin/bash", "PATH": "/usr/bin:/bin", "HOME": str(site.root), "LOGNAME": site.site,
            "OMD_ROOT": str(site.root), "OMD_SITE": site.site, "MAILTO": ""}


def run_cron_line(site: FakeSite, line: str) -> Run:
    command = line.split(None, 5)[5]  # the schedule's five fields off
    return record(subprocess.run(["/bin/bash", "-c", command], env=cron_env(site), cwd=str(site.root),
                                 capture_output=True, timeout=120))


def run_bare(site: FakeSite, *args: str, env: Mapping[str, str] = {"PATH": "/usr/bin:/bin"}) -> Run:
    """The installed script with a command, from a nearly empty environment (no OMD_ROOT at all)."""
    return record(subprocess.run([str(site.root / "bin" / "python3"), str(site.script), *args], env=dict(env),
                                 capture_output=True, timeout=120))


def test_the_documented_flush_line_is_the_cli_constant() -> None:
    """Issue 16: only the flush line is on; the optional heartbeat line is off (commented) as written."""
    assert doc_cron_lines() == [CRON_LINE]
    assert [command_of(line) for line in doc_optional_lines()] == ["heartbeat"]


def test_every_cron_line_is_quiet_and_harmless_after_the_package_is_removed(installed: FakeSite) -> None:
    """Issue 16: with the package removed (no script, no library) each documented line, the optional
    ones switched on, does nothing and prints nothing: no mail from cron, no line in the log."""
    (installed.root / SCRIPT).unlink()
    shutil.rmtree(installed.root / "local" / "lib" / "python3" / "cmk_ilert")
    lines = doc_cron_lines() + doc_optional_lines() + [doc_sync_line()]
    assert [command_of(line) for line in lines] == ["flush", "heartbeat", "sync"]
    for line in lines:
        run = run_cron_line(installed, line)
        assert run.output == "", (line, run.output)
    assert not (installed.root / "var" / "log" / "cmk_ilert.log").exists()


def test_the_optional_heartbeat_line_without_its_url_file_says_so_in_the_log(installed: FakeSite, standin) -> None:
    run = run_cron_line(installed, doc_optional_lines()[0])
    assert run.returncode == 2 and run.output == "", run.output
    log = (installed.root / "var" / "log" / "cmk_ilert.log").read_text(encoding="utf-8")
    assert log.count("\n") == 1 and "cannot read the heartbeat URL file" in log, log
    assert standin.pings() == []


def test_fresh_install_first_flush_then_the_local_check_is_ok(installed: FakeSite) -> None:
    """Issue 16: installed, cron on, no notification yet: OK, "nothing sent yet" (was UNKNOWN, no outbox)."""
    unknown = run_bare(installed, "status", "--local-check")
    assert unknown.returncode == 3, unknown.output
    assert run_cron_line(installed, doc_cron_lines()[0]).returncode == 0
    ok = run_bare(installed, "status", "--local-check")
    assert (ok.returncode, ok.stdout) == (0, '0 "iLert outbox" pending=0|dead=0|oldest_age=0 0 pending, oldest 0s, '
                                             '0 dead letters, nothing sent yet\n'), ok.output


def test_cron_heartbeat_line_skips_the_ping_while_a_key_is_rejected(installed: FakeSite, standin) -> None:
    """Issue 16: a wrong key made status CRIT, yet the heartbeat pinged "ok (HTTP 202)"."""
    url_file = installed.root / "etc" / "cmk_ilert_heartbeat_url"
    url_file.parent.mkdir(parents=True, exist_ok=True)
    url_file.write_text(standin.url + "/api/heartbeats/" + HEARTBEAT_KEY + "\n")
    assert installed.run(host("PROBLEM", api_params(standin.url, key=KEY_UNAUTHORIZED))).returncode == 2
    run = run_cron_line(installed, doc_optional_lines()[0])
    assert run.returncode == 1 and run.output == "", run.output
    assert standin.pings() == []
    log = (installed.root / "var" / "log" / "cmk_ilert.log").read_text(encoding="utf-8")
    assert "heartbeat: skipped, this site cannot notify: 1 rejected event not handled (HTTP 401" in log, log
    assert KEY_UNAUTHORIZED not in log


def test_cron_flush_line_delivers_a_queued_event(installed: FakeSite, standin) -> None:
    standin.inject("429:1")  # iLert's rate limit, Retry-After 1 s: queued without backoff
    queued = installed.run(host("PROBLEM", api_params(standin.url)))
    assert queued.returncode == 1, queued.output
    assert len(installed.queue()) == 1

    run = run_cron_line(installed, doc_cron_lines()[0])
    assert run.returncode == 0 and run.output == "", run.output  # all of it goes to the log file
    assert installed.queue() == []
    assert [(a["key"], a["status"]) for a in standin.alerts()] == [("cmk/mysite/db01", "PENDING")]
    log = (installed.root / "var" / "log" / "cmk_ilert.log").read_text(encoding="utf-8")
    assert "ALERT cmk/mysite/db01: delivered" in log
    # every line starts with its local time, ISO 8601 with the UTC offset
    assert log.splitlines() and all(re.match(ISO + " cmk_ilert: ", line) for line in log.splitlines()), log


def test_the_cron_log_is_rotated_at_its_size_keeping_one_old_file(installed: FakeSite, standin) -> None:
    log = installed.root / "var" / "log" / "cmk_ilert.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    old = ("2026-01-01T00:00:00+00:00 cmk_ilert: an old line\n" * (MAX_BYTES // 48 + 1)).encode()
    assert len(old) >= MAX_BYTES
    log.write_bytes(old)
    (log.parent / "cmk_ilert.log.1").write_text("older still\n")
    standin.inject("429:1")
    assert installed.run(host("PROBLEM", api_params(standin.url))).returncode == 1
    run = run_cron_line(installed, doc_cron_lines()[0])
    assert run.returncode == 0 and run.output == "", run.output
    assert (log.parent / "cmk_ilert.log.1").read_bytes() == old
    new = log.read_text(encoding="utf-8").splitlines()
    assert new and all(re.match(ISO + " cmk_ilert: ", line) for line in new), new
    assert "ALERT cmk/mysite/db01: delivered" in "\n".join(new)
    assert log.stat().st_mode & 0o777 == 0o600


def test_the_cron_lines_stay_quiet_and_harmless_when_the_package_is_removed(installed: FakeSite) -> None:
    (installed.root / SCRIPT).unlink()
    shutil.rmtree(installed.root / "local" / "lib" / "python3" / "cmk_ilert")
    for line in doc_cron_lines():
        run = run_cron_line(installed, line)
        assert run.output == "", run.output  # cron would mail any output to the site user
    assert not (installed.root / "var" / "cmk_ilert").exists()


def test_a_cron_line_without_the_library_says_so_in_the_log(installed: FakeSite) -> None:
    shutil.rmtree(installed.root / "local" / "lib" / "python3" / "cmk_ilert")
    run = run_cron_line(installed, doc_cron_lines()[0])
    assert run.returncode == 2 and run.output == "", run.output
    log = (installed.root / "var" / "log" / "cmk_ilert.log").read_text(encoding="utf-8")
    assert re.match(ISO + " cmk_ilert: library not importable \\(ModuleNotFoundError\\); is the cmk_ilert package "
                    "enabled\\?\n$", log), log


def test_cron_heartbeat_line_pings(installed: FakeSite, standin) -> None:
    url_file = installed.root / "etc" / "cmk_ilert_heartbeat_url"
    url_file.parent.mkdir(parents=True, exist_ok=True)
    url_file.write_text(standin.url + "/api/heartbeats/" + HEARTBEAT_KEY + "\n")
    run = run_cron_line(installed, doc_optional_lines()[0])
    assert run.returncode == 0 and run.output == "", run.output
    assert len(standin.pings()) == 1
    log = installed.root / "var" / "log" / "cmk_ilert.log"
    assert not log.exists() or log.read_text() == ""  # --quiet: an ok ping logs nothing


def test_status_local_check_states_without_any_site_environment(installed: FakeSite, standin) -> None:
    """The script finds its site from its own path: UNKNOWN before any outbox exists, OK, then WARN for a
    waiting event, CRIT for a dead letter."""
    unknown = run_bare(installed, "status", "--local-check")
    assert unknown.returncode == 3 and unknown.stdout.startswith('3 "iLert outbox" - no outbox at '), unknown.output
    assert installed.run(service("PROBLEM", api_params(standin.url), MICROTIME="1")).returncode == 0
    ok = run_bare(installed, "status", "--local-check")
    assert (ok.returncode, ok.stdout) == (
        0, '0 "iLert outbox" pending=0|dead=0|oldest_age=0 0 pending, oldest 0s, 0 dead letters\n')

    standin.inject("429:600")
    assert installed.run(service("PROBLEM", api_params(standin.url))).returncode == 1
    warn = run_bare(installed, "status", "--local-check", "--warn", "0")
    assert warn.returncode == 1 and re.match(r'1 "iLert outbox" pending=1\|dead=0\|', warn.stdout), warn.output

    dead = installed.run(host("PROBLEM", api_params(standin.url, key=KEY_UNAUTHORIZED)))
    assert dead.returncode == 2, dead.output
    crit = run_bare(installed, "status", "--local-check")
    assert crit.returncode == 2 and crit.stdout.startswith('2 "iLert outbox" pending=1|dead=1|'), crit.output


def test_local_check_wrapper_from_the_docs(installed: FakeSite, tmp_path: Path, standin) -> None:
    wrapper = doc_local_check()
    assert "ROOT=/omd/sites/$SITE" in wrapper
    check = tmp_path / "cmk_ilert_mysite"
    check.write_text(wrapper.replace("ROOT=/omd/sites/$SITE", "ROOT=%s/$SITE" % installed.root.parent))
    check.chmod(0o755)
    # su(1) from root switches to the site user; the tests run as one user, so this stand-in only
    # runs the -c command, with su's own arguments (-s SHELL USER) checked and dropped.
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "su").write_text('#!/bin/sh\n[ "$1 $2 $3 $4" = "-s /bin/sh mysite -c" ] || exit 9\n'
                                 'exec /bin/sh -c "$5"\n')
    (fake_bin / "su").chmod(0o755)
    env = {"PATH": "%s:/usr/bin:/bin" % fake_bin}

    out = record(subprocess.run([str(check)], env=env, capture_output=True, timeout=120))
    assert out.returncode == 0
    assert out.stdout.startswith('3 "iLert outbox mysite" - no outbox at '), out.output  # nothing ran yet
    assert installed.run(service("PROBLEM", api_params(standin.url))).returncode == 0
    out = record(subprocess.run([str(check)], env=env, capture_output=True, timeout=120))
    assert out.returncode == 0
    assert out.stdout.startswith('0 "iLert outbox mysite" pending=0|dead=0|oldest_age=0 '), out.output

    shutil.rmtree(installed.root / "local" / "lib" / "python3" / "cmk_ilert")  # the package disabled
    out = record(subprocess.run([str(check)], env=env, capture_output=True, timeout=120))
    assert out.stdout.startswith('3 "iLert outbox mysite" - cmk_ilert status gave no result'), out.output


def test_a_command_without_the_library_is_a_clean_error(installed: FakeSite) -> None:
    shutil.rmtree(installed.root / "local" / "lib" / "python3" / "cmk_ilert")
    run = run_cron_line(installed, doc_cron_lines()[0].split(" >/dev/null")[0])
    assert run.returncode == 2
    assert "library not importable" in run.stdout and "Traceback" not in run.output


def notify_argv(site: FakeSite, args: Sequence[str], context: Mapping[str, str]) -> Run:
    env = site.environment({"NOTIFY_" + k: v for k, v in context.items()})
    return record(subprocess.run([runtime_python(), str(site.script), *args], env=env, capture_output=True,
                                 timeout=120))


def test_without_arguments_it_is_still_the_notification_script(installed: FakeSite, standin) -> None:
    run = notify_argv(installed, [], service("PROBLEM", api_params(standin.url)))
    assert run.returncode == 0 and "delivered" in run.stdout, run.output
    assert [a["status"] for a in standin.alerts()] == ["PENDING"]


def test_an_argument_that_names_no_command_is_a_usage_error_and_sends_nothing(installed: FakeSite, standin) -> None:
    """Checkmk calls notification scripts with no argument or --bulk (cmk/base/notify.py); any other
    argument is the command line tool's, so a typo is a usage error, never a notification."""
    run = notify_argv(installed, ["statuses"], service("PROBLEM", api_params(standin.url)))
    assert run.returncode == 2 and "invalid choice" in run.stderr and "Traceback" not in run.output, run.output
    assert standin.log() == []


def test_with_bulk_it_is_still_the_bulk_notification_script(installed: FakeSite, standin) -> None:
    contexts = [host("PROBLEM", {}, HOSTNAME="h%d" % i, MICROTIME=str(100 + i)) for i in range(3)]
    proc = subprocess.run([runtime_python(), str(installed.script), "--bulk"], env=installed.environment(),
                          input=bulk_stdin(api_params(standin.url), contexts), capture_output=True, timeout=120)
    run = record(proc)
    assert run.returncode == 0, run.output
    assert sorted(a["key"] for a in standin.alerts()) == ["cmk/mysite/h0", "cmk/mysite/h1", "cmk/mysite/h2"]
