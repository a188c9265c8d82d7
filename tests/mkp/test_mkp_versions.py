"""Checkmk version ordering, semver checks and the release table."""

from __future__ import annotations

import pytest

from mkp.checkmk_releases import (
    PART_DIRS,
    RELEASES,
    UnknownReleaseError,
    release_for,
    releases_between,
)
from mkp.versions import CheckmkVersion, is_release_semver, is_semver, semver_key

ASCENDING = [
    "2.2.0i1",
    "2.2.0i1p3",
    "2.2.0i2",
    "2.2.0b1",
    "2.2.0b10",
    "2.2.0",
    "2.2.0p1",
    "2.2.0p9",
    "2.2.0p10",
    "2.2.1",
    "2.3.0i1",
    "2.3.0b1",
    "2.4.0p99",
    "2.5.0i1",
    "2.5.0b1",
    "2.5.0",
    "2.10.0",
    "10.0.0",
]


def test_checkmk_versions_order_like_checkmk() -> None:
    parsed = [CheckmkVersion.parse(v) for v in ASCENDING]
    assert sorted(reversed(parsed)) == parsed
    assert all(a < b for a, b in zip(parsed, parsed[1:]))


def test_release_equals_p0_and_round_trips() -> None:
    assert CheckmkVersion.parse("2.4.0") == CheckmkVersion.parse("2.4.0p0")
    assert len({CheckmkVersion.parse("2.4.0"), CheckmkVersion.parse("2.4.0p0")}) == 1
    for text in ASCENDING:
        assert str(CheckmkVersion.parse(text)) == text
    assert CheckmkVersion.parse("2.4.0p3").line == "2.4"


@pytest.mark.parametrize(
    "text",
    [
        "2.4",
        "2.4.0.1",
        "2.4.0x1",
        "2.4.0b",
        "2.4.0p1p2",
        "2.4.0b1p2",
        "02.4.0",
        " 2.4.0",
        "2.4.0-2024.01.01",
        "2.4.0p3.cee",
        "",
    ],
)
def test_unparsable_checkmk_versions(text: str) -> None:
    with pytest.raises(ValueError, match="not a Checkmk release version"):
        CheckmkVersion.parse(text)


def test_first_of_line_is_below_every_beta() -> None:
    first = CheckmkVersion.first_of_line(2, 5)
    assert str(first) == "2.5.0i1"
    assert CheckmkVersion.parse("2.4.0p99") < first <= CheckmkVersion.parse("2.5.0b1")


def test_semver() -> None:
    assert is_semver("1.2.3") and is_semver("1.2.3-legacy") and is_semver("1.2.3-rc.1+b.2")
    assert not is_semver("1.2") and not is_semver("1.2.3/x") and not is_semver("01.2.3")
    assert is_release_semver("1.2.3")
    assert not is_release_semver("1.2.3-legacy") and not is_release_semver("1.2.3+b")
    with pytest.raises(ValueError, match="not a semantic version"):
        semver_key("1.2")


def test_package_versions_of_both_lines_order_for_upgrades() -> None:
    """The legacy build sorts just below the modern one of the same version, above older ones."""
    ordered = ["1.1.0-legacy", "1.1.0", "1.2.0-legacy", "1.2.0", "1.10.0-legacy", "1.10.0"]
    assert sorted(ordered, key=semver_key) == ordered
    # semver.org example chain
    chain = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
    ]
    assert sorted(reversed(chain), key=semver_key) == chain


def test_release_table() -> None:
    table = {line: (r.python, r.requests) for line, r in RELEASES.items()}
    assert table == {
        "2.0": ("3.8", "2.22.0"),
        "2.1": ("3.9", "2.27.1"),
        "2.2": ("3.11", "2.28.1"),
        "2.3": ("3.12", "2.31.0"),
        "2.4": ("3.12", "2.32.3"),
        "2.5": ("3.13", "2.32.3"),
    }
    for line, release in RELEASES.items():
        knows_plugins = line >= "2.3"
        assert ("cmk_addons_plugins" in release.parts) is knows_plugins
        assert ("cmk_plugins" in release.parts) is knows_plugins
        assert {"notifications", "lib", "web"} <= release.parts
        assert release.strict_manifest is (line >= "2.2")


def test_part_directories() -> None:
    assert PART_DIRS["notifications"] == "local/share/check_mk/notifications"
    assert PART_DIRS["lib"] == "local/lib"
    assert PART_DIRS["web"] == "local/share/check_mk/web"
    assert PART_DIRS["cmk_addons_plugins"] == "local/lib/python3/cmk_addons/plugins"
    assert all(not d.startswith("/") and not d.endswith("/") for d in PART_DIRS.values())


@pytest.mark.parametrize(
    ("line", "script", "other"),
    [("2.0", 0o755, 0o644), ("2.2", 0o755, 0o644), ("2.3", 0o700, 0o600), ("2.5", 0o700, 0o600)],
)
def test_installed_file_modes(line: str, script: int, other: int) -> None:
    release = RELEASES[line]
    assert release.file_mode("notifications", "cmk_ilert") == script
    assert release.file_mode("lib", "python3/cmk_ilert/__init__.py") == other
    assert release.file_mode("lib", "nagios/plugins/check_x") == script
    assert release.file_mode("web", "plugins/wato/cmk_ilert.py") == other
    assert release.file_mode("cmk_addons_plugins", "cmk_ilert/rulesets/cmk_ilert.py") == other


def test_release_for() -> None:
    assert release_for("2.4.0p20").line == "2.4"
    assert release_for(CheckmkVersion.parse("2.5.0b1")).line == "2.5"
    with pytest.raises(UnknownReleaseError, match="1.6.0"):
        release_for("1.6.0")
    with pytest.raises(UnknownReleaseError):
        release_for("3.0.0")


def test_releases_between() -> None:
    def lines(low: str, high: str | None) -> list[str]:
        until = None if high is None else CheckmkVersion.parse(high)
        return [r.line for r in releases_between(CheckmkVersion.parse(low), until)]

    assert lines("2.0.0", "2.5.0i1") == ["2.0", "2.1", "2.2", "2.3", "2.4"]
    assert lines("2.0.0", "2.5.0") == ["2.0", "2.1", "2.2", "2.3", "2.4", "2.5"]
    assert lines("2.5.0i1", None) == ["2.5"]
    assert lines("2.2.0p3", "2.3.0") == ["2.2", "2.3"]
    assert lines("3.0.0", None) == ["2.5"]  # later releases are represented by the newest line
