"""The manifest model (rules of Checkmk 2.0-2.5) and which artifact a release admits."""

from __future__ import annotations

import ast
import tarfile
from pathlib import Path
from typing import Any

import pytest

from mkp.manifest import Manifest, ManifestError, admitting

# Every release line from 2.0.0 on with its betas, GA, early and late patches (and innovation
# builds). The 2.0.0 betas are below min_required 2.0.0: pre-releases of 2.0 are not supported.
RELEASE_VERSIONS = [
    *(f"2.0.0{s}" for s in ("", "p1", "p38")),
    *(f"2.1.0{s}" for s in ("b1", "", "p20", "p21", "p49")),
    *(f"2.2.0{s}" for s in ("i1", "i1p2", "b1", "", "p1", "p40")),
    *(f"2.3.0{s}" for s in ("b1", "b6", "", "p3", "p27", "p40")),
    *(f"2.4.0{s}" for s in ("b1", "", "p1", "p3", "p20", "p99")),
    *(f"2.5.0{s}" for s in ("i1", "b1", "b9", "", "p1", "p4", "p30")),
]
LATER_VERSIONS = ["2.6.0b1", "2.6.0", "3.0.0"]
OLDER_VERSIONS = ["1.6.0p30", "2.0.0i1", "2.0.0b1", "2.0.0b8"]


def valid(**changes: Any) -> dict[str, Any]:
    info: dict[str, Any] = {
        "title": "iLert notifications (cmk_ilert)",
        "name": "cmk_ilert",
        "description": "Sends notifications to iLert.",
        "version": "1.2.3-legacy",
        "version.packaged": "2.0.0",
        "version.min_required": "2.0.0",
        "version.usable_until": "2.5.0i1",
        "author": "someone",
        "download_url": "",
        "files": {"notifications": ["cmk_ilert"], "lib": ["python3/cmk_ilert/__init__.py"]},
    }
    info.update(changes)
    return info


def rejected(info: dict[str, Any]) -> str:
    with pytest.raises(ManifestError) as caught:
        Manifest.model_validate(info)
    return str(caught.value)


def test_a_valid_manifest_round_trips() -> None:
    manifest = Manifest.model_validate(valid())
    info = manifest.to_info()
    assert info == valid()
    assert Manifest.model_validate(info) == manifest
    assert manifest.file_name == "cmk_ilert-1.2.3-legacy.mkp"


def test_usable_until_may_be_absent_or_none() -> None:
    without = valid()
    del without["version.usable_until"]
    assert Manifest.model_validate(without).usable_until is None
    assert Manifest.model_validate(valid(**{"version.usable_until": None})).usable_until is None


@pytest.mark.parametrize("name", ["1ilert", "-ilert", "cmk ilert", "cmk/ilert", "", "cmk.ilert"])
def test_bad_names_are_rejected(name: str) -> None:
    assert "invalid package name" in rejected(valid(name=name))


@pytest.mark.parametrize("name", ["cmk_ilert", "_x", "a-b", "Ilert2"])
def test_good_names_pass(name: str) -> None:
    Manifest.model_validate(valid(name=name))


def test_version_with_slash_is_rejected() -> None:
    assert "must not contain '/'" in rejected(valid(version="1.2.3/legacy"))


@pytest.mark.parametrize("version", ["1.2", "v1.2.3", "1.2.3.4", "01.2.3", "1.2.3-", "1.2.3-a..b"])
def test_non_semver_versions_are_rejected(version: str) -> None:
    assert "not a semantic version" in rejected(valid(version=version))


@pytest.mark.parametrize("version", ["0.1.0", "1.2.3", "1.2.3-legacy", "1.2.3-rc.1+build.5"])
def test_semver_versions_pass(version: str) -> None:
    Manifest.model_validate(valid(version=version))


@pytest.mark.parametrize(
    ("min_required", "until", "first_refusing_release"),
    [
        ("2.0.0", "2.5.0i1", "2.0"),
        ("2.2.0", "2.5.0i1", "2.2"),
        ("2.2.0p30", None, "2.2"),
        ("2.2.0p30", "2.3.0i1", "2.2"),
    ],
)
def test_a_part_unknown_to_an_admitted_release_is_rejected(
    min_required: str, until: str | None, first_refusing_release: str
) -> None:
    info = valid(**{"version.min_required": min_required, "version.usable_until": until})
    info["files"]["cmk_addons_plugins"] = ["cmk_ilert/rulesets/cmk_ilert.py"]
    assert f"unknown to Checkmk {first_refusing_release}" in rejected(info)


@pytest.mark.parametrize("min_required", ["2.3.0i1", "2.3.0b1", "2.3.0", "2.5.0i1"])
def test_plugin_parts_are_fine_from_2_3_on(min_required: str) -> None:
    """2.3.0i1 is the lowest 2.3 version: no 2.2 release is in the range."""
    info = valid(**{"version.min_required": min_required, "version.usable_until": None})
    info["files"]["cmk_addons_plugins"] = ["cmk_ilert/rulesets/cmk_ilert.py"]
    info["files"]["cmk_plugins"] = ["x/rulesets/y.py"]
    releases = [r.line for r in Manifest.model_validate(info).releases]
    assert releases[0] == min_required[:3] and releases[-1] == "2.5"


def test_a_part_no_release_knows_is_rejected() -> None:
    info = valid()
    info["files"]["pnp-rraconf"] = ["x.rra"]
    assert "unknown part 'pnp-rraconf'" in rejected(info)


@pytest.mark.parametrize(
    "field",
    [
        "title",
        "name",
        "description",
        "version",
        "version.packaged",
        "version.min_required",
        "author",
        "download_url",
        "files",
    ],
)
def test_missing_fields_are_rejected(field: str) -> None:
    info = valid()
    del info[field]
    assert "Field required" in rejected(info)


@pytest.mark.parametrize("field", ["title", "description", "author", "version.packaged"])
def test_empty_descriptive_fields_are_rejected(field: str) -> None:
    rejected(valid(**{field: ""}))


@pytest.mark.parametrize("packaged", ["cmk_ilert mkp/build.py", "2.4", "v2.4.0"])
def test_version_packaged_must_be_a_checkmk_version(packaged: str) -> None:
    # Checkmk writes its own version there (cmk_version.__version__ of the packing site)
    assert "not a Checkmk release version" in rejected(valid(**{"version.packaged": packaged}))


def test_version_packaged_accepts_checkmk_versions() -> None:
    for packaged in ("2.0.0", "2.4.0p12", "2.5.0b1"):
        Manifest.model_validate(valid(**{"version.packaged": packaged}))


def test_extra_keys_such_as_num_files_are_rejected() -> None:
    assert "num_files" in rejected(valid(num_files=2))


@pytest.mark.parametrize(
    ("min_required", "until"),
    [("2.5.0", "2.5.0"), ("2.5.0", "2.4.0p9"), ("2.5.0b1", "2.5.0i1"), ("2.4.0p1", "2.4.0")],
)
def test_min_required_must_be_below_usable_until(min_required: str, until: str) -> None:
    info = valid(**{"version.min_required": min_required, "version.usable_until": until})
    assert "must be below usable_until" in rejected(info)


@pytest.mark.parametrize("value", ["2.0", "2", "2.4.0x1", "2.4.0-2024.01.01", "latest", "2.4.0p"])
def test_checkmk_versions_must_parse(value: str) -> None:
    assert "not a Checkmk release version" in rejected(valid(**{"version.min_required": value}))
    assert "not a Checkmk release version" in rejected(valid(**{"version.usable_until": value}))


def test_min_required_below_2_0_is_outside_the_model() -> None:
    assert "older than Checkmk 2.0" in rejected(valid(**{"version.min_required": "1.6.0p30"}))


@pytest.mark.parametrize(
    "files",
    [
        {},
        {"lib": []},
        {"lib": ["python3/a.py", "python3/a.py"]},
        {"lib": ["/etc/passwd"]},
        {"lib": ["python3/../../etc/passwd"]},
        {"lib": ["./python3/a.py"]},
        {"lib": ["python3//a.py"]},
        {"lib": ["python3/a.py/"]},
        {"lib": ["python3\\a.py"]},
        {"lib": [""]},
    ],
)
def test_bad_file_lists_are_rejected(files: dict[str, list[str]]) -> None:
    rejected(valid(files=files))


# --- which artifact admits which release ---------------------------------------------------------


def manifest_of(path: Path) -> Manifest:
    with tarfile.open(path, "r:gz") as outer:
        raw = outer.extractfile("info").read()  # type: ignore[union-attr]
    return Manifest.model_validate(ast.literal_eval(raw.decode("utf-8")))


@pytest.mark.parametrize("version", RELEASE_VERSIONS + LATER_VERSIONS)
def test_every_release_admits_exactly_one_artifact(built: Any, version: str) -> None:
    legacy, modern = manifest_of(built.legacy), manifest_of(built.modern)
    chosen = admitting([legacy, modern], version)
    assert len(chosen) == 1, version
    expected = legacy if version < "2.5" else modern  # plain string order suffices for these
    assert chosen[0] is expected, version


@pytest.mark.parametrize("version", OLDER_VERSIONS)
def test_releases_before_2_0_0_admit_neither(built: Any, version: str) -> None:
    assert admitting([manifest_of(built.legacy), manifest_of(built.modern)], version) == []


def test_the_two_ranges_touch_without_gap(built: Any) -> None:
    legacy, modern = manifest_of(built.legacy), manifest_of(built.modern)
    assert legacy.usable_until == modern.min_required
    assert [r.line for r in legacy.releases] == ["2.0", "2.1", "2.2", "2.3", "2.4"]
    assert [r.line for r in modern.releases] == ["2.5"]


def test_admits_accepts_parsed_versions(built: Any) -> None:
    from mkp.versions import CheckmkVersion

    assert manifest_of(built.modern).admits(CheckmkVersion.parse("2.5.0b1"))
    assert not manifest_of(built.legacy).admits(CheckmkVersion.parse("2.5.0b1"))
