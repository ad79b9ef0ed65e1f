"""Ninety simulated days of the real system (issue 14, section 1): hooks, ticks, RQ workers, staff, customers.

Run from the project root, with PostgreSQL and Redis running:

    .venv/bin/python bench/simulate.py --customers 10000 --days 90 --seed 1 --workers 2 --tickers 2

Database `retention_sim` (--database) is dropped and created, Redis db 2 (--redis-url) is the queue. The driver
is bench/sim/engine.py (what runs, how time moves); the checks are bench/sim/checks.py. It prints the seed, the
figures of the run (events sent by type, duplicates, ticks, jobs, wall time, events/s) and a count for each
check, and exits 1 when any check found a violation or anything failed (an HTTP error, a tick or a job that
raised). `--seed` replays a run.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def reset_database(base_url: str, name: str) -> str:
    import psycopg
    from psycopg import sql

    with psycopg.connect(f"{base_url.rstrip('/')}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return f"{base_url.rstrip('/')}/{name}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=10000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=None, help="default: from the time; printed either way")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tickers", type=int, default=2)
    parser.add_argument("--step-minutes", type=int, default=300,
                        help="simulated time per step (default 300: five hours, which moves the moments ticks and "
                             "staff act through every hour of the day)")
    parser.add_argument("--senders", type=int, default=8, help="concurrent HTTP senders (default 8)")
    parser.add_argument("--base-url", default=os.environ.get("SIM_PG_BASE", "postgresql://postgres@127.0.0.1:5432"))
    parser.add_argument("--database", default="retention_sim")
    parser.add_argument("--redis-url", default=os.environ.get("SIM_REDIS_URL", "redis://127.0.0.1:6379/2"))
    parser.add_argument("--keep", action="store_true", help="keep the instance folder (outbox, print files)")
    parser.add_argument("--max-wall", type=float, default=None,
                        help="stop stepping after this many wall seconds, then settle and check (partial run)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else int(time.time()) % 100000
    print(f"seed {seed}", flush=True)

    from redis import Redis

    from sim.engine import Simulation

    url = reset_database(args.base_url, args.database)
    Redis.from_url(args.redis_url).flushdb()
    instance = Path(tempfile.mkdtemp(prefix="retention-sim-"))
    try:
        sim = Simulation(database_url=url, redis_url=args.redis_url, seed=seed, customers=args.customers,
                         days=args.days, workers=args.workers, tickers=args.tickers,
                         step_minutes=args.step_minutes, instance=instance, senders=args.senders,
                         log=lambda text: print(text, flush=True), max_wall_seconds=args.max_wall)
        result = sim.run()
    finally:
        if args.keep:
            print(f"instance folder kept: {instance}")
        else:
            shutil.rmtree(instance, ignore_errors=True)
    print(result.summary(), flush=True)
    print(f"command: .venv/bin/python bench/simulate.py --customers {args.customers} --days {args.days} "
          f"--seed {seed} --workers {args.workers} --tickers {args.tickers} --step-minutes {args.step_minutes}"
          + (f" --max-wall {args.max_wall:.0f}" if args.max_wall else ""))
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
