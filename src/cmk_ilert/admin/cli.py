"""Command line: ``python3 -m cmk_ilert <command>``.

notify     what the notification script runs (``--bulk`` reads stdin)
flush      deliver what is due from the outbox (site cron; ``--now`` for admins)
status     pending events per alert key, dead letters; exit code for a local check
dry-run    print the request a context would produce, key redacted
test       send one test alert and its resolve to a real key
dead       list the dead letters (events iLert rejected), with an id each
retry      send dead letters again, in order, once the cause is fixed
discard    remove dead letters that must not be sent
heartbeat  ping an iLert heartbeat URL (site cron), at most once a minute
sync       mirror what responders do in iLert into Checkmk (site cron; docs/sync.md)

Each command imports its own subsystem when it runs (the ``# lazy: per command``
imports): the site cron starts ``flush`` every minute and the local check
``status``, neither should pay for ``sync`` or the notification pipeline.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Dict, List, Mapping, Optional

from .. import __version__
from ..base.errors import EXIT_OK, EXIT_PERMANENT, EXIT_TEMPORARY, CmkIlertError, ContextError, where
from ..base.logfile import LogStream
from ..base.output import Printer, silence

#: Where the site cron lines log (``--log``): timestamped lines, rotated by size (base/logfile.py).
CRON_LOG = "$OMD_ROOT/var/log/cmk_ilert.log"
#: The site cron line (docs/site-cron.md): the installed notification script runs the command, under
#: the site's own Python, found through $OMD_ROOT, which every site crontab sets. It logs with --log
#: (a timestamp per line, bounded); the shell's own output goes nowhere. Once the package is removed
#: (no script) the line does nothing and says nothing.
CRON_LINE = ("* * * * * test -f $OMD_ROOT/local/share/check_mk/notifications/cmk_ilert && $OMD_ROOT/bin/python3 "
             "$OMD_ROOT/local/share/check_mk/notifications/cmk_ilert flush --quiet --log " + CRON_LOG
             + " >/dev/null 2>&1")
#: The installed script, as the admin runs it on a site (usage lines name it when it ran).
SCRIPT = "~/local/share/check_mk/notifications/cmk_ilert"


def _seconds(text: str) -> float:
    """A finite, non-negative number of seconds (at most a day)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not a number of seconds: %r" % text[:40]) from None
    if not (0 <= value <= 86400):
        raise argparse.ArgumentTypeError("must be between 0 and 86400 seconds")
    return value


class _Help(argparse.RawDescriptionHelpFormatter):
    """Descriptions and examples as written; every option's default in its help."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("default" in text.lower() or default is None or default is False or default == []
                or default is argparse.SUPPRESS or not action.option_strings):
            return text
        return "%s (default: %%(default)s)" % text if text else "default: %(default)s"


def _example(prog: str, *lines: str) -> str:
    return "example%s:\n%s" % ("s" if len(lines) > 1 else "", "\n".join("  %s %s" % (prog, line) for line in lines))


def build_parser(prog: str = "python3 -m cmk_ilert") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Checkmk notifications to iLert (cmk_ilert %s). On a site, as the site user: "
                    "python3 -m cmk_ilert COMMAND, or %s COMMAND (needs no site environment)." % (
                        __version__, SCRIPT),
        epilog="Run '%s COMMAND --help' for the options and an example of a command." % prog,
        formatter_class=_Help,
    )
    parser.add_argument("--version", action="version", version="cmk_ilert %s" % __version__)
    sub = parser.add_subparsers(dest="command", metavar="command")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--log", metavar="FILE",
                        help="append the output to FILE instead of printing it, each line with its local time "
                             "(ISO 8601); FILE is rotated to FILE.1 at 1 MiB (the site cron lines use "
                             "%s)" % CRON_LOG)

    def add(name: str, help: str, description: str, *examples: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=description, parents=[common], formatter_class=_Help,
                              epilog=_example(prog, *examples) if examples else None)

    p = add("notify", "run as the notification script (reads NOTIFY_* or, with --bulk, stdin)",
            "Deliver the notification in the NOTIFY_* environment, or with --bulk the notifications on stdin, "
            "exactly as Checkmk's notification script does.", "notify --bulk < bulk-file")
    p.add_argument("--bulk", action="store_true", help="read a bulk notification from stdin")

    p = add("flush", "deliver queued events that are due (for the site cron)",
            "Deliver queued events whose retry time has come, oldest first per alert key, within the rate "
            "limit. Meant for the site cron, as the line\n  " + CRON_LINE
            + "\nin ~/etc/cron.d/cmk_ilert, then: omd reload crontab (docs/site-cron.md).",
            "flush --now", "flush --quiet --log " + CRON_LOG)
    p.add_argument("--now", action="store_true",
                   help="ignore retry backoff and 429 pauses (after an outage is over)")
    p.add_argument("--max-time", type=_seconds, default=50.0, metavar="SECONDS",
                   help="stop after this many seconds, 0 to 86400 (default 50, below the cron interval)")
    p.add_argument("--quiet", action="store_true", help="print only delivered and rejected events")

    p = add("status", "show the outbox: pending per alert key, dead letters",
            "Summarise the outbox. Exit code 0 OK, 1 events waiting longer than --warn, 2 dead letters not "
            "yet retried or discarded, events waiting longer than --crit, or an outbox that cannot be written; "
            "3 no outbox; --local-check prints one line in Checkmk's local check format (agent side: "
            "docs/site-cron.md).",
            "status", "status --local-check --warn 600 --crit 7200")
    p.add_argument("--warn", type=_seconds, default=300.0, metavar="SECONDS",
                   help="WARN (exit 1) when an event waits longer, 0 to 86400")
    p.add_argument("--crit", type=_seconds, default=3600.0, metavar="SECONDS",
                   help="CRIT (exit 2) when an event waits longer, 0 to 86400")
    p.add_argument("--local-check", action="store_true", help="print a Checkmk local check line")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = add("dead", "list dead letters: events iLert rejected, not yet retried or discarded",
            "List the dead letters with an id each, the event and why iLert rejected it. Exit code 2 while "
            "there is one (status is CRIT and the heartbeat is not pinged until each is retried or discarded).",
            "dead", "dead --json")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = add("retry", "send dead letters again, in order, after the cause is fixed",
            "Put dead letters back in the queue in their original order and deliver them now (as flush --now). "
            "A dead letter is discarded instead, with the reason, when an event of its alert key was delivered "
            "after it was rejected (a RESOLVE: the problem has recovered) or when Livestatus says the object of "
            "a rejected ALERT is OK now. An event whose rule names a password-store entry is sent with the key "
            "the store holds now; one whose rule has the key typed in keeps the key it was queued with "
            "(docs/delivery.md).",
            "retry --all", "retry 3f2a9c")
    p.add_argument("ids", nargs="*", metavar="ID", help="dead letter ids, as 'dead' shows them")
    p.add_argument("--all", action="store_true", help="every dead letter")
    p.add_argument("--max-time", type=_seconds, default=50.0, metavar="SECONDS",
                   help="stop delivering after this many seconds (default 50), 0 to 86400")

    p = add("discard", "remove dead letters that must not be sent",
            "Remove dead letters (they stop counting for status and the heartbeat); each leaves one line in "
            "journal/handled.jsonl of the outbox.",
            "discard 3f2a9c", "discard --all")
    p.add_argument("ids", nargs="*", metavar="ID", help="dead letter ids, as 'dead' shows them")
    p.add_argument("--all", action="store_true", help="every dead letter")

    p = add("dry-run", "print the request a notification would send (key redacted)",
            "Build the iLert request for a context without sending it: the URL, headers and body really sent, "
            "inventory facts included when the rule asks for them (Inventory facts, inventory_facts) and the "
            "site's inventory has the host. The context comes from NOTIFY_* variables, or from FILE (JSON "
            "object or KEY=value lines, with or without the NOTIFY_ prefix).",
            "dry-run context.env", "dry-run - < context.json")
    p.add_argument("file", nargs="?", help="context file; '-' for stdin; default: the environment")

    p = add("test", "send one test alert and its resolve to a real key",
            "Open and resolve a test alert in iLert. The key is read from --key-file, the password store "
            "(--store-id), $ILERT_API_KEY, or a prompt; never from the command line, where other users could "
            "see it. The options carry the names of the rule's settings: --source-type is \"iLert alert "
            "source type\" (ilert_source_type), --api-url \"iLert API base URL\" (ilert_api_url), --proxy-url "
            "\"HTTP proxy\" (proxy_url), --ignore-ssl and --timeout likewise.",
            "test --store-id ilert", "test --key-file ~/ilert.key --source-type checkmk")
    p.add_argument("--key-file", metavar="FILE", help="file holding the integration key")
    p.add_argument("--store-id", metavar="ID", help="Checkmk password store id of the key")
    p.add_argument("--source-type", choices=("api", "checkmk"), default="api",
                   help="type of the iLert alert source the key belongs to (iLert alert source type)")
    p.add_argument("--api-url", "--url", dest="api_url", default="https://api.ilert.com",
                   help="iLert base URL (iLert API base URL); --url is the old spelling")
    p.add_argument("--proxy-url", "--proxy", dest="proxy_url", default=None, metavar="PROXY",
                   help="FROM_ENVIRONMENT, NO_PROXY or a proxy URL (HTTP proxy; default: the environment's "
                        "proxy variables); --proxy is the old spelling")
    p.add_argument("--ignore-ssl", action="store_true", help="do not verify iLert's TLS certificate")
    p.add_argument("--timeout", type=_seconds, default=10.0, metavar="SECONDS",
                   help="limit of each whole request, 0 to 86400")
    p.add_argument("--no-resolve", action="store_true", help="leave the test alert open")

    p = add("heartbeat", "ping an iLert heartbeat URL (for the site cron)",
            "Ping an iLert heartbeat monitor, at most once per --min-interval, and only while this site can "
            "notify: not while a rejected event is neither retried nor discarded, an event waits longer than "
            "--max-pending-age, or the outbox cannot be written (status's CRIT, one line says why, exit 1); so "
            "iLert alerts when this site can no longer notify. The URL holds a key: it is never printed.",
            "heartbeat --url-file ~/etc/cmk_ilert_heartbeat_url")
    p.add_argument("url", nargs="?", help="heartbeat URL (visible in 'ps': prefer --url-file or $ILERT_HEARTBEAT_URL)")
    p.add_argument("--url-file", metavar="FILE", help="file holding the heartbeat URL")
    p.add_argument("--min-interval", type=_seconds, default=60.0, metavar="SECONDS",
                   help="ping at most this often, 0 to 86400")
    p.add_argument("--max-pending-age", type=_seconds, default=900.0, metavar="SECONDS",
                   help="skip the ping while an event waits longer than this (default 900; also while a "
                        "rejected event is not handled or the outbox cannot be written)")
    p.add_argument("--timeout", type=_seconds, default=10.0, metavar="SECONDS",
                   help="limit of the whole request, 0 to 86400")
    p.add_argument("--quiet", action="store_true", help="print only skipped pings and failures (for the cron log)")

    p = add("sync", "acknowledge/comment in Checkmk what responders did in iLert (site cron)",
            "Read this site's alerts from iLert's REST API with a user API key and acknowledge in Checkmk what "
            "a responder accepted, or comment what a responder resolved while Checkmk still shows the problem. "
            "For the site cron; see docs/sync.md.",
            "sync --dry-run", "sync --store-id ilert-user --quiet --log " + CRON_LOG)
    from ..sync.options import add_arguments  # lazy: per command

    add_arguments(p)
    return parser


def _prog() -> str:
    """What the admin ran: the installed script, or ``python3 -m cmk_ilert``."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return SCRIPT if name == "cmk_ilert" else "python3 -m cmk_ilert"


def main(argv: Optional[List[str]] = None, environ: Optional[Mapping[str, str]] = None) -> int:
    env = os.environ if environ is None else environ
    printer = Printer()
    try:
        args = build_parser(_prog()).parse_args(argv)
        if not args.command:
            build_parser(_prog()).print_help()
            return _flushed(EXIT_OK)
    except SystemExit as exc:  # --help, --version, usage errors
        return _flushed(int(exc.code or 0) if isinstance(exc.code, int) or exc.code is None else EXIT_PERMANENT)
    except (OSError, ValueError):  # argparse writing into a closed stdout or a broken pipe
        return _flushed(EXIT_OK)
    if getattr(args, "log", None):
        printer = Printer(LogStream(args.log))  # type: ignore[arg-type]
    # dry-run keeps stdout for the JSON document: its messages go to stderr
    errors = Printer(sys.stderr) if args.command == "dry-run" and not args.log else printer
    if args.command != "notify":  # notify has its own, below Checkmk's 60 s
        from ..notify.script import start_watchdog  # lazy: per command

        limit = _hard_limit(args)
        start_watchdog(limit, "%s stopped after %ds: every command is bounded in time" % (args.command, limit),
                       EXIT_TEMPORARY)
    try:
        if args.command == "notify":
            from ..notify.script import main as script_main  # lazy: per command

            return script_main(["--bulk"] if args.bulk else [], env)
        if args.command == "flush":
            from ..outbox.flush import deliver_due  # lazy: per command

            return deliver_due(env, printer, args.max_time, force=args.now, quiet=args.quiet)
        if args.command == "status":
            from .status import run_status  # lazy: per command

            return run_status(env, printer, args.warn, args.crit, args.local_check, args.json)
        if args.command in ("dead", "retry", "discard"):
            from .recovery import run_dead, run_discard, run_retry  # lazy: per command

            if args.command == "dead":
                return run_dead(env, printer, args.json)
            if args.command == "retry":
                return run_retry(env, printer, args.ids, args.all, args.max_time)
            return run_discard(env, printer, args.ids, args.all)
        if args.command == "dry-run":
            return _dry_run(args.file, env, printer, errors)
        if args.command == "test":
            from .selftest import run_test  # lazy: per command

            return run_test(args, env, printer)
        if args.command == "heartbeat":
            from .heartbeat import run_heartbeat  # lazy: per command

            return run_heartbeat(args, env, printer)
        if args.command == "sync":
            from ..sync.command import run_sync  # lazy: per command

            return run_sync(args, env, printer)
    except CmkIlertError as exc:
        errors.line("error: %s" % exc)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_TEMPORARY
    except Exception as exc:  # noqa: BLE001
        errors.line("internal error: %s at %s" % (type(exc).__name__, where(exc)))
        return EXIT_PERMANENT
    return EXIT_PERMANENT


def _flushed(code: int) -> int:
    """Flush what argparse wrote (--help, --version) here, not at interpreter exit, where a
    closed stdout or a broken pipe would print "Exception ignored ..."; then ``code``."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            silence(stream)
    return code


def _hard_limit(args: argparse.Namespace) -> float:
    """The last-resort bound of a command; its own logic ends well before."""
    if args.command in ("flush", "sync", "retry"):
        return max(1.0, min(float(args.max_time), 3600.0)) + 10.0
    if args.command in ("heartbeat", "test"):
        return 2 * max(1.0, min(float(args.timeout), 50.0)) + 10.0
    return 60.0


def read_context_file(path: str) -> Dict[str, str]:
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, "r", encoding="utf-8") as handle:
                text = handle.read()
    except OSError as exc:
        raise ContextError("cannot read %s (%s)" % (path, type(exc).__name__)) from None
    values: Dict[str, str] = {}
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            loaded = json.loads(text)
        except ValueError:
            raise ContextError("%s is not valid JSON" % path) from None
        values = {str(k): str(v) for k, v in loaded.items()}
    else:
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() and not key.lstrip().startswith("#"):
                values[key.strip()] = value
    return {(k[7:] if k.startswith("NOTIFY_") else k): v for k, v in values.items()}


def _dry_run(path: Optional[str], env: Mapping[str, str], printer: Printer, errors: Printer) -> int:
    """The request(s) as JSON on stdout (one document, or a list for a notification
    that maps to two events); everything else on stderr."""
    from ..checkmk.context import NotificationContext, from_environ  # lazy: dry-run only
    from ..checkmk.params import parse_settings  # lazy: dry-run only
    from ..checkmk.paths import state_dir  # lazy: dry-run only
    from ..ilert.wire import finalize, request_headers  # lazy: dry-run only
    from ..notify.enrichment import Enrichment  # lazy: dry-run only
    from ..notify.prepare import prepare  # lazy: dry-run only

    ctx = NotificationContext(read_context_file(path)) if path else from_environ(env)
    values = dict(ctx.values)
    if env.get("OMD_SITE") and not values.get("OMD_SITE"):
        values["OMD_SITE"] = env["OMD_SITE"]  # as the notification run does
    placeholder = False
    if not any(k.startswith("PARAMETER_ILERT_API_KEY") for k in values):
        values["PARAMETER_ILERT_API_KEY"] = "dry-run-placeholder-key"
        placeholder = True
    settings = parse_settings(values)
    printer.add_secrets(settings.secrets())
    errors.add_secrets(settings.secrets())
    ctx = NotificationContext(values)
    # the events exactly as the notification run queues them (inventory facts included), then
    # the request as the delivery sends it
    prepared, ignored = prepare(ctx, settings, 0, state_dir(env))
    Enrichment(env.get("OMD_ROOT", "")).in_memory(prepared)  # inventory facts, as a queued event gets them
    if ignored is not None:
        errors.line("%s %s: ignored (%s); nothing would be sent" % (ignored.notification_type, ignored.alert_key,
                                                                  ignored.reason))
        return EXIT_OK
    documents = []
    for item in prepared:
        # How the rule's templates came out (routing key, severity, services): on stderr.
        for note in item.notes:
            errors.line("%s: %s" % (item.label, note))
        if item.notes and settings.source_type != "api":
            errors.line("%s: not sent: the source type checkmk posts the context as Checkmk's built-in method "
                        "does and has no routingKey, severity or services" % item.label)
        request = item.data["request"]
        url, body = finalize(request["url"], request["body"], str(request.get("key_in", "")),
                             settings.api_key.reveal())
        headers = {"Content-Type": "application/json", "User-Agent": "cmk_ilert/" + __version__}
        headers.update(request_headers(str(item.data.get("endpoint", ""))))
        document: Dict[str, object] = {"method": "POST", "url": url, "body": body, "headers": headers}
        if placeholder:
            document["note"] = "no ilert_api_key in the context: a placeholder key was used"
        documents.append(document)
    printer.raw(json.dumps(documents[0] if len(documents) == 1 else documents, indent=2, ensure_ascii=False,
                           sort_keys=True))
    return EXIT_OK
