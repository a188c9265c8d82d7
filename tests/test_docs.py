"""The docs match the code: every contract parameter is documented, commands exist."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: Every rule parameter the product offers (the same keys in both GUI forms).
KNOWN_KEYS = [
    "ilert_api_key", "ilert_source_type", "ilert_api_url", "ilert_priority", "ilert_summary_host",
    "ilert_summary_service", "ilert_details_host", "ilert_details_service", "url_prefix", "proxy_url",
    "ignore_ssl", "timeout", "forward_custom", "routing_key", "outbox", "rate_limit",
    "comment_events", "coalesce", "inventory_facts", "routing_key_fallback", "ilert_severity",
    "ilert_services", "runbook_links", "graph_link", "accept_comments",
]


def test_the_configuration_reference_lists_no_unknown_parameter():
    text = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", text, re.M))
    assert documented <= set(KNOWN_KEYS), sorted(documented - set(KNOWN_KEYS))


@pytest.mark.parametrize("key", KNOWN_KEYS)
def test_every_parameter_is_in_the_configuration_reference(key):
    assert "`%s`" % key in (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")


def test_readme_quick_start_has_exactly_two_commands_and_ci_runs_the_second():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    commands = [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]
    assert len(commands) == 2
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci.splitlines()


def test_version_in_changelog_and_cli():
    sys.path.insert(0, str(REPO / "src"))
    from cmk_ilert import __version__

    assert "## [%s]" % __version__ in (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "cmk_ilert", "--version"], capture_output=True, text=True,
                         env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "cmk_ilert %s" % __version__


def _readme_section(title: str) -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    return readme.split("## %s\n" % title, 1)[1].split("\n## ", 1)[0]


def test_readme_states_the_tooling_floor_that_make_setup_enforces():
    sys.path.insert(0, str(REPO))
    from tools.check_python import MINIMUM

    section = _readme_section("Quick start")
    assert "`python3` %d.%d or newer with `venv`" % MINIMUM in section
    assert "the code\nthat runs on a site needs only 3.8+" in section
    assert "make PYTHON=python3.11" in section


def test_readme_how_this_is_verified_links_the_live_site_checklist():
    section = _readme_section("How this is verified")
    link = re.search(r"\(docs/compatibility\.md#([a-z-]+)\)", section)
    assert link is not None
    headings = re.findall(r"^## (.+)$", (REPO / "docs" / "compatibility.md").read_text(encoding="utf-8"), re.M)
    assert link.group(1) in [h.lower().replace(" ", "-") for h in headings]
    assert (REPO / "docs" / "site-cron.md").exists()
