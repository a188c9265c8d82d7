"""How far a notification run got: what the watchdog's last line says, so that it
tells the truth about what was queued and what only Checkmk's retry can send."""

from __future__ import annotations


class Progress:
    """How far a notification run got, so the watchdog's last line tells the truth."""

    def __init__(self) -> None:
        #: notifications of the call (0: not read yet), how many were mapped
        self.notifications = 0
        self.read = 0
        #: outcomes mapped so far (events to send, ignored and rejected notifications)
        self.events = 0
        #: of those, settled: queued on disk, delivered, ignored or rejected
        self.settled = 0

    def line(self, seconds: float) -> str:
        head = "stopped after %ds to stay within Checkmk's 60 s limit" % seconds
        unread = max(0, self.notifications - self.read)
        open_ = max(0, self.events - self.settled)
        if not self.notifications:
            return head + "; no notification was read, nothing was queued: Checkmk may retry the call (exit 1)"
        if not unread and not open_:
            return head + "; all %d events of this call are queued or delivered: the next run or the site " \
                          "cron's flush delivers what is queued" % self.events
        return head + "; %d of %d events queued or delivered, NOT queued: %d events and %d notifications not " \
                      "yet read; only Checkmk's retry (exit 1) can send those again" % (
                          self.settled, self.events, open_, unread)
