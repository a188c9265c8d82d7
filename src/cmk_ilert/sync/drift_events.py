"""The RESOLVE or ALERT that ``sync --reconcile`` queues, made the way a notification makes it.

The rule's parameters come from the key index (``outbox.keyindex.route``: what the key's last
ALERT was prepared with), the notification context is synthesized from what Livestatus
shows (``livestate.Shown``): ``OMD_SITE``, ``HOSTNAME``/``SERVICEDESC`` exactly, ``WHAT``,
``NOTIFICATIONTYPE`` (RECOVERY or PROBLEM), the state, its id and output, the address and
alias, and ``MICROTIME`` = the state change. ``notify.mapping`` and ``notify.prepare`` then
make the event, its alert key, outbox entry and group as for every notification; the event
carries one comment saying why sync sent it.

The identity (dedup in the outbox) is a digest of what the decision rests on: the kind, the
group (endpoint + alert key) and the state change it answers. A run killed after queuing
and before recording it makes the same identity again, which the outbox folds.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, Mapping, Tuple, Union

from ..base.digest import sha256
from ..base.errors import CmkIlertError
from ..checkmk.context import NotificationContext
from ..checkmk.params import Settings, parse_settings
from ..ilert.event import Comment
from ..notify.identity import endpoint_fingerprint, group_of
from ..notify.mapping import Ignored, alert_key, legacy_alert_key, map_notification
from ..notify.prepare import Prepared, prepared
from ..outbox.keyindex import SECRET_TYPED_IN
from .livestate import Shown

CREATOR = "cmk_ilert sync"
API = "api"
TYPED_IN = ("its rule has the API key (or a proxy password) typed in, not in Checkmk's password store: cmk_ilert "
            "keeps such a secret only while an event is queued, so sync cannot reach that alert source")
CHECKMK_TYPE = ("its alert source is of type Checkmk: iLert makes the alert keys there, so no event by cmk_ilert's "
                "key reaches its alert")


def context(site: str, shown: Shown, notification_type: str, params: Mapping[str, str]) -> NotificationContext:
    values: Dict[str, str] = dict(params)
    values.update({
        "OMD_SITE": site, "HOSTNAME": shown.host, "HOSTALIAS": shown.alias or shown.host,
        "HOSTADDRESS": shown.address, "NOTIFICATIONTYPE": notification_type,
        "MICROTIME": str(int(shown.since * 1e6)),
    })
    if shown.service:
        values.update({"WHAT": "SERVICE", "SERVICEDESC": shown.service, "SERVICESTATE": shown.state_name,
                       "SERVICESTATEID": str(shown.state), "SERVICEOUTPUT": shown.output,
                       "LASTSERVICESTATECHANGE": str(int(shown.since))})
    else:
        values.update({"WHAT": "HOST", "HOSTSTATE": shown.state_name, "HOSTSTATEID": str(shown.state),
                       "HOSTOUTPUT": shown.output, "LASTHOSTSTATECHANGE": str(int(shown.since))})
    return NotificationContext(values)


def keys(site: str, host: str, service: str) -> Tuple[str, str]:
    """The alert key of an object and the one of releases before exact-name digests."""
    ctx = NotificationContext({"OMD_SITE": site, "HOSTNAME": host, "SERVICEDESC": service,
                               "WHAT": "SERVICE" if service else "HOST"})
    return alert_key(ctx), legacy_alert_key(ctx)


class Routes:
    """Rule parameters -> Settings (parsed once per run and rule), or why they cannot be used."""

    def __init__(self) -> None:
        self._cache: Dict[FrozenSet[Tuple[str, str]], Union[Settings, str]] = {}

    def settings(self, route: Mapping[str, str]) -> Union[Settings, str]:
        key = frozenset(route.items())
        found = self._cache.get(key)
        if found is None and route.get(SECRET_TYPED_IN):  # the default source type is checkmk (params.py)
            api = route.get("PARAMETER_ILERT_SOURCE_TYPE", "checkmk").strip().lower() == API
            found = TYPED_IN if api else CHECKMK_TYPE
        if found is None:
            try:
                found = parse_settings(route)
            except CmkIlertError as exc:
                found = "the rule of its last ALERT cannot be used any more (%s)" % exc
            else:
                if found.source_type != API:
                    found = CHECKMK_TYPE
            self._cache[key] = found
        return found

    def group(self, settings: Settings, alert_key: str) -> str:
        return group_of(endpoint_fingerprint(settings), alert_key)


def event(site: str, shown: Shown, settings: Settings, route: Mapping[str, str], kind: str, why: str,
          root: str) -> Union[Prepared, str]:
    """The RESOLVE (object OK/UP) or ALERT (a problem) of ``shown``, or why there is none."""
    ntype = "RECOVERY" if kind == "RESOLVE" else "PROBLEM"
    ctx = context(site, shown, ntype, route)
    mapped = map_notification(ctx, settings)
    if isinstance(mapped, Ignored):
        return mapped.reason
    found = [e for e in mapped if e.event_type == kind]
    if not found:
        return "the rule makes no %s of it" % kind
    made = found[0]._replace(comments=(Comment(CREATOR, why),))
    item = prepared(ctx, settings, made, root)
    item.identity = sha256(("reconcile\0%s\0%s\0%d" % (kind, item.group, int(shown.since))).encode(
        "utf-8", "surrogatepass")).hexdigest()[:32]
    return item
