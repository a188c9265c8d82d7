"""Building blocks shared by the fact files: the names the legacy form looks up, with the
keywords it passes (each keyword read in the release's signature or in the release's own calls),
and the flattening / password-store facts that stay the same over several releases."""

from __future__ import annotations

from typing import Dict, Tuple

from . import _sources as src
from ._model import Flattening, Name, PasswordStore, Source

# keyword sets the legacy form passes (a double accepts exactly these)
DICTIONARY = ("elements", "title", "help", "required_keys", "default_keys")
TEXT = ("title", "help", "default_value", "size", "allow_empty", "regex", "regex_error")
TEXT_AREA = ("title", "help", "default_value", "cols", "rows")
DROPDOWN = ("choices", "title", "help", "default_value")
CASCADING = ("choices", "title", "help", "default_value")
FIXED_VALUE = ("value", "title", "totext", "help")
CHECKBOX = ("title", "label", "help", "default_value")
INTEGER = ("title", "help", "unit", "default_value", "minvalue", "maxvalue")
#: Transform: the full signatures (this is the one place where the keyword names changed)
TRANSFORM_FORTH_BACK = ("valuespec", "back", "forth", "title", "help", "default_value", "validate")
TRANSFORM_TO_FROM = ("valuespec", "to_valuespec", "from_valuespec", "title", "help", "default_value", "validate")
PASSWORD = ("title", "help", "allow_empty", "size")

VALUESPEC = "cmk.gui.valuespec"
WATO_UTILS = "cmk.gui.plugins.wato.utils"
NOTIFICATION_PARAMETER = "cmk.gui.watolib.notification_parameter"
WATO = "cmk.gui.wato"
I18N = "cmk.gui.i18n"


def valuespecs(
    source: Source,
    text_input: bool,
    transform: Tuple[str, ...],
    transform_source: Source,
    text_unicode: bool = True,
) -> Dict[str, Name]:
    """``cmk.gui.valuespec``: the names of the legacy form. ``text_unicode=False``: the release's
    ``TextUnicode`` was not read (the form needs it only where ``TextInput`` is missing)."""
    names = {
        "Dictionary": Name(True, source, DICTIONARY),
        "TextInput": Name(
            text_input,
            source,
            TEXT if text_input else (),
            note="" if text_input else "2.0 has TextAscii/TextUnicode only",
        ),
        "TextUnicode": Name(
            True, source, TEXT, note="a class in 2.0; an alias of TextInput from 2.1 ('alias added in 2.1.0')"
        ),
        "TextAreaUnicode": Name(True, source, TEXT_AREA),
        "DropdownChoice": Name(True, source, DROPDOWN),
        "CascadingDropdown": Name(True, source, CASCADING),
        "FixedValue": Name(True, source, FIXED_VALUE),
        "Checkbox": Name(True, source, CHECKBOX),
        "Integer": Name(True, source, INTEGER),
        "Transform": Name(True, transform_source, transform),
    }
    if not text_unicode:
        del names["TextUnicode"]
    return names


def i18n(source: Source) -> Dict[str, Name]:
    return {"_": Name(True, source, note="called with one positional text")}


def version(source: Source) -> Dict[str, Name]:
    return {"__version__": Name(True, source, callable=False)}


FLATTEN_20 = Flattening(
    tuples="tab_only",
    proxy="resolved_or_omitted",
    formspec_families=False,
    checkbox_true="True",
    checkbox_false="False",
    examples=(
        ({"ilert_api_key": ("store", "ilert_prod")}, {"PARAMETER_ILERT_API_KEY": "store\tilert_prod"}),
        ({"url_prefix": {"automatic": "https"}}, {"PARAMETER_URL_PREFIX_AUTOMATIC": "https"}),
        ({"proxy_url": ("environment", "environment")}, {}),
        ({"proxy_url": ("no_proxy", None)}, {"PARAMETER_PROXY_URL": ""}),
        ({"proxy_url": ("url", "http://p:3128")}, {"PARAMETER_PROXY_URL": "http://p:3128"}),
        ({"outbox": False, "ignore_ssl": True}, {"PARAMETER_OUTBOX": "False", "PARAMETER_IGNORE_SSL": "True"}),
        ({"timeout": 20}, {"PARAMETER_TIMEOUT": "20"}),
    ),
    sources=(src.EVENTS_20, src.CONFIG_PROXY_20),
)

FLATTEN_21 = Flattening(
    tuples="tab_and_items",
    proxy="serialised",
    formspec_families=False,
    checkbox_true="True",
    checkbox_false="False",
    examples=(
        (
            {"ilert_api_key": ("store", "ilert_prod")},
            {
                "PARAMETER_ILERT_API_KEY": "store\tilert_prod",
                "PARAMETER_ILERT_API_KEY_1": "store",
                "PARAMETER_ILERT_API_KEY_2": "ilert_prod",
            },
        ),
        ({"url_prefix": {"automatic": "https"}}, {"PARAMETER_URL_PREFIX_AUTOMATIC": "https"}),
        ({"proxy_url": ("environment", "environment")}, {"PARAMETER_PROXY_URL": "FROM_ENVIRONMENT"}),
        ({"proxy_url": ("no_proxy", None)}, {"PARAMETER_PROXY_URL": "NO_PROXY"}),
        ({"proxy_url": ("url", "http://p:3128")}, {"PARAMETER_PROXY_URL": "http://p:3128"}),
        ({"outbox": False, "ignore_ssl": True}, {"PARAMETER_OUTBOX": "False", "PARAMETER_IGNORE_SSL": "True"}),
    ),
    sources=(src.EVENTS_21,),
)

#: 2.4+: the same function, and FormSpec values can be stored (rulesets-API forms; the legacy form
#: still stores its own shapes)
FLATTEN_24 = FLATTEN_21._replace(
    formspec_families=True,
    examples=FLATTEN_21.examples
    + (
        (
            {"ilert_api_key": ("cmk_postprocessed", "explicit_password", ("uuid1", "s3cret"))},
            {
                "PARAMETER_ILERT_API_KEY_1": "cmk_postprocessed",
                "PARAMETER_ILERT_API_KEY_2": "explicit_password",
                "PARAMETER_ILERT_API_KEY_3": "uuid1\ts3cret",
                "PARAMETER_ILERT_API_KEY_3_1": "uuid1",
                "PARAMETER_ILERT_API_KEY_3_2": "s3cret",
            },
        ),
        (
            {"url_prefix": ("automatic_http", None)},
            {"PARAMETER_URL_PREFIX_1": "automatic_http", "PARAMETER_URL_PREFIX_2": ""},
        ),
        ({"proxy_url": ("cmk_postprocessed", "no_proxy", "")}, {"PARAMETER_PROXY_URL": "NO_PROXY"}),
    ),
    sources=(src.EVENTS_21, src.EVENTS_NEWEST, src.TEST_CONTEXT_24),
)

PASSWORD_STORE_NONE_20 = PasswordStore("cmk.utils.password_store", "extract", "none", None, src.PASSWORD_STORE_20)
