"""Once per period across every worker and machine: the first to claim (job, period) runs the job.

At most once: a worker that claims and then dies before finishing leaves the period done; the log says so.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from bot.store.schema import scheduled_runs

logger = logging.getLogger(__name__)


def claim_once(engine: Engine, job: str, period: str, at: dt.datetime) -> bool:
    """True for the one caller that claims `job` for `period`; False for every later one."""
    insert = (pg_insert if engine.dialect.name == "postgresql" else sqlite_insert)(scheduled_runs)
    claim = insert.values(job=job, period=period, claimed_at=at).on_conflict_do_nothing()
    with engine.begin() as conn:
        claimed = conn.execute(claim.returning(scheduled_runs.c.job)).first() is not None
    if not claimed:
        logger.info("%s for %s already run by another worker", job, period)
    return claimed
