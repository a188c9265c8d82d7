"""``test``: open and resolve one alert with a real key, directly (no outbox)."""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from typing import Dict, Mapping

from ..base.errors import EXIT_OK, EXIT_PERMANENT, ConfigError
from ..base.output import Printer
from ..checkmk.context import NotificationContext
from ..checkmk.params import parse_settings
from ..notify.prepare import prepare
from ..outbox.delivery import Deliverer


def _key(args: argparse.Namespace, env: Mapping[str, str]) -> Dict[str, str]:
    if args.key_file:
        try:
            with open(args.key_file, "r", encoding="utf-8") as handle:
                return {"PARAMETER_ILERT_API_KEY": "password\t" + handle.read().strip()}
        except OSError as exc:
            raise ConfigError("cannot read the key file %s (%s)" % (args.key_file, type(exc).__name__)) from None
    if args.store_id:
        return {"PARAMETER_ILERT_API_KEY": "store\t" + args.store_id}
    if env.get("ILERT_API_KEY"):
        return {"PARAMETER_ILERT_API_KEY": "password\t" + env["ILERT_API_KEY"]}
    if sys.stdin.isatty():
        return {"PARAMETER_ILERT_API_KEY": "password\t" + getpass.getpass("iLert integration key: ").strip()}
    raise ConfigError("no key: use --key-file, --store-id or $ILERT_API_KEY")


def run_test(args: argparse.Namespace, env: Mapping[str, str], printer: Printer) -> int:

    site = env.get("OMD_SITE", "test")
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    values: Dict[str, str] = {
        "WHAT": "SERVICE", "OMD_SITE": site, "HOSTNAME": "cmk_ilert-test", "HOSTALIAS": "cmk_ilert test",
        "SERVICEDESC": "test %d" % int(time.time()), "SERVICESTATE": "CRITICAL", "SERVICESHORTSTATE": "CRIT",
        "SERVICEOUTPUT": "Test alert sent by 'python3 -m cmk_ilert test' at %s" % stamp,
        "LONGDATETIME": stamp, "MICROTIME": str(int(time.time() * 1e6)),
        "SERVICEPROBLEMID": "notify_test_%d" % int(time.time() * 1e6),
        "PARAMETER_ILERT_SOURCE_TYPE": args.source_type, "PARAMETER_ILERT_API_URL": args.api_url,
        "PARAMETER_TIMEOUT": str(args.timeout), "PARAMETER_ILERT_PRIORITY": "LOW",
    }
    values.update(_key(args, env))
    if args.proxy_url:
        values["PARAMETER_PROXY_URL"] = args.proxy_url
    if args.ignore_ssl:
        values["PARAMETER_IGNORE_SSL"] = "True"
    settings = parse_settings(values)
    printer.add_secrets(settings.secrets())
    deliverer = Deliverer(60.0)
    code = EXIT_OK
    steps = [("PROBLEM", "CRITICAL")] + ([] if args.no_resolve else [("RECOVERY", "OK")])
    # Bounded like every command: one full timeout per step, nothing more.
    deadline = time.monotonic() + len(steps) * settings.timeout + 1.0
    try:
        for n, (ntype, state) in enumerate(steps):
            ctx = NotificationContext(dict(values, NOTIFICATIONTYPE=ntype, SERVICESTATE=state))
            for prepared in prepare(ctx, settings, n)[0]:
                outcome = deliverer.send(prepared.data, deadline)
                printer.line("test %s: %s (%s)" % (prepared.label, outcome.status, outcome.detail))
                if outcome.status != "delivered":
                    code = max(code, 1 if outcome.status == "temporary" else EXIT_PERMANENT)
                    return code
    finally:
        deliverer.close()
    return code
