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
    assert alerts[0]["key"] == "cmk/mysite/web01/cpu load"
