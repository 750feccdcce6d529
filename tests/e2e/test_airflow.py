"""
End to end in a real Airflow deployment (3.x, or 2.x on PostgreSQL): scheduler + LocalExecutor + the wooxy_api pool
across parallel tasks, the CLI as a user sees it, and the connection form driven in headless Chromium (the React UI
on 3.x, the Flask AppBuilder form on 2.x).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from airflow_provider_wooxy.compat import AIRFLOW_V_3_0_PLUS, airflow_at_least
from airflow_provider_wooxy.sandbox import WooxySandbox
from tests.e2e.celery import WORKERS
from tests.e2e.conftest import ARTIFACTS, CELERY, TOKEN
from tests.e2e.deployment import Deployment
from tests.helpers.sandbox import assert_within_limit

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _overlap(rows: list[dict]) -> int:
    """The most tasks that were running at the same moment."""
    events = []
    for row in rows:
        events.append((datetime.fromisoformat(row["start_date"]), 1))
        events.append((datetime.fromisoformat(row["end_date"]), -1))
    running = most = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):
        running += step
        most = max(most, running)
    return most


class TestPoolAcrossParallelTasks:
    def test_three_tasks_stay_within_ten_requests(self, airflow: Deployment, api: WooxySandbox):
        api.reset()
        run_id = airflow.trigger("wooxy_e2e_pool")
        state = airflow.wait_for_run("wooxy_e2e_pool", run_id)
        tasks = airflow.task_states("wooxy_e2e_pool", run_id)
        assert state == "success", f"{tasks}\n{airflow.log_tail()}"
        assert {t["task_id"]: t["state"] for t in tasks} == {
            "add_emails": "success",
            "add_phones": "success",
            "remove_emails": "success",
        }
        stats = api.stats()
        assert len(api.email_addresses()) == 3000
        assert len(api.phone_numbers()) == 1000
        assert stats["requests"]["blacklist/remove"] == 300
        assert_within_limit(stats)  # requests attempted at once, refused ones included
        # Each task takes 5 of the 10 slots: never three at once (they would need 15 requests in flight), and
        # two did run together (the pool did not serialise them).
        assert _overlap(tasks) == 2
        if CELERY:  # the pool held across both workers: each add task ran on the worker whose queue it names
            ran_on = {t["task_id"]: t["hostname"] for t in tasks}
            assert (ran_on["add_emails"], ran_on["add_phones"]) == WORKERS
            assert ran_on["remove_emails"] in WORKERS

    def test_missing_pool_is_never_scheduled(self, airflow: Deployment, api: WooxySandbox):
        before = api.stats()["total_requests"]
        run_id = airflow.trigger("wooxy_e2e_missing_pool")
        deadline = time.monotonic() + 45
        message = "Tasks using non-existent pool 'wooxy_missing_pool' will not be scheduled"
        while time.monotonic() < deadline and message not in airflow.log_path.read_text(errors="replace"):
            time.sleep(3)
        (task,) = airflow.task_states("wooxy_e2e_missing_pool", run_id)
        assert task["state"] in (None, "None", "scheduled", "")  # not queued, not running, not failed
        assert airflow.run_state("wooxy_e2e_missing_pool", run_id) == "running"
        assert message in airflow.log_path.read_text(errors="replace")  # the scheduler's only word on it
        assert api.stats()["total_requests"] == before
        airflow.cli("dags", "pause", "wooxy_e2e_missing_pool")


class TestCli:
    def test_providers_list(self, airflow: Deployment):
        rows = airflow.cli_json("providers", "list")
        (ours,) = [r for r in rows if r["package_name"] == "airflow-provider-wooxy"]
        assert ours["version"] == "0.1.0"

    def test_providers_hooks(self, airflow: Deployment):
        out = airflow.cli("providers", "hooks").stdout
        (line,) = [line for line in out.splitlines() if line.startswith("wooxy ")]
        assert "airflow_provider_wooxy.hooks.wooxy.WooxyHook" in line
        assert "wooxy_conn_id" in line

    def test_connections_get(self, airflow: Deployment, api: WooxySandbox):
        (conn,) = airflow.cli_json("connections", "get", "wooxy_default")
        assert conn["conn_type"] == "wooxy"
        assert conn["host"] == api.url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        reason = "Debian's chromium is not installed (scripts/test.sh installs it when run as root)"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI must run the browser test, never skip it quietly
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.mark.requires_airflow("3.0", reason="the React UI's form; 2.x: TestFabConnectionFormInBrowser")
class TestConnectionFormInBrowser:
    def _add_connection(self, page, airflow: Deployment, conn_id: str, host: str, port: int, token: str, shot: str):
        page.goto(f"{airflow.url}/connections", wait_until="networkidle")
        page.get_by_role("button", name="Add Connection").click()
        page.get_by_label("Connection ID").fill(conn_id)
        combo = page.get_by_role("combobox")
        combo.click()
        combo.fill("Wooxy")
        page.keyboard.press("Enter")
        host_field = page.get_by_label("API base URL")
        token_field = page.get_by_label("Access token")
        assert host_field.get_attribute("placeholder") == "https://api.wooxy.com"
        assert token_field.get_attribute("placeholder") == "Wooxy API key (sent as the Access-Token header)"
        assert page.get_by_label("Port").get_attribute("placeholder") == "443"
        for hidden in ("Login", "Schema"):
            assert page.get_by_label(hidden, exact=True).count() == 0
        host_field.fill(host)
        page.get_by_label("Port").fill(str(port))
        token_field.fill(token)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
        page.get_by_text("Extra Fields", exact=True).click()
        for label in ("Request timeout (seconds)", "Attempts per request", "Maximum backoff (seconds)"):
            assert page.get_by_text(label).count() == 1
        page.screenshot(path=str(ARTIFACTS / f"{shot}-extras.png"), full_page=True)
        page.get_by_role("button", name="Save").click()
        self._row(page, conn_id).wait_for()

    @staticmethod
    def _row(page, conn_id: str):
        return page.get_by_role("row").filter(has=page.get_by_role("cell", name=conn_id, exact=True))

    def _press_test(self, page, airflow: Deployment, conn_id: str, host: str, port: int, token: str) -> str:
        if not airflow_at_least("3.1"):
            # Airflow 3.0's UI has no Test button (3.1 added it); it sends the form to this endpoint, which 3.0 has.
            answer = page.request.post(
                f"{airflow.url}/api/v2/connections/test",
                data={"connection_id": conn_id, "conn_type": "wooxy", "host": host, "port": port, "password": token},
            )
            assert answer.ok, answer.text()
            result = answer.json()
            return f"Connection test {'successful' if result['status'] else 'failed'}: {result['message']}"
        self._row(page, conn_id).get_by_role("button", name="Test Connection").click()
        toast = page.get_by_role("status").filter(has_text=re.compile("test", re.IGNORECASE)).last
        toast.wait_for(timeout=30_000)
        return toast.inner_text()

    def test_form_save_and_test(self, airflow: Deployment, api: WooxySandbox, browser):
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.set_default_timeout(60_000)  # the first page load compiles a large bundle on a busy 2-core machine
        try:
            self._add_connection(page, airflow, "wooxy_ui", "http://127.0.0.1", api.port, TOKEN, "wooxy-form")
            text = self._press_test(page, airflow, "wooxy_ui", "http://127.0.0.1", api.port, TOKEN)
            assert "success" in text.lower(), text
            assert "fail" not in text.lower(), text
            (conn,) = airflow.cli_json("connections", "get", "wooxy_ui")
            assert conn["conn_type"] == "wooxy"

            wrong = "wrong-token-9c8e7d6f"
            self._add_connection(
                page, airflow, "wooxy_ui_wrong", "http://127.0.0.1", api.port, wrong, "wooxy-form-wrong"
            )
            text = self._press_test(page, airflow, "wooxy_ui_wrong", "http://127.0.0.1", api.port, wrong)
            page.screenshot(path=str(ARTIFACTS / "wooxy-test-failed.png"))
            assert "no matches found for access token ***" in text, text
            assert wrong not in text
            assert wrong not in page.content()
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "failure.png"), full_page=True)
            raise
        finally:
            page.close()


@pytest.mark.skipif(AIRFLOW_V_3_0_PLUS, reason="Airflow 2's Flask AppBuilder form only")
class TestFabConnectionFormInBrowser:
    """Airflow 2's connection form (/connection/add): drawn from the hook's widgets and field behaviour."""

    @staticmethod
    def _fill(page, airflow: Deployment, conn_id: str, host: str, port: int, token: str, shot: str) -> str:
        """Fills the add form, presses Test, and returns the alert's text (Airflow 2 shows the hook's answer in a green
        alert whether the test passed or not: the REST API answers 200 with ``status`` false)."""
        page.goto(f"{airflow.url}/connection/add", wait_until="networkidle")
        page.locator("#conn_id").fill(conn_id)
        page.locator("#conn_type").select_option("wooxy", force=True)  # select2 hides the <select> itself
        host_field = page.get_by_label("API base URL")
        token_field = page.get_by_label("Access token")
        assert host_field.get_attribute("placeholder") == "https://api.wooxy.com"
        assert token_field.get_attribute("placeholder") == "Wooxy API key (sent as the Access-Token header)"
        assert page.locator("#port").get_attribute("placeholder") == "443"
        for hidden in ("login", "schema"):
            assert not page.locator(f"#{hidden}").is_visible()
        for label in ("Request timeout (seconds)", "Attempts per request", "Maximum backoff (seconds)"):
            assert page.get_by_text(label, exact=True).is_visible()
        host_field.fill(host)
        page.locator("#port").fill(str(port))
        token_field.fill(token)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
        page.locator("#test-connection").click()
        alert = page.locator(".alert-success, .alert-error").first
        alert.wait_for(timeout=30_000)
        return str(alert.inner_text())

    def test_form_save_and_test(self, airflow: Deployment, api: WooxySandbox, browser):
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        page.set_default_timeout(60_000)
        try:
            user, password = airflow.admin
            page.goto(f"{airflow.url}/login/", wait_until="networkidle")
            page.locator("#username").fill(user)
            page.locator("#password").fill(password)
            page.locator("input[type=submit]").click()
            page.wait_for_load_state("networkidle")

            text = self._fill(page, airflow, "wooxy_ui", "http://127.0.0.1", api.port, TOKEN, "wooxy-fab-form")
            assert "the access token was accepted" in text, text
            page.get_by_role("button", name="Save").click()
            page.wait_for_load_state("networkidle")
            (conn,) = airflow.cli_json("connections", "get", "wooxy_ui")
            assert conn["conn_type"] == "wooxy"
            assert conn["host"] == "http://127.0.0.1"

            wrong = "wrong-token-9c8e7d6f"
            text = self._fill(page, airflow, "wooxy_ui_wrong", "http://127.0.0.1", api.port, wrong, "wooxy-fab-wrong")
            page.screenshot(path=str(ARTIFACTS / "wooxy-fab-test-failed.png"))
            assert "failed" in text and "no matches found for access token ***" in text, text
            assert wrong not in text
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "failure.png"), full_page=True)
            raise
        finally:
            page.close()
