"""The ninety-day simulation driver: the real system on a fast clock (issue 14, section 1).

What runs, all against one PostgreSQL database and one Redis database:

- the app behind a real threaded HTTP server in this process (werkzeug `make_server`): the signed hook
  `POST /hooks/events`, the public survey page `/s/<token>` and the unsubscribe links;
- `workers` RQ worker subprocesses (bench/sim/worker.py) running the `jobs.*` entry points the app queues
  (events, emails, print batches);
- `tickers` tick runners at once (threads, each with an app and connections of its own) calling
  `retention.tick.run(now)` every simulated step;
- the actors (bench/sim/actors.py): staff working their calls through `retention/calls/service.py`, customers
  answering surveys and unsubscribing over HTTP with the links the app emailed them, the mail room printing and
  recording returned mail, an admin editing the default journey mid-way.

Time: one simulated instant (bench/sim/clock.py), advanced by `step` at a time; before each step ends the driver
waits until the workers have nothing left, so every process sees the same "now". Webhook signatures use the real
clock (the hook's tolerance); events carry their simulated `occurred_at`.

At the end `bench/sim/checks.py: run_all(session, facts)` (H1b) checks the promises and the driver prints a
count for each, with the seed.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from sim import actors
from sim.clock import SharedClock
from sim.scenario import START, Scenario

ROOT = Path(__file__).resolve().parents[2]
UTC = dt.timezone.utc
DEFAULT_JOURNEY_KEY = "first-90-days"

# Extra callers beside the demo's (retention/seed.py STAFF), so every language has people in its own hours.
EXTRA_STAFF = [
    ("noah@example.com", "Noah Bennett", "en", "America/New_York", "US", ["en"]),
    ("reza@example.com", "Reza Karimi", "fa", "Asia/Tehran", "IR", ["fa", "en"]),
    ("huda@example.com", "Huda Saleh", "ar", "Asia/Riyadh", "SA", ["ar", "en"]),
]


@dataclass
class Result:
    seed: int
    customers: int
    days: int
    wall_seconds: float = 0.0
    events_sent: Counter = field(default_factory=Counter)       # by type, first deliveries
    duplicates_sent: int = 0
    http: Counter = field(default_factory=Counter)              # "POST /hooks/events 202" -> n
    http_errors: list = field(default_factory=list)
    ticks: int = 0
    tick_errors: list = field(default_factory=list)
    jobs: dict = field(default_factory=dict)
    jobs_failed: dict = field(default_factory=dict)
    actions: Counter = field(default_factory=Counter)
    actor_errors: dict = field(default_factory=dict)
    actor_error_examples: list = field(default_factory=list)
    checks: list = field(default_factory=list)                  # [(name, violations, examples)]
    db_counts: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    sending_seconds: float = 0.0
    phases: Counter = field(default_factory=Counter)           # wall seconds by phase of the steps
    cpu: dict = field(default_factory=dict)                     # CPU seconds: driver (all its threads), workers
    load: list = field(default_factory=list)                    # the machine's load average at start and end

    @property
    def violations(self) -> int:
        return sum(c[1] for c in self.checks)

    @property
    def failed(self) -> bool:
        return bool(self.violations or self.http_errors or self.tick_errors or self.jobs_failed
                    or self.actor_errors)

    def summary(self) -> str:
        sent = sum(self.events_sent.values())
        lines = [f"simulation seed={self.seed} customers={self.customers} days={self.days}",
                 f"  wall time {self.wall_seconds:.1f} s; events sent {sent} (+{self.duplicates_sent} duplicates), "
                 f"{(sent + self.duplicates_sent) / max(self.wall_seconds, 1e-9):.1f} events/s over the run, "
                 f"{(sent + self.duplicates_sent) / max(self.sending_seconds, 1e-9):.1f} events/s while sending",
                 "  events by type: " + ", ".join(f"{k} {v}" for k, v in sorted(self.events_sent.items())),
                 "  http: " + ", ".join(f"{k} x{v}" for k, v in sorted(self.http.items())),
                 f"  ticks run {self.ticks}; jobs run " + ", ".join(f"{k} {v}" for k, v in sorted(self.jobs.items())),
                 f"  CPU: driver {self.cpu.get('driver', 0):.0f} s (server, tick runners, actors), workers "
                 f"{self.cpu.get('workers', 0):.0f} s; load average at start {self.load[:1]}, at end {self.load[1:]}",
                 "  wall time by phase: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.phases.most_common()),
                 "  actions: " + ", ".join(f"{k} {v}" for k, v in sorted(self.actions.items())),
                 "  database: " + ", ".join(f"{k} {v}" for k, v in sorted(self.db_counts.items()))]
        for note in self.notes:
            lines.append(f"  note: {note}")
        problems = [("http errors", self.http_errors), ("tick errors", self.tick_errors),
                    ("jobs failed", [f"{k} x{v}" for k, v in self.jobs_failed.items()]),
                    ("actor errors", [f"{k} x{v}" for k, v in self.actor_errors.items()] + self.actor_error_examples)]
        for name, items in problems:
            if items:
                lines.append(f"  {name}: {len(items)}")
                lines.extend(f"    {str(item)[:2000]}" for item in items[:10])
        lines.append("  checks:")
        for name, count, examples in self.checks:
            lines.append(f"    {'OK  ' if count == 0 else 'FAIL'} {name}: {count} violation(s)")
            lines.extend(f"         e.g. {e}" for e in examples[:5])
        lines.append(f"  {'FAILED' if self.failed else 'PASSED'}: {self.violations} violation(s) in all; "
                     f"replay with --seed {self.seed}")
        return "\n".join(lines)


def app_config(*, database_url: str, redis_url: str, instance: Path, secret: str, public_url: str,
               queue_name: str, seed: int) -> dict:
    """The configuration of every app of the run (driver, server, tick runners, workers): JSON-able."""
    return {
        "TESTING": True,
        "RETENTION_ENV": "testing",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "QUEUE_NAME": queue_name,
        "INSTANCE_PATH": str(instance),
        "PRINT_PATH": str(instance / "print"),
        "MAIL_OUTBOX_DIR": str(instance / "outbox"),
        "SMTP_URL": None,
        "PUBLIC_URL": public_url,
        "SECRET_KEY": hashlib.sha256(f"simulation-{seed}".encode()).hexdigest(),
        "WEBHOOK_SECRETS": [secret],
        "PASSWORD_HASH_TIME_COST": 1,
        "PASSWORD_HASH_MEMORY_KIB": 8192,
        "SERVER_NAME": None,
        # Customers come from their own addresses (X-Forwarded-For set by the driver, one proxy trusted).
        "TRUSTED_PROXIES": 1,
    }


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Simulation:
    def __init__(self, *, database_url: str, redis_url: str, seed: int, customers: int, days: int = 90,
                 workers: int = 2, tickers: int = 2, step_minutes: int = 60, instance: Path, log=print,
                 senders: int = 8, print_every_days: int = 7, edit_on_day: int | None = None,
                 queue_name: str = "retention-sim", max_wall_seconds: float | None = None):
        self.database_url, self.redis_url = database_url, redis_url
        self.seed, self.customers_n, self.days = seed, customers, days
        self.workers_n, self.tickers_n, self.senders = workers, tickers, senders
        self.step = dt.timedelta(minutes=step_minutes)
        self.instance = Path(instance)
        self.log = log
        self.print_every_days = print_every_days
        self.edit_on_day = edit_on_day if edit_on_day is not None else days // 2
        self.queue_name = queue_name
        self.max_wall_seconds = max_wall_seconds  # stop the steps early (then settle and check what was done)
        self.rng = random.Random(seed * 7919 + 1)
        self.result = Result(seed=seed, customers=customers, days=days)
        self.facts: dict = {"seed": seed, "absences": {}, "absences_entered": [], "journey_edits": [],
                            "held_before_edit": {}, "accepted_webhook_ids": set(), "survey_answers": [],
                            "unsubscribed": [], "returned_letters": [], "referral_codes_used": []}
        self.errors = actors.ActorErrors()
        self.procs: list[subprocess.Popen] = []
        self._local = threading.local()
        self._lock = threading.Lock()
        self.secret = "whsec_" + base64.b64encode(hashlib.sha256(f"sim-hook-{seed}".encode()).digest()).decode()

    # --- the apps, the server, the workers --------------------------------------------------------------

    def _start(self) -> None:
        from redis import Redis
        from werkzeug.serving import make_server

        from retention import create_app

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.config = app_config(database_url=self.database_url, redis_url=self.redis_url, instance=self.instance,
                                 secret=self.secret, public_url=self.base, queue_name=self.queue_name,
                                 seed=self.seed)
        self.redis = Redis.from_url(self.redis_url)
        self.clock = SharedClock(START, redis=self.redis)
        self.app = create_app(dict(self.config))
        self.clock.install(self.app)
        self.web_app = create_app(dict(self.config))
        self.clock.install(self.web_app)
        self.tick_apps = []
        for _ in range(self.tickers_n):
            tick_app = create_app(dict(self.config))
            self.clock.install(tick_app)
            self.tick_apps.append(tick_app)
        self.queue = self.app.extensions["retention_queue"]
        self.rq_queue = self.queue.rq_queue
        self.rq_queue.empty()
        for key in ("retention:sim:jobs", "retention:sim:jobs_failed"):
            self.redis.delete(key)
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.server = make_server("127.0.0.1", self.port, self.web_app, threaded=True)
        self.server_thread = threading.Thread(target=self.server.serve_forever, name="sim-http", daemon=True)
        self.server_thread.start()
        env = dict(os.environ, SIM_APP_CONFIG=json.dumps(self.config), PYTHONPATH=str(ROOT))
        for n in range(self.workers_n):
            self.procs.append(subprocess.Popen([sys.executable, str(ROOT / "bench" / "sim" / "worker.py"),
                                                f"sim-{self.seed}-{n}"], cwd=str(ROOT), env=env))
        self._wait_for_workers()
        self.pool = ThreadPoolExecutor(self.senders, thread_name_prefix="sim-sender")

    def _wait_for_workers(self) -> None:
        from rq import Worker

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            alive = [w for w in Worker.all(queue=self.rq_queue)]
            if len(alive) >= self.workers_n:
                return
            for proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"a worker exited at start (code {proc.returncode})")
            time.sleep(0.1)
        raise RuntimeError("the RQ workers did not start within 60 s")

    def _worker_cpu(self) -> float:
        """CPU seconds the worker processes used so far (Linux /proc; 0 elsewhere)."""
        total = 0.0
        for proc in self.procs:
            try:
                fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except (OSError, ValueError, IndexError):
                pass
        return total

    def _stop(self) -> None:
        self.result.cpu["workers"] = self._worker_cpu()
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if getattr(self, "server", None) is not None:
            self.server.shutdown()
            self.server.server_close()
        if getattr(self, "pool", None) is not None:
            self.pool.shutdown(wait=True)
        from retention.extensions import db

        for app in [getattr(self, "app", None), getattr(self, "web_app", None), *getattr(self, "tick_apps", [])]:
            if app is not None:
                with app.app_context():
                    db.session.remove()
                    db.engine.dispose()

    # --- the data the run starts from ------------------------------------------------------------------

    def _setup(self) -> None:
        from retention.complaints.categories import ensure_default_categories
        from retention.extensions import db
        from retention.journeys.service import ensure_default_journey
        from retention.postal.service import ensure_default_templates
        from retention.seed import LETTER_SIGNATURES, STAFF, _demo_referral_programs
        from retention.staff.service import create_user

        now = START
        session = db.session
        db.create_all()
        hasher = self.app.extensions["password_hasher"]
        people = [(email, role, name, locale, zone, country, languages)
                  for email, role, name, locale, zone, country, languages, _digits in STAFF]
        people += [(email, "onboarding", name, locale, zone, country, languages)
                   for email, name, locale, zone, country, languages in EXTRA_STAFF]
        for email, role, name, locale, zone, country, languages in people:
            create_user(session, hasher, email=email, role=role, password="simulation-password", name=name,
                        actor="simulation", now=now, locale=locale, timezone=zone, country=country,
                        languages=languages, title="Customer care" if role == "onboarding" else "",
                        letter_signatures=LETTER_SIGNATURES.get(email))
        ensure_default_journey(session, now)
        ensure_default_templates(session, now)
        ensure_default_categories(session, now)
        session.commit()
        _demo_referral_programs(session, now)
        session.commit()
        from retention.staff.models import StaffUser

        self.admin_id = session.scalar(select(StaffUser.id).where(StaffUser.role == "admin"))
        self.mail_room_id = session.scalar(select(StaffUser.id).where(StaffUser.role == "print"))
        self.caller_ids = list(session.scalars(select(StaffUser.id).where(StaffUser.role == "onboarding")
                                               .order_by(StaffUser.id)))
        self._plan_absences(session)

    def _plan_absences(self, session) -> None:
        """Two callers away for a week each, entered ahead (holidays); a third off sick, entered that morning."""
        self.absences = actors.Absences()
        self.absence_plan = []
        if len(self.caller_ids) < 3:
            return
        picks = self.rng.sample(self.caller_ids, 3)
        for person_id, day, length, ahead in ((picks[0], min(10, self.days // 4), 7, True),
                                              (picks[1], max(1, self.days // 2 - 3), 7, True),
                                              (picks[2], max(1, self.days // 3), 2, False)):
            starts = (START + dt.timedelta(days=day)).date()
            self.absence_plan.append((person_id, starts, starts + dt.timedelta(days=length - 1), ahead))
        if not self.absences.available:
            self.facts["absences_hook"] = "missing"
            self.result.notes.append("staff absences: retention/staff/absences.py add_absence() not found; "
                                     "no absence entered (HOOK in bench/sim/actors.py Absences)")
            return
        for staff_id, starts, ends, ahead in self.absence_plan:
            if ahead:
                self._enter_absence(session, staff_id, starts, ends, START)

    def _enter_absence(self, session, staff_id: int, starts: dt.date, ends: dt.date, now: dt.datetime) -> None:
        from retention.staff.models import StaffUser

        person = session.get(StaffUser, staff_id)
        try:
            self.absences.add(session, person, starts, ends, now=now, actor=f"staff:{self.admin_id}",
                              created_by=session.get(StaffUser, self.admin_id))
            session.commit()
        except Exception as exc:  # noqa: BLE001
            session.rollback()
            self.errors.add("absence", exc)
            return
        self.facts["absences_entered"].append({"staff_id": staff_id, "starts_on": starts, "ends_on": ends,
                                               "entered_at": now})
        self.facts["absences"].setdefault(staff_id, []).append((starts, ends))
        self.result.actions["absence_entered"] += 1

    # --- HTTP ------------------------------------------------------------------------------------------

    def _http(self):
        session = getattr(self._local, "session", None)
        if session is None:
            import requests

            session = self._local.session = requests.Session()
        return session

    def _count(self, key: str, answer, expected: tuple[int, ...], what: str) -> None:
        with self._lock:
            self.result.http[f"{key} {answer.status_code}"] += 1
            if answer.status_code not in expected:
                self.result.http_errors.append(f"{key} {answer.status_code} ({what}): {answer.text[:300]}")

    def _post_event(self, event_type: str, occurred_at: dt.datetime, data: dict, webhook_id: str) -> None:
        from retention.hooks.signatures import sign

        body = json.dumps({"type": event_type, "occurred_at": occurred_at.isoformat(), "data": data}).encode()
        stamp = int(time.time())
        headers = {"webhook-id": webhook_id, "webhook-timestamp": str(stamp),
                   "webhook-signature": sign(self.secret, webhook_id, stamp, body),
                   "content-type": "application/json"}
        for attempt in range(3):
            try:
                answer = self._http().post(f"{self.base}/hooks/events", data=body, headers=headers, timeout=60)
                break
            except Exception as exc:  # noqa: BLE001 - a sender retries a dropped connection, as shops do
                if attempt == 2:
                    with self._lock:
                        self.result.http_errors.append(f"POST /hooks/events {webhook_id}: {exc}")
                    return
        self._count("POST /hooks/events", answer, (200, 202), webhook_id)
        if answer.status_code in (200, 202):
            with self._lock:
                self.facts["accepted_webhook_ids"].add(webhook_id)

    def _customer_address(self, ext_id: str) -> str:
        digest = hashlib.sha256(ext_id.encode()).digest()
        return f"10.{digest[0]}.{digest[1]}.{digest[2]}"

    def _answer_survey(self, token: str, ext_id: str, score: int, mode: str) -> None:
        headers = {"X-Forwarded-For": self._customer_address(ext_id), "Accept-Language": "en"}
        http = self._http()
        if mode == "click":
            answer = http.get(f"{self.base}/s/{token}", params={"score": score}, headers=headers, timeout=60)
            self._count("GET /s/<token>?score", answer, (200, 404), ext_id)
        else:
            page = http.get(f"{self.base}/s/{token}", headers=headers, timeout=60)
            self._count("GET /s/<token>", page, (200, 404), ext_id)
            if page.status_code != 200:
                return
            import re

            match = re.search(r'name="form_token" value="([^"]+)"', page.text)
            if not match:
                with self._lock:
                    self.result.http_errors.append(f"GET /s/<token> {ext_id}: no form token on the page")
                return
            answer = http.post(f"{self.base}/s/{token}", headers=headers, timeout=60,
                               data={"score": str(score), "comment": "Simulated answer.",
                                     "form_token": match.group(1)})
            self._count("POST /s/<token>", answer, (200, 404), ext_id)
        if answer.status_code == 200:
            with self._lock:
                self.facts["survey_answers"].append({"customer": ext_id, "score": score, "mode": mode,
                                                     "at": self.clock.now()})

    def _unsubscribe(self, token: str, ext_id: str, one_click: bool) -> None:
        headers = {"X-Forwarded-For": self._customer_address(ext_id)}
        data = {"List-Unsubscribe": "One-Click"} if one_click else {}
        answer = self._http().post(f"{self.base}/unsubscribe/{token}", data=data, headers=headers, timeout=60)
        self._count("POST /unsubscribe/<token>", answer, (200,), ext_id)
        if answer.status_code == 200:
            with self._lock:
                self.facts["unsubscribed"].append({"customer": ext_id, "at": self.clock.now()})

    # --- waiting for the workers -------------------------------------------------------------------------

    def _quiet(self, timeout: float = 600) -> None:
        """Wait until the queue is empty and no worker holds a job (RQ's started registry is empty)."""
        from rq.registry import StartedJobRegistry

        registry = StartedJobRegistry(queue=self.rq_queue)
        deadline = time.monotonic() + timeout
        idle_rounds = 0
        while time.monotonic() < deadline:
            if self.rq_queue.count == 0 and registry.count == 0:
                idle_rounds += 1
                if idle_rounds >= 2:
                    return
            else:
                idle_rounds = 0
            for proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"worker {proc.pid} died (code {proc.returncode})")
            time.sleep(0.005)
        raise RuntimeError(f"the workers did not finish within {timeout} s")

    # --- ticks -----------------------------------------------------------------------------------------

    def _ticks(self, now: dt.datetime) -> None:
        from retention import tick
        from retention.extensions import db

        barrier = threading.Barrier(len(self.tick_apps))
        errors = []

        def run(tick_app):
            with tick_app.app_context():
                try:
                    barrier.wait(30)
                    tick.run(now)
                except Exception as exc:  # noqa: BLE001 - reported as a tick error
                    errors.append(f"tick at {now.isoformat()}: {type(exc).__name__}: {exc}\n"
                                  + "".join(traceback.format_exception(exc)[-3:]))
                    db.session.rollback()
                finally:
                    db.session.remove()

        threads = [threading.Thread(target=run, args=(a,)) for a in self.tick_apps]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.result.ticks += len(self.tick_apps)
        self.result.tick_errors.extend(errors)

    # --- one step --------------------------------------------------------------------------------------

    def _send(self, happenings, now: dt.datetime) -> None:
        tasks = []
        for h in happenings:
            p = h.payload
            if h.kind == "event":
                tasks.append((self._post_event, (p["type"], p["occurred_at"], p["data"], p["webhook_id"])))
                self.result.events_sent[p["type"]] += 1
                if p["duplicate"]:
                    self.result.duplicates_sent += 1
                    if self.rng.random() < 0.5:   # at the same moment (a sender's retry racing the first)
                        tasks.append((self._post_event, (p["type"], p["occurred_at"], p["data"], p["webhook_id"])))
                    else:                         # a retry a step later
                        self.scenario.agenda.add(now + self.step, "event_again", **p)
            elif h.kind == "event_again":
                tasks.append((self._post_event, (p["type"], p["occurred_at"], p["data"], p["webhook_id"])))
            elif h.kind == "survey_answer":
                tasks.append((self._answer_survey, (p["token"], p["customer"], p["score"], p["mode"])))
                self.result.actions[f"survey_answer_{p['mode']}"] += 1
            elif h.kind == "unsubscribe":
                tasks.append((self._unsubscribe, (p["token"], p["customer"], p["one_click"])))
                self.result.actions["unsubscribe"] += 1
        if not tasks:
            return
        self.rng.shuffle(tasks)
        started = time.perf_counter()
        futures = [self.pool.submit(fn, *args) for fn, args in tasks]
        for future in futures:
            exc = future.exception()
            if exc is not None:
                self.result.http_errors.append(f"sender: {type(exc).__name__}: {exc}")
        self.result.sending_seconds += time.perf_counter() - started

    def _staff_actions(self, session, happenings, now: dt.datetime) -> None:
        from retention.mail import optouts

        for h in happenings:
            if h.kind == "staff_optout":
                customer = self._customer(session, h.payload["customer"])
                if customer is None:
                    continue
                try:
                    optouts.opt_out(session, customer.id, h.payload["channel"], source="staff", now=now,
                                    actor=f"staff:{self.admin_id}")
                    session.commit()
                    self.result.actions[f"staff_optout_{h.payload['channel']}"] += 1
                except Exception as exc:  # noqa: BLE001
                    session.rollback()
                    self.errors.add("staff opt-out", exc)
            elif h.kind == "returned":
                self._returned(session, h.payload["letter_id"], now)
            elif h.kind == "absence":
                self._enter_absence(session, h.payload["staff_id"], h.payload["starts"], h.payload["ends"], now)

    def _customer(self, session, ext_id: str):
        from retention.customers.models import Customer

        return session.scalar(select(Customer).where(Customer.external_id == ext_id))

    # --- customers reading their mail ------------------------------------------------------------------

    def _read_mail(self, now: dt.datetime) -> None:
        rng = self.rng
        for message in self.inbox.new_messages():
            ext_id = actors.recipient_id(message)
            if ext_id is None:
                continue  # staff notices
            self.result.actions["emails_received"] += 1
            links = actors.links_of(message)
            for token in links["survey"]:
                self._plan_answer(token, ext_id, now, rng.uniform(0.02, 4))
            if links["unsubscribe"] and rng.random() < 0.02:
                self.scenario.agenda.add(now + dt.timedelta(hours=rng.uniform(0.1, 48)), "unsubscribe",
                                         token=links["unsubscribe"][0], customer=ext_id,
                                         one_click=rng.random() < 0.5)
            for code in links["referral"]:
                self._plan_friend(code, ext_id, now)

    def _plan_answer(self, token: str, ext_id: str, now: dt.datetime, after_days: float) -> None:
        rng = self.rng
        if rng.random() >= 0.6:
            return
        at = now + dt.timedelta(days=after_days)
        score = rng.randint(0, 10)
        self.scenario.agenda.add(at, "survey_answer", token=token, customer=ext_id, score=score,
                                 mode=rng.choice(["click", "form"]))
        if rng.random() < 0.1:  # changes their mind a little later (the last answer stands)
            self.scenario.agenda.add(at + dt.timedelta(minutes=rng.uniform(1, 60)), "survey_answer", token=token,
                                     customer=ext_id, score=rng.randint(0, 10), mode="form")

    def _plan_friend(self, code: str, advocate: str, now: dt.datetime) -> None:
        rng = self.rng
        if code in self._codes_shared or rng.random() >= 0.3:
            return
        self._codes_shared.add(code)
        at = now + dt.timedelta(days=rng.uniform(0.5, 20))
        if at >= self.scenario.end:
            return
        if rng.random() < 0.1:   # the advocate uses their own code (refused: self-referral)
            friend = self.scenario.customers[advocate]
            sale_id = f"{advocate}-SELF"
        else:
            self._friends += 1
            friend = self.scenario.new_customer(f"FRIEND{self._friends:05d}")
            sale_id = f"{friend.ext_id}-S1"
        self.scenario.sale(friend, at, sale_id, referral_code=code)
        self.facts["referral_codes_used"].append({"code": code, "advocate": advocate, "friend": friend.ext_id})
        self.result.actions["referral_shared"] += 1

    def _share_letter_codes(self, session, now: dt.datetime) -> None:
        """Referral offers sent by letter: the advocate reads the code once the letter was mailed."""
        from retention.postal.models import Letter
        from retention.referrals.models import ReferralOffer

        rows = session.execute(select(ReferralOffer.id, ReferralOffer.code, ReferralOffer.customer_id)
                               .join(Letter, Letter.id == ReferralOffer.letter_id)
                               .where(ReferralOffer.code.is_not(None), Letter.status == "mailed",
                                      ReferralOffer.id > self._last_offer_seen)
                               .order_by(ReferralOffer.id)).all()
        from retention.customers.models import Customer

        for offer_id, code, customer_id in rows:
            self._last_offer_seen = max(self._last_offer_seen, offer_id)
            ext_id = session.scalar(select(Customer.external_id).where(Customer.id == customer_id))
            if ext_id in self.scenario.customers:
                self._plan_friend(code, ext_id, now + dt.timedelta(days=2))

    # --- the mail room ---------------------------------------------------------------------------------

    def _mail_room(self, session, now: dt.datetime) -> None:
        """Print what was built, post what was printed, then take the queued letters into a new batch."""
        from retention.postal import batches
        from retention.postal.models import Letter, PrintBatch
        from retention.queue import get_queue
        from retention.surveys.models import Survey
        from retention.surveys import tokens

        actor = f"staff:{self.mail_room_id}"
        for batch in session.scalars(select(PrintBatch).where(PrintBatch.status.in_(("ready", "printed")))
                                     .order_by(PrintBatch.id)).all():
            try:
                if batch.status == "ready":
                    batches.mark_printed(session, batch, now, actor=actor)
                batches.mark_mailed(session, batch, now, actor=actor)
                session.commit()
                self.result.actions["batches_mailed"] += 1
            except Exception as exc:  # noqa: BLE001
                session.rollback()
                self.errors.add("mail room: mark printed/mailed", exc)
                continue
            letters = session.execute(select(Letter.id, Letter.customer_id).where(
                Letter.batch_id == batch.id, Letter.status == "mailed")).all()
            self.result.actions["letters_mailed"] += len(letters)
            for letter_id, _customer in letters:
                if self.rng.random() < 0.03:
                    self.scenario.agenda.add(now + dt.timedelta(days=self.rng.uniform(3, 15)), "returned",
                                             letter_id=letter_id)
            # Survey letters: the customer scans the QR code of the letter they got.
            from retention.customers.models import Customer

            for survey in session.scalars(select(Survey).join(Letter, Letter.id == Survey.letter_id)
                                          .where(Letter.batch_id == batch.id, Letter.status == "mailed")).all():
                token = tokens.token_of(survey)
                ext_id = session.scalar(select(Customer.external_id).where(Customer.id == survey.customer_id))
                if token and ext_id:
                    self._plan_answer(token, ext_id, now, self.rng.uniform(2, 7))
        queued = batches.queued_count(session, {})
        if queued:
            try:
                batch = batches.create_batch(session, filters={}, duplex=False, actor=actor, now=now)
                session.commit()
                get_queue().enqueue("jobs.letters.build_print_batch", batch.id)
                self.result.actions["batches_created"] += 1
            except Exception as exc:  # noqa: BLE001
                session.rollback()
                self.errors.add("mail room: create batch", exc)

    def _returned(self, session, letter_id: int, now: dt.datetime) -> None:
        from retention.postal import batches
        from retention.postal.models import RETURN_REASONS, Letter

        letter = session.get(Letter, letter_id)
        if letter is None or letter.status not in ("printed", "mailed"):
            return
        reason = self.rng.choice(RETURN_REASONS)
        try:
            batches.record_returned(session, letter, now, actor=f"staff:{self.mail_room_id}", reason=reason,
                                    note="Simulated return." if reason == "other" else "")
            session.commit()
            self.facts["returned_letters"].append(letter_id)
            self.result.actions["letters_returned"] += 1
        except Exception as exc:  # noqa: BLE001
            session.rollback()
            self.errors.add("mail room: returned", exc)

    # --- the admin: a journey edit mid-way -------------------------------------------------------------

    def _edit_journey(self, session, now: dt.datetime) -> None:
        """A new version of the default journey (moved: customers mid-way follow it) while calls are held."""
        from retention.journeys import service as journeys
        from retention.journeys.models import PENDING, Touchpoint
        from retention.journeys.planning import is_held

        held = {}
        for tp in session.scalars(select(Touchpoint).where(Touchpoint.status.in_(PENDING),
                                                           Touchpoint.kind == "call")):
            if is_held(tp, now):
                # checks.py: {id: the time a person set, or None}
                held[tp.id] = tp.due_at if tp.held_at is not None else None
        self.facts["held_before_edit"] = held
        current = journeys.current_version(session, DEFAULT_JOURNEY_KEY)
        steps = journeys.form_steps(current)
        for step in steps:
            if step["key"] == "how_is_it_going_call":
                step["day_offset"] = 16
        steps = [s for s in steps if s["key"] != "passive_call"]   # a step taken away mid-way
        steps.append({"key": "day_75_call", "title": "Day 75 check-in", "day_offset": 75, "kind": "call",
                      "business_days": False, "window_start": "10:00", "window_end": "18:00", "condition": None,
                      "scripts": {}, "template_key": None, "channel": None})
        try:
            new, summary = journeys.edit_journey(session, DEFAULT_JOURNEY_KEY, steps=steps, choice="move", now=now,
                                                 actor=f"staff:{self.admin_id}")
            session.commit()
        except Exception as exc:  # noqa: BLE001
            session.rollback()
            self.errors.add("journey edit", exc)
            return
        self.facts["journey_edits"].append({"at": now, "key": DEFAULT_JOURNEY_KEY, "version": new.version,
                                            "choice": "move", "summary": summary.as_dict()})
        self.result.actions["journey_edits"] += 1
        self.result.notes.append(f"journey edit at {now:%Y-%m-%d %H:%M}: version {new.version}, "
                                 f"{len(held)} held calls before it, {summary.as_dict()}")

    # --- the run ---------------------------------------------------------------------------------------

    def run(self) -> Result:
        started, cpu = time.perf_counter(), time.process_time()
        self.result.load.append(round(os.getloadavg()[0], 1))
        self.scenario = Scenario(seed=self.seed, customers=self.customers_n, days=self.days)
        self.inbox = actors.Inbox(self.instance / "outbox")
        self._codes_shared: set[str] = set()
        self._friends = 0
        self._last_offer_seen = 0
        self.log(f"simulation: seed {self.seed}, {self.customers_n} customers, {self.days} days, step {self.step}, "
                 f"{self.workers_n} workers, {self.tickers_n} tick runners")
        try:
            self._start()
            with self.app.app_context():
                self._setup()
                self._loop()
                self._finish()
        finally:
            self._stop()
        self.result.wall_seconds = time.perf_counter() - started
        self.result.cpu["driver"] = time.process_time() - cpu
        self.result.load.append(round(os.getloadavg()[0], 1))
        return self.result

    def _lap(self, phase: str) -> None:
        at = time.perf_counter()
        self.result.phases[phase] += at - self._lap_at
        self._lap_at = at

    def _loop(self) -> None:
        from retention.extensions import db

        session = db.session
        staff = actors.Staff(self.rng, self.result.actions, self.errors, self.facts)
        now = START
        end = self.scenario.end
        last_day = -1
        for staff_id, starts, ends, ahead in self.absence_plan:
            if not ahead and self.absences.available:
                morning = dt.datetime.combine(starts, dt.time(6, 0), tzinfo=UTC)
                self.scenario.agenda.add(morning, "absence", staff_id=staff_id, starts=starts, ends=ends)
        edited = False
        wall = self._lap_at = time.perf_counter()
        while now < end:
            now = self.clock.advance(self.step)
            happenings = self.scenario.agenda.due(now)
            lap = self._lap
            self._send(happenings, now)
            lap("send")
            self._quiet()
            lap("wait for workers")
            self._ticks(now)
            lap("ticks")
            self._quiet()
            lap("wait for workers")
            session.expire_all()
            self._staff_actions(session, happenings, now)
            staff.work(session, now)
            lap("staff")
            self._read_mail(now)
            lap("mail")
            day = (now - START).days
            if day != last_day and now.hour >= 9:
                last_day = day
                if self.print_every_days and now.weekday() < 5 and day % self.print_every_days in (0, 1):
                    self._mail_room(session, now)
                self._share_letter_codes(session, now)
                if day % 10 == 0:
                    self.log(f"  day {day:3d} ({now:%Y-%m-%d}): {sum(self.result.events_sent.values())} events sent,"
                             f" {self.result.ticks} ticks, {time.perf_counter() - wall:.0f} s")
            if self.max_wall_seconds is not None and time.perf_counter() - wall > self.max_wall_seconds:
                self.result.notes.append(f"stopped early (--max-wall {self.max_wall_seconds:.0f} s) at simulated "
                                         f"day {day} ({now:%Y-%m-%d %H:%M}) of {self.days}")
                session.remove()
                break
            if not edited and day >= self.edit_on_day and now.hour >= 12:
                edited = True
                self._edit_journey(session, now)
            session.remove()
        self.result.actor_errors = dict(self.errors.count)
        self.result.actor_error_examples = list(self.errors.examples)

    def _finish(self) -> None:
        """Let the last events and jobs settle, read the counts, run the checks."""
        from redis import Redis

        from retention.extensions import db
        from retention.hooks.models import InboundEvent

        self._quiet()
        self._ticks(self.clock.now())
        self._quiet()
        session = db.session
        session.expire_all()
        statuses = dict(session.execute(select(InboundEvent.status, func.count()).group_by(InboundEvent.status)).all())
        self.result.db_counts.update({f"events_{k}": v for k, v in statuses.items()})
        self.result.db_counts.update(self._table_counts(session))
        r = Redis.from_url(self.redis_url)
        self.result.jobs = {k.decode(): int(v) for k, v in r.hgetall("retention:sim:jobs").items()}
        self.result.jobs_failed = {k.decode(): int(v) for k, v in r.hgetall("retention:sim:jobs_failed").items()}
        self.result.actor_errors = dict(self.errors.count)
        self.result.actor_error_examples = list(self.errors.examples)
        # A due thing waits for the next step's tick: up to one step (plus the settling of a one-click score).
        self.facts.update(start=START, end=self.scenario.end, now=self.clock.now(),
                          grace=max(self.step + dt.timedelta(minutes=15), dt.timedelta(hours=1)),
                          events_sent=dict(self.result.events_sent), duplicates_sent=self.result.duplicates_sent,
                          http_errors=list(self.result.http_errors))
        try:
            from sim import checks
        except ImportError as exc:
            self.result.checks.append(("checks module (bench/sim/checks.py)", 1, [f"not importable: {exc}"]))
            return
        try:
            results = checks.run_all(session, self.facts)
        except Exception as exc:  # noqa: BLE001
            session.rollback()
            self.result.checks.append(("checks.run_all", 1, [f"{type(exc).__name__}: {exc}",
                                                               "".join(traceback.format_exception(exc)[-4:])]))
            return
        for check in results:
            self.result.checks.append((check.name, int(check.violations), [str(e) for e in check.examples]))

    def _table_counts(self, session) -> dict:
        from retention import models  # noqa: F401 - every table registered
        from retention.extensions import db

        out = {}
        for name in ("customers", "sales", "touchpoints", "call_attempts", "surveys", "nps_answers", "complaints",
                     "letters", "outbound_emails", "referral_offers", "referrals", "returned_mail",
                     "customer_opt_outs"):
            table = db.metadata.tables.get(name)
            if table is not None:
                out[name] = session.scalar(select(func.count()).select_from(table))
        return out
