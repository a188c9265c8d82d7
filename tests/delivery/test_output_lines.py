"""One line per event in notify.log, whatever the input or iLert's answer contains.

Checkmk reads the script's output in text mode (universal newlines), so a carriage return
splits a line just like a newline does.
"""

from __future__ import annotations

import pytest

from tests.delivery.conftest import no_traceback
from tests.support.contexts import checkmk_params, service

pytestmark = pytest.mark.runtime


def _lines(run):
    return [line for line in run.stdout.replace("\r", "\n").split("\n") if line]


@pytest.mark.parametrize("where", ["host name echoed by iLert", "notification type"])
def test_carriage_return_does_not_split_the_output_line(site, standin, where):
    """Regression (fixed in 7bfb076): Printer.line joined only '\\n'; the iLert reference it echoes
    (checkmk-ext incidentKey, from the host name) and an unknown type were printed raw."""
    params = checkmk_params(standin.url)
    if where == "notification type":
        ctx = service("PROBLEM\rcmk_ilert: fake line", params)
    else:
        ctx = service("PROBLEM", params, HOSTNAME="web\r01")
    run = site.run(ctx)
    no_traceback(run)
    assert run.returncode == 0, run.output
    assert len(_lines(run)) == 1, repr(run.stdout)
    assert all(ch >= " " for ch in run.stdout.rstrip("\n")), repr(run.stdout)


def test_newline_in_host_output_does_not_split_the_output_line(site, standin):
    params = checkmk_params(standin.url)
    run = site.run(service("PROBLEM", params, SERVICEOUTPUT="line one\nline two", HOSTNAME="web\n01"))
    no_traceback(run)
    assert run.returncode == 0, run.output
    assert len(_lines(run)) == 1, repr(run.stdout)
