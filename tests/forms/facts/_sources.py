"""The Checkmk files the fact files were read from (repository Checkmk/checkmk unless noted).

No source carries a release tag: the code index behind the reading labels no tags or branches,
so each snapshot is assigned to a release by its content, and ``dated`` says how. Commits are
abbreviated to 8 hex digits, ``id`` is the index's stored-file id.
"""

from __future__ import annotations

from ._model import Source

_FORK_20 = (
    "2.0 era: fork tree whose GUI code has tribe29 headers, cmk.gui.escaping, Python 3.8"
    " syntax, TextAscii/TextUnicode and no TextInput"
)

# --- 2.0 --------------------------------------------------------------------------------------
VALUESPEC_20 = Source("cmk/gui/valuespec.py", "@6f61e3fc id 44566093471", _FORK_20, "victorwitkamp/checkmk")
WATO_UTILS_20 = Source(
    "cmk/gui/plugins/wato/utils/__init__.py", "@6f61e3fc id 44672910377", _FORK_20, "victorwitkamp/checkmk"
)
EVENTS_20 = Source("cmk/base/events.py", "@6f61e3fc id 45234939328", _FORK_20, "victorwitkamp/checkmk")
CONFIG_PROXY_20 = Source(
    "cmk/base/config.py", "id 1214244853", "2.0 era: get_http_proxy() returns None for 'environment'"
)
PASSWORD_STORE_20 = Source("cmk/utils/password_store.py", "id 18084514921", "2.0 era: plain-text store, no annotations")
PACKAGING_20 = Source(
    "cmk/utils/packaging/__init__.py",
    "id 1223254696",
    "2.0/2.1 era: write_file() sets package['version.packaged'] = cmk_version.__version__",
)
PYTHON_20 = Source("Pipfile", "@c5f8c892 id 1239746091", '2.0 era: python_version = "3.8"')

# --- 2.1 --------------------------------------------------------------------------------------
VALUESPEC_21 = Source(
    "cmk/gui/valuespec.py",
    "@001a8c90 id 30472614494",
    "2.1 era: cmk.gui.globals, 'TextAscii = TextInput  # alias added in 2.1.0', Python 3.9 generics",
)
WATO_UTILS_21 = Source(
    "cmk/gui/plugins/wato/utils/__init__.py",
    "id 1234270853",
    "2.1 era: Transform(valuespec=..., forth=...), HTTPProxyReference(allowed_schemes=...)",
)
EVENTS_21 = Source("cmk/base/events.py", "@7f5459.. id 1219679225", "2.1/2.2 era: _1.._n items, proxy serialize()")
PASSWORD_STORE_21 = Source("cmk/utils/password_store.py", "id 36757561825", "2.1 era: plain file, builtin generics")
VERSION_21 = Source("cmk/utils/version.py", "id 1425780141", '__version__ = "2.1.0b10"')
PYTHON_21 = Source("tests/integration/test_python.py", "id 18848117661", "2.1 era: site Python 3.9")

# --- 2.2 --------------------------------------------------------------------------------------
VALUESPEC_22 = Source(
    "cmk/gui/valuespec.py",
    "id 3239729171",
    "2.2 era: one valuespec.py with PEP 604 annotations, TextAreaUnicode(TextInput), 2.1 aliases kept",
)
WATO_UTILS_22 = Source(
    "cmk/gui/plugins/wato/utils/__init__.py",
    "id 39060175779",
    "2.2 era: RuleGroup.NotificationParameters, IndividualOrStoredPassword returns a CascadingDropdown",
)
NOTIFICATIONS_22 = Source(
    "cmk/gui/plugins/wato/notifications.py",
    "@01975b55 id 30244026358",
    "2.2 era: Transform(valuespec=..., to_valuespec=..., from_valuespec=...)",
)
PASSWORD_STORE_22 = Source("cmk/utils/password_store.py", "id 1296073486", "2.2 era: obfuscated store file")
MANIFEST_22 = Source(
    "cmk/utils/packaging/_manifest.py",
    "id 38966437273",
    "2.2 era: pydantic v1 Manifest, manifest_template(version_packaged=cmk_version.__version__)",
)
PYTHON_22 = Source("defines.make", "id 10871591010", "2.2 era: PYTHON_VERSION 3.11")

# --- 2.3 --------------------------------------------------------------------------------------
REGISTRY_23 = Source(
    "cmk/gui/watolib/notification_parameter/_registry.py",
    "id 11632303169",
    "2.3 era: class registry that admits v1 NotificationParameters but leaves them to the rulespec loader",
)
PRE21_API = Source(
    "cmk/gui/wato/_pre_21_plugin_api.py",
    "id 69594041838",
    "present from 2.3 to the newest snapshot: copies register_notification_parameters,"
    " IndividualOrStoredPassword, HTTPProxyReference into cmk.gui.plugins.wato(.utils)",
)
ILERT_FORM_23 = Source(
    "cmk/gui/wato/_notification_parameter/_ilert.py",
    "id 30356672738",
    "2.3 era: 'from cmk.gui.wato import HTTPProxyReference', valuespec form",
)
HELPERS_23 = Source(
    "cmk/gui/wato/_notification_parameter/_helpers.py",
    "id 30282293580",
    "2.3 era: Transform(valuespec=, to_valuespec=, from_valuespec=)",
)
PASSWORD_VS_23 = Source(
    "cmk/gui/wato/pages/_password_store_valuespecs.py",
    "id 11011402174",
    "2.3 era: IndividualOrStoredPassword(title, help, allow_empty, size) -> CascadingDropdown",
)
HTTP_PROXY_23 = Source(
    "cmk/gui/wato/_http_proxy.py", "id 13462372821", "2.3 era: HTTPProxyReference(allowed_schemes=...)"
)
RULESPEC_23 = Source("cmk/gui/rulespec.py", "id 39292576593", "2.3 era: v1 rule specs -> legacy rulespecs only")
PASSWORD_STORE_23 = Source(
    "cmk/utils/password_store.py",
    "id 11312360532",
    "2.3 era: pending_password_store_path(), ad-hoc ids, extract() -> str | None",
)
VERSION_23 = Source("cmk/utils/version.py", "index snapshot", '__version__ = "2.3.0b1"')
PYTHON_23 = Source("package_versions.bzl", "@0861d2d1 id 39954050851", 'PYTHON_VERSION = "3.12.1"')
VALUESPEC_PKG = Source(
    "cmk/gui/valuespec/__init__.py",
    "id 40289388802",
    "2024 snapshot: exports Dictionary, TextInput, TextAreaUnicode, DropdownChoice, CascadingDropdown,"
    " FixedValue, Checkbox, Integer, Transform",
)

# --- 2.4 --------------------------------------------------------------------------------------
REGISTRY_24 = Source(
    "cmk/gui/watolib/notification_parameter/_registry.py",
    "id 10887566976",
    "2.4 era: registry of instances; register_notification_parameters registers parameter_class();"
    " valuespec forms wrapped element by element (LegacyValueSpec)",
)
RULESPEC_24 = Source(
    "cmk/gui/rulespec.py",
    "id 11040743243",
    "2.4 era (cmk.ccc.debug, cmk.gui.utils.rule_specs): register_plugins() only converts to legacy"
    " rulespecs; no notification parameter registry",
)
WERK_DISCOVERY = Source(
    ".werks (werk 'Ruleset API: Fix NotificationParameter discovery')",
    "werk v2 file: date 2025-05-13, version 2.5.0b1, compatible no",
    "written for master after the 2.4.0 release; no 2.4.0pN version on the werk",
)
MIGRATE_NOTIFICATIONS_24 = Source(
    "cmk/update_config/plugins/actions/migrate_notifications.py",
    "id 58803767813",
    "2.4 era: validates every stored parameter dict with the registered form, aborts on the first message",
)
VERSION_24 = Source("cmk/ccc/version.py", "id 30815115975", '__version__ = "2.4.0b1"')
PASSWORD_STORE_24 = Source(
    "cmk/utils/password_store",
    "id 6774455762",
    "2.4 era: extract() raises MKGeneralException for an unknown id (docstring: used by third-party plug-ins)",
)
PYTHON_24 = Source(
    "MODULE.bazel",
    "@000d6221 id 54690603295",
    "2.4-era snapshot (mid-2025): python.toolchain 3.12.11",
)
TEST_CONTEXT_24 = Source(
    "tests/unit/cmk/notification_plugins (ilert/utils tests)",
    "id 11185824670",
    "2.4 era: FormSpec password -> _1/_2/_3/_3_1/_3_2, PARAMETER_URL_PREFIX_1=automatic_http",
)

# --- 2.5 / newest -----------------------------------------------------------------------------
REGISTRY_NEWEST = Source(
    "cmk/gui/watolib/notification_parameter/_registry.py",
    "id 7182713480",
    "newest snapshot: NotificationParameter dataclass (ident, spec, form_spec);"
    " register_notification_parameters(scriptname, valuespec) wraps the valuespec",
)
RULESPEC_25 = Source(
    "cmk/gui/rulespec.py",
    "id 7394951879 and @07febc3d id 54724066849",
    "after the werk above: register_plugins() passes every NotificationParameters to the"
    " notification parameter registry",
)
LOADER_DISCOVERY = Source(
    "cmk/gui/utils/rule_specs/loader.py",
    "id 3215195921",
    "load_api_v1_rule_specs: modules cmk_addons.plugins.<family>.rulesets.*, variables rule_spec_*",
)
V1_INIT = Source("packages/cmk-rulesets/cmk/rulesets/v1/__init__.py", "index snapshot", "Title, Help, Label, Message")
V1_FORM_SPECS = Source(
    "packages/cmk-rulesets/cmk/rulesets/v1/form_specs/__init__.py", "@0edfdc6f id 40604788515", "newest snapshot"
)
V1_BASE = Source("packages/cmk-rulesets/cmk/rulesets/v1/form_specs/_base.py", "@137592be id 7467444198")
V1_BASIC = Source("packages/cmk-rulesets/cmk/rulesets/v1/form_specs/_basic.py", "@de47759f id 6925223479")
V1_COMPOSED = Source("packages/cmk-rulesets/cmk/rulesets/v1/form_specs/_composed.py", "@137592be id 7445998862")
V1_PRECONFIGURED = Source(
    "packages/cmk-rulesets/cmk/rulesets/v1/form_specs/_preconfigured.py", "@5bcb00c2 id 6844969736"
)
V1_MIGRATIONS = Source("packages/cmk-rulesets/cmk/rulesets/v1/form_specs/_migrations.py", "@3cb318b8 id 11708978975")
V1_VALIDATORS = Source(
    "packages/cmk-rulesets/cmk/rulesets/v1/form_specs/validators.py", "@19621818 id 40285591718", "newest snapshot"
)
V1_RULE_SPECS = Source("packages/cmk-rulesets/cmk/rulesets/v1/rule_specs.py", "@76f9e7c0 id 7054927247")
EVENTS_NEWEST = Source(
    "cmk/base/events.py", "id 3282295375", "newest snapshot: same flattening as 2.1, get_http_proxy passed in"
)
PASSWORD_STORE_NEWEST = Source(
    "cmk/utils/password_store",
    "id 3095715045",
    "newest snapshot: extract() raises MKGeneralException; adds extract_formspec_password()",
)
PYTHON_25 = Source(
    "docs/COMPATIBILITY.md",
    "@16dc0fa1 id 70398281000",
    "third-party MKP tested on a Checkmk 2.5.x site with Python 3.13; no 2.5 branch build file was readable",
    "Django1982/CheckMK_Apprise_MKP",
)
MKP_TOOL_MASTER = Source(
    "packages/cmk-mkp-tool/cmk/mkp_tool/_mkp.py",
    "@2828ce47 id 58704268587",
    "master: 'except OSError, SyntaxError, TypeError, ValueError, ValidationError:' (PEP 758,"
    " Python 3.14 grammar); create_mkp(..., version_packaged) writes the site's version",
)
