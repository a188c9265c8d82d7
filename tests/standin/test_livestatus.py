"""The Livestatus stand-in over a real Unix socket."""

from __future__ import annotations

import ast
import gzip
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from livestatus_standin import FixtureError, LivestatusStandIn

STANDIN_DIR = Path(__file__).resolve().parents[2] / "standin"
FIXTURES: dict[str, Any] = {
    "hosts": [
        {"name": "web01", "alias": "Web server", "address": "10.0.0.1", "state": 1},
        {"name": "db01", "address": "10.0.0.2"},
        {"name": "Mail-GW", "state": 2, "has_been_checked": 0},
    ],
    "services": [
        {"host_name": "web01", "description": "CPU load", "state": 2,
         "plugin_output": "CRIT - load 9"},
        {"host_name": "web01", "description": "Memory", "state": 0},
        {"host_name": "db01", "description": "MySQL Connections", "state": 1},
    ],
}  # fmt: skip


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LivestatusStandIn]:
    with LivestatusStandIn(tmp_path / "tmp/run/live", FIXTURES) as server:
        yield server


def connect(path: Path, timeout: float = 5.0) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(str(path))
    return sock


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def lq(path: Path, request: str, end: str = "\n", timeout: float = 5.0) -> bytes:
    """Send one request (ended by an empty line, or by shutting down the write side)."""
    with connect(path, timeout) as sock:
        sock.sendall((request.rstrip("\n") + "\n" + end).encode())
        sock.shutdown(socket.SHUT_WR)
        return read_all(sock)


def rows(path: Path, request: str) -> Any:
    return json.loads(lq(path, request + "\nOutputFormat: json"))


def command(path: Path, line: str, live: LivestatusStandIn | None = None) -> None:
    """Send a command as Checkmk's client does; with ``live``, wait until it was taken."""
    before = len(live.commands()) if live else 0
    with connect(path) as sock:
        sock.sendall(f"COMMAND {line}\n\n".encode())
    if live is not None:
        live.wait_commands(before + 1)


# -- queries ----------------------------------------------------------------------------
def test_columns_and_output_formats(live: LivestatusStandIn) -> None:
    request = "GET hosts\nColumns: name state address"
    assert rows(live.path, request) == [
        ["web01", 1, "10.0.0.1"],
        ["db01", 0, "10.0.0.2"],
        ["Mail-GW", 2, "127.0.0.1"],
    ]
    assert lq(live.path, request) == b"web01;1;10.0.0.1\ndb01;0;10.0.0.2\nMail-GW;2;127.0.0.1\n"
    python = lq(live.path, request + "\nOutputFormat: python3")
    assert ast.literal_eval(python.decode())[0] == ["web01", 1, "10.0.0.1"]
    rfc = lq(live.path, request + "\nOutputFormat: CSV\nFilter: name = db01")
    assert rfc == b"db01,0,10.0.0.2\r\n"
    headed = rows(live.path, request + "\nColumnHeaders: on\nLimit: 1")
    assert headed == [["name", "state", "address"], ["web01", 1, "10.0.0.1"]]
    separated = lq(live.path, request + "\nSeparators: 10 9 44 124\nLimit: 1")
    assert separated == b"web01\t1\t10.0.0.1\n"
    everything = rows(live.path, "GET hosts\nFilter: name = db01")
    assert "mk_inventory" in everything[0] and len(everything) == 2  # header row first
    assert dict(zip(everything[0], everything[1]))["alias"] == "db01"


def test_services_join_their_host(live: LivestatusStandIn) -> None:
    request = ("GET services\nColumns: host_name description state host_state "
               "host_address acknowledged\nFilter: host_name = web01")  # fmt: skip
    assert rows(live.path, request) == [
        ["web01", "CPU load", 2, 1, "10.0.0.1", 0],
        ["web01", "Memory", 0, 1, "10.0.0.1", 0],
    ]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ("Filter: name = web01", ["web01"]),
        ("Filter: name = WEB01", []),
        ("Filter: name =~ WEB01", ["web01"]),
        ("Filter: name =~ mail-gw", ["Mail-GW"]),
        ("Filter: name != web01", ["db01", "Mail-GW"]),
        ("Filter: name ~ 01$", ["web01", "db01"]),
        ("Filter: name ~ ^mail", []),
        ("Filter: name ~~ ^mail", ["Mail-GW"]),
        ("Filter: name !~~ ^mail", ["web01", "db01"]),
        ("Filter: name !=~ MAIL-gw", ["web01", "db01"]),
        ("Filter: state >= 1", ["web01", "Mail-GW"]),
        ("Filter: state < 2", ["web01", "db01"]),
        ("Filter: state > 0\nFilter: has_been_checked = 1", ["web01"]),
        ("Filter: state = 0\nFilter: state = 2\nOr: 2", ["db01", "Mail-GW"]),
        ("Filter: state = 1\nNegate:", ["db01", "Mail-GW"]),
        ("Filter: state = 0\nFilter: name = db01\nAnd: 2\nNegate:", ["web01", "Mail-GW"]),
        ("Filter: services >= Memory", ["web01"]),
        ("Filter: services <= memory", ["web01"]),
        ("Filter: services =", ["Mail-GW"]),
        ("Filter: services ~~ ^mysql", ["db01"]),
        ("Filter: services < Memory", ["db01", "Mail-GW"]),
    ],
)
def test_filters(live: LivestatusStandIn, filters: str, expected: list[str]) -> None:
    found = rows(live.path, f"GET hosts\nColumns: name\n{filters}")
    assert [r[0] for r in found] == expected


def test_fixed16_keepalive_and_errors(live: LivestatusStandIn) -> None:
    with connect(live.path) as sock:
        reader = sock.makefile("rb")
        for name in ("web01", "db01"):
            sock.sendall(
                f"GET hosts\nColumns: name\nFilter: name = {name}\nOutputFormat: json\n"
                "ResponseHeader: fixed16\nKeepAlive: on\n\n".encode()
            )
            header = reader.read(16)
            assert header[:4] == b"200 " and header[-1:] == b"\n"
            assert header == b"200 " + str(len(f'[["{name}"]]\n')).rjust(11).encode() + b"\n"
            assert json.loads(reader.read(int(header[4:15]))) == [[name]]
        sock.sendall(b"GET hosts\nColumns: name nope\nResponseHeader: fixed16\n\n")
        header = reader.read(16)
        assert header.startswith(b"400 ")
        assert b"nope" in reader.read(int(header[4:15]))
        assert reader.read() == b""  # errors end the connection
    for request, code in [
        ("GET nothing\nResponseHeader: fixed16", b"404"),
        ("PUT hosts\nResponseHeader: fixed16", b"452"),
        ("GET hosts\nStats: state = 0\nResponseHeader: fixed16", b"400"),
        ("GET hosts\nFilter: state = x\nResponseHeader: fixed16", b"400"),
        ("GET hosts\nFilter: name ~ (\nResponseHeader: fixed16", b"400"),
        ("GET hosts\nFilter: mk_inventory = x\nResponseHeader: fixed16", b"400"),
        ("GET hosts\nOr: 3\nResponseHeader: fixed16", b"400"),
    ]:
        assert lq(live.path, request)[:3] == code, request
    # AuthUser / Localtime are accepted (and ignored); without an empty line EOF ends it
    assert lq(live.path, "GET hosts\nColumns: name\nAuthUser: x\nLocaltime: 1\nLimit: 1", end="") == b"web01\n"


# -- commands ---------------------------------------------------------------------------
def comments_of(live: LivestatusStandIn, host: str, service: str | None = None) -> Any:
    request = "GET services" if service else "GET hosts"
    request += "\nColumns: acknowledged comments_with_info"
    if service:
        request += f"\nFilter: host_name = {host}\nFilter: description = {service}"
    else:
        request += f"\nFilter: name = {host}"
    return rows(live.path, request)[0]


def test_acknowledge_and_comment(live: LivestatusStandIn) -> None:
    for line in (
        "[1700000000] ACKNOWLEDGE_SVC_PROBLEM;web01;CPU load;2;0;1;iLert (Jane Doe);"
        "Accepted in iLert: https://x/alert/7",
        "[1700000001] ACKNOWLEDGE_HOST_PROBLEM;web01;1;1;0;iLert;host ack",
        "[1700000002] ADD_SVC_COMMENT;db01;MySQL Connections;1;iLert;Resolved in iLert by Bob; a;b",
        "[1700000003] ACKNOWLEDGE_SVC_PROBLEM;web01;Memory;2;0;1;iLert;ok service",
    ):
        command(live.path, line, live)
    acked, comments = comments_of(live, "web01", "CPU load")
    assert acked == 1
    ((_, author, text),) = comments
    assert (author, text) == ("iLert (Jane Doe)", "Accepted in iLert: https://x/alert/7")
    assert live.service("web01", "CPU load")["acknowledgement_type"] == 2
    assert comments_of(live, "web01")[0] == 1
    assert live.host("web01")["acknowledgement_type"] == 1
    acked, comments = comments_of(live, "db01", "MySQL Connections")
    assert acked == 0 and comments[0][1:] == ["iLert", "Resolved in iLert by Bob; a;b"]
    assert comments_of(live, "web01", "Memory") == [0, []]
    records = live.commands()
    assert [r["effect"] for r in records] == [
        "acknowledged", "acknowledged", "comment added", "ignored: no problem to acknowledge",
    ]  # fmt: skip
    assert records[0]["timestamp"] == 1700000000
    assert records[0]["args"][-1] == "Accepted in iLert: https://x/alert/7"
    command(live.path, "[1700000004] REMOVE_SVC_ACKNOWLEDGEMENT;web01;CPU load", live)
    assert comments_of(live, "web01", "CPU load") == [0, []]


def test_command_errors_are_recorded_not_applied(live: LivestatusStandIn) -> None:
    for line in (
        "ACKNOWLEDGE_SVC_PROBLEM;web01;CPU load;2;0;1;a;no timestamp",
        "[1] ACKNOWLEDGE_SVC_PROBLEM;nohost;CPU load;2;0;1;a;b",
        "[1] ACKNOWLEDGE_HOST_PROBLEM;web01;2",
        "[1] SCHEDULE_FORCED_SVC_CHECK;web01;CPU load;1",
        "[1] ADD_HOST_COMMENT;ghost;1;a;b",
    ):
        command(live.path, line, live)
    effects = [r["effect"] for r in live.commands()]
    assert effects == [
        "discarded: no [timestamp]",
        "error: unknown service nohost;CPU load",
        "error: ACKNOWLEDGE_HOST_PROBLEM takes 6 arguments, got 2",
        "recorded only",
        "error: unknown host ghost",
    ]
    assert comments_of(live, "web01", "CPU load") == [0, []]


def test_connection_stays_open_after_a_command(live: LivestatusStandIn) -> None:
    with connect(live.path) as sock:
        sock.sendall(b"COMMAND [5] ADD_HOST_COMMENT;db01;0;me;hello\n")
        sock.sendall(b"GET hosts\nColumns: comments_with_info\nFilter: name = db01\nOutputFormat: json\n\n")
        sock.shutdown(socket.SHUT_WR)
        assert json.loads(read_all(sock)) == [[[[1, "me", "hello"]]]]
    found = rows(live.path, "GET standin_commands\nColumns: name args effect")
    assert found == [["ADD_HOST_COMMENT", ["db01", "0", "me", "hello"], "comment added"]]


def test_command_framing_icinga2_answers_and_dropped_commands(tmp_path: Path) -> None:
    with LivestatusStandIn(tmp_path / "tmp/run/live", FIXTURES, dialect="icinga2") as live:
        # Checkmk's client: the line and the empty line; without fixed16 icinga2 writes nothing
        assert lq(live.path, "COMMAND [5] ADD_SVC_COMMENT;web01;Nope;0;me;x") == b""
        answer = lq(live.path, "COMMAND [5] ADD_SVC_COMMENT;web01;Nope;0;me;x\nResponseHeader: fixed16")
        assert answer.startswith(b"452") and b"unknown service web01;Nope" in answer
        assert lq(live.path, "COMMAND [5] ADD_HOST_COMMENT;db01;0;me;x\nResponseHeader: fixed16") \
            == b"200           0\n"
        with connect(live.path) as sock:  # the line alone, then EOF: no empty line
            sock.sendall(b"COMMAND [5] ADD_HOST_COMMENT;db01;0;me;y\n")
            sock.shutdown(socket.SHUT_WR)
            read_all(sock)
        live.drop_commands(1)
        lq(live.path, "COMMAND [5] ACKNOWLEDGE_SVC_PROBLEM;web01;CPU load;2;1;0;me;z")
        records = live.wait_commands(5)
        assert [r["terminated"] for r in records] == [True, True, True, False, True]
        assert records[-1]["effect"] == "dropped"
        assert live.service("web01", "CPU load")["acknowledged"] == 0  # type: ignore[index]
    with pytest.raises(ValueError):
        LivestatusStandIn(tmp_path / "other", FIXTURES, dialect="naemon")



def test_icinga2_dialect_answers_queries_as_icinga2(tmp_path: Path) -> None:
    """What icinga2 2.13.6 answered (tests/sync/test_real_livestatus.py compares the two on every
    CI run; here the stand-in alone, for machines without icinga2)."""
    fixtures = {"hosts": [{"name": "web01", "state": 1}, {"name": "Ünï", "state": 1}, {"name": "ok01"}],
                "services": [{"host_name": "web01", "description": "CPU load", "state": 2}]}
    with LivestatusStandIn(tmp_path / "live", fixtures, dialect="icinga2") as live:
        command(live.path, "[5] ACKNOWLEDGE_SVC_PROBLEM;web01;CPU load;2;1;0;me;x", live)
        found = rows(live.path, "GET services\nColumns: acknowledged host_acknowledged state\nFilter: acknowledged = 1")
        assert found == [[True, False, 2]] and [type(v) for v in found[0]] == [bool, bool, int]  # filters: numbers
        assert rows(live.path, "GET hosts\nColumns: name\nFilter: name =~ WEB01") == [["web01"]]
        assert rows(live.path, "GET hosts\nColumns: name\nFilter: name =~ ünï") == []  # ASCII-only folding
        assert rows(live.path, "GET hosts\nColumns: name\nFilter: name ~~ ^ünï") == []
        assert rows(live.path, "GET hosts\nColumns: name\nFilter: name ~ [\nFoo: bar") == []  # both ignored
        for request, message in [
            ("Columns: nope", "Error: Column 'nope' does not exist in table 'hosts'."),
            ("Filter: nope = 1", "Error: Column 'nope' does not exist in table 'hosts'."),
            ("Filter: name == web01", "Error: Unknown operator for column 'name': =="),
            ("Filter: state = ", "Error: Can't convert '' to a floating point number."),
        ]:
            answer = lq(live.path, "GET hosts\n%s\nResponseHeader: fixed16" % request)
            assert answer[:3] == b"452" and answer[16:].decode().splitlines()[0] == message, answer
        for line, code in [
            ("COMMAND [5] ACKNOWLEDGE_HOST_PROBLEM;Ünï;2;1;0;me;x", b"200"),
            ("COMMAND [5] ACKNOWLEDGE_HOST_PROBLEM;ok01;2;1;0;me;x", b"452"),  # "The host 'ok01' is OK."
            ("COMMAND [5] ADD_HOST_COMMENT;web01;1;me", b"452"),  # "Expected 4 arguments"
            ("COMMAND ADD_HOST_COMMENT;web01;1;me;x", b"452"),  # "Missing timestamp in command"
        ]:
            answer = lq(live.path, line + "\nResponseHeader: fixed16")
            assert answer[:3] == code, (line, answer)
    with LivestatusStandIn(tmp_path / "live", fixtures) as checkmk:
        assert rows(checkmk.path, "GET hosts\nColumns: name\nFilter: name =~ ünï") == [["Ünï"]]
        assert [type(v) for v in rows(checkmk.path, "GET services\nColumns: acknowledged")[0]] == [int]

def test_nested_answer(live: LivestatusStandIn) -> None:
    live.inject("nested")
    answer = lq(live.path, "GET hosts\nColumns: name\nOutputFormat: json\nResponseHeader: fixed16")
    assert answer[:16] == b"200      100000\n" and answer[16:] == b"[" * 100000


# -- inventory --------------------------------------------------------------------------
def test_inventory_blobs(tmp_path: Path) -> None:
    inventory = tmp_path / "var/check_mk/inventory"
    inventory.mkdir(parents=True)
    hardware = {"Attributes": {"Pairs": {"model": "X\u00e9"}}, "Table": {}, "Nodes": {}}
    tree = repr({"Attributes": {}, "Table": {}, "Nodes": {"hardware": hardware}})
    (inventory / "web01").write_text(tree + "\n", encoding="utf-8")
    packed = gzip.compress(tree.encode("utf-8") + b"\n")
    (inventory / "web01.gz").write_bytes(packed)
    (inventory / "db01.json").write_text('{"meta": {"version": "1"}, "raw_tree": {}}')
    (inventory / "db01").write_text("{'legacy': 1}")
    with LivestatusStandIn(tmp_path / "live", FIXTURES, inventory_dir=inventory) as live:
        request = "GET hosts\nColumns: name mk_inventory mk_inventory_gz mk_inventory_last"
        found = {r[0]: r[1:] for r in rows(live.path, request)}
        text, gz_text, last = found["web01"]
        assert text.encode("latin-1") == (tree + "\n").encode("utf-8")
        assert gzip.decompress(gz_text.encode("latin-1")) == (tree + "\n").encode()
        assert last == int((inventory / "web01").stat().st_mtime)
        assert found["db01"][0] == '{"meta": {"version": "1"}, "raw_tree": {}}'
        assert found["Mail-GW"] == ["", "", 0]  # no inventory
        raw = lq(live.path, "GET hosts\nColumns: mk_inventory_gz\nFilter: name = web01")
        assert raw == packed + b"\n"  # csv: the bytes as they are
    with LivestatusStandIn(tmp_path / "live", FIXTURES, inventory_dir=inventory, prefer_json=False) as older:
        (legacy,) = rows(older.path, "GET hosts\nColumns: mk_inventory\nFilter: name = db01")
        assert legacy == ["{'legacy': 1}"]


def test_inventory_file_named_by_fixture(tmp_path: Path) -> None:
    blob = tmp_path / "blob.bin"
    blob.write_bytes(bytes(range(256)))
    fixtures = {"hosts": [{"name": "h", "mk_inventory_file": str(blob)}]}
    with LivestatusStandIn(tmp_path / "live", fixtures) as live:
        (value,) = rows(live.path, "GET hosts\nColumns: mk_inventory")[0]
        assert value.encode("latin-1") == bytes(range(256))
        live.update_host("h", mk_inventory_file=str(tmp_path / "gone"))
        assert rows(live.path, "GET hosts\nColumns: mk_inventory mk_inventory_last") == [["", 0]]


# -- misbehaviour -----------------------------------------------------------------------
QUERY = "GET hosts\nColumns: name\nFilter: name = db01\nResponseHeader: fixed16\n\n"


def test_slow_close_garbage_truncate(live: LivestatusStandIn) -> None:
    live.inject("slow:0.6", "close", "garbage", "truncate")
    with connect(live.path, timeout=0.15) as sock:
        sock.sendall(QUERY.encode())
        with pytest.raises(socket.timeout):
            sock.recv(16)
        sock.settimeout(5)
        assert read_all(sock) == b"200           5\ndb01\n"  # late but whole
    assert lq(live.path, QUERY) == b""  # closed without an answer
    garbage = lq(live.path, QUERY)
    assert garbage and not garbage[:3].isdigit()
    truncated = lq(live.path, QUERY)
    assert truncated.startswith(b"200           5\n") and len(truncated) < 16 + 5
    assert lq(live.path, QUERY) == b"200           5\ndb01\n"
    assert [q["fault"] for q in live.queries()] == ["slow", "close", "garbage", "truncate", None]


def test_hang_until_stop(tmp_path: Path) -> None:
    live = LivestatusStandIn(tmp_path / "live", FIXTURES).start()
    try:
        live.always("hang")
        sock = connect(live.path, timeout=0.2)
        sock.sendall(QUERY.encode())
        with pytest.raises(socket.timeout):
            sock.recv(16)
        live.always(None)
        assert lq(live.path, QUERY).endswith(b"db01\n")
        live.always("hang")
    finally:
        live.stop()
    sock.settimeout(5)
    assert sock.recv(16) == b""  # stopping releases the hanging connection
    sock.close()


def test_socket_missing_and_refused(tmp_path: Path) -> None:
    live = LivestatusStandIn(tmp_path / "tmp/run/live", FIXTURES)
    with pytest.raises(FileNotFoundError):
        connect(live.path)
    live.start()
    assert lq(live.path, QUERY).endswith(b"db01\n")
    live.stop(remove_socket=False)
    assert live.path.exists()
    with pytest.raises(ConnectionRefusedError):
        connect(live.path)
    live.start()  # takes over the stale socket file; state survived
    command(live.path, "[1] ADD_HOST_COMMENT;db01;0;a;b", live)
    live.stop()
    assert not live.path.exists()
    assert len(live.commands()) == 1


def test_bad_faults_and_fixtures(tmp_path: Path) -> None:
    live = LivestatusStandIn(tmp_path / "live", FIXTURES)
    for spec in ("explode", "slow", "slow:-1", "close:1"):
        with pytest.raises(ValueError):
            live.inject(spec)
    for fixtures in (
        {"hosts": [{"name": "a", "color": "red"}]},
        {"hosts": [{"name": "a", "state": "1"}]},
        {"hosts": [{"name": "a"}], "services": [{"host_name": "b", "description": "x"}]},
        {"hosts": [{}]},
        {"hostz": []},
    ):
        with pytest.raises(FixtureError):
            LivestatusStandIn(tmp_path / "live", fixtures)
    with pytest.raises(ValueError, match="too long"):
        LivestatusStandIn(tmp_path / ("x" * 120), FIXTURES)


def test_cli(tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures.json"
    fixtures.write_text(json.dumps(FIXTURES))
    path = tmp_path / "live"
    proc = subprocess.Popen(
        [sys.executable, "-m", "livestatus_standin", "--socket", str(path), "--fixtures", str(fixtures)],
        cwd=STANDIN_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert json.loads(proc.stdout.readline()) == {"socket": str(path)}
        command(path, "[2] ACKNOWLEDGE_HOST_PROBLEM;web01;2;0;1;me;mine")
        assert rows(path, "GET hosts\nColumns: acknowledged\nFilter: name = web01") == [[1]]
        assert rows(path, "GET standin_commands\nColumns: effect") == [["acknowledged"]]
        proc.terminate()
        out, err = proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0 and err == ""
    assert not path.exists()
