"""Notification contexts for the benchmark: realistic, and distinct per event.

Every event gets its own ``MICROTIME`` (so the outbox's dedup never skips a
send) and its own host (a storm is many hosts going down at once, so every
event is its own alert-key group, as in a network outage).
"""

from __future__ import annotations

import time
from typing import Dict, List, Mapping

from tests.support.contexts import service
from tests.support.site import bulk_stdin  # one implementation of Checkmk's bulk format

SITE = "bench"
#: A made-up integration key, valid only at the local stand-in.
KEY = "il1api-BENCH-KEY-0000bench0000bench7"


class Contexts:
    """Numbered contexts of one measurement series; numbers never repeat."""

    def __init__(self, url: str, rate_limit: int) -> None:
        self.url = url
        self.rate_limit = rate_limit
        self._base = int(time.time() * 1e6)
        self._next = 0

    def params(self) -> Dict[str, str]:
        """The rule parameters (without ``NOTIFY_``): api wire format, explicit key."""
        return {
            "PARAMETER_ILERT_API_KEY": "password\t" + KEY,
            "PARAMETER_ILERT_API_KEY_1": "password",
            "PARAMETER_ILERT_API_KEY_2": KEY,
            "PARAMETER_ILERT_SOURCE_TYPE": "api",
            "PARAMETER_ILERT_API_URL": self.url,
            "PARAMETER_URL_PREFIX_AUTOMATIC": "https",
            "PARAMETER_RATE_LIMIT": str(self.rate_limit),
        }

    def one(self, with_params: bool = True) -> Dict[str, str]:
        n = self._next
        self._next += 1
        host = "srv%05d" % n
        # The tests' realistic service context, made distinct per event.
        ctx = service(
            "PROBLEM",
            {},
            OMD_SITE=SITE,
            HOSTNAME=host,
            HOSTALIAS="Server %05d" % n,
            HOSTADDRESS="10.%d.%d.%d" % (n // 65536 % 256, n // 256 % 256, n % 256),
            SERVICEPROBLEMID=str(1000 + n),
            LASTSERVICEPROBLEMID=str(1000 + n),
            HOSTURL="/check_mk/index.py?start_url=view.py%%3Fview_name%%3Dhoststatus%%26host%%3D%s" % host,
            SERVICEURL="/check_mk/index.py?start_url=view.py%%3Fview_name%%3Dservice%%26host%%3D%s"
                       "%%26service%%3DCPU%%20load" % host,
            HOSTTAGS="/wato/ cmk-agent prod site:%s tcp" % SITE,
            LONGDATETIME=time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime()),
            MICROTIME=str(self._base + n),
            CONTACTNAME="oncall",
            CONTACTEMAIL="oncall@example.net",
            CONTACTS="oncall",
        )
        if with_params:
            ctx.update(self.params())
        return ctx

    def many(self, count: int) -> List[Dict[str, str]]:
        return [self.one(with_params=False) for _ in range(count)]

    def bulk_stdin(self, count: int) -> bytes:
        return bulk_stdin(self.params(), self.many(count))


def notify_env(context: Mapping[str, str]) -> Dict[str, str]:
    """Checkmk's single-call form: every context value as ``NOTIFY_<KEY>``."""
    return {"NOTIFY_" + key: value for key, value in context.items()}
