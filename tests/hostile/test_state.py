"""Issue 9, item 6: state that heals itself and cannot be turned against the site.

Rate files of the wrong shape are reset; queue entries that are not regular files (a FIFO, a
symlink to /dev/zero, a symlink to an entry elsewhere, a directory) are buried, never opened;
state is written to a temporary file and renamed, never through a planted symlink; a state
directory that another user owns or can write is refused with one line; every file created is
0600 whatever the umask. Before the fix a FIFO in queue/ hung status and flush, {"sent": 5} made
every run an internal error, and a symlink swapped in for a rate file had its target overwritten.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from ilert_standin import StandIn
from tests.hostile.conftest import (
    as_user,
    code_root,
    event_types,
    group_and_identity,
    load,
    make_site,
    no_crash,
    notification,
    posted,
    run,
    umask,
)
from tests.hostile.servers import Reply
from tests.support.site import KEY_STORED

pytestmark = pytest.mark.outbox_logic  # interpreter-independent: run once, on the dev Python

WRONG_SHAPES = {
    "sent-number": '{"sent": 5}',
    "sent-odd-members": '{"sent": [null, "x", true, {}, 1e400]}',
    "pause-null": '{"paused_until": null}',
    "pause-text": '{"paused_until": "soon", "sent": {}}',
    "null": "null",
    "list": "[]",
    "torn": '{"sent": [17953',
    "empty": "",
}


def delivered_once(site, standin):
    first = run(site, context=notification(standin.url, n=0))
    assert first.returncode == 0, first.output
    (rate,) = sorted((site.state_dir / "rate").glob("*.json"))
    return rate


@pytest.mark.parametrize("shape", sorted(WRONG_SHAPES))
def test_a_rate_file_of_the_wrong_shape_is_reset(site, standin, shape):
    rate = delivered_once(site, standin)
    rate.write_text(WRONG_SHAPES[shape])
    result = run(site, context=notification(standin.url, n=1))
    no_crash(result)
    assert result.returncode == 0, result.output
    assert len(posted(standin)) == 2
    assert isinstance(json.loads(rate.read_text()), dict)
    for command in (("status",), ("flush",)):
        other = run(site, *command, timeout=20)
        no_crash(other)
        assert other.returncode == 0, other.output


def queued_entry(site, standin, **params: str):
    standin.stop()
    result = run(site, context=notification(standin.url, timeout="1", **params))
    assert result.returncode == 1, result.output
    standin.start()
    (entry,) = site.queue()
    return entry


@pytest.mark.parametrize("kind", [
    "fifo", "symlink-dev-zero", "symlink-to-an-entry", "directory",
])
def test_queue_entries_that_are_not_regular_files_are_buried_unopened(site, standin, tmp_path, kind):
    entry = queued_entry(site, standin)
    group, _ = group_and_identity(entry)
    planted = entry.with_name("%s.%s.json" % (group, "f" * 32))
    with Reply(202, [("Content-Type", "application/json")], b'{"responseCode": "NEW_ALERT_CREATED"}') as thief:
        if kind == "fifo":
            os.mkfifo(planted)
        elif kind == "symlink-dev-zero":
            planted.symlink_to("/dev/zero")
        elif kind == "directory":
            planted.mkdir()
        else:
            data = load(entry)
            data["request"]["url"] = thief.url + "/api/events"
            data["seq"] = "0" * 20 + data["seq"][20:]
            elsewhere = tmp_path / "entry.json"
            elsewhere.write_text(json.dumps(data))
            planted.symlink_to(elsewhere)
        status = run(site, "status", timeout=20)
        no_crash(status)
        flush = run(site, "flush", "--now", timeout=20)
        no_crash(flush)
        stolen = thief.requests()
    assert stolen == 0, "a planted entry was sent"
    assert len(posted(standin)) == 1 and site.queue() == [], flush.output
    assert not os.path.lexists(planted)
    reasons = [load(p).get("reason", "") for p in site.dead()]
    assert any("not a regular file" in r or "symbolic link" in r for r in reasons), reasons


PLANTABLE = ("rate", "rate-lock", "index", "group-lock", "flush-lock")


def _plant_paths(site, rate):
    (index,) = sorted((site.state_dir / "index").glob("*.json"))
    (lock,) = sorted((site.state_dir / "locks").glob("*.lock"))
    return {"rate": rate, "rate-lock": rate.with_name(rate.name + ".lock"), "index": index, "group-lock": lock,
            "flush-lock": site.state_dir / "locks" / "flush.lock"}


@pytest.mark.parametrize("names", [(n,) for n in PLANTABLE] + [PLANTABLE], ids=list(PLANTABLE) + ["all"])
def test_symlinks_planted_in_the_state_dir_are_never_written_through(site, standin, tmp_path, names):
    rate = delivered_once(site, standin)
    paths = _plant_paths(site, rate)
    victims = {}
    for name in names:
        victim = tmp_path / ("victim-" + name)
        victim.write_text("precious " + name)
        os.utime(victim, (1_000_000_000, 1_000_000_000))
        if os.path.lexists(paths[name]):
            paths[name].unlink()
        paths[name].symlink_to(victim)
        victims[victim] = victim.read_text()
    for n, host in ((1, "web01"), (2, "web02")):
        result = run(site, context=notification(standin.url, host=host, n=n))
        no_crash(result)
    flush = run(site, "flush", "--now")
    no_crash(flush)
    for victim, content in victims.items():
        assert victim.read_text() == content and victim.stat().st_mtime == 1_000_000_000, victim.name
    if names == ("rate",):
        assert stat.S_ISREG(os.lstat(rate).st_mode), "the rate file was not replaced by a regular file"
    if names in (("rate",), ("index",)):  # nothing else stands in the way: both were delivered
        assert len(posted(standin)) == 3 and site.queue() == [], flush.output


def test_a_heartbeat_stamp_symlink_is_not_written_through(site, standin, tmp_path):
    url_file = tmp_path / "url"
    url_file.write_text(standin.url + "/api/heartbeats/il1hbt-TEST-HEARTBEAT-0001")
    first = run(site, "heartbeat", "--url-file", str(url_file))
    assert first.returncode == 0, first.output
    (stamp,) = site.state_dir.glob("heartbeat-*.last")
    victim = tmp_path / "victim"
    victim.write_text("precious")
    os.utime(victim, (1_000_000_000, 1_000_000_000))
    stamp.unlink()
    stamp.symlink_to(victim)
    again = run(site, "heartbeat", "--url-file", str(url_file), "--min-interval", "0")
    no_crash(again)
    assert victim.read_text() == "precious" and victim.stat().st_mtime == 1_000_000_000


UNSAFE = {
    "other-owner": (lambda path: os.chown(path, 65534, 65534), "belongs to another user"),
    "mode-0777": (lambda path: path.chmod(0o777), "writable by other users"),
    "mode-0770": (lambda path: path.chmod(0o770), "writable by other users"),
    "mode-0702": (lambda path: path.chmod(0o702), "writable by other users"),
}


def _tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("how", sorted(UNSAFE))
def test_a_new_state_dir_another_user_can_write_is_refused(site, standin, how):
    make_unsafe, words = UNSAFE[how]
    site.state_dir.mkdir(parents=True)
    site.state_dir.chmod(0o700)
    make_unsafe(site.state_dir)
    result = run(site, context=notification(standin.url))
    no_crash(result)
    assert result.returncode == 0 and len(posted(standin)) == 1, result.output  # sent directly
    assert sum(words in line for line in result.lines) == 1, result.output
    assert os.listdir(site.state_dir) == [], "the refused directory was written to"


@pytest.mark.parametrize("how", sorted(UNSAFE))
def test_a_used_state_dir_that_became_unsafe_is_refused_by_every_command(site, standin, tmp_path, how):
    make_unsafe, words = UNSAFE[how]
    queued_entry(site, standin)
    make_unsafe(site.state_dir)
    before = _tree(site.state_dir)
    result = run(site, context=notification(standin.url, host="other01", n=1))
    no_crash(result)
    assert result.returncode == 0 and len(posted(standin)) == 1, result.output
    assert sum(words in line for line in result.lines) == 1, result.output
    flush = run(site, "flush", "--now")
    no_crash(flush)
    assert flush.returncode == 1 and words in flush.output and len(flush.lines) == 1, flush.output
    url_file = tmp_path / "url"
    url_file.write_text(standin.url + "/api/heartbeats/il1hbt-TEST-HEARTBEAT-0001")
    beat = run(site, "heartbeat", "--url-file", str(url_file))
    no_crash(beat)
    assert beat.returncode == 1 and words in beat.output, beat.output
    assert _tree(site.state_dir) == before, "the refused directory was written to"
    assert len(posted(standin)) == 1 and len(site.queue()) == 1


def test_an_entry_planted_in_an_unsafe_state_dir_cannot_steal_a_stored_key(site, tmp_path):
    """Another user can write the state dir (0777): they see the queue's file names, so they can
    plant an entry into the group of an alert key with their own URL and any password-store id."""
    site.password_store({"ilert_key": KEY_STORED})
    params = {"PARAMETER_ILERT_API_KEY": "store\tilert_key"}
    with StandIn(keys=[KEY_STORED]) as ilert, Reply(202, [("Content-Type", "application/json")], b"{}") as thief:
        ilert.stop()
        first = run(site, context=dict(notification(ilert.url, timeout="1"), **params))
        assert first.returncode == 1, first.output
        ilert.start()
        (entry,) = site.queue()
        group, _ = group_and_identity(entry)
        site.state_dir.chmod(0o777)
        data = load(entry)
        data["request"]["url"] = thief.url + "/api/events"
        data.update(seq="0" * 20 + data["seq"][20:], next_attempt=0, attempts=0)
        entry.with_name("%s.%s.json" % (group, "e" * 32)).write_text(json.dumps(data))
        result = run(site, context=dict(notification(ilert.url, "RECOVERY", n=1), **params))
        no_crash(result)
        bodies = [a.body for a in thief.arrivals]
    assert not any(KEY_STORED.encode() in body for body in bodies), "the stored key went to the planted URL"
    assert bodies == []


def _modes(root):
    files, folders = {}, {}
    for path in root.rglob("*"):
        mode = stat.S_IMODE(os.lstat(path).st_mode)
        (folders if path.is_dir() else files)[str(path.relative_to(root))] = oct(mode)
    return files, folders


@pytest.mark.parametrize("mask", [0o000, 0o022, 0o277], ids=["umask-000", "umask-022", "umask-277"])
def test_every_file_is_0600_and_every_folder_0700_whatever_the_umask(site, standin, tmp_path, mask):
    url_file = tmp_path / "url"
    url_file.write_text(standin.url + "/api/heartbeats/il1hbt-TEST-HEARTBEAT-0001")
    steps = [
        dict(context=notification(standin.url, host="ok01", n=0)),  # delivered: rate, index, sent
        dict(context=notification(standin.url, host="bad01", n=1, ilert_source_type="nonsense")),  # dead letter
        dict(cli=("heartbeat", "--url-file", str(url_file))),  # stamp, lock
    ]
    for step in steps:
        cli = step.pop("cli", ())
        result = run(site, *cli, preexec=[umask(mask)], **step)
        no_crash(result)
    standin.stop()
    queued = run(site, context=notification(standin.url, host="later01", n=2, timeout="1"), preexec=[umask(mask)])
    assert queued.returncode == 1, queued.output
    standin.start()
    for cli in (("flush", "--now"), ("status",)):
        no_crash(run(site, *cli, preexec=[umask(mask)]))
    files, folders = _modes(site.state_dir)
    assert {"queue", "sent", "dead", "rate", "locks", "index", "tmp"} <= set(folders)
    assert any(name.startswith("dead/") for name in files) and any(name.startswith("sent/") for name in files)
    assert {n: m for n, m in files.items() if m != oct(0o600)} == {}
    assert {n: m for n, m in folders.items() if m != oct(0o700)} == {}
    assert stat.S_IMODE(site.state_dir.stat().st_mode) == 0o700


@pytest.fixture
def nobody_site(standin):
    """A fake site owned by an ordinary user (nobody), outside pytest's root-only temp tree."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run a process as another user")

    base = tempfile.mkdtemp(prefix="cmk_ilert_hostile_")
    os.chmod(base, 0o711)
    try:
        site = make_site(Path(base) / "site")
        # The runtime Python of the tests may live where only root can go (a checkout in a 0700
        # folder): take a system interpreter and a copy of this environment's requests and its
        # dependencies where the site user can read them.
        lib = Path(base) / "pylib"
        for name in ("requests", "urllib3", "idna", "certifi", "charset_normalizer", "chardet"):
            try:
                module = importlib.import_module(name)
            except ImportError:
                continue
            shutil.copytree(Path(str(module.__file__)).resolve().parent, lib / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        site.lib_dirs.append(lib)
        # and the code under test likewise (the checkout may be where the site user cannot go)
        code = code_root()
        shutil.copytree(code / "src" / "cmk_ilert", lib / "cmk_ilert", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(code / "notifications" / "cmk_ilert", Path(base) / "notify")
        site.script, site.use_repo_src = Path(base) / "notify", False
        for path in [site.root, *site.root.rglob("*")]:
            os.chown(path, NOBODY, NOBODY)
        probe = subprocess.run([SYSTEM_PYTHON, "-c", "import requests"], env=site.environment(),
                               preexec_fn=as_user(NOBODY, NOBODY), capture_output=True)
        if probe.returncode:
            pytest.skip("no interpreter an ordinary user can run with requests: %r" % probe.stderr[-200:])
        yield site
    finally:
        shutil.rmtree(base, ignore_errors=True)


NOBODY = 65534
SYSTEM_PYTHON = "/usr/bin/python3"


def test_a_site_user_with_umask_277_can_use_its_state_again(nobody_site, standin):
    site = nobody_site
    user = dict(preexec=[umask(0o277), as_user(NOBODY, NOBODY)], interpreter=SYSTEM_PYTHON)
    first = run(site, context=notification(standin.url, "PROBLEM", n=0), **user)
    assert first.returncode == 0, first.output
    second = run(site, context=notification(standin.url, "RECOVERY", n=1), **user)
    no_crash(second)
    flushes = [run(site, "flush", **user) for _ in range(2)]
    assert event_types(standin) == ["ALERT", "RESOLVE"], second.output
    assert second.returncode == 0, second.output
    for flush in flushes:
        assert flush.returncode == 0 and "EACCES" not in flush.output, flush.output
