"""Peak-RSS wrapper: ``python -I -S bench/rss.py OUT -- COMMAND [ARGS...]``.

Forks, execs COMMAND (stdin, stdout, stderr and the environment are inherited),
waits for exactly that child with ``os.wait4`` and writes
``{"returncode": N, "maxrss_kb": M}`` to the file OUT.

Why a wrapper: Linux carries the ``ru_maxrss`` of the forking process's memory
into a child at ``exec``, so a child forked by the (large) benchmark runner would
report at least the runner's size. Forked from this tiny interpreter (``-I -S``:
no site-packages, a few MB), the floor of the measurement is the wrapper's own
size, far below any Python that imports ``requests``. ``run.py`` reports that
floor (the wrapper around ``/bin/true``) next to the figures.

Standard library only; keep it import-light.
"""

import json
import os
import sys
from typing import List


def main(argv: List[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        sys.stderr.write("usage: rss.py OUT -- COMMAND [ARGS...]\n")
        return 2
    out, command = argv[0], argv[2:]
    pid = os.fork()
    if pid == 0:  # child: become COMMAND
        try:
            os.execvp(command[0], command)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    with open(out, "w") as handle:
        json.dump({"returncode": code, "maxrss_kb": usage.ru_maxrss}, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
