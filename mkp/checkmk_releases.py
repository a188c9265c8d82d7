"""What each supported Checkmk release brings, as far as packaging and tests are concerned.

Sources (public, Checkmk/checkmk unless noted; details in docs/compatibility.md): site Python per
release from 2.0's ``Pipfile`` (3.8), 2.1's ``tests/integration/test_python.py`` (3.9), 2.2's
``defines.make`` (3.11), 2.3's ``package_versions.bzl`` (3.12.1), the handbook's major-update page
for 2.4 (3.12.3) and, for 2.5, a third-party package's notes (3.13; no 2.5 build file was
readable). The requests pins are the versions the test matrix installs (2.0's GA pin 2.22.0, the
others the release's bundled line). Part keys and site directories: the package tool's
``PackagePart`` enum and part paths (``packages/cmk-mkp-tool/cmk/mkp_tool/_mkp.py``,
``_parts.py``); install-time modes: ``mkp/README.md``.

Usage: ``from mkp.checkmk_releases import RELEASES, PART_DIRS``;
``RELEASES["2.0"].python == "3.8"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from mkp.versions import CheckmkVersion

# Part key -> installation directory below $OMD_ROOT. Member names inside a part are relative to it.
PART_DIRS: Mapping[str, str] = MappingProxyType(
    {
        "agent_based": "local/lib/python3/cmk/base/plugins/agent_based",
        "agents": "local/share/check_mk/agents",
        "alert_handlers": "local/share/check_mk/alert_handlers",
        "bin": "local/bin",
        "checkman": "local/share/check_mk/checkman",
        "checks": "local/share/check_mk/checks",
        "cmk_addons_plugins": "local/lib/python3/cmk_addons/plugins",
        "cmk_plugins": "local/lib/python3/cmk/plugins",
        "doc": "local/share/doc/check_mk",
        "ec_rule_packs": "etc/check_mk/mkeventd.d/mkp/rule_packs",
        "gui": "local/lib/python3/cmk/gui/plugins",
        "inventory": "local/share/check_mk/inventory",
        "lib": "local/lib",
        "locales": "local/share/check_mk/locale",
        "mibs": "local/share/snmp/mibs",
        "notifications": "local/share/check_mk/notifications",
        "pnp-templates": "local/share/check_mk/pnp-templates",
        "web": "local/share/check_mk/web",
    }
)

# Parts every release 2.0+ knows; 2.3 added the two plugin-family parts.
_PARTS_2_0 = frozenset(PART_DIRS) - {"cmk_plugins", "cmk_addons_plugins"}
_PARTS_2_3 = frozenset(PART_DIRS)

# Parts whose files Checkmk makes executable after extraction (plus the special cases below).
_EXECUTABLE_PARTS = frozenset({"agents", "alert_handlers", "bin", "notifications"})


@dataclass(frozen=True)
class Release:
    """One Checkmk release line (e.g. ``2.4``)."""

    line: str
    python: str
    requests: str
    parts: frozenset[str]
    # 2.2+: the manifest is parsed into a pydantic model on `mkp add`; an unknown part key fails
    # the whole manifest. 2.0/2.1 read a plain dict and skip unknown part keys.
    strict_manifest: bool
    # 2.3+: installed files are chmod'ed 0700/0600 instead of 0755/0644.
    private_modes: bool

    @property
    def first_version(self) -> CheckmkVersion:
        """The lowest version of this line (``X.Y.0i1``, below every beta and release)."""
        major, minor = self.line.split(".")
        return CheckmkVersion.first_of_line(int(major), int(minor))

    @property
    def release_version(self) -> CheckmkVersion:
        """The GA release ``X.Y.0``."""
        return CheckmkVersion.parse(f"{self.line}.0")

    def file_mode(self, part: str, name: str) -> int:
        """The mode Checkmk gives an installed file of ``part`` with member name ``name``."""
        executable = (
            part in _EXECUTABLE_PARTS
            or (part == "lib" and name.startswith("nagios/plugins/"))
            or (self.private_modes and part in ("cmk_plugins", "cmk_addons_plugins") and "/libexec/" in f"/{name}")
        )
        if self.private_modes:
            return 0o700 if executable else 0o600
        return 0o755 if executable else 0o644


RELEASES: Mapping[str, Release] = MappingProxyType(
    {
        r.line: r
        for r in (
            Release("2.0", "3.8", "2.22.0", _PARTS_2_0, strict_manifest=False, private_modes=False),
            Release("2.1", "3.9", "2.27.1", _PARTS_2_0, strict_manifest=False, private_modes=False),
            Release("2.2", "3.11", "2.28.1", _PARTS_2_0, strict_manifest=True, private_modes=False),
            Release("2.3", "3.12", "2.31.0", _PARTS_2_3, strict_manifest=True, private_modes=True),
            Release("2.4", "3.12", "2.32.3", _PARTS_2_3, strict_manifest=True, private_modes=True),
            Release("2.5", "3.13", "2.32.3", _PARTS_2_3, strict_manifest=True, private_modes=True),
        )
    }
)

OLDEST: Release = next(iter(RELEASES.values()))
NEWEST: Release = list(RELEASES.values())[-1]


class UnknownReleaseError(ValueError):
    """The version belongs to no release line in ``RELEASES``."""


def release_for(version: str | CheckmkVersion) -> Release:
    """The release line of a Checkmk version (``"2.4.0p3"`` -> ``RELEASES["2.4"]``)."""
    parsed = CheckmkVersion.coerce(version)
    try:
        return RELEASES[parsed.line]
    except KeyError:
        raise UnknownReleaseError(f"Checkmk {parsed} is not in the supported releases {', '.join(RELEASES)}") from None


def releases_between(min_required: CheckmkVersion, usable_until: CheckmkVersion | None) -> tuple[Release, ...]:
    """Release lines with at least one version ``v`` where ``min_required <= v < usable_until``.

    The newest line stands for itself and every later release (assumption: a future release knows
    at least the parts of the newest known one).
    """
    lines = list(RELEASES.values())
    ends: list[CheckmkVersion | None] = [r.first_version for r in lines[1:]] + [None]
    return tuple(
        release
        for release, end in zip(lines, ends)
        if (usable_until is None or release.first_version < usable_until) and (end is None or min_required < end)
    )
