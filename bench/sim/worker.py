"""An RQ worker process of the simulation: the real `jobs.*` entry points, on the simulated clock.

    python bench/sim/worker.py NAME

`SIM_APP_CONFIG` (JSON) is the app's configuration, the same the driver's apps use. The worker builds the
app once, installs a clock that reads the simulated instant from Redis (bench/sim/clock.py), hands the app
to `jobs` (their `app_context()` then uses it) and works the app's queue until SIGTERM, like `rq worker`
(SimpleWorker: jobs run in this process, no fork per job). Each finished job is counted in Redis by its
function (`retention:sim:jobs`, `retention:sim:jobs_failed`) for the run's summary.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

JOBS_KEY = "retention:sim:jobs"
FAILED_KEY = "retention:sim:jobs_failed"


def main(name: str) -> None:
    from rq import SimpleWorker

    import jobs
    from retention import create_app

    sys.path.insert(0, str(ROOT / "bench"))
    from sim.clock import RedisClock

    app = create_app(json.loads(os.environ["SIM_APP_CONFIG"]))
    queue = app.extensions["retention_queue"]
    RedisClock(queue.connection).install(app)
    jobs._app = app

    class CountingWorker(SimpleWorker):
        def execute_job(self, job, queue):
            try:
                return super().execute_job(job, queue)
            finally:
                self.connection.hincrby(JOBS_KEY, job.func_name, 1)
                status = job.get_status(refresh=True)
                if getattr(status, "value", status) != "finished":  # raised (failed, or scheduled for a retry)
                    self.connection.hincrby(FAILED_KEY, job.func_name, 1)

    worker = CountingWorker([queue.rq_queue], connection=queue.connection, name=f"{name}-{os.getpid()}")
    worker.work(burst=False, with_scheduler=True, logging_level="WARNING")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "sim-worker")
