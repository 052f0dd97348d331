"""Once per period across every worker and machine: the first to claim (job, period) runs the job.

At most once: a worker that claims and then dies before finishing leaves the period done; the log says so.
"""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.store.dialect import insert
from bot.store.schema import scheduled_runs

logger = logging.getLogger(__name__)


class OnceLedger:
    """`Once` on the shared database: a (job, period) row per claimed run."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._claim = (
            insert(scheduled_runs, engine.dialect.name)
            .values(job=sa.bindparam("job"), period=sa.bindparam("period"), claimed_at=sa.bindparam("at"))
            .on_conflict_do_nothing()
            .returning(scheduled_runs.c.job)
        )

    def claim(self, job: str, period: str, at: dt.datetime) -> bool:
        """True for the one caller that claims `job` for `period`; False for every later one."""
        with self.engine.begin() as conn:
            claimed = conn.execute(self._claim, {"job": job, "period": period, "at": at}).first() is not None
        if not claimed:
            logger.info("%s for %s already run by another worker", job, period)
        return claimed
