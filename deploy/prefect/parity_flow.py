"""parity run as a daily Prefect 3 flow.

    python parity_flow.py serve                   # a daily deployment, served by this process
    python parity_flow.py --until 2026-11-10      # one run now; exits 0, 1 or 2 as parity does

Or deploy `parity_flow` to a work pool as you deploy your other flows. The flow's workers need
the `parity` binary (`pip install parity-cutover`, or PARITY_BIN) and the cutover inventory
(PARITY_CONFIG, or the flow's `config` parameter). Credentials are not configured here: parity
takes them from the environment and workload identity (IRSA, GKE or Azure workload identity, an
instance profile).

Exit codes of `parity run`, and what the task makes of them:
  0  every unit checked is at parity           -> the task and the flow complete
  1  a unit diverged or a partition is missing -> ParityDiverged: failed, never retried
  2  the run or a unit could not be checked    -> ParityCouldNotCheck: retried once
A divergence is recorded in the ledger, which settles that partition: a second try would skip
it and could succeed. So do not retry a run that failed with exit 1 to make it green; the
divergence stays in the ledger (`parity history PIPELINE`). After exit 2, a retry checks what is
not settled yet.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import uuid
from typing import Optional

from prefect import flow, get_run_logger, task
from prefect.runtime import flow_run, task_run

PARITY_BIN = os.environ.get("PARITY_BIN", "parity")
PARITY_CONFIG = os.environ.get("PARITY_CONFIG", "/etc/parity/parity.toml")
# Audit events, one JSON-lines file per run and try, for the log collector to ship to the SIEM.
EVENTS_DIR = os.environ.get("PARITY_EVENTS_DIR", "/var/log/parity")
# How long to wait before the one retry after exit 2 (a store or the ledger was unreachable).
RETRY_DELAY_SECONDS = float(os.environ.get("PARITY_RETRY_DELAY_SECONDS", "900"))


class ParityFailure(Exception):
    """`parity run` ended without parity; `exit_code` is its exit code."""

    exit_code = 2


class ParityDiverged(ParityFailure):
    """Exit 1: the check's answer, recorded in the ledger. Never retried."""

    exit_code = 1


class ParityCouldNotCheck(ParityFailure):
    """Exit 2 (or parity did not finish): nothing is known about the units it names."""


def retry_only_could_not_check(task, task_run, state) -> bool:
    """Prefect's retry condition: retry after exit 2, never after exit 1."""
    error = state.result(raise_on_failure=False)
    return isinstance(error, ParityCouldNotCheck)


@task(
    name="parity run",
    retries=1,
    retry_delay_seconds=RETRY_DELAY_SECONDS,
    retry_condition_fn=retry_only_could_not_check,
)
def parity_run(
    config: str,
    since: Optional[str] = None,
    until: Optional[str] = None,
    shard: str = "0/1",
    date: Optional[str] = None,
    recheck: bool = False,
) -> None:
    """Runs `parity run`; raises a ParityFailure unless every unit checked is at parity."""
    logger = get_run_logger()
    os.makedirs(EVENTS_DIR, exist_ok=True)
    run_id = flow_run.get_id() or uuid.uuid4().hex
    events = os.path.join(EVENTS_DIR, f"parity-{run_id}-try{task_run.get_run_count()}.jsonl")
    argv = [PARITY_BIN, "run", "--config", config, "--events", events]
    for flag, value in (("--date", date), ("--since", since), ("--until", until),
                        ("--shard", shard)):
        if value:
            argv += [flag, value]
    if recheck:
        argv.append("--recheck")
    command = shlex.join(argv)
    logger.info("running: %s", command)

    try:
        proc = subprocess.run(argv, check=False, capture_output=True, text=True)
    except OSError as err:
        raise ParityCouldNotCheck(f"could not start {PARITY_BIN!r}: {err}") from err
    # parity's report (stdout) and its errors (stderr) go to the task's log in the Prefect UI.
    if proc.stdout.strip():
        logger.info("%s", proc.stdout.rstrip())
    if proc.stderr.strip():
        logger.warning("%s", proc.stderr.rstrip())

    code = proc.returncode
    if code == 0:
        logger.info("parity: every unit checked is at parity")
        return
    if code == 1:
        raise ParityDiverged(
            "parity: a pipeline DIVERGED or a partition is MISSING on one side (exit 1). "
            "This is the check's answer, not a fault: see the report in the task log, and "
            "`parity diff` the two sides it names. Not retried."
        )
    if code == 2:
        raise ParityCouldNotCheck(
            "parity: COULD NOT CHECK (exit 2): the inventory is invalid, the ledger or a "
            "store is unreachable, or a unit could not be read. Nothing is known about "
            "parity for the units it names; see the task log."
        )
    if code < 0:
        try:
            reason = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            reason = f"killed by signal {-code}"
    else:
        reason = f"unexpected exit code {code}"
    raise ParityCouldNotCheck(f"parity run did not finish: {reason}")


@flow(name="parity-run", description="Dual-run output parity: legacy vs target platform")
def parity_flow(
    config: str = PARITY_CONFIG,
    since: Optional[str] = None,
    until: Optional[str] = None,
    shard: str = "0/1",
    date: Optional[str] = None,
    recheck: bool = False,
) -> None:
    """A scheduled run sets no parameter: it checks the partitions old enough (the inventory's
    min_age) and not yet settled in the ledger. `since`/`until` (YYYY-MM-DD) bound a window,
    `date` picks one day, `shard` I/N runs a share of the units, `recheck` ignores the ledger."""
    parity_run(config, since=since, until=until, shard=shard, date=date, recheck=recheck)


def main() -> int:
    parser = argparse.ArgumentParser(description="parity run as a Prefect flow")
    parser.add_argument("mode", nargs="?", choices=["once", "serve"], default="once",
                        help="once: run the flow now (default); serve: serve a daily deployment "
                             "(06:30 UTC) from this process")
    parser.add_argument("--config", default=PARITY_CONFIG, help="the cutover inventory")
    parser.add_argument("--since", help="YYYY-MM-DD: only partitions from this day on")
    parser.add_argument("--until", help="YYYY-MM-DD: only partitions up to this day")
    parser.add_argument("--shard", default="0/1", help="I/N: only this share of the units")
    opts = parser.parse_args()
    if opts.mode == "serve":
        parity_flow.serve(
            name="parity-daily",
            # After both platforms have written yesterday's partitions.
            cron="30 6 * * *",
            parameters={"config": opts.config, "shard": opts.shard},
        )
        return 0
    state = parity_flow(config=opts.config, since=opts.since, until=opts.until,
                        shard=opts.shard, return_state=True)
    if state.is_completed():
        return 0
    error = state.result(raise_on_failure=False)
    print(f"parity flow: {state.name}: {error}", file=sys.stderr)
    return error.exit_code if isinstance(error, ParityFailure) else 2


if __name__ == "__main__":
    sys.exit(main())
