"""
Where a task runs: on this machine (the LocalExecutor's processes) or on one of several workers (Celery,
Kubernetes, Edge, ECS...), read from Airflow's configuration, so that a sync can refuse a state on one worker's disk.
"""

from __future__ import annotations

from airflow_provider_wooxy.compat import configured_executor

ONE_MACHINE_EXECUTORS = frozenset({"LocalExecutor", "SequentialExecutor", "DebugExecutor"})
"""Executors whose tasks all run on the scheduler's machine; any other may run consecutive tries elsewhere."""


def executor_of(task_executor: str | None) -> str:
    """
    The executor that runs a task: its own ``executor`` argument (Airflow 2.10+ runs several at once), else the
    first of ``[core] executor`` (the default one); a class path or an ``alias:path`` entry gives its class name.

    :param task_executor: the task's ``executor`` argument, if any.
    """
    entries = [entry.strip() for entry in configured_executor().split(",") if entry.strip()]
    chosen = task_executor or (entries[0] if entries else "LocalExecutor")
    for entry in entries:  # the task may name an entry by its alias
        alias, _, path = entry.rpartition(":")
        if chosen in (entry, alias, path):
            chosen = path
            break
    return chosen.rpartition(":")[2].rpartition(".")[2]


def runs_on_one_machine(executor: str) -> bool:
    """Whether every task of ``executor`` (a class name, :func:`executor_of`) runs on the scheduler's machine."""
    return executor in ONE_MACHINE_EXECUTORS
