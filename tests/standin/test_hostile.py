"""The hostile servers of tests/support/hostile.py do what they promise (short intervals)."""

from __future__ import annotations

import json
import socket
import ssl
import time

import pytest
import requests

from tests.support.hostile import (
    BlackHole,
    CaptivePortal,
    DripBody,
    DripHeaders,
    Echo,
    EndlessBody,
    Silent,
    SlowTLS,
    loopback_addresses,
    multi_address_host,
)

KEY = "il1api-HOSTILE-not-a-real-key-0001"
REQUEST = (
    b"POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Content-Length: 2\r\n\r\n{}"
)


def connect(address: tuple[str, int], timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(address, timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def wait_for(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_drip_headers_sends_one_byte_at_a_time() -> None:
    with DripHeaders(interval=0.02) as server:
        with connect(server.address) as sock:
            sock.sendall(REQUEST)
            pieces = [sock.recv(1024) for _ in range(12)]
        assert all(len(piece) == 1 for piece in pieces)  # each recv got exactly one byte
        assert b"".join(pieces) == b"HTTP/1.1 202"
        (arrival,) = server.arrivals
        assert arrival.request_line == "POST /api/events HTTP/1.1"
        assert arrival.body == b"{}" and arrival.received == len(REQUEST)
        wait_for(lambda: arrival.sent >= 12)


def test_drip_headers_never_finish_the_header_block() -> None:
    with DripHeaders(interval=0.001) as server:
        with connect(server.address) as sock:
            sock.sendall(REQUEST)
            received = b""
            while len(received) < 300:
                received += sock.recv(1024)
        assert received.startswith(b"HTTP/1.1 202 Accepted\r\n")
        assert b"\r\n\r\n" not in received


def test_drip_body_sends_headers_then_single_bytes() -> None:
    with DripBody(interval=0.02, length=500) as server:
        with connect(server.address) as sock:
            sock.sendall(REQUEST)
            head = b""
            while b"\r\n\r\n" not in head:
                head += sock.recv(1)
            assert b"Content-Length: 500\r\n" in head
            pieces = [sock.recv(1024) for _ in range(5)]
        assert [len(p) for p in pieces] == [1] * 5
        assert b"".join(pieces) == b'{"ale'


@pytest.mark.parametrize("chunked", [False, True])
def test_endless_body(chunked: bool) -> None:
    with EndlessBody(chunked=chunked) as server:
        response = requests.post(server.url + "/api/events", json={}, stream=True, timeout=5)
        assert response.status_code == 202
        if chunked:
            assert response.headers["Transfer-Encoding"] == "chunked"
        else:
            assert response.headers["Content-Length"] == str(10**12)
        read = 0
        for piece in response.iter_content(65536):
            read += len(piece)
            if read > 5_000_000:
                break
        response.close()
        assert read > 5_000_000
        assert server.arrivals[0].sent > 5_000_000


@pytest.mark.parametrize("status", [400, 401, 500])
def test_echo_returns_the_whole_request(status: int) -> None:
    with Echo(status=status) as server:
        body = {"integrationKey": KEY, "eventType": "ALERT"}
        headers = {"Authorization": "Bearer " + KEY}
        with requests.Session() as session:
            for _ in range(2):  # keep-alive works
                response = session.post(server.url + "/api/v1/events/checkmk-ext/" + KEY,
                                        json=body, headers=headers, timeout=5)  # fmt: skip
                assert response.status_code == status
        echo = response.json()
        assert echo["status"] == status
        assert echo["request"]["path"] == "/api/v1/events/checkmk-ext/" + KEY
        assert echo["request"]["headers"]["Authorization"] == "Bearer " + KEY
        assert json.loads(echo["request"]["body"]) == body
        assert echo["message"].count(KEY) == 2  # path and body in the message too
        assert len(server.arrivals) == 1


def test_captive_portal() -> None:
    with CaptivePortal() as server:
        response = requests.post(server.url + "/api/events", json={}, timeout=5)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/html")
        assert response.text.startswith("<!DOCTYPE html>")
        with pytest.raises(ValueError):
            response.json()


def test_silent_reads_and_never_answers() -> None:
    with Silent() as server:
        with pytest.raises(requests.ReadTimeout):
            requests.post(server.url + "/api/events", json={"a": 1}, timeout=0.2)
        (arrival,) = server.arrivals
        assert arrival.head_at is not None and arrival.body == b'{"a": 1}'
        assert arrival.sent == 0


def test_slow_tls_never_completes_the_handshake() -> None:
    with SlowTLS() as server:
        assert server.url.startswith("https://")
        raw = socket.create_connection(server.address, timeout=0.3)
        context = ssl.create_default_context()
        with pytest.raises((socket.timeout, TimeoutError)):
            context.wrap_socket(raw, server_hostname="localhost")
        raw.close()
        wait_for(lambda: server.arrivals and server.arrivals[0].received > 0)
        assert server.arrivals[0].head.startswith("TLS ClientHello")
        with pytest.raises((requests.ReadTimeout, requests.ConnectionError)):
            requests.get(server.url, timeout=0.2)


def test_black_hole_connects_hang() -> None:
    with BlackHole() as hole:
        for _ in range(2):
            probe = socket.socket()
            probe.settimeout(0.3)
            with pytest.raises((socket.timeout, TimeoutError)):
                probe.connect(hole.address)
            probe.close()
        with pytest.raises(requests.ConnectTimeout):
            requests.post(hole.url + "/api/events", json={}, timeout=0.3)
        assert hole.arrivals == []


def test_black_hole_on_ipv4_and_ipv6_shares_one_port() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    with BlackHole(hosts=("127.0.0.1", "::1")) as hole:
        for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            probe = socket.socket(family)
            probe.settimeout(0.3)
            with pytest.raises((socket.timeout, TimeoutError)):
                probe.connect((host, hole.port))
            probe.close()
        assert hole.url_for("localhost") == "http://localhost:%d" % hole.port


def test_multi_address_host_reports_what_the_machine_has() -> None:
    name, addresses = multi_address_host()
    assert addresses and addresses == loopback_addresses(name)
    assert all(a in ("127.0.0.1", "::1") or a.startswith("127.") for a in addresses)
    assert loopback_addresses("name.invalid") == []


def test_stop_releases_clients() -> None:
    server = Silent().start()
    sock = connect(server.address)
    sock.sendall(REQUEST)
    wait_for(lambda: bool(server.arrivals) and server.arrivals[0].head_at is not None)
    server.stop()
    sock.settimeout(2)
    assert sock.recv(10) == b""
    sock.close()
