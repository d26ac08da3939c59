"""parity run as a daily Dagster job.

Load it with `dagster dev -f deploy/dagster/parity_job.py`, or add `parity_job` and
`parity_daily` to your code location's Definitions. The code server's run workers need the
`parity` binary (PARITY_BIN, default on the PATH) and the cutover inventory (PARITY_CONFIG).
Credentials are not configured here: parity takes them from the environment and workload
identity (IRSA, GKE or Azure workload identity, an instance profile).

Exit codes of `parity run`, and what the op makes of them:
  0  every unit checked is at parity           -> the op succeeds
  1  a unit diverged or a partition is missing -> Failure, never retried
  2  the run or a unit could not be checked    -> Failure, retried once by the RetryPolicy
A divergence is recorded in the ledger, which settles that partition: a second try would skip
it and could succeed. So do not re-execute a run that failed with exit 1 to make it green; the
divergence stays in the ledger (`parity history PIPELINE`). After exit 2, a re-execution
checks what is not settled yet.
"""

# No `from __future__ import annotations`: Dagster reads the op's config type from its annotation.
import os
import shlex
import signal
import subprocess
from typing import Optional

import dagster as dg

PARITY_BIN = os.environ.get("PARITY_BIN", "parity")
PARITY_CONFIG = os.environ.get("PARITY_CONFIG", "/etc/parity/parity.toml")
# Audit events, one JSON-lines file per run and try, for the log collector to ship to the SIEM.
EVENTS_DIR = os.environ.get("PARITY_EVENTS_DIR", "/var/log/parity")
# How long to wait before the one retry after exit 2 (a store or the ledger was unreachable).
RETRY_DELAY_SECONDS = float(os.environ.get("PARITY_RETRY_DELAY_SECONDS", "900"))


class ParityRunConfig(dg.Config):
    """Launch-time settings. A scheduled run sets none: it checks, with the deployment's
    inventory, the partitions old enough (the inventory's min_age) and not yet settled in the
    ledger."""

    config: Optional[str] = None  # the inventory, instead of PARITY_CONFIG
    date: Optional[str] = None  # YYYY-MM-DD: only this day, even if younger than min_age
    since: Optional[str] = None  # YYYY-MM-DD: only partitions from this day on
    until: Optional[str] = None  # YYYY-MM-DD: only partitions up to this day
    shard: str = "0/1"  # I/N: only this share of the units, for N runs side by side
    recheck: bool = False  # check units again even if the ledger already settles them


@dg.op(retry_policy=dg.RetryPolicy(max_retries=1, delay=RETRY_DELAY_SECONDS))
def parity_run(context: dg.OpExecutionContext, config: ParityRunConfig) -> None:
    """Runs `parity run`; raises dagster.Failure unless every unit checked is at parity."""
    os.makedirs(EVENTS_DIR, exist_ok=True)
    events = os.path.join(EVENTS_DIR, f"parity-{context.run_id}-try{context.retry_number}.jsonl")
    argv = [PARITY_BIN, "run", "--config", config.config or PARITY_CONFIG, "--events", events]
    for flag, value in (("--date", config.date), ("--since", config.since),
                        ("--until", config.until), ("--shard", config.shard)):
        if value:
            argv += [flag, value]
    if config.recheck:
        argv.append("--recheck")
    command = shlex.join(argv)
    context.log.info(f"running: {command}")

    try:
        # The report and progress go straight to the run's compute logs.
        code = subprocess.run(argv, check=False).returncode
    except OSError as err:
        raise dg.Failure(
            description=f"could not start {PARITY_BIN!r}: {err}",
            metadata={"command": command},
            allow_retries=False,
        ) from err

    metadata = {"command": command, "exit_code": code, "events": events}
    if code == 0:
        context.log.info("parity: every unit checked is at parity")
        return
    if code == 1:
        # Not retried: the first try recorded the divergence, so a second would skip it.
        raise dg.Failure(
            description=(
                "parity: a pipeline DIVERGED or a partition is MISSING on one side (exit 1). "
                "This is the check's answer, not a fault: see the report in the compute logs, "
                "and `parity diff` the two sides it names."
            ),
            metadata=metadata,
            allow_retries=False,
        )
    if code == 2:
        raise dg.Failure(
            description=(
                "parity: COULD NOT CHECK (exit 2): the inventory is invalid, the ledger or a "
                "store is unreachable, or a unit could not be read. Nothing is known about "
                "parity for the units it names; see the compute logs."
            ),
            metadata=metadata,
        )
    if code < 0:
        try:
            reason = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            reason = f"killed by signal {-code}"
    else:
        reason = f"unexpected exit code {code}"
    raise dg.Failure(description=f"parity run did not finish: {reason}", metadata=metadata)


@dg.job(description="Dual-run output parity: legacy vs target platform")
def parity_job() -> None:
    parity_run()


parity_daily = dg.ScheduleDefinition(
    name="parity_daily",
    job=parity_job,
    cron_schedule="30 6 * * *",  # after both platforms have written yesterday's partitions
    execution_timezone="UTC",
)

defs = dg.Definitions(jobs=[parity_job], schedules=[parity_daily])
