"""Hook for the Wooxy v3 blacklist API."""

from __future__ import annotations

import json
import random
import threading
import time
from functools import cached_property
from typing import TYPE_CHECKING, Any

import requests
import urllib3
from airflow.providers.common.compat.sdk import BaseHook
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from airflow_provider_wooxy.api import (
    ADD_METHODS,
    DEFAULT_FIND_LIMIT,
    EMAIL_ADD,
    EMAIL_FIND,
    EMAIL_REJECT_TYPES,
    EMAIL_REMOVE,
    MAX_CONCURRENT_REQUESTS,
    MAX_RECORDS_PER_REQUEST,
    PHONE_ADD,
    PHONE_FIND,
    PHONE_REMOVE,
    REMOVE_METHODS,
    TOKEN_HEADER,
)
from airflow_provider_wooxy.compat import mask_secret
from airflow_provider_wooxy.exceptions import WooxyInputError, WooxyTransientError
from airflow_provider_wooxy.hooks.connection import ConnectionSettings, connection_settings
from airflow_provider_wooxy.hooks.transport import classify, raise_transport_error, retry_after_seconds
from airflow_provider_wooxy.hooks.wire import ACCEPT_ENCODING, Route, exchange, open_route

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

_RETRY_AFTER = "Retry-After"


class WooxyHook(BaseHook):
    """
    Talks to the Wooxy v3 blacklist API: one method per API call, one shared HTTP session.

    The connection's password is the access token. Its host is optional: empty means ``https://api.wooxy.com``;
    it may be a full base URL (``http://127.0.0.1:8080``) or a bare host name, with the ``scheme`` extra and the
    port field completing it. Extras: ``timeout`` (seconds per request, default 30), ``max_attempts`` (tries per
    request for transient faults, default 5), ``backoff`` / ``max_backoff`` (seconds, exponential with jitter),
    ``allow_insecure_http`` (permit ``http://`` to a non-loopback host).

    The session is safe to share between threads and keeps enough connections open for
    :data:`MAX_CONCURRENT_REQUESTS` requests in flight. Transient faults (connection errors, timeouts, 429, 5xx,
    ``Internal server error``) are retried with exponential backoff and jitter, honouring ``Retry-After``, and then
    raised as :class:`~airflow_provider_wooxy.exceptions.WooxyTransientError` (Airflow may retry the task).
    Permanent answers raise at once: :class:`~airflow_provider_wooxy.exceptions.WooxyAuthError` for the token or
    account, :class:`~airflow_provider_wooxy.exceptions.WooxyRejectedError` for the request's content.

    :param wooxy_conn_id: the Airflow connection to use.
    :param timeout: overrides the connection's ``timeout`` extra.
    :param max_attempts: overrides the connection's ``max_attempts`` extra (1 disables retries).
    :param sleep: how the hook waits between two tries (default :func:`time.sleep`): a test seam, so that a test
        records the waits instead of sleeping them.
    """

    conn_name_attr = "wooxy_conn_id"
    default_conn_name = "wooxy_default"
    conn_type = "wooxy"
    hook_name = "Wooxy"

    def __init__(
        self,
        wooxy_conn_id: str = default_conn_name,
        *,
        timeout: float | None = None,
        max_attempts: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__()
        self.wooxy_conn_id = wooxy_conn_id
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._retry_lock = threading.Lock()
        self.retries = 0
        """Transient faults retried so far by this hook (all threads)."""
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"{type(self).__name__}(wooxy_conn_id={self.wooxy_conn_id!r})"

    # -- connection ------------------------------------------------------------------------------------------

    @cached_property
    def conn_params(self) -> ConnectionSettings:
        """The connection's settings, merged with the hook's arguments and checked."""
        conn = self.get_connection(self.wooxy_conn_id)
        settings = connection_settings(
            self.wooxy_conn_id,
            host=conn.host,
            port=conn.port,
            password=conn.password,
            extra=conn.extra_dejson,
            timeout=self._timeout,
            max_attempts=self._max_attempts,
        )
        mask_secret(settings.token)
        if settings.plain_http_host is not None:
            self.log.warning(
                "Wooxy connection %r sends the access token over plain http:// to %s (allow_insecure_http is set).",
                self.wooxy_conn_id,
                settings.plain_http_host,
            )
        return settings

    @cached_property
    def session(self) -> requests.Session:
        """
        The environment's proxy and CA bundle, read once, and the requests' headers; its adapter makes the pool
        (:attr:`_route`) that every call of this hook uses, shared by the sending threads. Nothing is sent through
        the session itself.
        """
        params = self.conn_params
        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=MAX_CONCURRENT_REQUESTS, max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers.update(
            {
                TOKEN_HEADER: params.token,
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Accept-Encoding": ACCEPT_ENCODING,  # what the hook decodes under the size limit
            }
        )
        # Read proxy and CA-bundle settings from the environment once, not on every request.
        env = session.merge_environment_settings(params.base_url, {}, None, None, None)
        session.proxies.update(env.get("proxies") or {})
        if isinstance(env.get("verify"), str):
            session.verify = env["verify"]
        session.trust_env = False
        return session

    # -- transport -------------------------------------------------------------------------------------------

    @cached_property
    def _route(self) -> Route:
        """
        The pool every request goes through, to exactly the origin the connection's checks approved (through the
        environment's proxy if one applies), as requests configured it (TLS verification, CA bundle).

        The hook sends through urllib3 directly: requests' per-call machinery (request preparation, cookie jar,
        hooks) costs about as much CPU again as the HTTP exchange, and at 10 requests in flight that CPU is the
        limit; and requests follows redirects, which would take the ``Access-Token`` header to another host.
        """
        return open_route(self.session, self.conn_params)

    def close(self) -> None:
        """Close the hook's connections; a later call opens new ones."""
        route = self.__dict__.pop("_route", None)
        if route is not None:
            route.pool.close()

    def _exchange(self, method: str, body: bytes) -> tuple[int, bytes, Mapping[str, str]]:
        """One HTTP round trip: ``(status, body, headers)``; transport faults raise as transient."""
        try:
            return exchange(self._route, method, body, self._headers, self.conn_params)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise_transport_error(method, exc, self.conn_params)

    @cached_property
    def _headers(self) -> dict[str, str]:
        return {name: str(value) for name, value in self.session.headers.items()}

    def _post_once(self, method: str, body: bytes) -> dict[str, Any]:
        status, content, headers = self._exchange(method, body)
        params = self.conn_params
        outcome = classify(status, content, params.token, where=params.netloc, location=headers.get("Location"))
        if outcome.error is None:
            if outcome.errors:  # Wooxy's docs do not define errors on a success: keep the answer, say so
                self.log.warning("Wooxy %s succeeded but answered errors: %s", method, "; ".join(outcome.errors))
            return outcome.payload
        if outcome.error is WooxyTransientError:
            raise WooxyTransientError(method, outcome.errors, status, retry_after_seconds(headers.get(_RETRY_AFTER)))
        raise outcome.error(method, outcome.errors, status)

    def _wait(self, state: RetryCallState) -> float:
        params = self.conn_params
        exponential = min(params.max_backoff, params.backoff * 2 ** (state.attempt_number - 1))
        wait = random.uniform(exponential / 2, exponential)  # jitter spreads the threads' retries apart
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, WooxyTransientError) and exc.retry_after is not None:
            wait = max(wait, min(exc.retry_after, params.max_backoff))
        return wait

    def _before_sleep(self, state: RetryCallState) -> None:
        with self._retry_lock:
            self.retries += 1
        exc = state.outcome.exception() if state.outcome else None
        self.log.warning(
            "%s; retrying in %.2f s (attempt %d of %d)",
            exc,
            state.next_action.sleep if state.next_action else 0.0,
            state.attempt_number + 1,
            self.conn_params.max_attempts,
        )

    def _post(self, method: str, body: bytes, *, max_attempts: int | None = None) -> dict[str, Any]:
        """
        POST an encoded JSON body to ``/v3/{method}`` and return the parsed success answer; transient faults are
        retried. Every API method ends here; writes come through :meth:`send_records`, which checks the batch.

        :param method: the API method path after ``/v3/``, e.g. ``blacklist/find``.
        :param body: the JSON body, encoded as UTF-8.
        :param max_attempts: overrides the connection's retry budget for this call.
        """
        attempts = max_attempts or self.conn_params.max_attempts
        try:
            return self._post_once(method, body)  # the common case, without the retry machinery's overhead
        except WooxyTransientError as exc:
            first_failure = [exc]

        def attempt() -> dict[str, Any]:
            if first_failure:  # tenacity's first attempt is the one that just failed
                raise first_failure.pop()
            return self._post_once(method, body)

        retrying = Retrying(
            stop=stop_after_attempt(attempts),
            wait=self._wait,
            retry=retry_if_exception_type(WooxyTransientError),
            before_sleep=self._before_sleep,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except WooxyTransientError as exc:
            if attempts > 1:
                exc.errors.append(f"gave up after {attempts} attempts")
                exc.add_context(f" (gave up after {attempts} attempts)")
            raise

    def _query(self, method: str, body: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        return self._post(method, json.dumps(body, separators=(",", ":")).encode(), **kwargs)

    # -- API methods -----------------------------------------------------------------------------------------

    def send_records(self, method: str, records: Sequence[bytes | Mapping[str, Any]]) -> dict[str, Any]:
        """
        Send records to one of the four write methods: the door every add and remove goes through.

        An add takes 1 to 100 records (sent as ``{"records": [...]}``), a remove exactly one (sent as the body).
        Records may be mappings or already encoded JSON objects (``bytes``), which the engine uses so that a batch
        is encoded once.

        :param method: ``blacklist/add``, ``blacklist/remove``, ``phone-blacklist/add`` or ``phone-blacklist/remove``.
        :param records: the records of one request.
        """
        count = len(records)
        if method in ADD_METHODS:
            if count > MAX_RECORDS_PER_REQUEST:
                raise WooxyInputError(
                    f"Wooxy {method} takes at most {MAX_RECORDS_PER_REQUEST} records per request, got {count}."
                )
            if not count:
                raise WooxyInputError(f"Wooxy {method} needs at least one record, got none.")
            body = b'{"records":[' + b",".join(_encoded(record) for record in records) + b"]}"
        elif method in REMOVE_METHODS:
            if count != 1:
                raise WooxyInputError(f"Wooxy {method} takes one record per request, got {count}.")
            body = _encoded(records[0])
        else:
            raise WooxyInputError(
                f"{method!r} is not a Wooxy write method ({', '.join(sorted(ADD_METHODS | REMOVE_METHODS))})."
            )
        return self._post(method, body)

    def add_email_blacklist(self, records: Sequence[bytes | Mapping[str, Any]]) -> dict[str, Any]:
        """
        Add up to 100 records ``{"email", "rejectType", "rawLog"?}`` to the email blacklist.

        Duplicates, in the request or already listed, are ignored by Wooxy.
        """
        return self.send_records(EMAIL_ADD, records)

    def remove_email_blacklist(self, email: str, reject_type: str | None = None) -> dict[str, Any]:
        """Remove one address from the email blacklist, optionally only for one reject type."""
        body: dict[str, Any] = {"email": email}
        if reject_type:
            body["rejectType"] = reject_type
        return self.send_records(EMAIL_REMOVE, [body])

    def find_email_blacklist(
        self,
        reject_type: str,
        email: str | None = None,
        *,
        with_raw_log: bool = False,
        offset: int = 0,
        limit: int = DEFAULT_FIND_LIMIT,
    ) -> dict[str, Any]:
        """Page through the email blacklist of one reject type, or look one address up (``data``, ``totalCount``)."""
        body: dict[str, Any] = {"rejectType": reject_type, "offset": offset, "limit": limit}
        if email is not None:
            body["email"] = email
        if with_raw_log:
            body["withRawLog"] = True
        return self._query(EMAIL_FIND, body)

    def add_phone_blacklist(self, records: Sequence[bytes | Mapping[str, Any]]) -> dict[str, Any]:
        """Add up to 100 records ``{"phoneNumber", "rejectType"?}`` (E.164 numbers) to the phone blacklist."""
        return self.send_records(PHONE_ADD, records)

    def remove_phone_blacklist(self, phone_number: str) -> dict[str, Any]:
        """Remove one E.164 number from the phone blacklist."""
        return self.send_records(PHONE_REMOVE, [{"phoneNumber": phone_number}])

    def find_phone_blacklist(
        self, phone_number: str, reject_type: str | None = None, *, offset: int = 0, limit: int = DEFAULT_FIND_LIMIT
    ) -> dict[str, Any]:
        """Look one E.164 number up in the phone blacklist."""
        body: dict[str, Any] = {"phoneNumber": phone_number, "offset": offset, "limit": limit}
        if reject_type:
            body["rejectType"] = reject_type
        return self._query(PHONE_FIND, body)

    def test_connection(self) -> tuple[bool, str]:
        """Make one cheap authenticated call (a one-row email blacklist page); used by the UI's Test button."""
        try:
            self._query(EMAIL_FIND, {"rejectType": EMAIL_REJECT_TYPES[0], "offset": 0, "limit": 1}, max_attempts=1)
        except Exception as exc:
            return False, str(exc)
        return True, f"Connected to Wooxy at {self.conn_params.base_url}: the access token was accepted."

    # -- the connection form on Airflow 3.0 and 3.1 -----------------------------------------------------------
    # Airflow 3.2+ draws the form from the provider info (``conn-fields``, ``ui-field-behaviour``) and skips these
    # methods; 3.0 and 3.1 ask the hook. Both methods translate the provider info, so the form has one source.

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The form's extra fields for Airflow 3.0 / 3.1, built from the provider info's ``conn-fields``."""
        from wtforms import BooleanField, IntegerField, StringField
        from wtforms.validators import Optional

        # Airflow accepts only these field classes; a number is typed as text (the hook parses it with float()).
        field_classes = {"integer": IntegerField, "boolean": BooleanField}
        widgets: dict[str, Any] = {}
        for name, field in _connection_type_info()["conn-fields"].items():
            schema = field["schema"]
            kind = next(t for t in schema["type"] if t != "null")
            field_class = field_classes.get(kind, StringField)
            default = schema.get("default")
            widgets[name] = field_class(
                field["label"],
                validators=[Optional()],
                description=field.get("description", ""),
                default=str(default) if field_class is StringField and default is not None else default,
            )
        return widgets

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Hidden, relabelled and placeholder standard fields for Airflow 3.0 / 3.1, from the provider info."""
        behaviour = _connection_type_info()["ui-field-behaviour"]
        return {key.replace("-", "_"): value for key, value in behaviour.items()}


def _connection_type_info() -> dict[str, Any]:
    from airflow_provider_wooxy import get_provider_info

    (info,) = [c for c in get_provider_info()["connection-types"] if c["connection-type"] == WooxyHook.conn_type]
    return info


def _encoded(record: bytes | Mapping[str, Any]) -> bytes:
    return record if isinstance(record, bytes) else json.dumps(record, separators=(",", ":")).encode()
