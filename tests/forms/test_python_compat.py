"""The code that runs on a site parses with the newest Python grammar available here and uses no
module or API that Python 3.12, 3.13 or 3.14 removed.

Checkmk 2.5 ships Python 3.13 and the main branch already needs the 3.14 grammar (its package
tool uses ``except A, B:``, PEP 758; facts ``master.py``). No 3.14 interpreter is installed here
and CPython is not on the package index, so: (1) every file is compiled by the newest interpreter
found (warnings are errors, so a 3.14 SyntaxWarning-to-be is caught where the interpreter knows
it), (2) a static walk rejects what 3.14 warns about (PEP 765: return/break/continue leaving a
``finally``) and every removed module/attribute listed below.
"""

from __future__ import annotations

import ast
import glob
import os
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SITE_CODE = sorted(
    [os.path.join(REPO, "notifications", "cmk_ilert"), os.path.join(REPO, "web", "plugins", "wato", "cmk_ilert.py")]
    + glob.glob(os.path.join(REPO, "src", "cmk_ilert", "**", "*.py"), recursive=True)
    + glob.glob(os.path.join(REPO, "cmk_addons_plugins", "cmk_ilert", "rulesets", "*.py"))
)

#: modules removed from the standard library, with the release and the source
REMOVED_MODULES = {
    # PEP 632 / What's New in Python 3.12
    "distutils": "3.12 (PEP 632)",
    "imp": "3.12 (What's New in Python 3.12)",
    "asynchat": "3.12 (PEP 594)",
    "asyncore": "3.12 (PEP 594)",
    "smtpd": "3.12 (PEP 594)",
    # PEP 594 "dead batteries", removed in 3.13
    **{
        name: "3.13 (PEP 594)"
        for name in (
            "aifc",
            "audioop",
            "cgi",
            "cgitb",
            "chunk",
            "crypt",
            "imghdr",
            "mailcap",
            "msilib",
            "nis",
            "nntplib",
            "ossaudiodev",
            "pipes",
            "sndhdr",
            "spwd",
            "sunau",
            "telnetlib",
            "uu",
            "xdrlib",
        )
    },
    "lib2to3": "3.13 (What's New in Python 3.13)",
    "tkinter.tix": "3.13 (What's New in Python 3.13)",
    "typing.io": "3.13 (What's New in Python 3.13)",
    "typing.re": "3.13 (What's New in Python 3.13)",
}
#: attributes removed from modules that still exist
REMOVED_ATTRIBUTES = {
    ("locale", "resetlocale"): "3.13",
    ("unittest", "makeSuite"): "3.13",
    ("unittest", "findTestCases"): "3.13",
    ("unittest", "getTestCaseNames"): "3.13",
    ("configparser", "LegacyInterpolation"): "3.13",
    ("re", "template"): "3.13",
    ("ast", "Num"): "3.14",
    ("ast", "Str"): "3.14",
    ("ast", "Bytes"): "3.14",
    ("ast", "NameConstant"): "3.14",
    ("ast", "Ellipsis"): "3.14",
    ("pkgutil", "find_loader"): "3.14",
    ("pkgutil", "get_loader"): "3.14",
    ("urllib.request", "URLopener"): "3.14",
    ("urllib.request", "FancyURLopener"): "3.14",
    ("sqlite3", "version"): "3.14",
    ("sqlite3", "version_info"): "3.14",
    ("pty", "master_open"): "3.14",
    ("pty", "slave_open"): "3.14",
    ("importlib.abc", "ResourceReader"): "3.14",
    ("importlib.abc", "Traversable"): "3.14",
    ("importlib.abc", "TraversableResources"): "3.14",
    ("asyncio", "get_child_watcher"): "3.14",
    ("asyncio", "set_child_watcher"): "3.14",
}


def _read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _newest_python():
    found = []
    roots = [os.path.expanduser("~/.pyenv/versions"), "/root/.pyenv/versions"]
    for root in roots:
        for exe in glob.glob(os.path.join(root, "3.*", "bin", "python3")):
            version = exe.split(os.sep)[-3]
            try:
                key = tuple(int(part) for part in version.split(".")[:3])
            except ValueError:
                continue
            found.append((key, exe))
    return max(found)[1] if found else None


def test_the_list_of_files_covers_runtime_and_both_forms():
    names = {os.path.relpath(path, REPO) for path in SITE_CODE}
    assert "notifications/cmk_ilert" in names and "web/plugins/wato/cmk_ilert.py" in names
    assert "cmk_addons_plugins/cmk_ilert/rulesets/cmk_ilert.py" in names
    assert "src/cmk_ilert/checkmk/params.py" in names and "src/cmk_ilert/notify/run.py" in names
    assert len(names) > 40


def test_compiles_with_the_newest_interpreter_warnings_as_errors():
    python = _newest_python()
    if python is None:
        pytest.skip("no pyenv interpreter found")
    script = (
        "import sys, warnings\n"
        "warnings.simplefilter('error')\n"
        "for path in sys.argv[1:]:\n"
        "    compile(open(path, encoding='utf-8').read(), path, 'exec')\n"
        "print('.'.join(map(str, sys.version_info[:2])))\n"
    )
    result = subprocess.run(
        [python, "-c", script] + SITE_CODE, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert tuple(int(x) for x in result.stdout.strip().split(".")) >= (3, 13)


def _imports(tree):
    """(module, attribute-or-None) pairs the code imports or reads, with module aliases."""
    aliases = {}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append((alias.name, None))
                aliases[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.module, None))
            for alias in node.names:
                found.append((node.module, alias.name))
                found.append((node.module + "." + alias.name, None))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            found.append((aliases[node.value.id], node.attr))
    return found


@pytest.mark.parametrize("path", SITE_CODE, ids=lambda p: os.path.relpath(p, REPO))
def test_uses_no_module_or_api_removed_up_to_314(path):
    tree = ast.parse(_read(path), path)
    problems = []
    for module, attribute in _imports(tree):
        if module in REMOVED_MODULES:
            problems.append("%s (removed in %s)" % (module, REMOVED_MODULES[module]))
        if attribute is not None and (module, attribute) in REMOVED_ATTRIBUTES:
            problems.append("%s.%s (removed in %s)" % (module, attribute, REMOVED_ATTRIBUTES[(module, attribute)]))
    assert not problems, problems


class _FinallyExit(ast.NodeVisitor):
    """PEP 765 (3.14): return/break/continue that leave a ``finally`` block warn."""

    def __init__(self):
        self.found = []
        self._finally = 0
        self._loop_in_finally = []

    def visit_Try(self, node):
        for child in node.body + node.handlers + node.orelse:
            self.visit(child)
        self._finally += 1
        self._loop_in_finally.append(0)
        for child in node.finalbody:
            self.visit(child)
        self._loop_in_finally.pop()
        self._finally -= 1

    visit_TryStar = visit_Try

    def _scope(self, node):
        saved = (self._finally, self._loop_in_finally)
        self._finally, self._loop_in_finally = 0, []
        self.generic_visit(node)
        self._finally, self._loop_in_finally = saved

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = visit_ClassDef = _scope

    def _loop(self, node):
        if self._loop_in_finally:
            self._loop_in_finally[-1] += 1
        self.generic_visit(node)
        if self._loop_in_finally:
            self._loop_in_finally[-1] -= 1

    visit_For = visit_While = visit_AsyncFor = _loop

    def visit_Return(self, node):
        if self._finally:
            self.found.append(node.lineno)

    def _jump(self, node):
        if self._finally and not self._loop_in_finally[-1]:
            self.found.append(node.lineno)

    visit_Break = visit_Continue = _jump


@pytest.mark.parametrize("path", SITE_CODE, ids=lambda p: os.path.relpath(p, REPO))
def test_no_return_break_continue_leaves_a_finally_block(path):
    visitor = _FinallyExit()
    visitor.visit(ast.parse(_read(path), path))
    assert not visitor.found, "%s lines %s (PEP 765)" % (path, visitor.found)


def test_the_checks_catch_what_they_look_for():
    bad = ast.parse("import imp\nimport ast\nx = ast.Num\nfrom cgi import escape\n")
    pairs = _imports(bad)
    assert ("imp", None) in pairs and ("ast", "Num") in pairs and ("cgi", None) in pairs
    visitor = _FinallyExit()
    visitor.visit(ast.parse("def f():\n    try:\n        pass\n    finally:\n        return 1\n"))
    assert visitor.found == [5]
    visitor = _FinallyExit()
    visitor.visit(
        ast.parse("for i in x:\n    try:\n        pass\n    finally:\n        for j in y:\n            break\n")
    )
    assert visitor.found == []
