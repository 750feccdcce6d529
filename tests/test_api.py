"""The API's facts live in airflow_provider_wooxy/api.py: the hook, the validation and the sandbox use them."""

from __future__ import annotations

import json

import pytest
import requests

from airflow_provider_wooxy import api
from airflow_provider_wooxy.hooks import wooxy
from airflow_provider_wooxy.pipeline import validation
from airflow_provider_wooxy.sandbox import AUTH_FAILURES, WooxySandbox


def test_the_hook_and_the_validation_name_the_same_facts():
    assert wooxy.EMAIL_ADD is api.EMAIL_ADD and wooxy.MAX_RECORDS_PER_REQUEST is api.MAX_RECORDS_PER_REQUEST
    assert validation.EMAIL_REJECT_TYPES is api.EMAIL_REJECT_TYPES
    assert validation.MAX_RAW_LOG_BYTES is api.MAX_RAW_LOG_BYTES


def test_the_sandboxs_auth_texts_are_the_apis():
    assert set(AUTH_FAILURES) == set(api.AUTH_ERRORS)
    for text in AUTH_FAILURES.values():
        assert any(marker in text.lower() for marker in api.AUTH_ERROR_MARKERS), text


@pytest.mark.parametrize(
    ("records", "error"),
    [
        pytest.param(
            [{"email": f"u{i}@example.com", "rejectType": "hard"} for i in range(api.MAX_RECORDS_PER_REQUEST + 1)],
            api.TOO_MANY_RECORDS.format(limit=api.MAX_RECORDS_PER_REQUEST, count=api.MAX_RECORDS_PER_REQUEST + 1),
            id="too-many",
        ),
        pytest.param(
            [{"email": "a@example.com", "rejectType": "hard", "rawLog": "x" * (api.MAX_RAW_LOG_BYTES + 1)}],
            api.RAW_LOG_TOO_LONG.format(limit=api.MAX_RAW_LOG_BYTES),
            id="raw-log",
        ),
    ],
)
def test_the_sandbox_enforces_the_apis_limits_with_its_texts(records, error):
    with WooxySandbox(token="t0ken-abc") as sandbox:
        answer = requests.post(
            f"{sandbox.url}{api.PATH_PREFIX}{api.EMAIL_ADD}",
            json={"records": records},
            headers={api.TOKEN_HEADER: "t0ken-abc"},
            timeout=10,
        )
    assert answer.json() == {"result": False, "errors": [error]}


def test_the_largest_page_stays_under_the_answer_cap():
    """The worst find row (every rawLog byte and address character escaped as long as JSON allows) fits the bound."""
    worst = {
        "email": "\U0001f600" * 254,
        "type": "list-unsubscribe",
        "createdAt": "2026-12-31T23:59:59.999999+00:00",
        "expireAt": "2026-12-31T23:59:59.999999+00:00",
        "rawLog": "\x01" * api.MAX_RAW_LOG_BYTES,
    }
    assert len(json.dumps(worst).encode()) + 1 <= api.MAX_FIND_ROW_BYTES  # the comma between rows
    envelope = len(json.dumps({"result": True, "data": [], "totalCount": 10**12, "offset": 10**12, "limit": 1500}))
    assert api.MAX_PAGE_SIZE * api.MAX_FIND_ROW_BYTES + envelope <= api.MAX_ANSWER_BYTES
