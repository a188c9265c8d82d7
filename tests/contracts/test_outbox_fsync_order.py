"""The durability order of the outbox, observed on the real system calls of a real run.

The outbox promises (docs/delivery.md, "Nothing is lost"; ``outbox/store.py`` ``enqueue``)
that an event is on disk before anyone can see it and before its first attempt: the entry is
written to ``tmp/`` and fsync'd, then hard-linked into ``queue/``, then ``queue/`` itself is
fsync'd (that makes the new name durable), and only then does delivery POST it. A bulk
fsyncs every entry back to back before the first link, and ``queue/`` once after the links.

One notification goes through ``run_notify`` in this process with ``os.fsync``, ``os.link``,
``os.rename`` and ``os.replace`` wrapped (they record, then call the real function), against a
local events API that records when a POST arrives, into the same ordered list.
"""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Tuple

import pytest

from cmk_ilert.base.output import Printer
from cmk_ilert.checkmk.context import NotificationContext
from cmk_ilert.notify.run import run_notify
from tests.support.contexts import api_params, service

from .events_server import EventsServer

pytestmark = [
    pytest.mark.outbox_logic,  # interpreter-independent: run once, on the dev Python
    pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd to name an fsync'd fd"),
]

KEY = "il1api-TEST-KEY-a1b2c3d4e5f6a7b8"


class Event(NamedTuple):
    what: str  # fsync | link | rename | replace | POST
    path: str  # the fsync'd file or directory, the link's target, the request path
    source: str = ""  # the link's or rename's source


class Recorder:
    def __init__(self) -> None:
        self.events: List[Event] = []
        self._lock = threading.Lock()

    def add(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    record = Recorder()
    real_fsync, real_link = os.fsync, os.link

    def fsync(fd: Any) -> None:
        number = fd if isinstance(fd, int) else fd.fileno()
        record.add(Event("fsync", os.readlink("/proc/self/fd/%d" % number)))
        real_fsync(fd)

    def link(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        record.add(Event("link", os.fspath(dst), os.fspath(src)))
        real_link(src, dst, *args, **kwargs)

    def moving(name: str, real: Callable[..., None]) -> Callable[..., None]:
        def move(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
            record.add(Event(name, os.fspath(dst), os.fspath(src)))
            real(src, dst, *args, **kwargs)
        return move

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "link", link)
    monkeypatch.setattr(os, "rename", moving("rename", os.rename))
    monkeypatch.setattr(os, "replace", moving("replace", os.replace))
    return record


@pytest.fixture
def events_api(recorder: Recorder) -> Iterator[EventsServer]:
    with EventsServer(on_post=lambda path, body: recorder.add(Event("POST", path))) as server:
        yield server


@pytest.fixture
def environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Dict[str, str]:
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)  # the request goes to 127.0.0.1 itself
    return {"CMK_ILERT_STATE_DIR": str(tmp_path / "state"), "OMD_SITE": "mysite"}


def _run(environ: Dict[str, str], contexts: List[Dict[str, str]], bulk: bool) -> Tuple[int, str]:
    out = io.StringIO()
    code = run_notify([NotificationContext(c) for c in contexts], environ, Printer(out), bulk=bulk)
    text = out.getvalue()
    assert KEY not in text
    return code, text


def _index(events: List[Event], match: Callable[[Event], bool], after: int = -1) -> int:
    for n, event in enumerate(events):
        if n > after and match(event):
            return n
    raise AssertionError("no such event after #%d in:\n%s" % (after, "\n".join(map(str, events))))


class Enqueue(NamedTuple):
    """Positions in the recorded events of what ``enqueue`` did for each new entry."""

    entry_fsyncs: List[int]  # fsyncs of the entries' files (in tmp/ or, wrongly, in queue/)
    links: List[int]  # its link into queue/
    queue_fsyncs: List[int]  # fsyncs of queue/ itself
    posts: List[int]


def _enqueue_steps(events: List[Event], state: Path) -> Enqueue:
    tmp, queue = str(state / "tmp"), str(state / "queue")
    links = [n for n, e in enumerate(events) if e.what == "link" and os.path.dirname(e.path) == queue]
    entries = {events[n].source for n in links} | {events[n].path for n in links}  # in tmp/ or in queue/
    entry_fsyncs = [n for n, e in enumerate(events) if e.what == "fsync" and e.path in entries]
    assert all(os.path.dirname(events[n].path) == tmp for n in entry_fsyncs), (
        "an entry was fsync'd in queue/, not in tmp/ before its link:\n" + _shown(events, state))
    return Enqueue(
        entry_fsyncs, links,
        [n for n, e in enumerate(events) if e.what == "fsync" and e.path == queue],
        [n for n, e in enumerate(events) if e.what == "POST"],
    )


def _shown(events: List[Event], state: Path) -> str:
    return "\n".join("#%d %s %s%s" % (n, e.what, e.path.replace(str(state), "<state>"),
                                       " <- " + e.source.replace(str(state), "<state>") if e.source else "")
                     for n, e in enumerate(events))


def test_an_entry_is_fsynced_then_linked_then_its_directory_fsynced_before_it_is_posted(
        recorder: Recorder, events_api: EventsServer, environ: Dict[str, str]) -> None:
    state = Path(environ["CMK_ILERT_STATE_DIR"])
    code, text = _run(environ, [service("PROBLEM", api_params(events_api.url, KEY))], bulk=False)
    assert code == 0 and "delivered" in text, text
    events = recorder.events
    steps = _enqueue_steps(events, state)
    shown = _shown(events, state)
    assert len(steps.links) == 1 and len(steps.posts) == 1, shown
    (link,), (post,) = steps.links, steps.posts
    assert len(steps.entry_fsyncs) == 1, "the entry linked into queue/ was never fsync'd in tmp/:\n" + shown
    (entry_fsync,) = steps.entry_fsyncs
    assert entry_fsync < link, "the entry was linked into queue/ before it was fsync'd:\n" + shown
    after_link = [n for n in steps.queue_fsyncs if n > link]
    assert after_link, "queue/ was not fsync'd after the entry was linked into it:\n" + shown
    assert after_link[0] < post, "the event was POSTed before its link in queue/ was durable:\n" + shown


def test_a_bulk_fsyncs_every_entry_before_any_link_and_its_directory_once_after_the_links(
        recorder: Recorder, events_api: EventsServer, environ: Dict[str, str]) -> None:
    state = Path(environ["CMK_ILERT_STATE_DIR"])
    params = api_params(events_api.url, KEY)
    contexts = [service("PROBLEM", params, SERVICEDESC="Disk %d" % n, SERVICEPROBLEMID=str(200 + n),
                        MICROTIME=str(1795341600000000 + n)) for n in range(4)]
    code, text = _run(environ, contexts, bulk=True)
    assert code == 0 and "bulk: 4 notifications" in text, text
    events = recorder.events
    steps = _enqueue_steps(events, state)
    shown = _shown(events, state)
    assert len(steps.links) == 4 and len(steps.posts) == 4, shown
    assert len(steps.entry_fsyncs) == 4, "not every entry linked into queue/ was fsync'd in tmp/:\n" + shown
    assert max(steps.entry_fsyncs) < min(steps.links), "an entry was linked before every entry was fsync'd:\n" + shown
    first_link, last_link, first_post = min(steps.links), max(steps.links), min(steps.posts)
    during = [n for n in steps.queue_fsyncs if first_link <= n <= last_link]
    assert not during, "queue/ was fsync'd between the links, not once after them:\n" + shown
    after = [n for n in steps.queue_fsyncs if last_link < n < first_post]
    assert len(after) == 1, "queue/ was not fsync'd exactly once between the last link and the first POST:\n" + shown
