"""RQ cron configuration: `rq cron jobs/cron.py --url $REDIS_URL` queues the tick every minute."""
import os

from rq import cron

from jobs.tick import run_tick

cron.register(run_tick, os.environ.get("RETENTION_QUEUE", "retention"), interval=60)
