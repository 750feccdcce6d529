"""Exceptions raised by the Wooxy provider.

The split follows what Airflow should do with the task:

* :class:`WooxyTransientError` is an ``AirflowException``: the task fails and Airflow's own retries (if the task
  has any) run it again. Raised when the hook's retry budget for a transient fault is spent.
* :class:`WooxyPermanentError` (and its subclasses) and :class:`WooxyInputError` are ``AirflowFailException``:
  the task fails at once without Airflow retries, because re-running cannot help.

Without Airflow (the engine in ``pipeline/``, the sandbox), the same classes stand on plain ``Exception``
bases of the same names, so the engine runs, and is tested, without Airflow installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException
else:
    try:
        from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException
    except ModuleNotFoundError as missing:  # no Airflow: the engine and the sandbox on their own
        if missing.name != "airflow":
            raise  # Airflow is there but a part is missing: never lose the retry / fail split silently

        class AirflowException(Exception):
            """Stands in for Airflow's: a failure the task's retries may fix."""

        class AirflowFailException(AirflowException):
            """Stands in for Airflow's: a failure no retry can fix."""


class WooxyError(AirflowException):
    """
    An error returned by (or on the way to) the Wooxy API.

    :param method: the API method, e.g. ``blacklist/add``.
    :param errors: the API's ``errors`` list, or a description of the transport fault.
    :param http_status: the HTTP status, when a response was received.
    """

    def __init__(self, method: str, errors: Sequence[str], http_status: int | None = None) -> None:
        self.method = method
        self.errors = list(errors)
        self.http_status = http_status
        status = f" (HTTP {http_status})" if http_status is not None else ""
        super().__init__(f"Wooxy {method} failed{status}: {'; '.join(self.errors) or 'no error text'}")

    def add_context(self, text: str) -> None:
        """Append ``text`` to the message (how far a run got, how many attempts were made)."""
        self.args = (f"{self.args[0]}{text}", *self.args[1:])

    def __reduce__(self) -> tuple[type, tuple[str, list[str], int | None], dict[str, object]]:
        # Airflow may pickle an exception between processes: the state carries what was set after __init__
        # (a message extended by add_context, retry_after), which rebuilding from the arguments alone would drop.
        # BaseException's own __setstate__ sets each item as an attribute, "args" included.
        return (self.__class__, (self.method, self.errors, self.http_status), {**self.__dict__, "args": self.args})


class WooxyTransientError(WooxyError):
    """A fault that may pass (timeout, dropped connection, 429, 5xx, ``Internal server error``)."""

    def __init__(
        self,
        method: str,
        errors: Sequence[str],
        http_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(method, errors, http_status)
        self.retry_after = retry_after


class WooxyPermanentError(WooxyError, AirflowFailException):
    """An answer that re-sending the same request cannot change."""


class WooxyAuthError(WooxyPermanentError):
    """The access token or the account was refused. Never worth retrying or bisecting."""


class WooxyCertificateError(WooxyPermanentError):
    """The server's TLS certificate does not verify: a CA bundle is missing or the host is wrong. Never retried."""


class WooxyConfigurationError(WooxyPermanentError):
    """
    The base URL does not answer as Wooxy does (a redirect, a page that is not Wooxy's JSON, an empty answer): the
    connection is wrong, not the records. Never retried; never a refusal of the records, so never bisected.
    """


class WooxyRejectedError(WooxyPermanentError):
    """The API refused the request's content (validation): a batch may be split to isolate the bad records."""


class WooxyInputError(AirflowFailException):
    """The operator's input or arguments are unusable; nothing was sent."""


class WooxyPagingError(WooxyPermanentError):
    """
    The pages of a find contradict each other (an ignored ``offset``, an empty page before ``totalCount``, more
    requests or rows than ``totalCount`` allows): the server cannot be trusted to list the whole list. Never retried.
    """


class WooxyStateBusyError(AirflowException):
    """
    Another run of the sync holds its state's lease, or took it over from this run: nothing more is read, sent or
    written by this one. Airflow's retries are right: the other run ends, or its lease expires.
    """


class WooxyChangelogError(AirflowException):
    """
    The changelog (``changelog_path`` / ``changelog_table``) could not be written after the sends. Every request
    was sent and its outcome recorded; the rows are kept in the spool file the message names. Airflow's retries are
    right: a sync's retry, or a push's with ``checkpoint_path``, writes the kept rows without sending again.
    """
