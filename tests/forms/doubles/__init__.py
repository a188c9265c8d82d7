"""Doubles of Checkmk's GUI APIs per release, and loaders that use them like Checkmk does.

``installed(release)`` puts a fake ``cmk`` module tree for one release into ``sys.modules``
(and takes it out again). ``legacy_form(release)`` then execs
``web/plugins/wato/cmk_ilert.py`` the way ``load_web_plugins("wato", globals())`` does;
``modern_form()`` imports the rulesets module the way the 2.5 rulesets loader does and
collects its ``rule_spec_*`` variables. Python 3.8 compatible (the 2.0 path also runs there).
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import os
import sys
import types

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
LEGACY_FORM = os.path.join(REPO, "web", "plugins", "wato", "cmk_ilert.py")
MODERN_DIR = os.path.join(REPO, "cmk_addons_plugins", "cmk_ilert", "rulesets")
MODERN_MODULE = "cmk_addons.plugins.cmk_ilert.rulesets.cmk_ilert"

LEGACY_RELEASES = ("2.0", "2.1", "2.2", "2.3", "2.4")
ALL_RELEASES = LEGACY_RELEASES + ("2.5",)

_OWNED_PREFIXES = ("cmk", "cmk_addons")


def _release_module(release):
    name = "cmk" + release.replace(".", "")
    return importlib.import_module(__name__ + "." + name)


def build_tree(release, with_modern_form=False):
    """The fake modules of one release: {dotted name: module}, plus release facts."""
    module = _release_module(release)
    if release == "2.5":
        return module.build(with_modern_form=with_modern_form)
    return module.build()


def _owned(name):
    return any(name == prefix or name.startswith(prefix + ".") for prefix in _OWNED_PREFIXES)


@contextlib.contextmanager
def installed(release, with_modern_form=False):
    """Install the release's fake module tree; yield its ``Release`` facts."""
    saved = {name: mod for name, mod in sys.modules.items() if _owned(name)}
    for name in saved:
        del sys.modules[name]
    facts = build_tree(release, with_modern_form=with_modern_form)
    sys.modules.update(facts.modules)
    try:
        yield facts
    finally:
        for name in [name for name in sys.modules if _owned(name)]:
            del sys.modules[name]
        sys.modules.update(saved)


def wato_namespace(facts):
    """A fresh stand-in for the globals of ``cmk.gui.wato`` that plugins are exec'd into."""
    namespace = {"__name__": "cmk.gui.wato", "__builtins__": builtins}
    namespace.update(facts.wato_globals)
    return namespace


def exec_legacy_plugin(namespace, path=LEGACY_FORM):
    """``load_web_plugins``: ``exec(compile(f.read(), file_path, "exec"), globalvars)``."""
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    exec(compile(source, path, "exec"), namespace)  # noqa: S102 - what Checkmk does
    return namespace


class LegacyLoad(object):
    def __init__(self, facts, namespace):
        self.facts = facts
        self.namespace = namespace
        self.registry = facts.registry

    @property
    def registered(self):
        return sorted(self.registry.entries)

    def spec(self, method="cmk_ilert"):
        return self.facts.spec_of(method)


@contextlib.contextmanager
def legacy_form(release, with_modern_form=False):
    """Install ``release``, exec the legacy form into a fresh wato namespace, yield LegacyLoad."""
    with installed(release, with_modern_form=with_modern_form) as facts:
        namespace = exec_legacy_plugin(wato_namespace(facts))
        yield LegacyLoad(facts, namespace)


@contextlib.contextmanager
def modern_form():
    """Install 2.5 and import the rulesets module like Checkmk's loader; yield (facts, specs)."""
    with installed("2.5", with_modern_form=True) as facts:
        module = importlib.import_module(MODERN_MODULE)
        rule_specs = {
            name: value
            for name, value in vars(module).items()
            if name.startswith("rule_spec_")
            and isinstance(value, facts.modules["cmk.rulesets.v1.rule_specs"].NotificationParameters)
        }
        yield facts, module, rule_specs


class Release(object):
    """What a release double offers to the tests."""

    def __init__(self, name, modules, registry, spec_of, wato_globals=None):
        self.name = name
        self.modules = modules
        self.registry = registry
        self.spec_of = spec_of
        self.wato_globals = dict(wato_globals or {})


def new_module(name, attrs=None, path=None):
    module = types.ModuleType(name)
    module.__dict__.update(attrs or {})
    if path is not None:
        module.__path__ = list(path)
    return module


def package_tree(modules):
    """Add missing parent packages and bind children as attributes of their parents."""
    for name in sorted(list(modules)):
        parts = name.split(".")
        for i in range(1, len(parts)):
            parent = ".".join(parts[:i])
            if parent not in modules:
                modules[parent] = new_module(parent, path=[])
            elif not hasattr(modules[parent], "__path__"):
                modules[parent].__path__ = []
    for name in sorted(modules):
        if "." in name:
            parent, child = name.rsplit(".", 1)
            setattr(modules[parent], child, modules[name])
    return modules
