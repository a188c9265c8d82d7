"""One request of an outbox entry, as it is sent: key, transport, redaction, budget.

``Sender`` turns an entry's stored request into the one iLert receives (the key
put in only now, resolved from the password store when the entry holds a store
id), sends it over the run's transport for that setting, and drops what an
answer echoes of a secret. ``fits`` says whether a request may still start
within the run's budget (Checkmk kills plugins at 60 s).
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import unquote

from ..base.output import Redactor
from ..base.secret import Secret, shares_fragment
from ..checkmk.params import SOURCE_TYPE_TITLES, Proxy, named, proxy_secrets
from ..checkmk.password_store import Lookup, site_lookup
from ..ilert.transport import MIN_EXCHANGE, PERMANENT, TEMPORARY, Outcome, Transport, TransportConfig
from ..ilert.wire import KEY_IN_BODY, KEY_IN_PATH, finalize, request_headers


def transport_config(data: Dict[str, Any]) -> TransportConfig:
    t = data.get("transport", {})
    url = t.get("proxy_url")
    return TransportConfig(
        float(t.get("timeout", 10.0)),
        bool(t.get("verify", True)),
        Proxy(str(t.get("proxy_mode", "environment")), Secret(url) if url else None),
    )


def entry_secrets(data: Dict[str, Any], key: Optional[str] = None) -> List[str]:
    """Every secret an entry carries or stands for: its key (also one written
    into the request by an older version) and proxy credentials."""
    found: List[str] = [key] if key else []
    ref = data.get("key")
    if isinstance(ref, dict) and isinstance(ref.get("value"), str):
        found.append(ref["value"])
    request = data.get("request")
    if isinstance(request, dict) and request.get("key_in") not in (KEY_IN_BODY, KEY_IN_PATH):
        body = request.get("body")
        if isinstance(body, dict) and isinstance(body.get("integrationKey"), str):
            found.append(body["integrationKey"])
        url = request.get("url")
        if isinstance(url, str) and "/checkmk-ext/" in url:

            found.append(unquote(url.rsplit("/", 1)[-1]))
    proxy = data.get("transport", {}).get("proxy_url") if isinstance(data.get("transport"), dict) else None
    if isinstance(proxy, str):
        found.extend(proxy_secrets(proxy))
    return [s for s in found if s]


class Sender:
    """Sends one entry's request: the transports of a run (one per setting, so a bulk
    reuses one session), the keys (store ids resolved at send time), the redactor,
    and whether a request still fits the run's budget."""

    def __init__(self, password_lookup: Optional[Lookup] = None) -> None:
        self._lookup = password_lookup or site_lookup
        self._transports: Dict[TransportConfig, Transport] = {}
        #: keys resolved from the password store in this run, by store id
        self.keys: Dict[str, str] = {}
        #: every secret of the entries handled so far (for the printer and the dead letters)
        self.redactor = Redactor()
        #: After the first request of a run, a request is only started if its full
        #: timeout still fits the run's budget (Checkmk kills plugins at 60 s); the
        #: first one gets what is left of the budget if that is less.
        self.sent_any = False

    def close(self) -> None:
        for transport in self._transports.values():
            transport.close()
        self._transports.clear()

    def transport(self, data: Dict[str, Any]) -> Transport:
        config = transport_config(data)
        transport = self._transports.get(config)
        if transport is None:
            transport = self._transports[config] = Transport(config)
        return transport

    def key_of(self, data: Dict[str, Any]) -> Tuple[str, str]:
        """(key, problem): the integration key of an entry, resolving a store id now.
        An entry written before keys were kept apart has it inside the request ('')."""
        ref = data.get("key")
        if not isinstance(ref, dict):
            return "", ""
        if isinstance(ref.get("value"), str):
            return ref["value"], ""
        store_id = str(ref.get("store", ""))
        key = self.keys.get(store_id)
        if key is None:
            found = self._lookup(store_id)
            if not found:
                return "", "password store entry '%s' is not readable now" % store_id[:80]
            key = self.keys[store_id] = found.strip()
        return key, ""

    def learn(self, data: Dict[str, Any]) -> Tuple[str, str]:
        """Resolve the entry's key and remember its secrets for redaction."""
        key, problem = self.key_of(data)
        self.redactor.add(entry_secrets(data, key))
        return key, problem

    def fits(self, data: Dict[str, Any], deadline: float) -> bool:
        """Whether a request for ``data`` may start now within the run's budget."""
        remaining = deadline - time.monotonic()
        timeout = transport_config(data).timeout
        if remaining < min(timeout, MIN_EXCHANGE):
            return False
        return not self.sent_any or remaining >= timeout

    def send(self, data: Dict[str, Any], deadline: float) -> Outcome:
        self.sent_any = True
        key, problem = self.learn(data)
        if problem:
            return Outcome(TEMPORARY, problem, not_sent=True)
        request = data["request"]
        url, body = finalize(request["url"], request["body"], str(request.get("key_in", "")), key)
        headers = request_headers(str(data.get("endpoint", "")))
        outcome = self.transport(data).post_json(url, body, deadline, headers)
        # What the answer says is shown and kept; a server that echoes the request (or part of
        # the key: the redactor finds only whole secrets) has its words dropped, not printed.
        secrets = [s for s in self.redactor.secrets if "://" not in s]  # keys, passwords; not whole proxy URLs
        if outcome.reference and shares_fragment(outcome.reference, secrets):
            outcome = outcome._replace(reference="")
        if outcome.alert_url and shares_fragment(outcome.alert_url, secrets):
            outcome = outcome._replace(alert_url="")
        kind = str(data.get("endpoint", ""))
        if outcome.status == PERMANENT and outcome.http_status == 404 and kind in SOURCE_TYPE_TITLES:
            outcome = outcome._replace(detail=outcome.detail + "; " + other_type_advice(kind))
        return outcome


def other_type_advice(kind: str) -> str:
    """What iLert's 404 for an integration key may mean: the key is of an alert source of the other
    type (each type has its own endpoint; iLert documents no answer of its own for that case)."""
    other = "checkmk" if kind == "api" else "api"
    return "no alert source of type %s has this key: if it belongs to an alert source of type %s, set %s to %s" % (
        SOURCE_TYPE_TITLES[kind], SOURCE_TYPE_TITLES[other], named("ilert_source_type"), SOURCE_TYPE_TITLES[other])
