from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
import requests

from airflow_provider_wooxy.api import EMAIL_LIST, PHONE_LIST
from airflow_provider_wooxy.sandbox import AUTH_FAILURES, FAULT_KINDS, WooxySandbox
from tests.helpers.sandbox import TOKEN, assert_within_limit, connection_json


def post(sandbox: WooxySandbox, method: str, body: dict, token: str = TOKEN) -> requests.Response:
    return requests.post(f"{sandbox.url}/v3/{method}", json=body, headers={"Access-Token": token}, timeout=10)


class TestSandboxApi:
    @pytest.mark.parametrize(
        ("method", "body", "error"),
        [
            pytest.param(
                "blacklist/add",
                {"records": [{"email": "a@b.co", "rejectType": "hard"}] * 101},
                "Maximum count of records per transaction is 100, current 101",
                id="too-many",
            ),
            pytest.param(
                "blacklist/add",
                {"records": [{"email": "nope", "rejectType": "hard"}]},
                "Invalid RFC2822 email nope",
                id="bad-email",
            ),
            pytest.param(
                "blacklist/add",
                {"records": [{"email": "a@b.co", "rejectType": "soft"}]},
                "Allowed rejectType is hard, complaint, list-unsubscribe, but soft given",
                id="bad-type",
            ),
            pytest.param(
                "blacklist/add",
                {"records": [{"email": "a@b.co", "rejectType": "hard", "rawLog": 5}]},
                "Argument rawLog must be a string",
                id="rawlog-type",
            ),
            pytest.param(
                "blacklist/add",
                {"records": [{"email": "a@b.co", "rejectType": "hard", "rawLog": "é" * 513}]},
                "Argument rawLog cannot be longest 1024 bytes",
                id="rawlog-long",
            ),
            pytest.param(
                "blacklist/remove",
                {"email": ""},
                "Argument email must be a non-empty string",
                id="remove-empty",
            ),
            pytest.param(
                "phone-blacklist/add",
                {"records": [{"phoneNumber": "+1555"}]},
                "+1555 is not a valid E.164 phone number",
                id="bad-phone",
            ),
            pytest.param(
                "phone-blacklist/add",
                {"records": [{"phoneNumber": "+14155552671", "rejectType": "x"}]},
                "Allowed reject types are import, invalid, unsubscribe, undeliverable, but x given",
                id="bad-phone-type",
            ),
            pytest.param(
                "phone-blacklist/remove",
                {"phoneNumber": "0044"},
                "0044 is not a valid E.164 phone number",
                id="remove-bad-phone",
            ),
            pytest.param("blacklist/find", {}, "Argument rejectType required", id="find-needs-type"),
        ],
    )
    def test_documented_errors(self, sandbox, method, body, error):
        answer = post(sandbox, method, body).json()
        assert answer["result"] is False
        assert error in answer["errors"]

    def test_refused_batch_stores_nothing(self, sandbox):
        post(
            sandbox,
            "blacklist/add",
            {"records": [{"email": "ok@b.co", "rejectType": "hard"}, {"email": "bad", "rejectType": "hard"}]},
        )
        assert sandbox.email_addresses() == set()

    def test_received_records_the_adds_and_removes_it_answers(self, sandbox):
        assert sandbox.received is None  # off unless a test asks
        sandbox.received = []
        good, bad = {"email": "a@b.co", "rejectType": "hard"}, {"email": "bad", "rejectType": "hard"}
        post(sandbox, "blacklist/add", {"records": [good]})
        post(sandbox, "blacklist/add", {"records": [bad]})
        post(sandbox, "blacklist/find", {"rejectType": "hard"})  # not a change: not recorded
        post(sandbox, "blacklist/remove", {"email": "a@b.co"})
        assert sandbox.received == [
            ("blacklist/add", {"records": [good]}, None),
            ("blacklist/add", {"records": [bad]}, ["Invalid RFC2822 email bad"]),
            ("blacklist/remove", {"email": "a@b.co"}, None),
        ]

    def test_duplicates_ignored(self, sandbox):
        record = {"email": "a@b.co", "rejectType": "hard"}
        assert post(sandbox, "blacklist/add", {"records": [record, record]}).json() == {"result": True}
        assert post(sandbox, "blacklist/add", {"records": [record]}).json() == {"result": True}
        assert post(sandbox, "blacklist/find", {"rejectType": "hard"}).json()["totalCount"] == 1

    def test_refuse_list_stands_in_for_stricter_api_validation(self):
        with WooxySandbox(token=TOKEN, refuse={"fine@example.com"}) as sandbox:
            answer = post(sandbox, "blacklist/add", {"records": [{"email": "fine@example.com", "rejectType": "hard"}]})
            assert answer.json()["errors"] == ["Invalid RFC2822 email fine@example.com"]


class TestSandboxRouting:
    """Each list's methods (api.py's WooxyList values) are served; any other path is a 404 Bad Request."""

    @pytest.mark.parametrize(
        ("method", "body"),
        [
            pytest.param(EMAIL_LIST.add, {"records": [{"email": "a@b.co", "rejectType": "hard"}]}, id="email-add"),
            pytest.param(EMAIL_LIST.remove, {"email": "a@b.co"}, id="email-remove"),
            pytest.param(EMAIL_LIST.find, {"rejectType": "hard"}, id="email-find"),
            pytest.param(PHONE_LIST.add, {"records": [{"phoneNumber": "+14155552671"}]}, id="phone-add"),
            pytest.param(PHONE_LIST.remove, {"phoneNumber": "+14155552671"}, id="phone-remove"),
            pytest.param(PHONE_LIST.find, {"phoneNumber": "+14155552671"}, id="phone-find"),
        ],
    )
    def test_every_method_of_every_list_is_served(self, sandbox, method, body):
        response = post(sandbox, method, body)
        assert (response.status_code, response.json()["result"]) == (200, True)
        assert sandbox.stats()["requests"] == {method: 1}

    @pytest.mark.parametrize(
        "method",
        [
            pytest.param("blacklist/list", id="unknown-method"),
            pytest.param("email_problems", id="a-helper-of-the-fake-api"),
            pytest.param("records", id="another-helper"),
            pytest.param("blacklist", id="a-list-without-a-method"),
        ],
    )
    def test_any_other_path_is_not_found(self, sandbox, method):
        response = post(sandbox, method, {"records": []})
        assert (response.status_code, response.json()) == (404, {"result": False, "errors": ["Bad Request"]})

    def test_a_body_that_is_not_an_object_is_a_bad_request(self, sandbox):
        response = requests.post(
            f"{sandbox.url}/v3/{EMAIL_LIST.find}", data=b"[1]", headers={"Access-Token": TOKEN}, timeout=10
        )
        assert (response.status_code, response.json()) == (400, {"result": False, "errors": ["Bad Request"]})

    def test_a_path_outside_the_api_is_not_found_and_not_counted(self, sandbox):
        response = requests.post(f"{sandbox.url}/v2/{EMAIL_LIST.find}", json={}, timeout=10)
        assert response.status_code == 404
        response = requests.post(f"{sandbox.url}/_sandbox/nothing", json={}, timeout=10)
        assert response.status_code == 404
        assert sandbox.stats()["total_requests"] == 0

    def test_seed_and_reset(self, sandbox):
        assert requests.post(f"{sandbox.url}/_sandbox/seed", json={"emails": 3}, timeout=10).json() == {"result": True}
        requests.post(f"{sandbox.url}/_sandbox/seed", json={"emails": 2, "rejectType": "complaint"}, timeout=10)
        assert sandbox.email_addresses() == {
            *(f"seed{i}-hard@example.com" for i in range(3)),
            *(f"seed{i}-complaint@example.com" for i in range(2)),
        }
        assert sandbox.stats()["total_requests"] == 0  # seeding is no API request
        assert requests.post(f"{sandbox.url}/_sandbox/reset", timeout=10).json() == {"result": True}
        assert sandbox.email_addresses() == set()


class TestSandboxAuth:
    def test_no_token_is_refused_with_401(self, sandbox):
        response = requests.post(f"{sandbox.url}/v3/{EMAIL_LIST.find}", json={"rejectType": "hard"}, timeout=10)
        assert (response.status_code, response.json()) == (
            401,
            {"result": False, "errors": ["Invalid authorization token!"]},
        )

    def test_an_unknown_token_is_echoed_with_200(self, sandbox):
        response = post(sandbox, EMAIL_LIST.find, {"rejectType": "hard"}, token="wrong-one")
        assert (response.status_code, response.json()) == (
            200,
            {"result": False, "errors": ["no matches found for access token wrong-one"]},
        )

    def test_a_refused_request_draws_no_fault(self, sandbox):
        sandbox.inject("http500")
        assert post(sandbox, EMAIL_LIST.find, {"rejectType": "hard"}, token="wrong-one").status_code == 200
        assert sandbox.stats()["faults"] == {}
        assert post(sandbox, EMAIL_LIST.find, {"rejectType": "hard"}).status_code == 500  # the fault waited


def wait_until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


class TestSandboxLimits:
    def test_counts_and_refuses_beyond_ten_in_flight(self, sandbox):
        sandbox.pause()  # every request that gets in is held: 14 callers are at the door together, whatever the clock
        statuses: list[int] = []

        def call() -> None:
            statuses.append(post(sandbox, "blacklist/remove", {"email": "a@b.co"}).status_code)

        threads = [threading.Thread(target=call) for _ in range(14)]
        for thread in threads:
            thread.start()
        wait_until(lambda: sandbox.stats()["total_requests"] == 14 and len(statuses) == 4)
        sandbox.resume()
        for thread in threads:
            thread.join()
        stats = sandbox.stats()
        assert stats["max_in_flight"] == 11  # attempted: ten held and one more refused at the door
        assert stats["max_served_in_flight"] == 10
        assert stats["over_limit"] == 4
        assert sorted(statuses) == [200] * 10 + [429] * 4

    def test_within_limit_check_catches_an_over_concurrent_client(self, sandbox, monkeypatch):
        """A sender with one thread too many: the suite's concurrency assertion must fail on it."""
        from airflow_provider_wooxy.hooks.wooxy import WooxyHook
        from airflow_provider_wooxy.pipeline.sending import Batch, BatchSender

        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", connection_json(sandbox.url, max_attempts=100))
        sender = BatchSender(WooxyHook(), "blacklist/remove", max_concurrency=11)
        batches = iter([Batch(i, [(i + 1, b'{"email":"a%d@b.co"}' % i)]) for i in range(11)])
        sandbox.pause()
        thread = threading.Thread(target=sender.run, args=(batches,))
        thread.start()
        wait_until(lambda: sandbox.stats()["total_requests"] >= 11)
        sandbox.resume()
        thread.join(timeout=30)
        assert sender.report.sent == 11  # the 429s were retried: only the count shows the overrun
        with pytest.raises(AssertionError, match="11 requests were attempted at once"):
            assert_within_limit(sandbox.stats())

    def test_within_limit_check_passes_at_exactly_ten(self, sandbox):
        sandbox.pause()
        threads = [
            threading.Thread(target=post, args=(sandbox, "blacklist/remove", {"email": "a@b.co"})) for _ in range(10)
        ]
        for thread in threads:
            thread.start()
        wait_until(lambda: sandbox.stats()["total_requests"] == 10)
        sandbox.resume()
        for thread in threads:
            thread.join()
        assert sandbox.stats()["max_in_flight"] == 10
        assert_within_limit(sandbox.stats())

    @pytest.mark.parametrize("kind", FAULT_KINDS)
    def test_fault_injection(self, sandbox, kind):
        # Only the slow fault meets a short timeout, and it holds its answer far beyond it: no outcome here
        # depends on how busy the machine is.
        sandbox.slow_seconds = 10.0
        sandbox.inject(kind)
        try:
            response = requests.post(
                f"{sandbox.url}/v3/blacklist/remove",
                json={"email": "a@b.co"},
                headers={"Access-Token": TOKEN},
                timeout=0.5 if kind == "slow" else 10,
            )
            outcome = (response.status_code, response.text)
        except requests.RequestException as exc:
            outcome = (0, type(exc).__name__)
        expected = {
            "http500": (500, '{"result": false, "errors": ["Internal server error"]}'),
            "internal200": (200, '{"result": false, "errors": ["Internal server error"]}'),
            "drop_before": (0, "ConnectionError"),
            "drop_after": (0, "ConnectionError"),
            "slow": (0, "ReadTimeout"),
        }
        if kind == "html502":
            assert outcome[0] == 502 and "<html>" in outcome[1]
        elif kind == "http429":
            assert outcome[0] == 429
        else:
            assert outcome == expected[kind]
        assert sandbox.stats()["faults"] == {kind: 1}

    def test_random_faults_are_seeded(self):
        def run() -> dict:
            with WooxySandbox(token=TOKEN, fault_rate=0.5, seed=7, fault_kinds=["http500", "internal200"]) as sb:
                for _ in range(20):
                    post(sb, "blacklist/remove", {"email": "a@b.co"})
                return sb.stats()["faults"]

        first = run()
        assert first == run()
        assert 3 < sum(first.values()) < 17


class TestSandboxModes:
    @pytest.mark.parametrize("status", [200, 401, 403])
    @pytest.mark.parametrize("failure", list(AUTH_FAILURES))
    def test_auth_failures_answer_whatever_the_token(self, failure, status):
        with WooxySandbox(token=TOKEN, auth_failure=failure, auth_status=status) as sandbox:
            response = post(sandbox, "blacklist/find", {"rejectType": "hard"})
        assert response.status_code == status
        assert response.json() == {"result": False, "errors": [AUTH_FAILURES[failure].format(token=TOKEN)]}

    def test_unknown_auth_failure_is_refused(self):
        with pytest.raises(ValueError, match="unknown auth failure"):
            WooxySandbox(auth_failure="expired")

    def test_https(self, tls_sandbox, ca_bundle):
        assert tls_sandbox.url.startswith("https://127.0.0.1:")
        answer = requests.post(
            f"{tls_sandbox.url}/v3/blacklist/find",
            json={"rejectType": "hard"},
            headers={"Access-Token": TOKEN},
            timeout=10,
            verify=ca_bundle,
        )
        assert answer.json()["result"] is True
        with pytest.raises(requests.exceptions.SSLError):
            requests.post(f"{tls_sandbox.url}/v3/blacklist/find", json={}, timeout=10, verify=True)
        # A client that refused the certificate does not stop the sandbox serving the next one.
        assert requests.get(f"{tls_sandbox.url}/_sandbox/stats", timeout=10, verify=ca_bundle).ok


def test_command_line_serves_and_stops():
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_wooxy.sandbox", "--port", "0", "--token", "cli-token-123"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert "listening on http://127.0.0.1:" in line
        url = line.split("listening on ")[1].split()[0]
        answer = requests.post(
            f"{url}/v3/blacklist/find",
            json={"rejectType": "hard"},
            headers={"Access-Token": "cli-token-123"},
            timeout=5,
        ).json()
        assert answer["result"] is True
        assert requests.get(f"{url}/_sandbox/stats", timeout=5).json()["total_requests"] == 1
    finally:
        proc.terminate()
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
    assert proc.returncode == 0
