"""Double of ``cmk.rulesets.v1`` (Checkmk 2.5) - only what ``cmk_ilert``'s modern form imports.

Checked against Checkmk/checkmk ``packages/cmk-rulesets/cmk/rulesets/v1/`` (code index):
- ``form_specs/__init__.py`` id 40604788515: exported names (``BooleanChoice``, ``CascadingSingleChoice``,
  ``CascadingSingleChoiceElement``, ``DefaultValue``, ``DictElement``, ``Dictionary``, ``FieldSize``,
  ``FixedValue``, ``InputHint``, ``Integer``, ``MultilineText``, ``Password``, ``Proxy``, ``SingleChoice``,
  ``SingleChoiceElement``, ``String``, ``migrate_to_password``, ``migrate_to_proxy``, ``validators``).
- ``form_specs/_base.py`` @137592be id 7467444198: ``FormSpec(title, help_text, migrate, custom_validate)``
  keyword-only frozen dataclass; ``DefaultValue`` / ``InputHint``.
- ``form_specs/_basic.py`` @de47759f id 6925223479: ``BooleanChoice(label, prefill)``, ``FixedValue(value,
  label)``, ``Integer(label, unit_symbol, prefill)``, ``MultilineText(monospaced, macro_support, label,
  prefill)``, ``String(label, macro_support, prefill, field_size)``, ``SingleChoiceElement(name, title)``
  (identifier check), ``SingleChoice(elements, no_elements_text, frozen, label, prefill, ignored_elements,
  invalid_element_validation)`` (prefill must name an element), ``FieldSize``.
- ``form_specs/_composed.py`` @137592be id 7445998862: ``CascadingSingleChoiceElement(name, title,
  parameter_form)``, ``CascadingSingleChoice(elements, label, prefill)``, ``DictElement(parameter_form,
  required, render_only, group)``, ``Dictionary(elements, no_elements_text, ignored_elements)`` (keys must
  be identifiers).
- ``form_specs/_preconfigured.py`` @5bcb00c2 id 6844969736: ``Password`` model
  ``("cmk_postprocessed", "explicit_password"|"stored_password", (id, secret))``, ``Proxy(allowed_schemas)``
  model ``("cmk_postprocessed", "environment_proxy"|"no_proxy"|"stored_proxy"|"explicit_proxy", str)``.
- ``form_specs/_migrations.py`` @3cb318b8 id 11708978975: what ``migrate_to_password`` and
  ``migrate_to_proxy`` accept and return (re-implemented here from that description).
- ``form_specs/validators.py`` @e14e43ad id 6852905383: ``ValidationError(message)``, ``LengthInRange``,
  ``NumberInRange``, ``MatchRegex(regex, error_msg)``, ``Url(protocols, error_msg)``, ``UrlProtocol``.
- ``rule_specs.py`` @76f9e7c0 id 7054927247: ``Topic.NOTIFICATIONS``; ``NotificationParameters(title,
  topic, parameter_form, name, is_deprecated, help_text)``, ``name`` must be an identifier.
"""

from __future__ import annotations

import ast
import enum
import re
import uuid
from dataclasses import dataclass, field
from keyword import iskeyword
from typing import Any, Callable, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlparse

from . import new_module

# --- cmk.rulesets.v1 -------------------------------------------------------------------------


class _Localizable:
    def __init__(self, arg: str, /) -> None:
        if not isinstance(arg, str):
            raise TypeError("localizable text must be a str")
        self._arg = arg
        self._args: Tuple[Any, ...] = ()

    def __mod__(self, args: Any) -> "_Localizable":
        new = type(self)(self._arg)
        new._args = args if isinstance(args, tuple) else (args,)
        return new

    def __str__(self) -> str:
        return self._arg % self._args if self._args else self._arg


class Title(_Localizable):
    pass


class Help(_Localizable):
    pass


class Label(_Localizable):
    pass


class Message(_Localizable):
    pass


def _check_identifier(name: str) -> None:
    if not name.isidentifier() or iskeyword(name):
        raise ValueError(f"'{name}' is not a valid, non-reserved Python identifier")


# --- cmk.rulesets.v1.form_specs --------------------------------------------------------------


@dataclass(frozen=True)
class DefaultValue:
    value: Any


@dataclass(frozen=True)
class InputHint:
    value: Any


class FieldSize(enum.Enum):
    SMALL = enum.auto()
    MEDIUM = enum.auto()
    LARGE = enum.auto()


@dataclass(frozen=True, kw_only=True)
class FormSpec:
    title: Optional[Title] = None
    help_text: Optional[Help] = None
    migrate: Optional[Callable[[object], Any]] = None
    custom_validate: Optional[Sequence[Callable[[Any], object]]] = None


@dataclass(frozen=True, kw_only=True)
class BooleanChoice(FormSpec):
    label: Optional[Label] = None
    prefill: DefaultValue = DefaultValue(False)


@dataclass(frozen=True, kw_only=True)
class FixedValue(FormSpec):
    value: Any
    label: Optional[Label] = None

    def __post_init__(self) -> None:
        try:
            ast.literal_eval(repr(self.value))
        except (ValueError, TypeError, SyntaxError) as exc:
            raise ValueError("FixedValue value is not serializable.") from exc


@dataclass(frozen=True, kw_only=True)
class Integer(FormSpec):
    label: Optional[Label] = None
    unit_symbol: str = ""
    prefill: Any = InputHint(0)


@dataclass(frozen=True, kw_only=True)
class MultilineText(FormSpec):
    monospaced: bool = False
    macro_support: bool = False
    label: Optional[Label] = None
    prefill: Any = InputHint("")


@dataclass(frozen=True, kw_only=True)
class String(FormSpec):
    label: Optional[Label] = None
    macro_support: bool = False
    prefill: Any = InputHint("")
    field_size: FieldSize = FieldSize.MEDIUM


@dataclass(frozen=True)
class SingleChoiceElement:
    name: str
    title: Title

    def __post_init__(self) -> None:
        _check_identifier(self.name)


@dataclass(frozen=True, kw_only=True)
class SingleChoice(FormSpec):
    elements: Sequence[SingleChoiceElement]
    no_elements_text: Optional[Message] = None
    frozen: bool = False
    label: Optional[Label] = None
    prefill: Any = InputHint(Title("Please choose"))
    ignored_elements: Tuple[str, ...] = ()
    invalid_element_validation: Any = None

    def __post_init__(self) -> None:
        valid = {elem.name for elem in self.elements}
        if isinstance(self.prefill, DefaultValue) and self.prefill.value not in valid:
            raise ValueError(f"Invalid default: {self.prefill.value!r}")


@dataclass(frozen=True, kw_only=True)
class CascadingSingleChoiceElement:
    name: str
    title: Title
    parameter_form: FormSpec

    def __post_init__(self) -> None:
        _check_identifier(self.name)


@dataclass(frozen=True, kw_only=True)
class CascadingSingleChoice(FormSpec):
    elements: Sequence[CascadingSingleChoiceElement]
    label: Optional[Label] = None
    prefill: Any = InputHint(Title("Please choose"))

    def __post_init__(self) -> None:
        names = {elem.name for elem in self.elements}
        if isinstance(self.prefill, DefaultValue) and self.prefill.value not in names:
            raise ValueError(f"Default element {self.prefill.value!r} is not one of {names!r}")


@dataclass(frozen=True, kw_only=True)
class DictGroup:
    title: Optional[Title] = None
    help_text: Optional[Help] = None


@dataclass(frozen=True, kw_only=True)
class NoGroup:
    pass


@dataclass(frozen=True, kw_only=True)
class DictElement:
    parameter_form: FormSpec
    required: bool = False
    render_only: bool = False
    group: Any = field(default_factory=NoGroup)


@dataclass(frozen=True, kw_only=True)
class Dictionary(FormSpec):
    elements: Mapping[str, DictElement]
    no_elements_text: Message = Message("(no parameters)")
    ignored_elements: Tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for key in self.elements:
            _check_identifier(key)
        if set(self.elements) & set(self.ignored_elements):
            raise ValueError("Elements are marked as 'ignored' but still present")


class ProxySchema(str, enum.Enum):
    HTTP = "http"
    HTTPS = "https"
    SOCKS4 = "socks4"
    SOCKS4A = "socks4a"
    SOCKS5 = "socks5"
    SOCKS5H = "socks5h"


@dataclass(frozen=True, kw_only=True)
class Password(FormSpec):
    pass


@dataclass(frozen=True, kw_only=True)
class Proxy(FormSpec):
    allowed_schemas: frozenset = frozenset(ProxySchema)


def migrate_to_password(model: object) -> Tuple[str, str, Tuple[str, str]]:
    if isinstance(model, tuple):
        if len(model) == 2 and model[0] == "password" and isinstance(model[1], str):
            return ("cmk_postprocessed", "explicit_password", (str(uuid.uuid4()), model[1]))
        if len(model) == 2 and model[0] == "store" and isinstance(model[1], str):
            return ("cmk_postprocessed", "stored_password", (model[1], ""))
        if (
            len(model) == 3
            and model[0] in ("explicit_password", "stored_password")
            and all(isinstance(x, str) for x in model[1:])
        ):
            return ("cmk_postprocessed", model[0], (model[1], model[2]))
        if (
            len(model) == 3
            and model[0] == "cmk_postprocessed"
            and model[1] in ("explicit_password", "stored_password")
            and isinstance(model[2], tuple)
            and len(model[2]) == 2
            and all(isinstance(x, str) for x in model[2])
        ):
            return ("cmk_postprocessed", model[1], (model[2][0], model[2][1]))
    raise TypeError(f"Could not migrate {model!r} to Password.")


def migrate_to_proxy(model: object) -> Tuple[str, str, str]:
    if isinstance(model, tuple) and len(model) == 2:
        kind, value = model
        if kind == "global" and isinstance(value, str):
            return ("cmk_postprocessed", "stored_proxy", value)
        if kind == "environment" and value == "environment":
            return ("cmk_postprocessed", "environment_proxy", "")
        if kind == "url" and isinstance(value, str):
            return ("cmk_postprocessed", "explicit_proxy", value)
        if kind == "no_proxy" and value is None:
            return ("cmk_postprocessed", "no_proxy", "")
    if isinstance(model, tuple) and len(model) == 3 and model[0] == "cmk_postprocessed":
        kind, value = model[1], model[2]
        if isinstance(value, str):
            if kind in ("stored_proxy", "explicit_proxy"):
                return ("cmk_postprocessed", kind, value)
            if kind in ("environment_proxy", "no_proxy"):
                return ("cmk_postprocessed", kind, "")
    raise TypeError(f"Could not migrate {model!r} to Proxy.")


# --- cmk.rulesets.v1.form_specs.validators ---------------------------------------------------


class ValidationError(ValueError):
    def __init__(self, message: Message) -> None:
        super().__init__(message)
        self._message = message

    @property
    def message(self) -> Message:
        return self._message


class LengthInRange:
    def __init__(self, min_value=None, max_value=None, error_msg=None) -> None:
        if min_value is None and max_value is None:
            raise ValidationError(Message("meaningless validator"))
        self.range = (min_value, max_value)
        self.error_msg = error_msg or Message("length out of range")

    def __call__(self, value) -> None:
        if self.range[0] is not None and len(value) < self.range[0]:
            raise ValidationError(self.error_msg)
        if self.range[1] is not None and self.range[1] < len(value):
            raise ValidationError(self.error_msg)


class NumberInRange:
    def __init__(self, min_value=None, max_value=None, error_msg=None) -> None:
        if min_value is None and max_value is None:
            raise ValidationError(Message("meaningless validator"))
        self.range = (min_value, max_value)
        self.error_msg = error_msg or Message("number out of range")

    def __call__(self, value) -> None:
        if self.range[0] is not None and value < self.range[0]:
            raise ValidationError(self.error_msg)
        if self.range[1] is not None and self.range[1] < value:
            raise ValidationError(self.error_msg)


class MatchRegex:
    def __init__(self, regex, error_msg=None) -> None:
        self.regex = re.compile(regex) if isinstance(regex, str) else regex
        self.error_msg = error_msg or Message("does not match")

    def __call__(self, value: str) -> None:
        if not self.regex.match(value):
            raise ValidationError(self.error_msg)


class UrlProtocol(str, enum.Enum):
    HTTP = "http"
    HTTPS = "https"
    FTP = "ftp"


class Url:
    def __init__(self, protocols, error_msg=None) -> None:
        self.protocols = [str(p.value if isinstance(p, enum.Enum) else p) for p in protocols]
        self.error_msg = error_msg or Message("not a valid URL")

    def __call__(self, value: str) -> None:
        try:
            parts = urlparse(value)
        except ValueError as exc:
            raise ValidationError(Message("%s") % str(exc)) from exc
        if not parts.scheme or not parts.netloc or parts.scheme not in self.protocols:
            raise ValidationError(self.error_msg)


# --- cmk.rulesets.v1.rule_specs --------------------------------------------------------------


class Topic(enum.Enum):
    APPLICATIONS = "applications"
    GENERAL = "general"
    NOTIFICATIONS = "notifications"


@dataclass(frozen=True)
class NotificationParameters:
    title: Title
    topic: Topic
    parameter_form: Callable[[], Dictionary]
    name: str
    is_deprecated: bool = False
    help_text: Optional[Help] = None

    def __post_init__(self) -> None:
        _check_identifier(self.name)


def modules():
    validators = new_module(
        "cmk.rulesets.v1.form_specs.validators",
        {
            "ValidationError": ValidationError,
            "LengthInRange": LengthInRange,
            "NumberInRange": NumberInRange,
            "MatchRegex": MatchRegex,
            "Url": Url,
            "UrlProtocol": UrlProtocol,
        },
    )
    form_specs = new_module(
        "cmk.rulesets.v1.form_specs",
        {
            "FormSpec": FormSpec,
            "DefaultValue": DefaultValue,
            "InputHint": InputHint,
            "FieldSize": FieldSize,
            "BooleanChoice": BooleanChoice,
            "FixedValue": FixedValue,
            "Integer": Integer,
            "MultilineText": MultilineText,
            "String": String,
            "SingleChoice": SingleChoice,
            "SingleChoiceElement": SingleChoiceElement,
            "CascadingSingleChoice": CascadingSingleChoice,
            "CascadingSingleChoiceElement": CascadingSingleChoiceElement,
            "DictElement": DictElement,
            "DictGroup": DictGroup,
            "NoGroup": NoGroup,
            "Dictionary": Dictionary,
            "Password": Password,
            "Proxy": Proxy,
            "ProxySchema": ProxySchema,
            "migrate_to_password": migrate_to_password,
            "migrate_to_proxy": migrate_to_proxy,
            "validators": validators,
        },
        path=[],
    )
    rule_specs = new_module(
        "cmk.rulesets.v1.rule_specs",
        {"NotificationParameters": NotificationParameters, "Topic": Topic},
    )
    v1 = new_module(
        "cmk.rulesets.v1",
        {"Title": Title, "Help": Help, "Label": Label, "Message": Message},
        path=[],
    )
    return {
        "cmk.rulesets.v1": v1,
        "cmk.rulesets.v1.form_specs": form_specs,
        "cmk.rulesets.v1.form_specs.validators": validators,
        "cmk.rulesets.v1.rule_specs": rule_specs,
    }
