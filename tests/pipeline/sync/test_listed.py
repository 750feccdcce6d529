"""Which new entries Wooxy lists already: the cheaper of look-ups and paging, over real HTTP against the sandbox."""

from __future__ import annotations

import pytest

from airflow_provider_wooxy.hooks.wooxy import WooxyHook
from airflow_provider_wooxy.pipeline.sync.entries import EMAIL, PHONE
from airflow_provider_wooxy.pipeline.sync.listed import ListedCheck, ListedCheckStopped
from airflow_provider_wooxy.sandbox import WooxySandbox
from tests.helpers.sandbox import connection_json


@pytest.fixture
def hook(sandbox: WooxySandbox, monkeypatch: pytest.MonkeyPatch) -> WooxyHook:
    monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url, max_attempts=1))
    return WooxyHook()


def lines(addresses: list[str], reject_type: str = "hard") -> list[str]:
    return [f"{a}\t{reject_type}" for a in addresses]


class TestEmails:
    def test_few_new_entries_are_looked_up_one_by_one(self, hook: WooxyHook, sandbox: WooxySandbox):
        sandbox.add_emails([(f"x{i}@example.com", "hard") for i in range(300)] + [("y@example.com", "complaint")])
        check = ListedCheck(EMAIL, hook.find_email_blacklist, max_concurrency=4, page_size=100)
        listed = check.run(lines(["x7@example.com", "new@example.com", "y@example.com"]))
        assert listed == {"x7@example.com\thard"}  # y is listed as a complaint, not as hard
        assert (check.report.checked, check.report.requests, check.report.paged_types) == (3, 4, ())

    def test_many_new_entries_page_the_list(self, hook: WooxyHook, sandbox: WooxySandbox):
        sandbox.add_emails([(f"x{i}@example.com", "hard") for i in range(150)])
        check = ListedCheck(EMAIL, hook.find_email_blacklist, max_concurrency=4, page_size=100)
        listed = check.run(lines([f"x{i}@example.com" for i in range(140, 160)] + ["X1@EXAMPLE.COM"]))
        assert listed == {f"x{i}@example.com\thard" for i in (*range(140, 150), 1)}
        assert (check.report.requests, check.report.paged_types, check.report.listed) == (3, ("hard",), 11)

    def test_an_empty_list_costs_one_request(self, hook: WooxyHook, sandbox: WooxySandbox):
        check = ListedCheck(EMAIL, hook.find_email_blacklist)
        assert check.run(lines([f"n{i}@example.com" for i in range(500)])) == set()
        assert (check.report.requests, check.report.checked) == (1, 500)


class TestPhones:
    def test_each_number_is_looked_up_and_any_reject_type_counts(self, hook: WooxyHook, sandbox: WooxySandbox):
        sandbox.handle("phone-blacklist/add", {"records": [{"phoneNumber": "+447911000001", "rejectType": "invalid"}]})
        check = ListedCheck(PHONE, hook.find_phone_blacklist, max_concurrency=3)
        numbers = [f"+44791100000{i}" for i in range(8)]
        assert check.run(numbers) == {"+447911000001"}
        assert (check.report.checked, check.report.requests) == (8, 8)


def test_a_stopped_check_sends_nothing(hook: WooxyHook, sandbox: WooxySandbox):
    check = ListedCheck(PHONE, hook.find_phone_blacklist)
    check.stop("the task was stopped")
    with pytest.raises(ListedCheckStopped, match="stopped"):
        check.run(["+447911000001"])
    assert sandbox.stats()["total_requests"] == 0


@pytest.mark.parametrize(
    ("kind", "answer", "line"),
    [
        pytest.param(EMAIL, {"result": True, "data": []}, "a@example.com\thard", id="email-no-total"),
        pytest.param(
            EMAIL, {"result": True, "totalCount": "3", "data": []}, "a@example.com\thard", id="email-text-total"
        ),
        pytest.param(PHONE, {"result": True}, "+447911000001", id="phone-no-rows"),
    ],
)
def test_an_answer_it_cannot_read_is_an_error_never_not_listed(kind, answer: dict, line: str):
    """Reading such an answer as "not listed" would claim someone else's entry."""
    from airflow_provider_wooxy.exceptions import WooxyPagingError

    check = ListedCheck(kind, lambda *args, **kwargs: answer)
    with pytest.raises(WooxyPagingError, match=r"cannot tell whose they are|an answer without rows"):
        check.run([line])
