"""The fake API: the six blacklist methods on in-memory lists, with the API's validation and error texts."""

from __future__ import annotations

import re
import threading
import time
from typing import TYPE_CHECKING, Any

import phonenumbers

from airflow_provider_wooxy import api
from airflow_provider_wooxy.api import EMAIL_LIST, PHONE_LIST

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

_E164_SHAPE = re.compile(r"^\+[1-9][0-9]{6,14}$")


class Refused(Exception):
    """An API error answer: ``{"result": false, "errors": errors}`` with ``status``."""

    def __init__(self, errors: list[str], status: int = 400) -> None:
        super().__init__(errors)
        self.errors = errors
        self.status = status


class FakeApi:
    """
    The blacklists and what the API does to them; the server (:mod:`.server`) adds HTTP, counters and faults.

    :param refuse: values (emails or phone numbers) refused as invalid although they look fine, standing in for
        API validation that differs from the client's.
    :param max_find_limit: a server-side cap on the find methods' ``limit`` (``None``: no cap).
    :param on_find: called with the sandbox and the request body before each ``blacklist/find`` is answered,
        outside the lock.
    """

    def __init__(
        self,
        *,
        refuse: Iterable[str] = (),
        max_find_limit: int | None = None,
        on_find: Callable[[Any, dict[str, Any]], None] | None = None,
    ) -> None:
        self.refuse = set(refuse)
        self.max_find_limit = max_find_limit
        self.on_find = on_find
        self.received: list[tuple[str, dict[str, Any], list[str] | None]] | None = None
        """Set it to a list to record every add and remove the API answers: (method, body, errors or None)."""
        self._lock = threading.Lock()
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            EMAIL_LIST.add: self._email_add,
            EMAIL_LIST.remove: self._email_remove,
            EMAIL_LIST.find: self._email_find,
            PHONE_LIST.add: self._phone_add,
            PHONE_LIST.remove: self._phone_remove,
            PHONE_LIST.find: self._phone_find,
        }
        self.reset_lists()

    def reset_lists(self) -> None:
        """Empty the blacklists and the record counters."""
        with self._lock:
            self.emails: dict[str, dict[str, dict[str, Any]]] = {}
            self.phones: dict[str, dict[str, Any]] = {}
            self.max_batch = 0
            self.records_received = 0
            self._email_version = 0  # bumped by every change of `emails`: find's per-type listing is cached on it
            self._email_index: dict[str, tuple[int, list[dict[str, Any]]]] = {}

    def email_addresses(self) -> set[str]:
        with self._lock:
            return set(self.emails)

    def phone_numbers(self) -> set[str]:
        with self._lock:
            return set(self.phones)

    def handle(self, method: str, body: Any) -> dict[str, Any]:
        """Apply one API call to the in-memory lists; raises :class:`Refused` like the API's errors."""
        if not isinstance(body, dict):
            raise Refused([api.BAD_REQUEST])
        action = self._methods.get(method)
        if action is None:
            raise Refused([api.BAD_REQUEST], 404)
        if self.received is None or method in (EMAIL_LIST.find, PHONE_LIST.find):
            return action(body)
        try:
            answer = action(body)
        except Refused as refused:
            self.received.append((method, body, refused.errors))
            raise
        self.received.append((method, body, None))
        return answer

    def _records(self, body: dict[str, Any], problems: Callable[[dict[str, Any]], list[str]]) -> list[Any]:
        """An add's records, or :class:`Refused` with every record's problems (one bad record refuses them all)."""
        records = body.get("records")
        if not isinstance(records, list) or not records:
            raise Refused([_required("records")])
        if len(records) > api.MAX_RECORDS_PER_REQUEST:
            raise Refused([api.TOO_MANY_RECORDS.format(limit=api.MAX_RECORDS_PER_REQUEST, count=len(records))])
        with self._lock:
            self.max_batch = max(self.max_batch, len(records))
            self.records_received += len(records)
        errors = [
            e for record in records for e in (problems(record) if isinstance(record, dict) else [api.BAD_REQUEST])
        ]
        if errors:
            raise Refused(errors)
        return records

    def _valid_email(self, value: Any) -> bool:
        return api.is_valid_email(value) and value not in self.refuse

    def _valid_phone(self, value: Any) -> bool:
        if not isinstance(value, str) or not _E164_SHAPE.match(value) or value in self.refuse:
            return False
        try:
            return phonenumbers.is_valid_number(phonenumbers.parse(value, None))
        except phonenumbers.NumberParseException:
            return False

    def _email_problems(self, record: dict[str, Any]) -> list[str]:
        errors: list[str] = []
        email, reject_type, raw_log = record.get("email"), record.get("rejectType"), record.get("rawLog")
        if email is None:
            errors.append(_required("email"))
        elif not self._valid_email(email):
            errors.append(api.INVALID_EMAIL.format(email=email))
        if reject_type is None:
            errors.append(_required("rejectType"))
        elif reject_type not in EMAIL_LIST.reject_types:
            errors.append(_email_type_error(reject_type))
        if raw_log is not None:
            if not isinstance(raw_log, str):
                errors.append(api.RAW_LOG_NOT_STRING)
            elif len(raw_log.encode()) > api.MAX_RAW_LOG_BYTES:
                errors.append(api.RAW_LOG_TOO_LONG.format(limit=api.MAX_RAW_LOG_BYTES))
        return errors

    def _phone_problems(self, record: dict[str, Any]) -> list[str]:
        errors: list[str] = []
        number, reject_type = record.get("phoneNumber"), record.get("rejectType")
        if number is None:
            errors.append(_required("phoneNumber"))
        elif not self._valid_phone(number):
            errors.append(api.INVALID_PHONE.format(phone_number=number))
        if reject_type is not None and reject_type not in PHONE_LIST.reject_types:
            allowed = ", ".join(PHONE_LIST.reject_types)
            errors.append(api.PHONE_REJECT_TYPE_ERROR.format(allowed=allowed, reject_type=reject_type))
        return errors

    def _email_add(self, body: dict[str, Any]) -> dict[str, Any]:
        records = self._records(body, self._email_problems)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self._lock:
            for record in records:
                types = self.emails.setdefault(record["email"], {})
                if record["rejectType"] not in types:  # duplicates are ignored, as Wooxy does
                    row = {"email": record["email"], "type": record["rejectType"], "createdAt": now}
                    if record.get("rawLog") is not None:
                        row["rawLog"] = record["rawLog"]
                    types[record["rejectType"]] = row
            self._email_version += 1
        return {"result": True}

    def _email_remove(self, body: dict[str, Any]) -> dict[str, Any]:
        email, reject_type = body.get("email"), body.get("rejectType")
        if not isinstance(email, str) or not email:
            raise Refused([api.EMPTY_EMAIL])
        if reject_type is not None and reject_type not in EMAIL_LIST.reject_types:
            raise Refused([_email_type_error(reject_type)])
        with self._lock:
            self.records_received += 1
            types = self.emails.get(email)
            if types is not None:
                if reject_type is None:
                    types.clear()
                else:
                    types.pop(reject_type, None)
                if not types:
                    del self.emails[email]
            self._email_version += 1
        return {"result": True}

    def _email_find(self, body: dict[str, Any]) -> dict[str, Any]:
        reject_type = body.get("rejectType")
        if reject_type is None:
            raise Refused([_required("rejectType")])
        if reject_type not in EMAIL_LIST.reject_types:
            raise Refused([_email_type_error(reject_type)])
        offset, limit = int(body.get("offset") or 0), int(body.get("limit") or api.DEFAULT_FIND_LIMIT)
        if self.on_find is not None:
            self.on_find(self, body)
        email = body.get("email")
        with self._lock:
            if email is None:
                listing = self._email_listing(reject_type)
                total, rows = len(listing), [dict(row) for row in listing[offset : offset + self._capped(limit)]]
            else:
                row = self.emails.get(email, {}).get(reject_type)
                total, rows = (1, [dict(row)]) if row else (0, [])
                rows = rows[offset : offset + self._capped(limit)]
        if not body.get("withRawLog"):
            for row in rows:
                row.pop("rawLog", None)
        return {"result": True, "data": rows, "totalCount": total, "offset": offset, "limit": limit}

    def _phone_add(self, body: dict[str, Any]) -> dict[str, Any]:
        records = self._records(body, self._phone_problems)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self._lock:
            for record in records:
                self.phones.setdefault(
                    record["phoneNumber"],
                    {
                        "phoneNumber": record["phoneNumber"],
                        "rejectType": record.get("rejectType") or api.DEFAULT_PHONE_REJECT_TYPE,
                        "createdAt": now,
                    },
                )
        return {"result": True}

    def _phone_remove(self, body: dict[str, Any]) -> dict[str, Any]:
        number = body.get("phoneNumber")
        if number is None:
            raise Refused([_required("phoneNumber")])
        if not self._valid_phone(number):
            raise Refused([api.INVALID_PHONE.format(phone_number=number)])
        with self._lock:
            self.records_received += 1
            self.phones.pop(number, None)
        return {"result": True}

    def _phone_find(self, body: dict[str, Any]) -> dict[str, Any]:
        number = body.get("phoneNumber")
        if number is None:
            raise Refused([_required("phoneNumber")])
        offset, limit = int(body.get("offset") or 0), int(body.get("limit") or api.DEFAULT_FIND_LIMIT)
        with self._lock:
            row = self.phones.get(number)
        rows = [dict(row)] if row and body.get("rejectType") in (None, row["rejectType"]) else []
        return _page(rows, offset, self._capped(limit))

    # -- paging helpers (find's server-side cap, a listing that changes while it is paged) ---------------------

    def _capped(self, limit: int) -> int:
        return limit if self.max_find_limit is None else min(limit, self.max_find_limit)

    def _email_listing(self, reject_type: str) -> list[dict[str, Any]]:
        """The entries of one reject type in list order; rebuilt only after a change (call with the lock held)."""
        cached = self._email_index.get(reject_type)
        if cached is None or cached[0] != self._email_version:
            rows = [types[reject_type] for types in self.emails.values() if reject_type in types]
            cached = self._email_index[reject_type] = (self._email_version, rows)
        return cached[1]

    def add_emails(
        self,
        rows: Iterable[tuple[str, str]],
        *,
        first: bool = False,
        raw_log: str | None = None,
        expire_at: str | None = None,
    ) -> None:
        """
        Put ``(email, rejectType)`` entries on the email blacklist directly (no request, no validation).

        :param first: put them at the head of the list, ahead of every entry already there (as a list ordered
            newest first would), so that a client paging through it sees the rest shift.
        :param raw_log: the entries' ``rawLog``.
        :param expire_at: the entries' ``expireAt``.
        """
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self._lock:
            added: dict[str, dict[str, dict[str, Any]]] = {}
            for email, reject_type in rows:
                types = self.emails.get(email) or added.setdefault(email, {})
                row: dict[str, Any] = {"email": email, "type": reject_type, "createdAt": now}
                if raw_log is not None:
                    row["rawLog"] = raw_log
                if expire_at is not None:
                    row["expireAt"] = expire_at
                types.setdefault(reject_type, row)
            if first:
                self.emails = {**added, **{k: v for k, v in self.emails.items() if k not in added}}
            else:
                self.emails.update(added)
            self._email_version += 1

    def remove_emails(self, emails: Iterable[str]) -> None:
        """Take addresses off the email blacklist directly (every reject type)."""
        with self._lock:
            for email in emails:
                self.emails.pop(email, None)
            self._email_version += 1


def _required(argument: str) -> str:
    return api.ARGUMENT_REQUIRED.format(argument=argument)


def _email_type_error(reject_type: object) -> str:
    return api.EMAIL_REJECT_TYPE_ERROR.format(allowed=", ".join(EMAIL_LIST.reject_types), reject_type=reject_type)


def _page(rows: list[dict[str, Any]], offset: int, limit: int) -> dict[str, Any]:
    """A find method's answer: one page of rows and the total."""
    return {
        "result": True,
        "data": rows[offset : offset + limit],
        "totalCount": len(rows),
        "offset": offset,
        "limit": limit,
    }
