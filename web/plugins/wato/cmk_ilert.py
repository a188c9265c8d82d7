#!/usr/bin/env python3
# iLert (cmk_ilert): notification parameter form, legacy GUI API (Checkmk 2.0 - 2.4)
"""Parameter form of the notification method ``cmk_ilert`` for Checkmk 2.0 - 2.4.

Installed as ``~/local/share/check_mk/web/plugins/wato/cmk_ilert.py`` (MKP part ``web``).
Checkmk runs it with ``load_web_plugins("wato", globals())``: the source is exec'd in the
namespace of the wato module. Therefore:

* everything happens inside one function, so that only ``_cmk_ilert_register_form`` is
  added to that shared namespace (no ``_``, ``Dictionary`` ... of our own leaks into it);
* names are looked up where each release keeps them (``cmk.gui.valuespec``,
  ``cmk.gui.plugins.wato.utils`` / ``cmk.gui.plugins.wato``, 2.3+ ``cmk.gui.watolib`` and
  ``cmk.gui.wato``, finally the wato namespace itself); where a name differs between
  releases (2.0 has no ``TextInput``, only ``TextUnicode``) the alternatives are tried in
  order, so the form loads whether a name exists or not;
* Python 3.8 syntax (Checkmk 2.0), no annotations, no top-level ``return``.

Registration uses ``register_notification_parameters(name, Dictionary)``: it exists in every
release from 2.0 to 2.5 and, on 2.4, is what the update action "Migrate notifications" validates
rules saved on 2.3 with. The stored shapes are documented in ``docs/forms.md``; the notification
script (``cmk_ilert.params.parse_settings``) reads every one of them.

On Checkmk 2.5+ the rulesets-API form (``cmk_addons/plugins/cmk_ilert/rulesets``) owns the
method; if that form is installed, this file registers nothing there.
"""


def _cmk_ilert_register_form():
    import importlib
    import inspect

    wato_namespace = globals()

    def find(name, module_names):
        for module_name in module_names:
            try:
                module = importlib.import_module(module_name)
            except Exception:  # noqa: BLE001 - a module that moved or vanished in this release
                continue
            found = getattr(module, name, None)
            if found is not None:
                return found
        return wato_namespace.get(name)

    def lookup(names, module_names):
        # ``names``: the name, or alternatives in order of preference (the first one this
        # release has wins), e.g. 2.1+ ``TextInput`` / 2.0 ``TextUnicode``.
        if isinstance(names, str):
            names = (names,)
        for name in names:
            found = find(name, module_names)
            if found is not None:
                return found
        raise ImportError("cmk_ilert: this Checkmk release offers no '%s'" % "' or '".join(names))

    def checkmk_major_minor():
        for module_name in ("cmk.ccc.version", "cmk.utils.version", "cmk"):
            try:
                module = importlib.import_module(module_name)
            except Exception:  # noqa: BLE001
                continue
            raw = str(getattr(module, "__version__", "") or "")
            parts = raw.split(".")
            if len(parts) >= 2 and parts[0].isdigit() and parts[1][:2].isdigit():
                major, minor = int(parts[0]), int(parts[1][:2])
                if major >= 1000:  # master daily build "YYYY.MM.DD": newer than any release
                    return (99, 0)
                return (major, minor)
        return None

    def modern_form_installed():
        try:
            import importlib.util

            spec = importlib.util.find_spec("cmk_addons.plugins.cmk_ilert.rulesets.cmk_ilert")
        except Exception:  # noqa: BLE001
            return False
        return spec is not None

    version = checkmk_major_minor()
    if version is not None and version >= (2, 5) and modern_form_installed():
        return  # 2.5+: the rulesets-API form is registered by Checkmk's rulesets loader

    valuespec_modules = ("cmk.gui.valuespec",)
    wato_modules = (
        "cmk.gui.plugins.wato.utils",  # 2.0 - 2.2 home, 2.3+ filled by _pre_21_plugin_api
        "cmk.gui.plugins.wato",
        "cmk.gui.watolib.notification_parameter",  # 2.3+: register_notification_parameters
        "cmk.gui.wato",  # 2.3+: HTTPProxyReference, IndividualOrStoredPassword
    )

    Dictionary = lookup("Dictionary", valuespec_modules)
    # 2.1+ ``TextInput``; 2.0 has only ``TextAscii`` / ``TextUnicode`` (2.1 keeps both as
    # aliases of ``TextInput``). Same keywords, same stored str: docs/compatibility.md.
    TextInput = lookup(("TextInput", "TextUnicode"), valuespec_modules)
    TextAreaUnicode = lookup("TextAreaUnicode", valuespec_modules)
    DropdownChoice = lookup("DropdownChoice", valuespec_modules)
    CascadingDropdown = lookup("CascadingDropdown", valuespec_modules)
    FixedValue = lookup("FixedValue", valuespec_modules)
    Checkbox = lookup("Checkbox", valuespec_modules)
    Integer = lookup("Integer", valuespec_modules)
    Transform = lookup("Transform", valuespec_modules)
    register_notification_parameters = lookup("register_notification_parameters", wato_modules)
    IndividualOrStoredPassword = lookup("IndividualOrStoredPassword", wato_modules)
    HTTPProxyReference = lookup("HTTPProxyReference", wato_modules)

    try:
        from cmk.gui.i18n import _
    except Exception:  # noqa: BLE001

        def _(text):
            return text

    def transform(valuespec, to_valuespec, from_valuespec):
        # 2.0/2.1: Transform(valuespec, back=, forth=); 2.2+: (valuespec, to_valuespec=,
        # from_valuespec=). Pick by signature: 2.1 valuespecs swallow unknown keywords.
        try:
            parameters = inspect.signature(Transform.__init__).parameters
        except (TypeError, ValueError):
            parameters = {}
        if "to_valuespec" in parameters:
            return Transform(valuespec, to_valuespec=to_valuespec, from_valuespec=from_valuespec)
        return Transform(valuespec, forth=to_valuespec, back=from_valuespec)

    # Same defaults as cmk_ilert.params (tests/forms checks they stay equal).
    default_api_url = "https://api.ilert.com"
    default_summary_host = "$NOTIFICATIONTYPE$ Host Alert: $HOSTNAME$ is $HOSTSTATE$ - $HOSTOUTPUT$"
    default_summary_service = (
        "$NOTIFICATIONTYPE$ Service Alert: $HOSTALIAS$/$SERVICEDESC$ is $SERVICESTATE$"
        " - $SERVICEOUTPUT$"
    )
    default_details_host = (
        "$HOSTOUTPUT$\n\n$LONGHOSTOUTPUT$\n\n"
        "Host: $HOSTNAME$ ($HOSTALIAS$, $HOSTADDRESS$)\n"
        "State: $HOSTSTATE$\nPrevious hard state: $PREVIOUSHOSTHARDSTATE$\n"
        "Site: $OMD_SITE$\nTime: $LONGDATETIME$"
    )
    default_details_service = (
        "$SERVICEOUTPUT$\n\n$LONGSERVICEOUTPUT$\n\n"
        "Host: $HOSTNAME$ ($HOSTALIAS$, $HOSTADDRESS$)\n"
        "Service: $SERVICEDESC$\n"
        "State: $SERVICESTATE$\nPrevious hard state: $PREVIOUSSERVICEHARDSTATE$\n"
        "Site: $OMD_SITE$\nTime: $LONGDATETIME$"
    )

    # An http(s) base URL without credentials, query or fragment (what the script accepts).
    api_url_regex = r"^https?://[^\s/?#@]+(/[^\s?#@]*)?$"
    # Checkmk's own convention for a manual URL prefix: absolute, ending with /check_mk/.
    url_prefix_regex = r"^https?://[^\s/?#@]+(/[^\s?#@]*)?/check_mk/$"

    macro_help = _(
        " You can use the macros of the notification context, for example <tt>$HOSTNAME$</tt>,"
        " <tt>$HOSTALIAS$</tt>, <tt>$SERVICEDESC$</tt>, <tt>$SERVICESTATE$</tt>,"
        " <tt>$SERVICEOUTPUT$</tt>, <tt>$LONGSERVICEOUTPUT$</tt>, <tt>$NOTIFICATIONTYPE$</tt>."
        " Macros that are not set are removed."
    )

    # url_prefix is stored like Checkmk's built-in methods store it up to 2.3: a one-key dict
    # {"automatic": "http"|"https"} or {"manual": URL}, which reaches the script as
    # PARAMETER_URL_PREFIX_AUTOMATIC / PARAMETER_URL_PREFIX_MANUAL on every release.
    def url_prefix_to_valuespec(value):
        if isinstance(value, dict) and len(value) == 1:
            kind, setting = list(value.items())[0]
            if kind == "automatic":
                return "automatic_https" if setting == "https" else "automatic_http"
            return ("manual", setting)
        if value in ("automatic_http", "automatic_https") or isinstance(value, tuple):
            return value
        return "automatic_https"

    def url_prefix_from_valuespec(value):
        if value == "automatic_http":
            return {"automatic": "http"}
        if value == "automatic_https":
            return {"automatic": "https"}
        if isinstance(value, tuple) and len(value) == 2 and value[0] == "manual":
            return {"manual": value[1]}
        return value

    elements = [
        (
            "ilert_api_key",
            IndividualOrStoredPassword(
                title=_("iLert integration key"),
                help=_(
                    "The integration key (API key) of the iLert alert source that receives the"
                    " alerts. In iLert open <i>Alert sources</i>, choose your alert source and"
                    " copy its <i>Integration key</i>. For the source type <i>Checkmk</i> the"
                    " alert source must be of type Checkmk, for the source type <i>API</i> of"
                    " type API. Store the key in the Checkmk password store to keep it out of"
                    " the rule."
                ),
                allow_empty=False,
            ),
        ),
        (
            "ilert_source_type",
            DropdownChoice(
                title=_("iLert alert source type"),
                help=_(
                    "<i>Checkmk</i>: an iLert alert source of type Checkmk; the notification is"
                    " sent in the format of Checkmk's own iLert integration and iLert builds the"
                    " alert from it. <i>API</i>: an iLert alert source of type API; this plugin"
                    " builds the alert itself (summary, details, priority, routing key, links)."
                    " The integration key must belong to an alert source of the chosen type."
                    " Only <i>API</i> gets downtimes, flapping and acknowledgement comments as"
                    " comments, links, the routing key and inventory facts: a new rule starts"
                    " with <i>API</i>. A rule saved without this setting (an earlier version's"
                    " default) keeps sending as <i>Checkmk</i>, as before."
                ),
                choices=[
                    ("checkmk", _("Checkmk (alert source of type Checkmk)")),
                    ("api", _("API (alert source of type API)")),
                ],
                default_value="api",
            ),
        ),
        (
            "ilert_api_url",
            TextInput(
                title=_("iLert API base URL"),
                help=_(
                    "Base URL of the iLert API, without a path to an endpoint. Keep the default"
                    " <tt>https://api.ilert.com</tt> unless iLert gave you another address."
                    " Credentials, query strings and fragments are not allowed."
                ),
                default_value=default_api_url,
                size=64,
                allow_empty=False,
                regex=api_url_regex,
                regex_error=_(
                    "Enter an http:// or https:// URL without credentials, query or fragment."
                ),
            ),
        ),
        (
            "ilert_priority",
            DropdownChoice(
                title=_("Alert priority"),
                help=_(
                    "<i>Automatic</i>: CRITICAL, DOWN and UNREACHABLE open a high-priority"
                    " alert, WARNING and UNKNOWN a low-priority one. <i>High</i> or <i>Low</i>"
                    " use that priority for every alert. The priority overrides the one set on"
                    " the iLert alert source."
                ),
                choices=[
                    ("auto", _("Automatic (from the state)")),
                    ("HIGH", _("High (with escalation)")),
                    ("LOW", _("Low (without escalation)")),
                ],
                default_value="auto",
            ),
        ),
        (
            "ilert_summary_host",
            TextInput(
                title=_("Alert summary for host notifications"),
                help=_("The summary (title) of the iLert alert for a host problem.") + macro_help,
                default_value=default_summary_host,
                size=76,
                allow_empty=False,
            ),
        ),
        (
            "ilert_summary_service",
            TextInput(
                title=_("Alert summary for service notifications"),
                help=_("The summary (title) of the iLert alert for a service problem.")
                + macro_help,
                default_value=default_summary_service,
                size=76,
                allow_empty=False,
            ),
        ),
        (
            "ilert_details_host",
            TextAreaUnicode(
                title=_("Alert details for host notifications"),
                help=_(
                    "The details (description) of the iLert alert for a host problem. Used with"
                    " the source type API; an alert source of type Checkmk builds them itself."
                )
                + macro_help,
                default_value=default_details_host,
                cols=76,
                rows=8,
            ),
        ),
        (
            "ilert_details_service",
            TextAreaUnicode(
                title=_("Alert details for service notifications"),
                help=_(
                    "The details (description) of the iLert alert for a service problem. Used"
                    " with the source type API; an alert source of type Checkmk builds them"
                    " itself."
                )
                + macro_help,
                default_value=default_details_service,
                cols=76,
                rows=8,
            ),
        ),
        (
            "url_prefix",
            transform(
                CascadingDropdown(
                    title=_("URL prefix for links to Checkmk"),
                    help=_(
                        "Adds links from the iLert alert back to the host or service in Checkmk."
                        " <i>Automatic</i> builds the address from the monitoring host name and"
                        " the site (http or https). Otherwise enter the absolute URL of your"
                        " Checkmk GUI, ending with <tt>/check_mk/</tt>, for example"
                        " <tt>https://monitoring.example.com/mysite/check_mk/</tt>. Without this"
                        " option the alerts carry no links to Checkmk."
                    ),
                    choices=[
                        ("automatic_http", _("Automatic HTTP")),
                        ("automatic_https", _("Automatic HTTPS")),
                        (
                            "manual",
                            _("Specify URL prefix"),
                            TextInput(
                                size=64,
                                allow_empty=False,
                                regex=url_prefix_regex,
                                regex_error=_(
                                    "The URL must begin with <tt>http://</tt> or"
                                    " <tt>https://</tt> and end with <tt>/check_mk/</tt>."
                                ),
                            ),
                        ),
                    ],
                    default_value="automatic_https",
                ),
                url_prefix_to_valuespec,
                url_prefix_from_valuespec,
            ),
        ),
        ("proxy_url", HTTPProxyReference()),
        (
            "ignore_ssl",
            FixedValue(
                value=True,
                title=_("Disable TLS certificate verification"),
                totext=_("TLS certificates of the iLert API are not verified"),
                help=_(
                    "Do not verify the TLS certificate of the iLert API (or of the proxy). Use"
                    " only for tests with a self-signed endpoint: anyone in the network path"
                    " could read the integration key."
                ),
            ),
        ),
        (
            "timeout",
            Integer(
                title=_("Request timeout"),
                help=_(
                    "Maximum time for one request to iLert. It always stays below the 60 seconds"
                    " after which Checkmk stops a notification plugin."
                ),
                unit=_("seconds"),
                default_value=10,
                minvalue=1,
                maxvalue=50,
            ),
        ),
        (
            "forward_custom",
            FixedValue(
                value=True,
                title=_("Forward custom notifications"),
                totext=_("Custom notifications open an iLert alert"),
                help=_(
                    "Custom notifications, for example the ones sent from the GUI to test a rule,"
                    " open a test alert in iLert. If the host or service is OK or UP at that"
                    " moment, a resolve follows right behind it, so nothing stays open; in a"
                    " problem state the alert stays open until the next RECOVERY. With the source"
                    " type <i>Checkmk</i> they are sent as PROBLEM and RECOVERY. Without this"
                    " option they are ignored."
                ),
            ),
        ),
        (
            "routing_key",
            TextInput(
                title=_("Routing key"),
                help=_(
                    "Source type <i>API</i> only (an alert source of type Checkmk receives no"
                    " routing key). iLert routing key of the alert: iLert uses the escalation"
                    " policy with this routing key instead of the alert source's own. Either a"
                    " fixed key (sent as entered) or a template over the notification context, so"
                    " that one rule routes each alert to its team, for example"
                    " <tt>$HOSTLABEL_team$</tt>, <tt>$SERVICELABEL_owner$</tt>, <tt>$HOSTFOLDER$</tt>"
                    " (the Setup folder) or <tt>$HOSTCONTACTGROUPNAMES$</tt>. If a macro of"
                    " the template is empty, or the result is longer than 255 characters, the"
                    " fallback below is used; without a usable fallback no routing key is sent"
                    " and the alert source's escalation policy applies."
                ),
                size=40,
                allow_empty=False,
            ),
        ),
        (
            "routing_key_fallback",
            TextInput(
                title=_("Routing key fallback"),
                help=_(
                    "Source type <i>API</i> only. Used when the routing key template comes out"
                    " empty, for example <tt>team-ops</tt> or another template such as"
                    " <tt>$HOSTLABEL_department$</tt>. Without it such an alert carries no"
                    " routing key."
                ),
                size=40,
                allow_empty=False,
            ),
        ),
        (
            "ilert_severity",
            DropdownChoice(
                title=_("Alert severity"),
                help=_(
                    "Source type <i>API</i> only. iLert severity 1..5 of a new alert; it"
                    " overrides the severity the alert source evaluates. <i>Automatic</i>:"
                    " DOWN and CRITICAL 2, UNREACHABLE and WARNING 3, UNKNOWN 4, anything else 5;"
                    " a service level (<tt>SVC_SL</tt>, else <tt>HOST_SL</tt>) of 20 (Gold)"
                    " makes it one step more severe, 30 (Platinum) or more two steps, never"
                    " beyond 1. Without this option no severity is sent."
                ),
                choices=[
                    ("auto", _("Automatic (from the state and the service level)")),
                    ("severity_1", _("Always 1")),
                    ("severity_2", _("Always 2")),
                    ("severity_3", _("Always 3")),
                    ("severity_4", _("Always 4")),
                    ("severity_5", _("Always 5")),
                    ("off", _("Do not send a severity")),
                ],
                default_value="auto",
            ),
        ),
        (
            "ilert_services",
            TextInput(
                title=_("Affected iLert services"),
                help=_(
                    "Source type <i>API</i> only. Aliases of the iLert services a new alert"
                    " affects (shown on iLert status pages), separated by commas: fixed"
                    " aliases or a template such as <tt>$SERVICELABEL_ilert_service$</tt> or"
                    " <tt>$HOSTLABEL_ilert_service$</tt>. At most 20 aliases of up to 255"
                    " characters each. Empty: no services."
                ),
                size=60,
                allow_empty=False,
            ),
        ),
        (
            "runbook_links",
            Checkbox(
                title=_("Runbook links"),
                label=_("Add the notes and action URLs of host and service as links"),
                help=_(
                    "Source type <i>API</i> only. The notes URL and action URL of the service"
                    " and of its host (<tt>SERVICENOTESURL</tt>, <tt>SERVICEACTIONURL</tt>,"
                    " <tt>HOSTNOTESURL</tt>, <tt>HOSTACTIONURL</tt>) become links of the alert,"
                    " next to the links back to Checkmk. Only http(s) URLs are used."
                ),
                default_value=True,
            ),
        ),
        (
            "graph_link",
            Checkbox(
                title=_("Link to the graphs"),
                label=_("Add a link to the graphs page of the host or service in Checkmk"),
                help=_(
                    "Source type <i>API</i> only. Needs the URL prefix for links to Checkmk."
                    " A link, not an image: iLert would have to fetch an image from the site"
                    " itself."
                ),
                default_value=True,
            ),
        ),
        (
            "accept_comments",
            Checkbox(
                title=_("Acknowledgement comment in the accept event"),
                label=_("Send the acknowledgement's author and comment with the accept"),
                help=_(
                    "Source type <i>API</i> only. The author and comment of an acknowledgement"
                    " travel in the accept event itself: one request instead of two (iLert"
                    " accepts 50 events per minute per alert source). Only if iLert answers"
                    " that the alert was accepted already, the comment follows as a comment"
                    " event of its own. Without this option every acknowledgement sends an"
                    " accept and a comment event."
                ),
                default_value=True,
            ),
        ),
        (
            "outbox",
            Checkbox(
                title=_("Outbox for undelivered events"),
                label=_("Keep undelivered events and deliver them later"),
                help=_(
                    "Every event is first written to disk below <tt>~/var/cmk_ilert/</tt>."
                    " If iLert cannot be reached, it is delivered by a later notification or by"
                    " <tt>python3 -m cmk_ilert flush</tt> (for example from the site's cron),"
                    " in order, so that a recovery never overtakes its problem. On by default."
                ),
                default_value=True,
            ),
        ),
        (
            "rate_limit",
            Integer(
                title=_("Rate limit"),
                help=_(
                    "Events per minute and integration key this site sends at most. iLert"
                    " accepts 50 events per minute per alert source; raise this only if iLert"
                    " raised your limit. 0 switches the client-side limit off."
                ),
                unit=_("events per minute"),
                default_value=50,
                minvalue=0,
                maxvalue=100000,
            ),
        ),
        # Checkboxes whose default is on store True/False explicitly (a Checkbox, not a
        # FixedValue): an admin must be able to switch them off.
        (
            "comment_events",
            Checkbox(
                title=_("Downtime and flapping as comments"),
                label=_("Add downtime and flapping notifications to the open alert"),
                help=_(
                    "Source type <i>API</i> only: DOWNTIME* and FLAPPING* notifications become"
                    " a comment on the open iLert alert of that host or service instead of being"
                    " ignored. On by default."
                ),
                default_value=True,
            ),
        ),
        (
            "coalesce",
            Checkbox(
                title=_("Coalesce queued events"),
                label=_("Drop a queued alert together with the resolve behind it"),
                help=_(
                    "If a queued alert that was never attempted is followed by its resolve in"
                    " the outbox (for example after an outage), both are dropped as superseded"
                    " instead of opening and closing an alert at once. On by default."
                ),
                default_value=True,
            ),
        ),
        (
            "inventory_facts",
            Checkbox(
                title=_("Inventory facts"),
                label=_("Add HW/SW inventory facts to the alert"),
                help=_(
                    "Source type <i>API</i> only: facts from the host's HW/SW inventory (for"
                    " example operating system and hardware model) are added to the alert"
                    " details. Off by default."
                ),
                default_value=False,
            ),
        ),
    ]

    register_notification_parameters(
        "cmk_ilert",
        Dictionary(
            title=_("iLert (cmk_ilert) parameters"),
            help=_(
                "Sends alerts to iLert. Required: the integration key of an iLert alert source."
                " Every other setting has a default."
            ),
            elements=elements,
            required_keys=["ilert_api_key"],
            default_keys=["ilert_source_type"],
        ),
    )


_cmk_ilert_register_form()
