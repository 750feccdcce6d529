"""Exceptions raised by the Wooxy provider.

The split follows what Airflow should do with the task:

* :class:`WooxyTransientError` is an ``AirflowException``: the task fails and Airflow's own retries (if the task
  has any) run it again. Raised when the hook's retry budget for a transient fault is spent.
* :class:`WooxyPermanentError` (and its subclasses) and :class:`WooxyInputError` are ``AirflowFailException``:
  the task fails at once without Airflow retries, because re-running cannot help.
"""

from __future__ import annotations

from collections.abc import Sequence

from airflow.sdk.exceptions import AirflowException, AirflowFailException


class WooxyError(AirflowException):
    """
    An error returned by (or on the way to) the Wooxy API.

    :param method: the API method, e.g. ``blacklist/add``.
    :param errors: the API's ``errors`` list, or a description of the transport fault.
    :param status_code: the HTTP status, when a response was received.
    """

    def __init__(self, method: str, errors: Sequence[str], status_code: int | None = None) -> None:
        self.method = method
        self.errors = list(errors)
        self.status_code = status_code
        status = f" (HTTP {status_code})" if status_code is not None else ""
        super().__init__(f"Wooxy {method} failed{status}: {'; '.join(self.errors) or 'no error text'}")

    def __reduce__(self) -> tuple[type, tuple[str, list[str], int | None]]:
        return (self.__class__, (self.method, self.errors, self.status_code))


class WooxyTransientError(WooxyError):
    """A fault that may pass (timeout, dropped connection, 429, 5xx, ``Internal server error``)."""

    def __init__(
        self,
        method: str,
        errors: Sequence[str],
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(method, errors, status_code)
        self.retry_after = retry_after


class WooxyPermanentError(WooxyError, AirflowFailException):
    """An answer that re-sending the same request cannot change."""


class WooxyAuthError(WooxyPermanentError):
    """The access token or the account was refused. Never worth retrying or bisecting."""


class WooxyRejectedError(WooxyPermanentError):
    """The API refused the request's content (validation): a batch may be split to isolate the bad records."""


class WooxyInputError(AirflowFailException):
    """The operator's input or arguments are unusable; nothing was sent."""
