"""The notification script end to end: one PROBLEM reaches the stand-in."""

from __future__ import annotations

import pytest

from tests.support.contexts import api_params, service

pytestmark = pytest.mark.runtime


def test_problem_opens_an_alert(site, standin):
    run = site.run(service("PROBLEM", api_params(standin.url)))
    assert run.returncode == 0, run.output
    assert "delivered" in run.stdout
    alerts = standin.alerts()
    assert [a["status"] for a in alerts] == ["PENDING"]
    assert alerts[0]["key"] == "cmk/mysite/web01/cpu load~f26268fd97"


def test_bulk_with_a_non_ascii_digit_microtime_is_delivered(site, standin):
    """'²'.isdigit() is True but int('²') fails: the order key must not crash a bulk."""
    params = api_params(standin.url)
    contexts = [service("PROBLEM", {}, HOSTNAME="h1", MICROTIME="²"), service("PROBLEM", {}, HOSTNAME="h2")]
    run = site.run(bulk=contexts, bulk_parameters=params)
    assert run.returncode == 0, run.output
    assert "internal error" not in run.output
    assert sorted(a["key"] for a in standin.alerts()) == ["cmk/mysite/h1/cpu load~f5c34f783c",
                                                           "cmk/mysite/h2/cpu load~c36fd73f4e"]
