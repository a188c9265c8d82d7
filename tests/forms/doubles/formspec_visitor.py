"""What Checkmk 2.5 does with a FormSpec value, reduced to what the tests need.

- ``from_disk(form, value)``: the ``DataOrigin.DISK`` path: ``migrate`` of the form, then of each
  element (Dictionary / CascadingSingleChoice recurse) - Checkmk/checkmk
  ``cmk/gui/watolib/notification_parameter/_utils.py`` @116d657e (id 31245795916) loads parameter
  sets for the editor this way; ``migrate`` runs on every load (``form_specs/_base.py`` @137592be,
  id 7467444198).
- ``check(form, value)``: the validation on save (``DataOrigin.FRONTEND``): raise ``FormSpecError``
  with all messages (unknown / missing required keys, wrong types or choices, custom validators).
- ``samples(form)``: representative values each element can save.
Not Checkmk: only the form specs the cmk_ilert form uses.
"""

from __future__ import annotations

from typing import Any, List

from . import _legacy_core as pools
from . import _rulesets_v1 as v1

EXPLICIT_ID = "uuid-5c1e9a0e-test"


class FormSpecError(ValueError):
    pass


def from_disk(form: v1.FormSpec, value: Any) -> Any:
    if form.migrate is not None:
        value = form.migrate(value)
    if isinstance(form, v1.Dictionary) and isinstance(value, dict):
        return {
            key: from_disk(form.elements[key].parameter_form, element) if key in form.elements else element
            for key, element in value.items()
        }
    if isinstance(form, v1.CascadingSingleChoice) and isinstance(value, tuple) and len(value) == 2:
        for element in form.elements:
            if element.name == value[0]:
                return (value[0], from_disk(element.parameter_form, value[1]))
    return value


def messages(form: v1.FormSpec, value: Any, where: str = "") -> List[str]:
    found = _type_messages(form, value, where)
    if not found:
        for validator in form.custom_validate or ():
            try:
                validator(value)
            except v1.ValidationError as exc:
                found.append(f"{where}: {exc.message}")
    return found


def check(form: v1.FormSpec, value: Any) -> None:
    found = messages(form, value, "value")
    if found:
        raise FormSpecError("; ".join(found))


def _type_messages(form: v1.FormSpec, value: Any, where: str) -> List[str]:
    bad = [f"{where}: invalid value {value!r} for {type(form).__name__}"]
    if isinstance(form, v1.Dictionary):
        if not isinstance(value, dict):
            return bad
        out = []
        unknown = set(value) - set(form.elements) - set(form.ignored_elements)
        if unknown:
            out.append(f"{where}: Dictionary contains invalid keys {sorted(unknown)}")
        for key, element in form.elements.items():
            if key in value:
                out.extend(messages(element.parameter_form, value[key], f"{where}.{key}"))
            elif element.required:
                out.append(f"{where}.{key}: Required field missing")
        return out
    if isinstance(form, v1.CascadingSingleChoice):
        if not (isinstance(value, tuple) and len(value) == 2):
            return bad
        for element in form.elements:
            if element.name == value[0]:
                return messages(element.parameter_form, value[1], f"{where}.{value[0]}")
        return bad
    if isinstance(form, (v1.String, v1.MultilineText)):
        return [] if isinstance(value, str) else bad
    if isinstance(form, v1.Integer):
        return [] if isinstance(value, int) and not isinstance(value, bool) else bad
    if isinstance(form, v1.BooleanChoice):
        return [] if isinstance(value, bool) else bad
    if isinstance(form, v1.FixedValue):
        return [] if value == form.value and type(value) is type(form.value) else bad
    if isinstance(form, v1.SingleChoice):
        return [] if value in {element.name for element in form.elements} else bad
    if isinstance(form, v1.Password):
        ok = (
            isinstance(value, tuple)
            and len(value) == 3
            and value[0] == "cmk_postprocessed"
            and value[1] in ("explicit_password", "stored_password")
            and isinstance(value[2], tuple)
            and len(value[2]) == 2
            and all(isinstance(x, str) for x in value[2])
        )
        if ok and value[1] == "stored_password" and value[2][0] not in pools.FAKE_PASSWORD_STORE:
            return [f"{where}: password store entry {value[2][0]!r} does not exist"]
        return [] if ok else bad
    if isinstance(form, v1.Proxy):
        ok = (
            isinstance(value, tuple)
            and len(value) == 3
            and value[0] == "cmk_postprocessed"
            and value[1] in ("environment_proxy", "no_proxy", "stored_proxy", "explicit_proxy")
            and isinstance(value[2], str)
        )
        if not ok:
            return bad
        if value[1] == "stored_proxy" and value[2] not in pools.FAKE_GLOBAL_PROXIES:
            return [f"{where}: global proxy {value[2]!r} does not exist"]
        if value[1] == "explicit_proxy":
            schemes = {str(s.value) for s in form.allowed_schemas}
            if value[2].split("://", 1)[0] not in schemes or "://" not in value[2]:
                return [f"{where}: invalid proxy URL {value[2]!r}"]
        return []
    return [f"{where}: the double does not know {type(form).__name__}"]


def prefill_value(form: v1.FormSpec) -> Any:
    prefill = getattr(form, "prefill", None)
    if isinstance(prefill, v1.DefaultValue):
        if isinstance(form, v1.CascadingSingleChoice):
            for element in form.elements:
                if element.name == prefill.value:
                    return (element.name, prefill_value(element.parameter_form))
        return prefill.value
    if isinstance(form, v1.FixedValue):
        return form.value
    return None


def _valid(form: v1.FormSpec, candidates) -> List[Any]:
    out: List[Any] = []
    for value in candidates:
        if value is not None and not messages(form, value) and value not in out:
            out.append(value)
    return out


def samples(form: v1.FormSpec) -> List[Any]:
    if isinstance(form, v1.Dictionary):
        out = []
        for key, element in form.elements.items():
            out.extend({key: sample} for sample in samples(element.parameter_form))
        return out
    if isinstance(form, v1.CascadingSingleChoice):
        return [
            (element.name, sub) for element in form.elements for sub in samples(element.parameter_form)
        ]
    if isinstance(form, v1.String):
        return _valid(form, (prefill_value(form),) + pools.STRING_POOL)
    if isinstance(form, v1.MultilineText):
        return _valid(form, (prefill_value(form),) + pools.TEXT_POOL)
    if isinstance(form, v1.Integer):
        low, high = -5, 1000
        for validator in form.custom_validate or ():
            if isinstance(validator, v1.NumberInRange):
                low = validator.range[0] if validator.range[0] is not None else low
                high = validator.range[1] if validator.range[1] is not None else low + 1000
        return _valid(form, [prefill_value(form), low, high, (low + high) // 2, low - 1, high + 1])
    if isinstance(form, v1.BooleanChoice):
        return [True, False]
    if isinstance(form, v1.FixedValue):
        return [form.value]
    if isinstance(form, v1.SingleChoice):
        return [element.name for element in form.elements]
    if isinstance(form, v1.Password):
        explicit = [("cmk_postprocessed", "explicit_password", (EXPLICIT_ID, s)) for s in pools.SECRET_POOL]
        stored = [("cmk_postprocessed", "stored_password", (i, "")) for i in sorted(pools.FAKE_PASSWORD_STORE)]
        return explicit + stored
    if isinstance(form, v1.Proxy):
        return [
            ("cmk_postprocessed", "environment_proxy", ""),
            ("cmk_postprocessed", "no_proxy", ""),
            ("cmk_postprocessed", "explicit_proxy", "http://proxy.example.com:3128"),
            ("cmk_postprocessed", "explicit_proxy", "socks5h://user:pw@10.1.2.3:1080"),
        ] + [("cmk_postprocessed", "stored_proxy", i) for i in sorted(pools.FAKE_GLOBAL_PROXIES)]
    raise TypeError(f"the double has no samples for {type(form).__name__}")
