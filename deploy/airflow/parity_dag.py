"""parity run as a daily Airflow 2 task.

Drop this file in the DAGs folder of an Airflow 2.4+ deployment whose workers have the
`parity` binary on their PATH (or change PARITY_BIN below) and can read the cutover inventory.
Credentials are not configured here: parity takes them from the worker's environment and
workload identity (IRSA, GKE or Azure workload identity, an instance profile).

Each run checks every partition that is old enough (the inventory's min_age) and not yet
settled in the ledger, so a skipped day or a partition late on one side is picked up by the
next run. To check one given day by hand: `parity run --config ... --date YYYY-MM-DD`.

On Kubernetes, a KubernetesPodOperator running the image and arguments of
deploy/kubernetes/cronjob.yaml does the same job; its pod exits with the same codes.
"""

from __future__ import annotations

import shlex
from datetime import timedelta

import pendulum
from airflow import DAG
from airflow.operators.bash import BashOperator

PARITY_BIN = "parity"
PARITY_CONFIG = "/opt/parity/parity.toml"
# Audit events, one JSON-lines file per day and try, for the log collector to ship to the SIEM.
EVENTS_DIR = "/var/log/parity"

TASK_DOC = """
### parity run

Checks the legacy and the target platform's outputs of every pipeline in the cutover
inventory (the partitions not yet settled in the ledger), records each verdict in the
ledger, and writes audit events to `/var/log/parity/`.

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
    tags=["parity", "migration"],
    doc_md=__doc__,
) as dag:
    BashOperator(
        task_id="parity_run",
        doc_md=TASK_DOC,
        # A non-zero exit fails the task: 1 = divergence or missing partition, 2 = could not
        # check. `exec` hands parity's exit code to Airflow unchanged.
        bash_command=(
            f"mkdir -p {shlex.quote(EVENTS_DIR)} && "
            f"exec {shlex.quote(PARITY_BIN)} run"
            f" --config {shlex.quote(PARITY_CONFIG)}"
            f" --events {shlex.quote(EVENTS_DIR)}/parity-{{{{ ds }}}}-try{{{{ ti.try_number }}}}.jsonl"
        ),
    )
