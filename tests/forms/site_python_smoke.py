"""A form path under the site Python of its Checkmk release, run by test_site_python.py.

``legacy``: Checkmk 2.0 / 2.1 (Python 3.8, 3.9): compile and exec the legacy form against the 2.0 /
2.1 doubles, flatten every value it can save like 2.0 / 2.1 do, parse it with ``parse_settings``.
``modern``: Checkmk 2.5 (Python 3.13): import the rulesets form against the 2.5 double, flatten every
value it can save like 2.5 does, parse it.
"""

import os
import py_compile
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(os.path.dirname(os.path.dirname(HERE)), "src"), HERE]

import doubles  # noqa: E402
from doubles import _legacy_core as core  # noqa: E402
from expect import expected_outcome, parsed_outcome  # noqa: E402
from flatten import flatten  # noqa: E402
from form_values import (  # noqa: E402
    combined_values,
    legacy_element_samples,
    modern_element_samples,
    one_element_values,
)


def _check(samples, release):
    count = 0
    for value in one_element_values(samples) + combined_values(samples):
        context = flatten(value, release, core.FAKE_GLOBAL_PROXIES)
        if parsed_outcome(context) != expected_outcome(value):
            raise SystemExit("MISMATCH %s %r" % (release, value))
        count += 1
    return count


def main(which):
    count = 0
    if which == "legacy":
        with tempfile.TemporaryDirectory() as tmp:
            py_compile.compile(doubles.LEGACY_FORM, cfile=os.path.join(tmp, "f.pyc"), doraise=True)
        for release in ("2.0", "2.1"):
            count += _check(legacy_element_samples(release), release)
    else:
        count += _check(modern_element_samples(), "2.5")
    print("ok %d %s" % (count, sys.version.split()[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
