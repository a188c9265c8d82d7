"""The shape of a fact file: what one Checkmk release offers the forms, and where that was read.

Every fact names its ``Source``: the repository, the file, the commit (or the stored-file id of
the code index it was read through) and, where no release tag could be read, how the snapshot is
dated (``dated``). ``Source.tagged`` is False for every source here: the index labels no tags or
branches, so each snapshot is assigned to a release by its content (module layout, Python syntax,
version strings). Where that leaves a doubt, the form is written to work either way and the fact
file says so (``ReleaseFacts.open_points``).

Python 3.8 compatible (the doubles and ``flatten.py`` also run under the site Python of 2.0).
"""

from __future__ import annotations

from typing import Mapping, NamedTuple, Optional, Tuple


class Source(NamedTuple):
    path: str
    ref: str  #: a commit ("@0edfdc6f") and/or the index's stored-file id ("id 40604788515")
    dated: str = ""  #: how the snapshot was assigned to the release (no tag was readable)
    repo: str = "Checkmk/checkmk"
    tagged: bool = False

    def cite(self) -> str:
        text = "%s %s %s" % (self.repo, self.path, self.ref)
        return text + (" (%s)" % self.dated if self.dated else "")


class Name(NamedTuple):
    """A module attribute the forms look up."""

    present: bool
    source: Source
    #: keyword parameters a double may accept: each one read in the release's signature (or in
    #: the release's own calls of it); the forms use a subset. Empty for non-callables.
    keywords: Tuple[str, ...] = ()
    #: the real signature takes ``**kwargs`` (unknown keywords are swallowed)
    var_keyword: bool = False
    callable: bool = True
    note: str = ""


Modules = Mapping[str, Mapping[str, Name]]


class Registration(NamedTuple):
    """``register_notification_parameters`` and the notification parameter registry."""

    #: what the registry stores: "class" (2.0-2.3: ``register(cls)`` instantiates it),
    #: "instance" (2.4: ``register(parameter_class())``), "dataclass" (``NotificationParameter(
    #: ident, spec, form_spec)`` instances)
    registry_holds: str
    #: the rulesets loader puts a ``cmk.rulesets.v1`` ``NotificationParameters`` into the
    #: notification parameter registry (else it only becomes the host rule set
    #: ``notification_parameters:<name>``)
    rulesets_notification_parameters_registered: bool
    #: a method without a registered form gets the list form ``{"params": [...]}`` (2.4+ update:
    #: "Migrate notifications" validates stored dicts with it and aborts on the first failure)
    unregistered_method_form: str
    sources: Tuple[Source, ...]


class Discovery(NamedTuple):
    """How Checkmk finds a rulesets-API plug-in."""

    package: str  #: "cmk_addons.plugins.{family}.rulesets"
    variable_prefix: str  #: "rule_spec_"
    source: Source


class Flattening(NamedTuple):
    """``add_to_event_context``: rule parameters -> ``PARAMETER_*`` context keys."""

    #: "tab_only": a tuple becomes one TAB-joined value (2.0, TypeError on non-str items);
    #: "tab_and_items": TAB join when all items are str, plus ``_1.._n`` (recursive, 2.1+)
    tuples: str
    #: "resolved_or_omitted": ``proxy_url`` replaced by the proxy URL, "" for no proxy, key left
    #: out for "from environment" (2.0); "serialised": FROM_ENVIRONMENT / NO_PROXY / URL (2.1+)
    proxy: str
    #: the rulesets-API (FormSpec) shapes ``("cmk_postprocessed", kind, value)`` can be stored
    formspec_families: bool
    checkbox_true: str
    checkbox_false: str
    #: literal examples: (stored parameter dict, expected context without NOTIFY_)
    examples: Tuple[Tuple[Mapping[str, object], Mapping[str, str]], ...]
    sources: Tuple[Source, ...]


class PasswordStore(NamedTuple):
    module: str
    function: str
    #: what ``extract`` does with an id the store does not know: "none" (returns None) or "raises"
    unknown_id: str
    exception: Optional[str]
    source: Source


class SitePython(NamedTuple):
    version: str  #: "3.8"; ">=3.14" where only the grammar is known
    source: Source


class ReleaseFacts(NamedTuple):
    release: str
    python: SitePython
    #: names the legacy form (and, from 2.5 on, the modern form) looks up, per module;
    #: ``present=False`` entries are names the release does NOT have
    modules: Modules
    registration: Registration
    discovery: Optional[Discovery]
    flattening: Flattening
    password_store: PasswordStore
    open_points: Tuple[str, ...] = ()

    def present(self, module: str) -> Tuple[str, ...]:
        return tuple(sorted(n for n, fact in self.modules.get(module, {}).items() if fact.present))
