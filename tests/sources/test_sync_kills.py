"""
A sync killed at random moments (SIGKILL, a fixed seed), then run again with another input, on local disk and on a
real S3 API server: no kill forgets an entry the provider added, none leaves a managed entry missing on Wooxy once
the next run ends, and no entry someone else listed first is ever removed.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator
from airflow_provider_wooxy.pipeline.sync.entries import EMAIL
from airflow_provider_wooxy.pipeline.sync.state import open_state
from airflow_provider_wooxy.sandbox import WooxySandbox
from tests.helpers.sandbox import TOKEN, connection_json
from tests.helpers.tasks import kill_after_requests, once_the_lease_expires
from tests.sources.services import BUCKET, S3, S3_CONN_ID

SEED = 20261205
TRIALS = 3
FOREIGN = [f"theirs{i}@example.com" for i in range(20)]
SCRIPT = (
    "import json, sys\n"
    "from airflow_provider_wooxy.operators.sync import WooxySyncEmailBlacklistOperator as Op\n"
    "kw = json.loads(sys.argv[1])\n"
    "Op(task_id='s', max_removals=None, max_concurrency=2, batch_size=20, lease_seconds=1, **kw).execute({})\n"
)


def mutated(rng: random.Random, current: list[str], pool: range) -> list[str]:
    """An input that drops some of ``current``, and adds new addresses and a few of someone else's."""
    kept = [a for a in current if rng.random() > 0.15]
    new = [f"user{i}@example.com" for i in rng.sample(pool, rng.randint(0, 300))]
    return sorted({*kept, *new, *rng.sample(FOREIGN, rng.randint(0, 5))})


class Storage:
    """Where the state lives, for the operator (its arguments) and for reading it back."""

    def __init__(self, state_path: str, location: Any, env: dict[str, str], kwargs: dict[str, str]) -> None:
        self.state_path, self.location, self.env, self.kwargs = state_path, location, env, kwargs


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        path = tmp_path / "state" / "emails.state"
        return Storage(str(path), path, {}, {})
    s3: S3 = request.getfixturevalue("s3")
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    uri = f"s3://{BUCKET}/state/emails.state"
    return Storage(
        uri,
        ObjectStoragePath(uri, conn_id=S3_CONN_ID),
        {f"AIRFLOW_CONN_{S3_CONN_ID.upper()}": s3.conn_json},
        {"storage_conn_id": S3_CONN_ID},
    )


def test_kills_at_random_moments_never_forget_or_steal(
    storage: Storage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    rng = random.Random(SEED)
    killed = sum(trial(rng, storage, tmp_path / f"t{number}", monkeypatch) for number in range(TRIALS))
    assert killed >= 1  # the seed kills at least one run mid-way (a run may also end before its kill point)


def trial(rng: random.Random, storage: Storage, folder: Path, monkeypatch: pytest.MonkeyPatch) -> bool:
    """One trial: a first sync, a run killed after a random number of requests, a run with another input."""
    folder.mkdir()
    state_path = storage.state_path.replace("emails.state", f"{folder.name}.state")
    location = storage.location.parent / f"{folder.name}.state"
    with WooxySandbox(token=TOKEN, latency=0.005) as sandbox:
        conn = connection_json(sandbox.url)
        monkeypatch.setenv("AIRFLOW_CONN_WOOXY_DEFAULT", conn)
        sandbox.add_emails((a, "hard") for a in FOREIGN)

        def sync(addresses: list[str]) -> None:
            WooxySyncEmailBlacklistOperator(
                task_id="s", records=addresses, state_path=state_path, max_removals=None, **storage.kwargs
            ).execute({})

        first = mutated(rng, [], range(0, 400))
        sync(first)
        killed_input = mutated(rng, first, range(400, 800))
        records = folder / "input.json"
        records.write_text(json.dumps(killed_input))
        arguments = {"path": str(records), "state_path": state_path, **storage.kwargs}
        env = {**os.environ, **storage.env, "AIRFLOW_CONN_WOOXY_DEFAULT": conn, "AIRFLOW__CORE__UNIT_TEST_MODE": "1"}
        killed = kill_after_requests(sandbox, ["-c", SCRIPT, json.dumps(arguments)], env, rng.randint(1, 40))

        # Right after the kill: whatever the provider put on Wooxy is in the state (added or in doubt).
        recorded = set(open_state(location, EMAIL, sandbox.url).load().iter_lines())
        ours = {f"{a}\thard" for a in sandbox.email_addresses() if a not in FOREIGN}
        assert ours <= recorded, f"{folder.name}: an add was forgotten"

        final = mutated(rng, killed_input, range(800, 1200))
        once_the_lease_expires(lambda: sync(final))  # a killed run's lease: taken over once it expires
        listed = sandbox.email_addresses()
        assert set(FOREIGN) <= listed, f"{folder.name}: someone else's entry was removed"
        assert listed == set(final) | set(FOREIGN), f"{folder.name}: Wooxy differs from the input"
        managed = set(open_state(location, EMAIL, sandbox.url).load().iter_lines())
        assert managed == {f"{a}\thard" for a in final if a not in FOREIGN}, f"{folder.name}: the state differs"
    return killed
