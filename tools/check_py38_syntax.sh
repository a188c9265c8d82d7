#!/bin/sh
# Runtime code must parse on the oldest site Python (Checkmk 2.0 ships 3.8).
# Uses a working Python 3.8 when the machine has one, else ast.parse(feature_version=(3, 8)).
set -eu
cd "$(dirname "$0")/.."
files="notifications/cmk_ilert $(find src/cmk_ilert web cmk_addons_plugins -name '*.py' | sort)"
py38=""
for candidate in "$(pyenv root 2>/dev/null)"/versions/3.8.*/bin/python3.8 "$(command -v python3.8 || true)"; do
  if [ -z "$py38" ] && [ -x "$candidate" ] && "$candidate" -c pass >/dev/null 2>&1; then py38="$candidate"; fi
done
if [ -n "$py38" ]; then
  echo "Python 3.8 syntax check with $py38"
  "$py38" - $files <<'PY'
import sys
for f in sys.argv[1:]:
    compile(open(f, encoding="utf-8").read(), f, "exec")
PY
else
  echo "NOTE: no working python3.8; checking with ast.parse(feature_version=(3, 8)) instead"
  .venv/bin/python - $files <<'PY'
import ast, sys
for f in sys.argv[1:]:
    ast.parse(open(f, encoding="utf-8").read(), f, feature_version=(3, 8))
PY
fi
