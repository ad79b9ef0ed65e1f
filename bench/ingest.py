"""Benchmark of the signed webhook: acceptance under gunicorn, and processing per worker.

Run from the project root (`make bench` does it):

    .venv/bin/python bench/ingest.py [--duration 10] [--connections 16] [--rounds 3] ...

What it measures, in one run:

1. Acceptance. gunicorn serves `wsgi:app` (PostgreSQL database `retention_bench`, dropped and
   migrated afresh; Redis db 14, flushed) and two baselines with identical settings:
   `bench/durable_app.py` (the durable baseline: a bare Flask endpoint that verifies the same
   signature and inserts the raw event into PostgreSQL with one commit; the goal is measured
   against it) and `bench/bare_app.py` (a Flask endpoint that only reads the body; a second
   reference). wrk drives all three at the same concurrency with bench/ingest.lua, which replays
   requests signed just before each run, each with its own webhook-id, sale id and customer id.
   Rounds alternate bare, durable, app, bare, ...; the median round of each is reported. No RQ
   worker runs, so the queue does not drain meanwhile.
   Checks: every app response is a 202, and the inbox holds one row per 202 (plus at most the
   requests still in flight when wrk stopped, which the app may have stored unanswered).
   Default servers: `gunicorn -w 4 -k gthread --threads 2` (processes for the CPU-bound
   Python on 2 cores, two threads each to overlap the database round trips, keep-alive).
2. Processing. With the servers stopped, the inbox is topped up to --events sale.completed
   events (validated like the hook does, inserted directly) and `process_due` applies them
   all in this one process (= one worker): claim + apply + commit, end to end, with the
   default journey seeded as `make run` does and three onboarding staff (so each sale also
   enrolls its customer, picks an owner and plans the touchpoints; --no-journey leaves them
   out). Checks: one sale per event, every event processed. `--profile FILE` runs it under cProfile
   (stats to FILE) and prints the top functions and the SQL statements per event (COPY goes past
   SQLAlchemy's cursor events and is not counted); its rate is then no measurement.

Goals (issue 14): acceptance >= 0.7x the durable baseline with p99 <= 50 ms at 16 connections,
nothing lost; processing >= 1,000 sale events/s per worker. The exit code is 0 whether goals
are met or missed (it is a measurement) and non-zero only when the run itself fails.
Files (signed requests, server logs, wrk output) go to bench/out/.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import http.client
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out"
LUA = BENCH / "ingest.lua"
HOOK_PATH = "/hooks/events"
SECRET = "whsec_" + base64.b64encode(b"bench-secret-of-32-bytes-exactly").decode()
# Sales completed an hour before the run, a millisecond apart: recent, so journeys plan ahead.
BASE_TIME = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).replace(microsecond=0)
STAFF = 3  # onboarding staff seeded for processing, so customers get owners

GOAL_RATIO = 0.7  # of the durable baseline
GOAL_P99_MS = 50.0
GOAL_EVENTS_PER_S = 1000.0

sys.path.insert(0, str(ROOT))


class BenchError(Exception):
    """The run itself failed (not a missed goal)."""


# --- settings -----------------------------------------------------------------------------

def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base-url", default=os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432"),
                   help="PostgreSQL server URL without a database name (env BENCH_PG_URL)")
    p.add_argument("--database", default=os.environ.get("BENCH_PG_DATABASE", "retention_bench"),
                   help="database to drop, create and migrate (env BENCH_PG_DATABASE)")
    p.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
                   help="Redis URL whose db is flushed first (env BENCH_REDIS_URL)")
    p.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", "10")),
                   help="seconds per measured round")
    p.add_argument("--warmup", type=int, default=3, help="seconds of unmeasured load per server first")
    p.add_argument("--rounds", type=int, default=3, help="measured rounds per server (alternating)")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--wrk-threads", type=int, default=2)
    p.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", "4")),
                   help="gunicorn workers (both servers)")
    p.add_argument("--worker-class", default=os.environ.get("BENCH_WORKER_CLASS", "gthread"),
                   help="gunicorn worker class (both servers)")
    p.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS", "2")),
                   help="gunicorn threads per worker (gthread)")
    p.add_argument("--events", type=int, default=20_000,
                   help="sale events to process (the ingested ones, topped up to this many)")
    p.add_argument("--process-timeout", type=float, default=300,
                   help="stop processing after this many seconds (the rate is still reported)")
    p.add_argument("--skip-processing", action="store_true", help="measure acceptance only")
    p.add_argument("--skip-acceptance", action="store_true", help="measure processing only")
    p.add_argument("--profile", metavar="FILE", default=None,
                   help="profile processing: cProfile stats to FILE (pstats), the top functions and the SQL"
                        " statements per event printed (the profiler slows the run: its rate is no measurement)")
    p.add_argument("--no-journey", action="store_true",
                   help="process without the default journey and staff (seeded by default, so every sale"
                        " enrolls its customer with an owner and plans the touchpoints)")
    p.add_argument("--batch", type=int, default=None, help="process_due batch size (default: the app's)")
    p.add_argument("--max-requests", type=int, default=400_000, help="cap on pre-signed requests per app round")
    args = p.parse_args(argv)
    if not 0 < args.duration <= 600 or not 0 <= args.warmup <= 60 or not 0 < args.rounds <= 20 \
            or not 0 < args.connections <= 1024:
        p.error("duration must be in 1..600, warmup in 0..60, rounds in 1..20, connections in 1..1024")
    if args.wrk_threads > args.connections:
        p.error("--wrk-threads cannot exceed --connections")
    return args


def database_url(args) -> str:
    return f"{args.base_url.rstrip('/')}/{args.database}"


def app_env(args) -> dict:
    """The environment of the app under test (gunicorn, flask db upgrade, and processing here)."""
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": database_url(args),
        "REDIS_URL": args.redis_url,
        "SECRET_KEY": "bench-" + "x" * 40,
        "RETENTION_ENV": "production",
        "RETENTION_WEBHOOK_SECRETS": SECRET,
        "RETENTION_INSTANCE_PATH": str(OUT / "instance"),
        "PYTHONUNBUFFERED": "1",
    })
    return env


# --- database and Redis -------------------------------------------------------------------

def reset_database(args) -> None:
    """Drop and create the bench database, migrate it with Alembic, add the durable baseline's table."""
    import psycopg
    from psycopg import sql

    sys.path.insert(0, str(BENCH))
    from durable_app import TABLE_DDL

    with psycopg.connect(f"{args.base_url.rstrip('/')}/postgres", autocommit=True, connect_timeout=5) as conn:
        name = sql.Identifier(args.database)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], env=app_env(args), timeout=120)
    with psycopg.connect(database_url(args), autocommit=True, connect_timeout=5) as conn:
        conn.execute(TABLE_DDL)


def flush_redis(url: str) -> None:
    from redis import Redis

    Redis.from_url(url, socket_connect_timeout=2).flushdb()


def db_scalar(args, query: str):
    import psycopg

    with psycopg.connect(database_url(args), connect_timeout=5) as conn:
        return conn.execute(query).fetchone()[0]


def run(cmd, timeout: float, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, check=False, cwd=ROOT, capture_output=True, text=True, timeout=timeout, **kwargs)
    if result.returncode != 0:
        raise BenchError(f"{' '.join(map(str, cmd))} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result


# --- gunicorn -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """One gunicorn master on a free loopback port; stopped (TERM, then KILL) on exit."""

    def __init__(self, name: str, target: str, chdir: Path, args, env: dict):
        self.name, self.port = name, free_port()
        self.log = OUT / f"gunicorn-{name}.log"
        self.cmd = [sys.executable, "-m", "gunicorn", target, "--chdir", str(chdir),
                    "--bind", f"127.0.0.1:{self.port}", "--workers", str(args.workers),
                    "--worker-class", args.worker_class, "--threads", str(args.threads),
                    "--log-level", "warning", "--error-logfile", str(self.log)]
        self.env = env
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{HOOK_PATH}"

    def __enter__(self) -> Self:
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_ready(timeout=120)  # a loaded machine imports slowly
        return self

    def _wait_ready(self, timeout: float) -> None:
        """Until a POST answers (401 without a signature, 202 on the bare app)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"gunicorn {self.name} exited {self.proc.returncode}; see {self.log}")
            with contextlib.suppress(OSError):
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("POST", HOOK_PATH, body=b"{}", headers={"Content-Type": "application/json"})
                conn.getresponse().read()
                conn.close()
                return
            time.sleep(0.2)
        raise BenchError(f"gunicorn {self.name} not answering after {timeout} s; see {self.log}")

    def __exit__(self, *exc) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


# --- signed requests ----------------------------------------------------------------------

def sale_event(tag: str, n: int) -> dict:
    """A valid sale.completed event with its own sale and customer ids."""
    from tests.factories import customer, sale_completed

    return sale_completed(sale_id=f"S-{tag}-{n}", cust=customer(f"C-{tag}-{n}"),
                          occurred_at=BASE_TIME + dt.timedelta(milliseconds=n))


def write_requests(prefix: Path, tag: str, count: int, threads: int) -> None:
    """Sign `count` events now and deal them round-robin into one file per wrk thread."""
    from retention.hooks.signatures import sign

    timestamp = int(time.time())
    with contextlib.ExitStack() as stack:
        files = [stack.enter_context(open(f"{prefix}.{i}", "w", encoding="utf-8")) for i in range(threads)]
        for n in range(count):
            body = json.dumps(sale_event(tag, n), separators=(",", ":"))
            webhook_id = f"msg_{tag}_{n}"
            signature = sign(SECRET, webhook_id, timestamp, body.encode())
            files[n % threads].write(f"{webhook_id}\t{timestamp}\t{signature}\t{body}\n")


# --- load ---------------------------------------------------------------------------------

@dataclass
class Round:
    """One wrk run against one server."""

    server: str
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    statuses: dict
    socket_errors: int
    reused: int
    in_flight: int  # sent but unanswered when wrk stopped: the server may have stored them

    @property
    def non_202(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != "202")

    def line(self) -> str:
        return (f"{self.server:>7}: {self.rps:8.0f} req/s  p50 {self.p50_ms:6.1f} ms  p99 {self.p99_ms:6.1f} ms"
                f"  max {self.max_ms:7.1f} ms  {self.requests} requests, non-202 {self.non_202},"
                f" socket errors {self.socket_errors}")


def run_wrk(server: Gunicorn, prefix: Path, seconds: int, args, label: str) -> Round:
    cmd = [shutil.which("wrk") or "/usr/bin/wrk", f"-t{args.wrk_threads}", f"-c{args.connections}",
           f"-d{seconds}s", "--latency", "--timeout", "5s", "-s", str(LUA), server.url,
           "--", str(prefix)]
    result = run(cmd, timeout=seconds + 60)
    (OUT / f"wrk-{label}.txt").write_text(result.stdout + result.stderr)
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("BENCH_RESULT ")]
    if not lines:
        raise BenchError(f"wrk printed no BENCH_RESULT line:\n{result.stdout}\n{result.stderr}")
    r = json.loads(lines[-1][len("BENCH_RESULT "):])
    errors = r["errors"]
    return Round(server=server.name, rps=r["requests"] / (r["duration_us"] / 1e6),
                 p50_ms=float(r["p50_us"]) / 1000, p99_ms=float(r["p99_us"]) / 1000, max_ms=r["max_us"] / 1000,
                 requests=r["requests"], statuses=r["statuses"],
                 socket_errors=errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
                 reused=r["reused"], in_flight=max(0, r["sent"] - r["requests"]))


class Load:
    """Alternating wrk rounds; signs fresh, unique requests for every run against a server that stores them."""

    def __init__(self, args, bare: Gunicorn, durable: Gunicorn, app: Gunicorn):
        self.args, self.bare, self.durable, self.app = args, bare, durable, app
        self.tag = f"{int(time.time()):x}"
        self.bare_prefix = OUT / "requests-bare"
        self.app_prefix = OUT / "requests-app"
        self.app_runs: list[Round] = []
        self.durable_runs: list[Round] = []
        self.best_rps = 0.0

    def prepare_bare(self) -> None:
        # Repeats are harmless on the bare endpoint: it stores nothing.
        write_requests(self.bare_prefix, f"{self.tag}b", 20_000, self.args.wrk_threads)

    def bare_round(self, seconds: int, label: str) -> Round:
        result = run_wrk(self.bare, self.bare_prefix, seconds, self.args, label)
        self.best_rps = max(self.best_rps, result.rps)
        return result

    def app_round(self, seconds: int, label: str) -> Round:
        return self._stored_round(self.app, self.app_runs, seconds, label)

    def durable_round(self, seconds: int, label: str) -> Round:
        return self._stored_round(self.durable, self.durable_runs, seconds, label)

    def _stored_round(self, server: Gunicorn, runs: list, seconds: int, label: str) -> Round:
        # Enough to run as fast as the bare endpoint did, plus a margin; each request new to the server.
        count = min(self.args.max_requests, math.ceil(max(self.best_rps, 1000) * seconds * 1.3) + 2000)
        write_requests(self.app_prefix, f"{self.tag}-{label}", count, self.args.wrk_threads)
        result = run_wrk(server, self.app_prefix, seconds, self.args, label)
        runs.append(result)
        if result.reused:
            raise BenchError(f"{label}: {result.reused} requests were sent twice; raise --max-requests")
        return result


def measure_acceptance(args, bare: Gunicorn, durable: Gunicorn, app: Gunicorn) -> tuple[dict, Load]:
    """Rounds alternating bare, durable, app; returns the rounds of each server and the load."""
    load = Load(args, bare, durable, app)
    load.prepare_bare()
    runs = {"bare": load.bare_round, "durable": load.durable_round, "app": load.app_round}
    if args.warmup > 0:
        for kind, do in runs.items():
            do(args.warmup, f"{kind}-warmup")
        print(f"warm-up done ({args.warmup:g} s each)", flush=True)
    rounds: dict[str, list[Round]] = {kind: [] for kind in runs}
    for i in range(1, args.rounds + 1):
        for kind, do in runs.items():
            result = do(args.duration, f"{kind}-{i}")
            rounds[kind].append(result)
            print(f"round {i} {result.line()}", flush=True)
    return rounds, load


def median_round(rounds: list[Round]) -> Round:
    """The round with the median throughput (the lower middle one for an even count)."""
    ordered = sorted(rounds, key=lambda r: r.rps)
    return ordered[(len(ordered) - 1) // 2]


# --- processing ---------------------------------------------------------------------------

@dataclass
class Processing:
    events: int
    topped_up: int
    claimed: int
    seconds: float
    sales: int
    processed: int
    timed_out: bool

    @property
    def rate(self) -> float:
        return self.claimed / self.seconds if self.seconds else 0.0


def top_up(session, count: int, tag: str) -> None:
    """Insert `count` pending sale.completed events as the hook stores them, in bulk."""
    from sqlalchemy import insert

    from retention.hooks.models import PENDING, InboundEvent
    from retention.hooks.schemas import json_ready, load_event
    from retention.hooks.service import refs_of
    from retention.types import utcnow

    now = utcnow()
    for start in range(0, count, 2000):
        rows = []
        for n in range(start, min(count, start + 2000)):
            event = load_event(sale_event(tag, n))
            data = json_ready(event["data"])
            customer_ref, sale_ref = refs_of(event["type"], data)
            rows.append({"webhook_id": f"msg_{tag}_{n}", "type": event["type"],
                         "occurred_at": event["occurred_at"], "received_at": now, "data": data,
                         "customer_ref": customer_ref, "sale_ref": sale_ref, "status": PENDING, "attempts": 0})
        session.execute(insert(InboundEvent), rows)
        session.commit()


def seed_journey(session, app) -> None:
    """The default journey, as `make run` seeds it, and onboarding staff to own the customers."""
    from retention.journeys.service import ensure_default_journey
    from retention.staff.service import create_user
    from retention.types import utcnow

    now = utcnow()
    ensure_default_journey(session, now)
    for i in range(STAFF):
        create_user(session, app.extensions["password_hasher"], email=f"onboarding{i}@bench.example",
                    role="onboarding", password="bench-password", actor="bench", now=now)
    session.commit()


class Profile:
    """cProfile over processing, and every SQL statement sent (executemany counted once, with its rows)."""

    def __init__(self, engine):
        import cProfile
        from collections import Counter

        self.engine, self.profiler = engine, cProfile.Profile()
        self.statements, self.rows = Counter(), Counter()

    def _count(self, conn, cursor, statement, parameters, context, executemany):
        key = " ".join(statement.split())[:110]
        self.statements[key] += 1
        self.rows[key] += len(parameters) if executemany else 1

    def __enter__(self):
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self._count)
        self.profiler.enable()
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event

        self.profiler.disable()
        event.remove(self.engine, "before_cursor_execute", self._count)

    def report(self, path: str, events: int) -> None:
        import pstats

        self.profiler.dump_stats(path)
        stats = pstats.Stats(self.profiler).sort_stats("tottime")
        print(f"\n-- profile ({path}); own time, top 25 --")
        stats.print_stats(25)
        print("-- cumulative, top 40 --")
        stats.sort_stats("cumulative").print_stats(40)
        per = max(events, 1)
        total = sum(self.statements.values())
        print(f"-- SQL: {total} statements for {events} events = {total / per:.3f} per event"
              f" ({sum(self.rows.values()) / per:.2f} row sets per event) --")
        for key, n in self.statements.most_common(30):
            print(f"{n:8d} x {self.rows[key] / n:8.1f} rows  {key}")


def measure_processing(args) -> Processing:
    """Apply every pending event with process_due in this process, timed end to end."""
    os.environ.update(app_env(args))
    from sqlalchemy import func, select, text

    from retention import create_app
    from retention.customers.models import Sale
    from retention.extensions import db
    from retention.hooks import service
    from retention.hooks.models import PROCESSED, InboundEvent
    from retention.types import utcnow

    app = create_app()
    with app.app_context():
        session = db.session
        stored = session.scalar(select(func.count()).select_from(InboundEvent))
        extra = max(0, args.events - stored)
        if extra:
            print(f"topping up the inbox with {extra} sale events ...", flush=True)
            top_up(session, extra, f"{int(time.time()):x}-direct")
        if not args.no_journey:
            seed_journey(session, app)
        # Statistics for the rows just bulk-inserted, as autovacuum would have them by now. Only this
        # table: analyzing the still empty customers/enrollments would make PostgreSQL plan (and
        # cache, per connection) sequential scans for the foreign-key checks, turning the run quadratic.
        session.execute(text("ANALYZE inbound_events"))
        session.commit()
        due = service.due_count(session, utcnow())
        session.close()
        batch = args.batch or app.config["EVENT_BATCH_SIZE"]
        profile = Profile(db.engine) if args.profile else contextlib.nullcontext()
        claimed, started = 0, time.perf_counter()
        deadline = started + args.process_timeout
        # process_due one batch at a time, only so that a very slow run still stops in time.
        timed_out = True
        with profile:
            while time.perf_counter() < deadline:
                n = service.process_due(db.session, utcnow(), batch, app.config["EVENT_MAX_ATTEMPTS"], max_batches=1)
                if n == 0:
                    timed_out = False
                    break
                claimed += n
        seconds = time.perf_counter() - started
        if args.profile:
            profile.report(args.profile, claimed)
        db.session.close()
        sales = db.session.scalar(select(func.count()).select_from(Sale))
        processed = db.session.scalar(select(func.count()).select_from(InboundEvent)
                                      .where(InboundEvent.status == PROCESSED))
        db.session.close()
    return Processing(events=due, topped_up=extra, claimed=claimed, seconds=seconds, sales=sales,
                      processed=processed, timed_out=timed_out)


# --- report -------------------------------------------------------------------------------

def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report_acceptance(args, rounds: dict, load: Load, stored: int) -> list[str]:
    """Print the acceptance figures and goals; return the problems that invalidate the run."""
    bare, durable, app = (median_round(rounds[kind]) for kind in ("bare", "durable", "app"))
    ratio = app.rps / durable.rps if durable.rps else 0.0
    non_202 = sum(r.non_202 for r in rounds["app"])
    socket_errors = sum(r.socket_errors for r in rounds["app"])
    accepted_all = sum(r.statuses.get("202", 0) for r in load.app_runs)
    in_flight = sum(r.in_flight for r in load.app_runs)
    print(f"gunicorn -w {args.workers} -k {args.worker_class} --threads {args.threads}; wrk -t{args.wrk_threads}"
          f" -c{args.connections}; {args.rounds} x {args.duration} s per server, median round:")
    for name, r in (("bare endpoint", bare), ("durable baseline", durable), ("signed webhook", app)):
        print(f"{name:<18} {r.rps:8.0f} req/s   p50 {r.p50_ms:5.1f} ms  p99 {r.p99_ms:5.1f} ms")
    print(f"ratio app/durable  {ratio:8.2f}   (app/bare {app.rps / bare.rps if bare.rps else 0:.2f},"
          f" durable/bare {durable.rps / bare.rps if bare.rps else 0:.2f})")
    print(f"app non-202        {non_202:8d}   (socket errors {socket_errors})")
    print(f"events stored      {stored:8d}   (202 answers incl. warm-up: {accepted_all},"
          f" + {stored - accepted_all} of {in_flight} in flight when wrk stopped)")
    print(f"goal acceptance >= {GOAL_RATIO}x durable, no rejects:  "
          f"{verdict(ratio >= GOAL_RATIO and non_202 == 0)}  ({ratio:.2f}x)")
    print(f"goal p99 <= {GOAL_P99_MS:g} ms at {args.connections} connections:  {verdict(app.p99_ms <= GOAL_P99_MS)}"
          f"  ({app.p99_ms:.1f} ms)")
    if accepted_all <= stored <= accepted_all + in_flight:
        return []
    return [(f"inbox holds {stored} rows but the app answered 202 {accepted_all} times"
            f" (+ at most {in_flight} unanswered when wrk stopped)")]


def report_processing(proc: Processing) -> list[str]:
    """Print the processing figure and goal; return the problems that invalidate the run."""
    stopped = f"; STOPPED by --process-timeout, {proc.events - proc.claimed} left" if proc.timed_out else ""
    print(f"processing         {proc.rate:8.0f} sale events/s per worker   ({proc.claimed} events in "
          f"{proc.seconds:.2f} s, {proc.topped_up} inserted directly; sales table {proc.sales}{stopped})")
    print(f"goal processing >= {GOAL_EVENTS_PER_S:,.0f} events/s/worker:   "
          f"{verdict(proc.rate >= GOAL_EVENTS_PER_S)}  ({proc.rate:.0f}/s)")
    if proc.processed == proc.claimed == proc.sales and (proc.claimed == proc.events or proc.timed_out):
        return []
    return [(f"processing: {proc.events} due, {proc.claimed} claimed, {proc.processed} processed,"
            f" {proc.sales} sales (one sale per sale event expected)")]


# --- main ---------------------------------------------------------------------------------

def _terminate(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def run_acceptance(args):
    """Both servers up, the alternating rounds, then the servers stopped; returns what report needs."""
    env = app_env(args)
    with Gunicorn("bare", "bare_app:app", BENCH, args, env) as bare, \
            Gunicorn("durable", "durable_app:app", BENCH, args, env) as durable, \
            Gunicorn("app", "wsgi:app", ROOT, args, env) as app:
        print(f"servers up: bare {bare.url}, durable {durable.url}, app {app.url}", flush=True)
        rounds, load = measure_acceptance(args, bare, durable, app)
    stored = db_scalar(args, "SELECT count(*) FROM inbound_events")
    return rounds, load, stored


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"database {database_url(args)} (fresh), redis {args.redis_url} (flushed); {os.cpu_count()} cores,"
          f" load average {os.getloadavg()[0]:.2f} before the run", flush=True)
    reset_database(args)
    flush_redis(args.redis_url)
    acceptance = None if args.skip_acceptance else run_acceptance(args)
    proc, problems = None, []
    if not args.skip_processing:
        print("processing ...", flush=True)
        try:
            proc = measure_processing(args)
        except Exception as exc:  # noqa: BLE001  (still print the acceptance figures, then fail)
            problems.append(f"processing failed: {type(exc).__name__}: {str(exc).strip().splitlines()[0][:500]}")
    print("\n== Summary ==")
    if acceptance:
        problems += report_acceptance(args, *acceptance)
    if proc:
        problems += report_processing(proc)
    print(f"load average {os.getloadavg()[0]:.2f} at the end (other work on the machine skews the figures)")
    for problem in problems:
        print(f"ERROR: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
