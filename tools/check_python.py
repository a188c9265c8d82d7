"""Refuse a Python too old for the build and test tooling, in one line (``make setup`` runs this).

The tooling (pytest, pydantic, the iLert stand-in, the MKP builder) needs Python 3.10+:
trustme==1.2.1 does not install on 3.8, and the stand-in's pydantic schema evaluates
``str | None`` at run time, which 3.9 cannot. The code that runs on a Checkmk site needs only
3.8+ and is tested under each release's own Python by tools/matrix.py.

Prints nothing and exits 0 when the interpreter is fit; else prints one line and exits 1.
Kept to syntax that even a very old interpreter parses, so it can say so.
"""

import sys

MINIMUM = (3, 10)


def problem(name):
    found = "%d.%d.%d" % tuple(sys.version_info[:3])
    if tuple(sys.version_info[:2]) < MINIMUM:
        return ("the tooling needs Python %d.%d+ (the site runtime only 3.8+), but %s is %s; "
                "run e.g. make PYTHON=python3.11 setup" % (MINIMUM + (name, found)))
    try:
        import ensurepip  # noqa: F401 - Debian and Ubuntu ship it in python3-venv
        import venv  # noqa: F401
    except ImportError:
        return ("%s (%s) has no venv/ensurepip module: install python3-venv (Debian/Ubuntu: "
                "apt install python%d.%d-venv), or run e.g. make PYTHON=python3.11 setup"
                % ((name, found) + tuple(sys.version_info[:2])))
    return ""


if __name__ == "__main__":
    message = problem(sys.argv[1] if len(sys.argv) > 1 else sys.executable)
    if message:
        sys.stdout.write(message + "\n")
        sys.exit(1)
