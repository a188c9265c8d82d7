"""Issue 9, item 8: input and output robustness.

A bad context in a bulk (a 5000-digit MICROTIME, invalid UTF-8 in a variable name or value, a
NUL byte, a value of megabytes) costs at most itself, with at most one line; a single
notification with such input is delivered. A closed stdout (``>&-``) or a broken pipe (stdout
into a pipe whose reader is gone) never produces a traceback, and the exit code still tells the
delivery. Before the fix one 5000-digit MICROTIME (Python 3.11+ refuses to convert it) raised an
internal error that dropped every notification of the bulk, and a closed stdout gave a traceback
with a wrong exit code.
"""

from __future__ import annotations

import pytest

from tests.hostile.conftest import no_crash, notification, posted, run
from tests.support.contexts import api_params
from tests.support.hostile import Echo

pytestmark = pytest.mark.runtime


def _block(values) -> bytes:
    out = b""
    for key, value in values.items():
        key = key if isinstance(key, bytes) else key.encode()
        value = value if isinstance(value, bytes) else value.replace("\n", "\x01").encode()
        out += key + b"=" + value + b"\n"
    return out


def _context(url: str, host: str, n: int, **odd) -> dict:
    ctx = notification(url, host=host, n=n)
    for name in list(ctx):
        if name.startswith("PARAMETER_"):
            del ctx[name]
    ctx.update(odd)
    return ctx


ODD = {
    "microtime-5000-digits": {"MICROTIME": "9" * 5000},
    "microtime-not-ascii": {"MICROTIME": "\u00b2\u00b3" * 8},
    "name-invalid-utf8": {b"CUSTOM_\xff\xfe_NAME": b"value"},
    "value-invalid-utf8": {"SERVICEOUTPUT": b"CRIT \xff\xfe\xc3 broken"},
    "value-nul": {"SERVICEOUTPUT": b"CRIT a\x00b"},
    "value-two-megabytes": {"LONGSERVICEOUTPUT": "z" * (2 << 20)},
    "name-huge": {"X" * 100_000: "v"},
}


def test_bad_contexts_in_a_bulk_cost_at_most_themselves(site, standin):
    params = api_params(standin.url)
    stdin = _block(params)
    hosts = ["good00"] + ["odd%02d" % i for i in range(len(ODD))] + ["good99"]
    odd = list(ODD.values())
    for n, host in enumerate(hosts):
        extra = odd[n - 1] if 0 < n <= len(odd) else {}
        ctx = {k: v for k, v in _context(standin.url, host, n).items() if k != "MICROTIME" or not extra}
        values = dict(params)
        values.update(ctx)
        values.update(extra)
        if "MICROTIME" not in values:
            values["MICROTIME"] = str(1795341600000000 + n)
        stdin += b"\n" + _block(values)
    result = run(site, raw_stdin=stdin)
    no_crash(result)
    delivered = {e["body"]["alertKey"].split("/")[2] for e in posted(standin)}
    assert {"good00", "good99"} <= delivered, result.output
    assert len(result.lines) <= len(hosts) + 1, result.output  # one line per notification, one summary
    assert result.lines[-1].startswith("cmk_ilert: bulk: %d notifications" % len(hosts)), result.output
    assert delivered == set(hosts), "odd but readable contexts are delivered too: %s" % result.output


@pytest.mark.parametrize("name", [n for n in sorted(ODD) if n not in ("value-two-megabytes", "name-huge")])
def test_a_single_notification_with_odd_input_is_delivered(site, standin, name):
    """As environment variables (bytes, the way a core that passes Latin-1 through sets them)."""
    ctx = notification(standin.url)
    env = {("NOTIFY_%s" % k).encode(): v.encode() for k, v in ctx.items()}
    for key, value in ODD[name].items():
        key = key if isinstance(key, bytes) else key.encode()
        value = value if isinstance(value, bytes) else value.encode()
        if b"\x00" in value:
            value = value.replace(b"\x00", b"")  # an environment cannot hold NUL
        env[b"NOTIFY_" + key] = value
    result = run(site, bytes_env=env)
    no_crash(result)
    assert result.returncode == 0, result.output
    assert len(posted(standin)) == 1


CASES = ("delivered", "queued", "rejected", "config-error")


def _case_context(case, standin, echo):
    if case == "delivered":
        return notification(standin.url), 0
    if case == "queued":
        standin.stop()
        return notification(standin.url, timeout="1"), 1
    if case == "rejected":
        return notification(echo.url), 2
    return notification(standin.url, ilert_source_type="nonsense"), 2


@pytest.mark.parametrize("stdout", ["closed", "broken"])
@pytest.mark.parametrize("case", CASES)
def test_a_closed_or_broken_stdout_never_raises_and_the_exit_code_tells(site, standin, case, stdout):
    with Echo(status=400) as echo:
        ctx, code = _case_context(case, standin, echo)
        result = run(site, context=ctx, stdout=stdout)
    no_crash(result)
    assert result.run.stderr == "", result.run.stderr
    assert result.returncode == code


@pytest.mark.parametrize("stdout", ["closed", "broken"])
def test_a_bulk_and_the_commands_with_a_broken_stdout(site, standin, stdout):
    bulk = [notification(standin.url, host="b%03d" % n, n=n) for n in range(40)]
    result = run(site, bulk=bulk, stdout=stdout)
    no_crash(result)
    assert result.returncode == 0 and result.run.stderr == "" and len(posted(standin)) == 40
    run(site, context=notification(standin.url, host="bad", ilert_source_type="nonsense"))  # a dead letter
    for args, code in ((("status",), 2), (("status", "--json"), 2), (("status", "--local-check"), 2),
                       (("flush", "--now"), 0)):
        other = run(site, *args, stdout=stdout)
        no_crash(other)
        assert other.returncode == code and other.run.stderr == "", (args, other.output)


@pytest.mark.parametrize("args", [("--help",), ("--version",)], ids=["help", "version"])
def test_help_and_version_into_a_broken_pipe(site, args):
    result = run(site, *args, stdout="broken")
    no_crash(result)
    assert result.returncode == 0 and result.run.stderr == "", result.output
