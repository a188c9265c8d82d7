"""The interpreter matrix skips only runtime tests whose lines and branches others reach.

tools/matrix_subset.py measures it (minutes: not here); these check what can be checked fast:
the set cover itself, the list against the tests that exist, and the marker reaching pytest.
Whether the list was measured on the runtime as it is, the matrix table says (tools/matrix.py; a
stale list fails CI).
"""

from __future__ import annotations

import subprocess
import sys
from typing import Dict, FrozenSet, List

import pytest

from tests.support.site import REPO
from tools import matrix_subset
from tools.matrix_subset import ALWAYS, cover

ARCS: Dict[str, FrozenSet[matrix_subset.Arc]] = {
    "tests/a.py::big": frozenset({("m", 1, 2), ("m", 2, 3), ("m", 3, 4)}),
    "tests/a.py::same_as_big": frozenset({("m", 1, 2), ("m", 2, 3), ("m", 3, 4)}),
    "tests/a.py::part": frozenset({("m", 1, 2)}),
    "tests/a.py::unique": frozenset({("m", 9, 10)}),
    "tests/a.py::unmeasured": frozenset(),
    ALWAYS[0] + "::kept": frozenset({("m", 1, 2)}),
}


def collect(*marker: str) -> List[str]:
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--co", "-q", *marker],
                          cwd=str(REPO), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return [line for line in proc.stdout.splitlines() if "::" in line]


def test_the_cover_reaches_every_arc_and_keeps_what_it_cannot_judge() -> None:
    chosen = cover(ARCS, {t: 1.0 for t in ARCS})
    reached = set().union(*(ARCS[t] for t in chosen))
    assert reached == set().union(*ARCS.values())
    assert "tests/a.py::unique" in chosen
    assert "tests/a.py::unmeasured" in chosen  # no data: kept per release
    assert ALWAYS[0] + "::kept" in chosen  # a family kept whatever its coverage
    assert "tests/a.py::part" not in chosen  # all it reaches, others reach
    assert ("tests/a.py::big" in chosen) != ("tests/a.py::same_as_big" in chosen)


def test_the_cover_prefers_the_cheaper_of_two_equal_tests() -> None:
    seconds = {t: 1.0 for t in ARCS}
    seconds["tests/a.py::big"] = 30.0
    assert "tests/a.py::same_as_big" in cover(ARCS, seconds)
    assert "tests/a.py::big" not in cover(ARCS, seconds)


@pytest.fixture(scope="module")
def listed() -> List[str]:
    names = sorted(matrix_subset.listed())
    assert names, "tests/support/matrix_repeat_not.txt is missing or empty"
    return names


def test_the_list_names_only_runtime_tests_that_exist_and_none_kept_always(listed: List[str]) -> None:
    runtime = set(collect("-m", "runtime and not slow"))
    assert set(listed) <= runtime, sorted(set(listed) - runtime)[:5]
    assert not [t for t in listed if t.split("::")[0] in ALWAYS]


def test_the_releases_run_the_runtime_tests_but_the_listed_ones(listed: List[str]) -> None:
    sys.path.insert(0, str(REPO))
    from noxfile import MATRIX_TESTS  # lazy: the noxfile needs nox, the dev venv has it

    runtime = set(collect("-m", "runtime and not slow"))
    per_release = set(collect("-m", MATRIX_TESTS))
    assert per_release == runtime - set(listed)
    assert 0 < len(per_release) < len(runtime)

