"""parity run as a daily Airflow task (Airflow 2.4+ and 3).

Drop this file in the DAGs folder of an Airflow deployment whose workers have the `parity`
binary on their PATH (`pip install parity-cutover`, or PARITY_BIN) and can read the cutover
inventory (PARITY_CONFIG). Credentials are not configured here: parity takes them from the
worker's environment and workload identity (IRSA, GKE or Azure workload identity, an instance
profile).

Each scheduled run checks every partition that is old enough (the inventory's min_age) and not
yet settled in the ledger, so a skipped day or a partition late on one side is picked up by the
next run. A manual run ("Trigger DAG w/ config", or `airflow dags trigger -c '{...}'`) can set:

    config   the inventory to use instead of PARITY_CONFIG
    since    YYYY-MM-DD: only partitions from this day on (a backfill window)
    until    YYYY-MM-DD: only partitions up to this day
    shard    I/N: only this share of the units, for N runs side by side (default 0/1, all)

On Kubernetes, a KubernetesPodOperator running the image and arguments of
deploy/kubernetes/cronjob.yaml does the same job; its pod exits with the same codes.
"""

from __future__ import annotations

import os
import shlex
from datetime import timedelta

import pendulum

try:  # Airflow 3
    from airflow.sdk import DAG, Param
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.models.param import Param
try:  # Airflow 3 (and Airflow 2 with apache-airflow-providers-standard)
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:  # Airflow 2 without the standard provider
    from airflow.operators.bash import BashOperator

# Deployment settings, from the worker's environment; the defaults suit the container image.
PARITY_BIN = os.environ.get("PARITY_BIN", "parity")
PARITY_CONFIG = os.environ.get("PARITY_CONFIG", "/etc/parity/parity.toml")
# Audit events, one JSON-lines file per day and try, for the log collector to ship to the SIEM.
EVENTS_DIR = os.environ.get("PARITY_EVENTS_DIR", "/var/log/parity")

TASK_DOC = """
### parity run

Checks the legacy and the target platform's outputs of every pipeline in the cutover
inventory (the partitions not yet settled in the ledger), records each verdict in the
ledger, and writes audit events to the events folder (`PARITY_EVENTS_DIR`).

| exit code | task state | meaning | what to do |
|---|---|---|---|
| 0 | success | every unit checked is at parity | nothing |
| 1 | **failed** | **a pipeline diverged, or one side's partition is missing** | read the task log (or run `parity diff` on the two sides it names); the pipeline's streak is broken |
| 2 | failed | the run could not be done (bad inventory, ledger or store unreachable), or a unit could not be checked | fix the cause in the log, then clear the task: it checks what is not settled yet |

Exit 1 is a result, not a crash: a failed task here is the parity check saying no. The
divergence is recorded in the ledger, which settles that partition: running the task again
would skip it and could turn green. That is why the task has no retries, and why clearing it
is for exit 2 only. The divergence stays in the ledger (`parity history PIPELINE`).
"""

# The run's parameters reach the command as environment variables, never spliced into the
# shell text, so a value typed into the trigger form cannot run anything. An empty value
# leaves its flag out.
RUN_ENV = {
    "PARITY_RUN_CONFIG": "{{ params.config }}",
    "PARITY_RUN_SINCE": "{{ params.since or '' }}",
    "PARITY_RUN_UNTIL": "{{ params.until or '' }}",
    "PARITY_RUN_SHARD": "{{ params.shard or '0/1' }}",
    "PARITY_RUN_EVENTS": EVENTS_DIR + "/parity-{{ ds }}-try{{ ti.try_number }}.jsonl",
}

with DAG(
    dag_id="parity_run",
    description="Dual-run output parity: legacy vs target platform",
    schedule="30 6 * * *",  # daily, after both platforms have written yesterday's partitions
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "data-platform",
        # No retries: Airflow cannot tell exit 1 from exit 2, and a second try after exit 1
        # skips the divergence the first one recorded, so it could end green.
        "retries": 0,
        "execution_timeout": timedelta(hours=4),
    },
    params={
        "config": Param(PARITY_CONFIG, type="string", description="the cutover inventory"),
        "since": Param("", type="string", description="YYYY-MM-DD, first partition day"),
        "until": Param("", type="string", description="YYYY-MM-DD, last partition day"),
        "shard": Param("0/1", type="string", pattern=r"^[0-9]+/[0-9]+$",
                       description="I/N: this share of the units"),
    },
    tags=["parity", "migration"],
    doc_md=__doc__,
) as dag:
    BashOperator(
        task_id="parity_run",
        doc_md=TASK_DOC,
        env=RUN_ENV,
        append_env=True,  # keep the worker's environment: PATH, workload identity variables
        # A non-zero exit fails the task: 1 = divergence or missing partition, 2 = could not
        # check. `exec` hands parity's exit code to Airflow unchanged.
        bash_command=(
            'mkdir -p "$(dirname "$PARITY_RUN_EVENTS")" && '
            f"exec {shlex.quote(PARITY_BIN)} run"
            ' --config "$PARITY_RUN_CONFIG"'
            ' ${PARITY_RUN_SINCE:+--since "$PARITY_RUN_SINCE"}'
            ' ${PARITY_RUN_UNTIL:+--until "$PARITY_RUN_UNTIL"}'
            ' --shard "$PARITY_RUN_SHARD"'
            ' --events "$PARITY_RUN_EVENTS"'
        ),
    )
