#!/usr/bin/env python3
"""iLert (cmk_ilert): notification parameter form for Checkmk 2.5+ (rulesets API v1).

Installed as ``~/local/lib/python3/cmk_addons/plugins/cmk_ilert/rulesets/cmk_ilert.py``
(MKP part ``cmk_addons_plugins``). Checkmk's rulesets loader imports this module and picks up
``rule_spec_cmk_ilert``; ``name`` equals the notification script's file name.

The keys are the ones of the legacy form (``web/plugins/wato/cmk_ilert.py``). Parameter sets
saved with that form on 2.0 - 2.4 stay on disk in the legacy shapes until they are saved again
here: every element whose shape differs has a ``migrate`` that turns each legacy value into the
shape below. Checkmk runs ``migrate`` on every load, so each one is idempotent. The
notification script reads both shapes (``docs/forms.md``).
"""

from __future__ import annotations

from typing import Optional, Tuple

from cmk.rulesets.v1 import Help, Label, Message, Title
from cmk.rulesets.v1.form_specs import (
    BooleanChoice,
    CascadingSingleChoice,
    CascadingSingleChoiceElement,
    DefaultValue,
    DictElement,
    Dictionary,
    FieldSize,
    FixedValue,
    Integer,
    MultilineText,
    Password,
    Proxy,
    SingleChoice,
    SingleChoiceElement,
    String,
    migrate_to_password,
    migrate_to_proxy,
    validators,
)
from cmk.rulesets.v1.rule_specs import NotificationParameters, Topic

# Same defaults as cmk_ilert.params and the legacy form (tests/forms checks they stay equal).
DEFAULT_API_URL = "https://api.ilert.com"
DEFAULT_SUMMARY_HOST = "$NOTIFICATIONTYPE$ Host Alert: $HOSTNAME$ is $HOSTSTATE$ - $HOSTOUTPUT$"
DEFAULT_SUMMARY_SERVICE = (
    "$NOTIFICATIONTYPE$ Service Alert: $HOSTALIAS$/$SERVICEDESC$ is $SERVICESTATE$"
    " - $SERVICEOUTPUT$"
)
DEFAULT_DETAILS_HOST = (
    "$HOSTOUTPUT$\n\n$LONGHOSTOUTPUT$\n\n"
    "Host: $HOSTNAME$ ($HOSTALIAS$, $HOSTADDRESS$)\n"
    "State: $HOSTSTATE$\nPrevious hard state: $PREVIOUSHOSTHARDSTATE$\n"
    "Site: $OMD_SITE$\nTime: $LONGDATETIME$"
)
DEFAULT_DETAILS_SERVICE = (
    "$SERVICEOUTPUT$\n\n$LONGSERVICEOUTPUT$\n\n"
    "Host: $HOSTNAME$ ($HOSTALIAS$, $HOSTADDRESS$)\n"
    "Service: $SERVICEDESC$\n"
    "State: $SERVICESTATE$\nPrevious hard state: $PREVIOUSSERVICEHARDSTATE$\n"
    "Site: $OMD_SITE$\nTime: $LONGDATETIME$"
)

# Same patterns as the legacy form, so that a value valid in one form is valid in the other.
API_URL_PATTERN = r"^https?://[^\s/?#@]+(/[^\s?#@]*)?$"
URL_PREFIX_PATTERN = r"^https?://[^\s/?#@]+(/[^\s?#@]*)?/check_mk/$"

_MACRO_HELP = (
    " You can use the macros of the notification context, for example <tt>$HOSTNAME$</tt>,"
    " <tt>$HOSTALIAS$</tt>, <tt>$SERVICEDESC$</tt>, <tt>$SERVICESTATE$</tt>,"
    " <tt>$SERVICEOUTPUT$</tt>, <tt>$LONGSERVICEOUTPUT$</tt>, <tt>$NOTIFICATIONTYPE$</tt>."
    " Macros that are not set are removed."
)


# --- migrations (legacy valuespec shapes -> FormSpec shapes) ---------------------------------


def migrate_api_key(value: object) -> Tuple[str, str, Tuple[str, str]]:
    """Legacy ``("password", key)`` / ``("store", id)`` (and a bare key) -> Password model."""
    if isinstance(value, str):  # a plain key, as IndividualOrStoredPassword used to accept
        value = ("password", value)
    return migrate_to_password(value)


def migrate_url_prefix(value: object) -> Tuple[str, Optional[str]]:
    """Legacy ``{"automatic": "http"|"https"}`` / ``{"manual": url}`` -> cascading choice."""
    if isinstance(value, tuple) and len(value) == 2:
        kind, setting = value
        if kind in ("automatic_http", "automatic_https"):
            return (kind, None)
        if kind == "manual" and isinstance(setting, str):
            return ("manual", setting)
        if kind == "automatic" and setting in ("http", "https"):
            return ("automatic_%s" % setting, None)
    if isinstance(value, dict) and len(value) == 1:
        ((kind, setting),) = value.items()
        if kind == "automatic" and setting in ("http", "https"):
            return ("automatic_%s" % setting, None)
        if kind == "manual" and isinstance(setting, str):
            return ("manual", setting)
    if value in ("automatic_http", "automatic_https"):
        return (str(value), None)
    if isinstance(value, str):
        return ("manual", value)
    raise TypeError("cmk_ilert: cannot migrate url_prefix value %r" % (value,))


def migrate_flag(value: object) -> bool:
    """Legacy checkbox ``FixedValue(True)`` / ``Checkbox`` -> BooleanChoice."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, int):
        return bool(value)
    raise TypeError("cmk_ilert: cannot migrate checkbox value %r" % (value,))


# --- form ----------------------------------------------------------------------------------


def migrate_source_type(value: object) -> object:
    """A rule saved before the alert source type was required (or without it) kept sending as
    ``checkmk``, the notification script's default for an absent setting: keep it so, while a
    new rule starts with ``api``."""
    if isinstance(value, dict) and "ilert_source_type" not in value:
        return dict(value, ilert_source_type="checkmk")
    return value


def _parameter_form() -> Dictionary:
    return Dictionary(
        migrate=migrate_source_type,
        title=Title("iLert (cmk_ilert) parameters"),
        help_text=Help(
            "Sends alerts to iLert. Required: the integration key of an iLert alert source."
            " Every other setting has a default."
        ),
        elements={
            "ilert_api_key": DictElement(
                required=True,
                parameter_form=Password(
                    title=Title("iLert integration key"),
                    help_text=Help(
                        "The integration key (API key) of the iLert alert source that receives"
                        " the alerts. In iLert open <i>Alert sources</i>, choose your alert"
                        " source and copy its <i>Integration key</i>. For the source type"
                        " <i>Checkmk</i> the alert source must be of type Checkmk, for the"
                        " source type <i>API</i> of type API. Store the key in the Checkmk"
                        " password store to keep it out of the rule."
                    ),
                    migrate=migrate_api_key,
                ),
            ),
            "ilert_source_type": DictElement(
                required=True,
                parameter_form=SingleChoice(
                    title=Title("iLert alert source type"),
                    help_text=Help(
                        "<i>Checkmk</i>: an iLert alert source of type Checkmk; the notification"
                        " is sent in the format of Checkmk's own iLert integration and iLert"
                        " builds the alert from it. <i>API</i>: an iLert alert source of type"
                        " API; this plugin builds the alert itself (summary, details, priority,"
                        " routing key, links). The integration key must belong to an alert"
                        " source of the chosen type. Only <i>API</i> gets downtimes, flapping and"
                        " acknowledgement comments as comments, links, the routing key and"
                        " inventory facts: a new rule starts with <i>API</i>. A rule saved without"
                        " this setting (an earlier version's default) keeps sending as"
                        " <i>Checkmk</i>, as before."
                    ),
                    elements=[
                        SingleChoiceElement(
                            name="checkmk", title=Title("Checkmk (alert source of type Checkmk)")
                        ),
                        SingleChoiceElement(name="api", title=Title("API (alert source of type API)")),
                    ],
                    prefill=DefaultValue("api"),
                ),
            ),
            "ilert_api_url": DictElement(
                parameter_form=String(
                    title=Title("iLert API base URL"),
                    help_text=Help(
                        "Base URL of the iLert API, without a path to an endpoint. Keep the"
                        " default <tt>https://api.ilert.com</tt> unless iLert gave you another"
                        " address. Credentials, query strings and fragments are not allowed."
                    ),
                    prefill=DefaultValue(DEFAULT_API_URL),
                    field_size=FieldSize.LARGE,
                    custom_validate=(
                        validators.Url([validators.UrlProtocol.HTTP, validators.UrlProtocol.HTTPS]),
                        validators.MatchRegex(
                            API_URL_PATTERN,
                            Message("Enter an http:// or https:// URL without credentials,"
                                    " query or fragment."),
                        ),
                    ),
                ),
            ),
            "ilert_priority": DictElement(
                parameter_form=SingleChoice(
                    title=Title("Alert priority"),
                    help_text=Help(
                        "<i>Automatic</i>: CRITICAL, DOWN and UNREACHABLE open a high-priority"
                        " alert, WARNING and UNKNOWN a low-priority one. <i>High</i> or"
                        " <i>Low</i> use that priority for every alert. The priority overrides"
                        " the one set on the iLert alert source."
                    ),
                    elements=[
                        SingleChoiceElement(name="auto", title=Title("Automatic (from the state)")),
                        SingleChoiceElement(name="HIGH", title=Title("High (with escalation)")),
                        SingleChoiceElement(name="LOW", title=Title("Low (without escalation)")),
                    ],
                    prefill=DefaultValue("auto"),
                ),
            ),
            "ilert_summary_host": DictElement(
                parameter_form=String(
                    title=Title("Alert summary for host notifications"),
                    help_text=Help(
                        "The summary (title) of the iLert alert for a host problem." + _MACRO_HELP
                    ),
                    prefill=DefaultValue(DEFAULT_SUMMARY_HOST),
                    macro_support=True,
                    field_size=FieldSize.LARGE,
                    custom_validate=(validators.LengthInRange(min_value=1),),
                ),
            ),
            "ilert_summary_service": DictElement(
                parameter_form=String(
                    title=Title("Alert summary for service notifications"),
                    help_text=Help(
                        "The summary (title) of the iLert alert for a service problem."
                        + _MACRO_HELP
                    ),
                    prefill=DefaultValue(DEFAULT_SUMMARY_SERVICE),
                    macro_support=True,
                    field_size=FieldSize.LARGE,
                    custom_validate=(validators.LengthInRange(min_value=1),),
                ),
            ),
            "ilert_details_host": DictElement(
                parameter_form=MultilineText(
                    title=Title("Alert details for host notifications"),
                    help_text=Help(
                        "The details (description) of the iLert alert for a host problem. Used"
                        " with the source type API; an alert source of type Checkmk builds them"
                        " itself." + _MACRO_HELP
                    ),
                    prefill=DefaultValue(DEFAULT_DETAILS_HOST),
                    macro_support=True,
                ),
            ),
            "ilert_details_service": DictElement(
                parameter_form=MultilineText(
                    title=Title("Alert details for service notifications"),
                    help_text=Help(
                        "The details (description) of the iLert alert for a service problem."
                        " Used with the source type API; an alert source of type Checkmk builds"
                        " them itself." + _MACRO_HELP
                    ),
                    prefill=DefaultValue(DEFAULT_DETAILS_SERVICE),
                    macro_support=True,
                ),
            ),
            "url_prefix": DictElement(
                parameter_form=CascadingSingleChoice(
                    title=Title("URL prefix for links to Checkmk"),
                    help_text=Help(
                        "Adds links from the iLert alert back to the host or service in"
                        " Checkmk. <i>Automatic</i> builds the address from the monitoring host"
                        " name and the site (http or https). Otherwise enter the absolute URL of"
                        " your Checkmk GUI, ending with <tt>/check_mk/</tt>, for example"
                        " <tt>https://monitoring.example.com/mysite/check_mk/</tt>. Without this"
                        " option the alerts carry no links to Checkmk."
                    ),
                    elements=[
                        CascadingSingleChoiceElement(
                            name="automatic_http",
                            title=Title("Automatic HTTP"),
                            parameter_form=FixedValue(value=None),
                        ),
                        CascadingSingleChoiceElement(
                            name="automatic_https",
                            title=Title("Automatic HTTPS"),
                            parameter_form=FixedValue(value=None),
                        ),
                        CascadingSingleChoiceElement(
                            name="manual",
                            title=Title("Specify URL prefix"),
                            parameter_form=String(
                                field_size=FieldSize.LARGE,
                                custom_validate=(
                                    validators.Url(
                                        [validators.UrlProtocol.HTTP, validators.UrlProtocol.HTTPS]
                                    ),
                                    validators.MatchRegex(
                                        URL_PREFIX_PATTERN,
                                        Message(
                                            "The URL must begin with http:// or https:// and"
                                            " end with /check_mk/."
                                        ),
                                    ),
                                ),
                            ),
                        ),
                    ],
                    prefill=DefaultValue("automatic_https"),
                    migrate=migrate_url_prefix,
                ),
            ),
            "proxy_url": DictElement(
                parameter_form=Proxy(
                    title=Title("HTTP proxy"),
                    help_text=Help(
                        "Proxy for the requests to iLert: from the environment of the site"
                        " (default), none, a proxy configured in the global settings, or an"
                        " explicit proxy URL."
                    ),
                    migrate=migrate_to_proxy,
                ),
            ),
            "ignore_ssl": DictElement(
                parameter_form=BooleanChoice(
                    title=Title("Disable TLS certificate verification"),
                    label=Label("Do not verify the TLS certificate of the iLert API"),
                    help_text=Help(
                        "Do not verify the TLS certificate of the iLert API (or of the proxy)."
                        " Use only for tests with a self-signed endpoint: anyone in the network"
                        " path could read the integration key."
                    ),
                    prefill=DefaultValue(True),
                    migrate=migrate_flag,
                ),
            ),
            "timeout": DictElement(
                parameter_form=Integer(
                    title=Title("Request timeout"),
                    help_text=Help(
                        "Maximum time for one request to iLert. It always stays below the 60"
                        " seconds after which Checkmk stops a notification plugin."
                    ),
                    unit_symbol="s",
                    prefill=DefaultValue(10),
                    custom_validate=(validators.NumberInRange(min_value=1, max_value=50),),
                ),
            ),
            "forward_custom": DictElement(
                parameter_form=BooleanChoice(
                    title=Title("Forward custom notifications"),
                    label=Label("Custom notifications open an iLert alert"),
                    help_text=Help(
                        "Custom notifications, for example the ones sent from the GUI to test a rule,"
                        " open a test alert in iLert. If the host or service is OK or UP at that"
                        " moment, a resolve follows right behind it, so nothing stays open; in a"
                        " problem state the alert stays open until the next RECOVERY. With the source"
                        " type <i>Checkmk</i> they are sent as PROBLEM and RECOVERY. Without this"
                        " option they are ignored."
                    ),
                    prefill=DefaultValue(True),
                    migrate=migrate_flag,
                ),
            ),
            "routing_key": DictElement(
                parameter_form=String(
                    title=Title("Routing key"),
                    help_text=Help(
                        "Source type <i>API</i> only (an alert source of type Checkmk receives no"
                        " routing key). iLert routing key of the alert: iLert uses the escalation"
                        " policy with this routing key instead of the alert source's own. Either a"
                        " fixed key (sent as entered) or a template over the notification context,"
                        " so that one rule routes each alert to its team, for example"
                        " <tt>$HOSTLABEL_team$</tt>, <tt>$SERVICELABEL_owner$</tt>,"
                        " <tt>$HOSTFOLDER$</tt> (the Setup folder) or"
                        " <tt>$HOSTCONTACTGROUPNAMES$</tt>. If a macro of the template is empty, or"
                        " the result is longer than 255 characters, the fallback below is used;"
                        " without a usable fallback no routing key is sent and the alert source's"
                        " escalation policy applies."
                    ),
                    custom_validate=(validators.LengthInRange(min_value=1),),
                ),
            ),
            "routing_key_fallback": DictElement(
                parameter_form=String(
                    title=Title("Routing key fallback"),
                    help_text=Help(
                        "Source type <i>API</i> only. Used when the routing key template comes"
                        " out empty, for example <tt>team-ops</tt> or another template such as"
                        " <tt>$HOSTLABEL_department$</tt>. Without it such an alert carries no"
                        " routing key."
                    ),
                    custom_validate=(validators.LengthInRange(min_value=1),),
                ),
            ),
            "ilert_severity": DictElement(
                parameter_form=SingleChoice(
                    title=Title("Alert severity"),
                    help_text=Help(
                        "Source type <i>API</i> only. iLert severity 1..5 of a new alert; it"
                        " overrides the severity the alert source evaluates. <i>Automatic</i>:"
                        " DOWN and CRITICAL 2, UNREACHABLE and WARNING 3, UNKNOWN 4, anything else"
                        " 5; a service level (<tt>SVC_SL</tt>, else <tt>HOST_SL</tt>) of 20 (Gold)"
                        " makes it one step more severe, 30 (Platinum) or more two steps, never"
                        " beyond 1. Without this option no severity is sent."
                    ),
                    elements=[
                        SingleChoiceElement(
                            name="auto", title=Title("Automatic (from the state and the service level)")
                        ),
                        SingleChoiceElement(name="severity_1", title=Title("Always 1")),
                        SingleChoiceElement(name="severity_2", title=Title("Always 2")),
                        SingleChoiceElement(name="severity_3", title=Title("Always 3")),
                        SingleChoiceElement(name="severity_4", title=Title("Always 4")),
                        SingleChoiceElement(name="severity_5", title=Title("Always 5")),
                        SingleChoiceElement(name="off", title=Title("Do not send a severity")),
                    ],
                    prefill=DefaultValue("auto"),
                ),
            ),
            "ilert_services": DictElement(
                parameter_form=String(
                    title=Title("Affected iLert services"),
                    help_text=Help(
                        "Source type <i>API</i> only. Aliases of the iLert services a new alert"
                        " affects (shown on iLert status pages), separated by commas: fixed"
                        " aliases or a template such as <tt>$SERVICELABEL_ilert_service$</tt> or"
                        " <tt>$HOSTLABEL_ilert_service$</tt>. At most 20 aliases of up to 255"
                        " characters each. Empty: no services."
                    ),
                    field_size=FieldSize.LARGE,
                    custom_validate=(validators.LengthInRange(min_value=1),),
                ),
            ),
            "runbook_links": DictElement(
                parameter_form=BooleanChoice(
                    title=Title("Runbook links"),
                    label=Label("Add the notes and action URLs of host and service as links"),
                    help_text=Help(
                        "Source type <i>API</i> only. The notes URL and action URL of the"
                        " service and of its host (<tt>SERVICENOTESURL</tt>,"
                        " <tt>SERVICEACTIONURL</tt>, <tt>HOSTNOTESURL</tt>,"
                        " <tt>HOSTACTIONURL</tt>) become links of the alert, next to the links"
                        " back to Checkmk. Only http(s) URLs are used."
                    ),
                    prefill=DefaultValue(True),
                    migrate=migrate_flag,
                ),
            ),
            "graph_link": DictElement(
                parameter_form=BooleanChoice(
                    title=Title("Link to the graphs"),
                    label=Label("Add a link to the graphs page of the host or service in Checkmk"),
                    help_text=Help(
                        "Source type <i>API</i> only. Needs the URL prefix for links to Checkmk."
                        " A link, not an image: iLert would have to fetch an image from the site"
                        " itself."
                    ),
                    prefill=DefaultValue(True),
                    migrate=migrate_flag,
                ),
            ),
            "accept_comments": DictElement(
                parameter_form=BooleanChoice(
                    title=Title("Acknowledgement comment in the accept event"),
                    label=Label("Send the acknowledgement's author and comment with the accept"),
                    help_text=Help(
                        "Source type <i>API</i> only. The author and comment of an"
                        " acknowledgement travel in the accept event itself: one request instead"
                        " of two (iLert accepts 50 events per minute per alert source). Only if"
                        " iLert answers that the alert was accepted already, the comment follows"
                        " as a comment event of its own. Without this option every"
                        " acknowledgement sends an accept and a comment event."
                    ),
                    prefill=DefaultValue(True),
                    migrate=migrate_flag,
                ),
            ),
            "outbox": DictElement(
                parameter_form=BooleanChoice(
                    title=Title("Outbox for undelivered events"),
                    label=Label("Keep undelivered events and deliver them later"),
                    help_text=Help(
                        "Every event is first written to disk below <tt>~/var/cmk_ilert/</tt>."
                        " If iLert cannot be reached, it is delivered by a later notification or"
                        " by <tt>python3 -m cmk_ilert flush</tt> (for example from the site's"
                        " cron), in order, so that a recovery never overtakes its problem. On by"
                        " default."
                    ),
                    prefill=DefaultValue(True),
                    migrate=migrate_flag,
                ),
            ),
            "rate_limit": DictElement(
                parameter_form=Integer(
                    title=Title("Rate limit"),
                    help_text=Help(
                        "Events per minute and integration key this site sends at most. iLert"
                        " accepts 50 events per minute per alert source; raise this only if"
                        " iLert raised your limit. 0 switches the client-side limit off."
                    ),
                    unit_symbol="events/min",
                    prefill=DefaultValue(50),
                    custom_validate=(validators.NumberInRange(min_value=0, max_value=100000),),
                ),
            ),
            "comment_events": DictElement(
                parameter_form=BooleanChoice(
                    title=Title("Downtime and flapping as comments"),
                    label=Label("Add downtime and flapping notifications to the open alert"),
                    help_text=Help(
                        "Source type <i>API</i> only: DOWNTIME* and FLAPPING* notifications"
                        " become a comment on the open iLert alert of that host or service"
                        " instead of being ignored. On by default."
                    ),
                    prefill=DefaultValue(True),
                    migrate=migrate_flag,
                ),
            ),
            "coalesce": DictElement(
                parameter_form=BooleanChoice(
                    title=Title("Coalesce queued events"),
                    label=Label("Drop a queued alert together with the resolve behind it"),
                    help_text=Help(
                        "If a queued alert that was never attempted is followed by its resolve"
                        " in the outbox (for example after an outage), both are dropped as"
                        " superseded instead of opening and closing an alert at once. On by"
                        " default."
                    ),
                    prefill=DefaultValue(True),
                    migrate=migrate_flag,
                ),
            ),
            "inventory_facts": DictElement(
                parameter_form=BooleanChoice(
                    title=Title("Inventory facts"),
                    label=Label("Add HW/SW inventory facts to the alert"),
                    help_text=Help(
                        "Source type <i>API</i> only: facts from the host's HW/SW inventory (for"
                        " example operating system and hardware model) are added to the alert"
                        " details. Off by default."
                    ),
                    prefill=DefaultValue(False),
                    migrate=migrate_flag,
                ),
            ),
        },
    )


rule_spec_cmk_ilert = NotificationParameters(
    name="cmk_ilert",
    title=Title("iLert (cmk_ilert)"),
    topic=Topic.NOTIFICATIONS,
    parameter_form=_parameter_form,
    help_text=Help("Parameters of the notification method iLert (cmk_ilert extension package)."),
)
