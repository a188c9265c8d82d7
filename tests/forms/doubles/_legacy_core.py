"""Shared behaviour of the legacy (valuespec) doubles of Checkmk 2.0 - 2.5.

Not Checkmk: tiny implementations. The release modules ``cmk20`` ... ``cmk25`` publish them
with ``restrict()`` behind exactly the names and keywords of that release, as listed in the
release's fact file (``tests/forms/facts``; ``test_doubles_match_facts`` pins each double to it),
so a keyword or name that one release lacks makes the test fail instead of being swallowed.
Every double can

* ``default()``  - the value the GUI pre-fills,
* ``validate(v)`` - raise ``DoubleValidationError`` if Checkmk would refuse to save ``v``,
* ``samples()``  - representative values the element can save (for the contract tests).

Python 3.8 compatible: the 2.0 path also runs under the site Python of Checkmk 2.0.
"""

from __future__ import annotations

import abc
import inspect
import re

# --- fixtures shared by every release (fake site configuration) ------------------------------

#: password store of the fake site: id -> secret
FAKE_PASSWORD_STORE = {
    "ilert_prod": "prod-integration-key-0123456789",
    "ilert test": "test key\twith tab and spaces",
}
#: global HTTP proxies of the fake site: id -> URL
FAKE_GLOBAL_PROXIES = {
    "corp": "http://proxy.example.com:3128",
    "auth": "http://user:s3cret@proxy.example.com:8080",
}

#: candidate single-line strings; each text element keeps the ones it accepts
STRING_POOL = (
    "x",
    "$NOTIFICATIONTYPE$ $HOSTNAME$/$SERVICEDESC$ is $SERVICESTATE$",
    "Störung auf $HOSTALIAS$ ✓ – ünïcødé",
    "with\ttab",
    "  padded  ",
    "route-42_eu",
    "https://api.ilert.com",
    "https://api.ilert.com/",
    "https://eu.ilert.example.com:8443/base",
    "http://10.0.0.1:8080",
    "https://monitoring.example.com/prod/check_mk/",
    "http://[::1]:5000/site/check_mk/",
    "https://monitoring.example.com/check_mk/",
    "https://user:pw@api.ilert.com",
    "https://api.ilert.com/?x=1",
    "https://api.ilert.com/#frag",
    "ftp://api.ilert.com",
    "api.ilert.com",
    "",
)
#: candidate multi-line strings (text areas)
TEXT_POOL = (
    "$HOSTOUTPUT$\n\n$LONGHOSTOUTPUT$",
    "line 1\nline 2\twith tab\n",
    "ünïcødé ✓\r\n$SERVICEOUTPUT$",
    "x",
)
#: candidate secrets
SECRET_POOL = (
    "0123456789abcdef0123456789abcdef",
    "key with spaces",
    "tab\tinside",
    "Ünïcødé-κλειδί",
    " padded ",
)


class DEF_VALUE_TYPE(object):
    def __repr__(self):
        return "DEF_VALUE"


DEF_VALUE = DEF_VALUE_TYPE()


class DoubleValidationError(ValueError):
    """What Checkmk reports as MKUserError / a validation message."""


class MKUserError(DoubleValidationError):
    def __init__(self, varname, message):
        super(MKUserError, self).__init__(message)
        self.varname = varname


def _i18n(text, /):
    return text


class _Unset(object):
    def __repr__(self):
        return "<unset>"


_UNSET = _Unset()


def restrict(impl, keywords, name=None):
    """A public double: ``impl``'s behaviour behind exactly the signature ``keywords``.

    Each release module states, literally, the keywords its release takes; anything else is a
    ``TypeError`` as in Checkmk (no ``**kwargs``), and ``inspect.signature`` shows exactly those
    keywords (``test_doubles_match_facts`` compares them with the release's fact file)."""
    parameters = [inspect.Parameter(k, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=_UNSET) for k in keywords]
    signature = inspect.Signature(parameters)

    def __init__(self, *args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        impl.__init__(self, **{k: v for k, v in bound.arguments.items() if v is not _UNSET})

    __init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)] + parameters
    )
    return type(name or impl.__name__, (impl,), {"__init__": __init__, "__signature__": signature})


class ValueSpec(abc.ABC):
    def __init__(self, title=None, help=None, default_value=DEF_VALUE, validate=None):
        self._title = title
        self._help = help
        self._default_value = default_value
        self._validate = validate

    def title(self):
        return self._title

    def help(self):
        return self._help

    def canonical_value(self):
        return None

    def default(self):
        value = self._default_value
        if callable(value):
            value = value()
        if value is DEF_VALUE:
            return self.canonical_value()
        return value

    def validate(self, value):
        self._check(value)
        if self._validate is not None:
            self._validate(value, "")

    @abc.abstractmethod
    def _check(self, value):
        raise NotImplementedError

    @abc.abstractmethod
    def samples(self):
        raise NotImplementedError

    def _valid(self, candidates):
        out = []
        for value in candidates:
            try:
                self.validate(value)
            except DoubleValidationError:
                continue
            if value not in out:
                out.append(value)
        return out


class TextInput(ValueSpec):
    def __init__(
        self,
        title=None,
        help=None,
        default_value=DEF_VALUE,
        validate=None,
        label=None,
        size=25,
        allow_empty=True,
        regex=None,
        regex_error=None,
        minlen=None,
    ):
        super(TextInput, self).__init__(title, help, default_value, validate)
        self._allow_empty = allow_empty
        self._regex = re.compile(regex) if isinstance(regex, str) else regex
        self._regex_error = regex_error
        self._minlen = minlen

    def canonical_value(self):
        return ""

    def _check(self, value):
        if not isinstance(value, str):
            raise DoubleValidationError("text expected, got %r" % (value,))
        if not self._allow_empty and not value.strip():
            raise DoubleValidationError("an empty value is not allowed")
        if self._regex is not None and value and not self._regex.match(value):
            raise DoubleValidationError(self._regex_error or "does not match the regex")
        if self._minlen is not None and len(value) < self._minlen:
            raise DoubleValidationError("too short")

    def samples(self):
        return self._valid((self.default(),) + STRING_POOL)


class TextAreaUnicode(TextInput):
    def __init__(
        self,
        title=None,
        help=None,
        default_value=DEF_VALUE,
        validate=None,
        cols=60,
        rows=20,
        minrows=0,
        allow_empty=True,
        monospaced=False,
    ):
        super(TextAreaUnicode, self).__init__(
            title, help, default_value, validate, allow_empty=allow_empty
        )

    def samples(self):
        return self._valid((self.default(),) + TEXT_POOL)


class Password(TextInput):
    def __init__(self, title=None, help=None, allow_empty=True, size=25, validate=None):
        super(Password, self).__init__(
            title, help, validate=validate, allow_empty=allow_empty, size=size
        )

    def _check(self, value):
        if not isinstance(value, str):
            raise DoubleValidationError("password must be a string")
        if not self._allow_empty and not value:
            raise DoubleValidationError("an empty password is not allowed")

    def samples(self):
        return self._valid(SECRET_POOL)


class DropdownChoice(ValueSpec):
    def __init__(
        self,
        choices,
        title=None,
        help=None,
        default_value=DEF_VALUE,
        validate=None,
        sorted=False,
        label=None,
        invalid_choice="complain",
        invalid_choice_title=None,
        invalid_choice_error=None,
    ):
        super(DropdownChoice, self).__init__(title, help, default_value, validate)
        self._choices = choices

    def choices(self):
        choices = self._choices() if callable(self._choices) else self._choices
        return [value for value, _title in choices]

    def canonical_value(self):
        choices = self.choices()
        return choices[0] if choices else None

    def _check(self, value):
        if value not in self.choices():
            raise DoubleValidationError("%r is not one of %r" % (value, self.choices()))

    def samples(self):
        return self.choices()


class FixedValue(ValueSpec):
    def __init__(self, value, totext=None, title=None, help=None, default_value=DEF_VALUE, validate=None):
        super(FixedValue, self).__init__(title, help, default_value, validate)
        self._value = value

    def canonical_value(self):
        return self._value

    def _check(self, value):
        if value != self._value or type(value) is not type(self._value):
            raise DoubleValidationError("must be %r, is %r" % (self._value, value))

    def samples(self):
        return [self._value]


class Checkbox(ValueSpec):
    def __init__(
        self,
        title=None,
        help=None,
        default_value=False,
        validate=None,
        label=None,
        true_label=None,
        false_label=None,
        onclick=None,
    ):
        super(Checkbox, self).__init__(title, help, default_value, validate)

    def canonical_value(self):
        return False

    def _check(self, value):
        if not isinstance(value, bool):
            raise DoubleValidationError("checkbox value must be a bool, is %r" % (value,))

    def samples(self):
        return [True, False]


class Integer(ValueSpec):
    def __init__(
        self,
        title=None,
        help=None,
        default_value=DEF_VALUE,
        validate=None,
        label=None,
        unit="",
        minvalue=None,
        maxvalue=None,
        size=5,
        display_format="%d",
        align="left",
    ):
        super(Integer, self).__init__(title, help, default_value, validate)
        self._min = minvalue
        self._max = maxvalue

    def canonical_value(self):
        return self._min if self._min is not None else 0

    def _check(self, value):
        if not isinstance(value, int) or isinstance(value, bool):
            raise DoubleValidationError("integer expected, got %r" % (value,))
        if self._min is not None and value < self._min:
            raise DoubleValidationError("%d is too low" % value)
        if self._max is not None and value > self._max:
            raise DoubleValidationError("%d is too high" % value)

    def samples(self):
        low = self._min if self._min is not None else -5
        high = self._max if self._max is not None else low + 1000
        return self._valid([self.default(), low, high, (low + high) // 2, low - 1, high + 1])


class CascadingDropdown(ValueSpec):
    def __init__(
        self,
        choices,
        title=None,
        help=None,
        default_value=DEF_VALUE,
        validate=None,
        label=None,
        separator=", ",
        sorted=True,
        orientation="vertical",
        render=None,
        encoding="tuple",
        no_elements_text=None,
        no_preselect_title=None,
    ):
        super(CascadingDropdown, self).__init__(title, help, default_value, validate)
        self._choices = choices

    def _entries(self):
        choices = self._choices() if callable(self._choices) else self._choices
        return [(entry[0], entry[2] if len(entry) > 2 else None) for entry in choices]

    def canonical_value(self):
        ident, vs = self._entries()[0]
        return ident if vs is None else (ident, vs.default())

    def _check(self, value):
        for ident, vs in self._entries():
            if vs is None and value == ident:
                return
            if vs is not None and isinstance(value, tuple) and len(value) == 2 and value[0] == ident:
                vs.validate(value[1])
                return
        raise DoubleValidationError("%r is not a valid choice" % (value,))

    def samples(self):
        out = []
        for ident, vs in self._entries():
            if vs is None:
                out.append(ident)
            else:
                out.extend((ident, sub) for sub in vs.samples())
        return out


class _TransformBase(ValueSpec):
    """Stored value = from_valuespec(inner value); inner value = to_valuespec(stored)."""

    def _setup(self, valuespec, to_vs, from_vs):
        self._valuespec = valuespec
        self._to_vs = to_vs or (lambda value: value)
        self._from_vs = from_vs or (lambda value: value)

    def default(self):
        return self._from_vs(self._valuespec.default())

    def _check(self, value):
        self._valuespec.validate(self._to_vs(value))

    def samples(self):
        return [self._from_vs(value) for value in self._valuespec.samples()]


class TransformForthBack(_TransformBase):
    """2.0 / 2.1 keywords: ``Transform(valuespec, back=None, forth=None, ...)``."""

    def __init__(self, valuespec, back=None, forth=None, title=None, help=None, default_value=DEF_VALUE, validate=None):
        super(TransformForthBack, self).__init__(title, help, default_value, validate)
        self._setup(valuespec, forth, back)


class TransformToFrom(_TransformBase):
    """2.2+ keywords: ``Transform(valuespec, to_valuespec=None, from_valuespec=None, ...)``."""

    def __init__(
        self,
        valuespec,
        to_valuespec=None,
        from_valuespec=None,
        title=None,
        help=None,
        default_value=DEF_VALUE,
        validate=None,
    ):
        super(TransformToFrom, self).__init__(title, help, default_value, validate)
        self._setup(valuespec, to_valuespec, from_valuespec)


class Dictionary(ValueSpec):
    def __init__(
        self,
        elements,
        title=None,
        help=None,
        default_value=DEF_VALUE,
        validate=None,
        empty_text=None,
        optional_keys=True,
        required_keys=None,
        ignored_keys=None,
        default_keys=None,
        hidden_keys=None,
        columns=1,
        render="normal",
    ):
        super(Dictionary, self).__init__(title, help, default_value, validate)
        # Checkmk keeps a callable: Dictionary._elements() (2.4 wraps legacy forms with it)
        self._elements = elements if callable(elements) else (lambda: elements)
        self._required_keys = list(required_keys or [])
        self._default_keys = list(default_keys or [])

    def elements(self):
        return list(self._elements())

    def element_keys(self):
        return [key for key, _vs in self.elements()]

    def element(self, key):
        return dict(self.elements())[key]

    def defaults(self):
        """key -> the value the element pre-fills when the admin ticks it."""
        return {key: vs.default() for key, vs in self.elements()}

    def canonical_value(self):
        return {key: vs.default() for key, vs in self.elements() if key in self._required_keys}

    def _check(self, value):
        if not isinstance(value, dict):
            raise DoubleValidationError("dict expected")
        known = dict(self.elements())
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise DoubleValidationError("Dictionary contains invalid keys: %s" % unknown)
        for key in self._required_keys:
            if key not in value:
                raise DoubleValidationError("Required field missing: %s" % key)
        for key, element_value in value.items():
            known[key].validate(element_value)

    def samples(self):
        """One dict per sample of each element (plus the required keys' defaults)."""
        base = self.canonical_value()
        out = []
        for key, vs in self.elements():
            for sample in vs.samples():
                value = dict(base)
                value[key] = sample
                out.append(value)
        return out

    def element_samples(self):
        return {key: vs.samples() for key, vs in self.elements()}


def passwordstore_choices():
    return [(ident, "Password %s" % ident) for ident in sorted(FAKE_PASSWORD_STORE)]


def global_proxy_choices():
    return [(ident, "Proxy %s" % ident) for ident in sorted(FAKE_GLOBAL_PROXIES)]


class ProxyUrl(TextInput):
    """``Url(default_scheme="http", allowed_schemes=[http, https, socks4, ...])``"""

    def __init__(self, title=None, default_scheme="http", allowed_schemes=None):
        super(ProxyUrl, self).__init__(title, allow_empty=False)
        self._schemes = list(allowed_schemes or ["http", "https", "socks4", "socks4a", "socks5", "socks5h"])

    def _check(self, value):
        super(ProxyUrl, self)._check(value)
        if value.split("://", 1)[0] not in self._schemes or "://" not in value:
            raise DoubleValidationError("not a proxy URL")

    def samples(self):
        return ["http://proxy.example.com:3128", "socks5h://user:pw@10.1.2.3:1080"]


def http_proxy_reference(cascading_dropdown, fixed_value, dropdown_choice):
    """Shape of ``HTTPProxyReference()`` in every release (choices and stored tuples)."""
    return cascading_dropdown(
        title="HTTP proxy",
        default_value=("environment", "environment"),
        choices=[
            ("environment", "Use from environment", fixed_value(value="environment")),
            ("no_proxy", "Connect without proxy", fixed_value(value=None)),
            ("global", "Use globally configured proxy", dropdown_choice(choices=global_proxy_choices, sorted=True)),
            ("url", "Use explicit proxy settings", ProxyUrl(title="Proxy URL")),
        ],
        sorted=False,
    )


def password_from_store(cascading_dropdown, dropdown_choice, title, help, allow_empty, size):
    return cascading_dropdown(
        title=title,
        help=help,
        choices=[
            ("password", "Explicit", Password(allow_empty=allow_empty, size=size)),
            ("store", "From password store", dropdown_choice(choices=passwordstore_choices, sorted=True)),
        ],
        orientation="horizontal",
    )


class NotificationParameter(abc.ABC):
    """2.0 - 2.4: ABC with abstract ``ident`` and ``spec`` (2.4 adds ``_form_spec``)."""

    @property
    @abc.abstractmethod
    def ident(self):
        raise NotImplementedError

    @property
    @abc.abstractmethod
    def spec(self):
        raise NotImplementedError

    def _form_spec(self):
        raise NotImplementedError()


class ClassRegistry(object):
    """2.0 - 2.3: ``register`` takes a class and instantiates it (registration hook)."""

    def __init__(self, set_title=True):
        self.entries = {}
        self._set_title = set_title

    def register(self, cls):
        instance = cls()
        valuespec = instance.spec
        if self._set_title:
            valuespec._title = "Call with the following parameters:"  # Checkmk's hack
        self.entries[instance.ident] = instance
        return cls

    def spec(self, method):
        return self.entries[method].spec


class InstanceRegistry(ClassRegistry):
    """2.4: ``register`` takes an instance."""

    def register(self, instance):
        self.entries[instance.ident] = instance
        return instance

    def validate_for_update(self, method, value):
        """2.3 -> 2.4 "Migrate notifications": wrap the legacy Dictionary element by element,
        validate, write back what was declared (``to_disk``). Raises on any message.
        A method without a registered form (but with a script) gets ``parameter_called()``:
        a Dictionary with the single required key ``params`` (list of strings)."""
        if method not in self.entries:
            if not (isinstance(value, dict) and set(value) == {"params"} and isinstance(value["params"], list)):
                raise DoubleValidationError("Dictionary contains invalid keys / Required field missing: params")
            return value
        spec = self.spec(method)
        if not isinstance(spec, Dictionary):
            raise DoubleValidationError("No Dictionary ValueSpec for %s" % method)
        spec.validate(value)
        declared = set(spec.element_keys())
        return {key: element for key, element in value.items() if key in declared}


def class_register_notification_parameters(registry):
    """2.0 - 2.3 body of ``register_notification_parameters`` (class built with ``type``)."""

    def register_notification_parameters(scriptname, valuespec):
        parameter_class = type(
            "NotificationParameter%s" % scriptname.title(),
            (NotificationParameter,),
            {"ident": scriptname, "spec": valuespec},
        )
        registry.register(parameter_class)

    return register_notification_parameters


def instance_register_notification_parameters(registry):
    """2.4 body: same class, but the registry receives ``parameter_class()``."""

    def register_notification_parameters(scriptname, valuespec):
        parameter_class = type(
            "NotificationParameter%s" % scriptname.title(),
            (NotificationParameter,),
            {"ident": scriptname, "spec": valuespec},
        )
        registry.register(parameter_class())

    return register_notification_parameters


i18n = _i18n
