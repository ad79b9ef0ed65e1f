"""Benchmark of print batches: N personalized letters from the database into one PDF, against bare
ReportLab drawing the same pages in the same run.

Run from the project root:

    .venv/bin/python bench/print_letters.py [--n 2000] [--memory-n 20000] [--runs 3] [--sqlite] [--profile]
                                      [--templates welcome,thank_you,...] [--bare-encodes-qr] [--keep]

What it measures, in one run:

1. Data. Database `retention_bench_letters` is dropped, created and given the schema
   (`db.create_all()`), or with --sqlite a fresh SQLite file in a temporary directory. The default
   letter templates are seeded through the app (`ensure_default_templates`); staff, customers, sales
   and queued letters are bulk-inserted (bench/letters_data.py) in three groups, each in its own
   `created_at` window: Latin (N English letters, US/GB/DE addresses, all on the London sender's A4), RTL
   (N Arabic and Persian letters mixed, English product names inside the Arabic/Persian text) and
   memory (--memory-n English letters). Templates: welcome, thank_you (with a QR code),
   referral_offer and apology in turn (--templates).
2. Throughput, per group. The app: `create_batch(filters={since, until})` + `build_batch(...)` end to
   end (DB reads, sandboxed Jinja, layout, shaping, drawing, streaming PDF, manifest, DB writes).
   The baseline: a plain `reportlab.pdfgen.canvas.Canvas` with the same TTF fonts, drawing the same
   letters one page each (bench/letters_bare.py: Latin texts wrapped with `simpleSplit` in the
   timed loop; RTL as pre-ordered runs shaped with HarfBuzz in the timed loop; QR codes encoded before the clock
   and drawn in it, unless --bare-encodes-qr), then `save()`. Runs alternate bare,
   app, bare, app, ... (--runs pairs, default 3); the best of each counts. Ratio = app letters/s / bare
   letters/s on wall time (the goal); also printed: the same ratio on this process's CPU time (steadier
   when the machine is busy) and the ratio without the app's QR-code encoding time. The app's QR cache
   is cleared before each build (each letter's code is its own, so a real batch meets them cold).
3. Memory. The app build of --memory-n Latin letters in a child process (a fresh interpreter that
   imports and creates the app, then runs create_batch + build_batch): its peak RSS (VmHWM, nothing
   excluded), the PDF's size and its page count read back with pypdfium2.

Goals (from the issue): ratio >= 0.7 for Latin, >= 0.5 for Arabic/Persian; peak memory <= 200 MB at
20,000 letters. The exit code is 0 whether goals are met or missed and non-zero only when the run
itself fails. Files go to a temporary directory that is removed at the end (--keep keeps it).
"""
from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

import letters_data  # noqa: E402  (bench/ is on the path: this script runs from it)

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
GOALS = {"latin": 0.7, "rtl": 0.5}
GOAL_PEAK_MB = 200.0
WINDOWS = {"latin": dt.datetime(2026, 3, 1, 0, 0, tzinfo=UTC), "rtl": dt.datetime(2026, 3, 1, 2, 0, tzinfo=UTC),
           "memory": dt.datetime(2026, 3, 1, 4, 0, tzinfo=UTC)}
WINDOW_LENGTH = dt.timedelta(hours=1, minutes=30)
FIRST_IDS = {"latin": 1, "rtl": 1_000_001, "memory": 2_000_001}
LABELS = {"latin": "Latin (en: US/GB/DE)", "rtl": "RTL (ar + fa mixed)"}
CHILD_TIMEOUT_S = 15 * 60


class BenchError(Exception):
    """The run itself failed (not a missed goal)."""


def log(msg: str = "") -> None:
    print(msg, flush=True)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=2000, help="letters per language group for the throughput runs")
    p.add_argument("--memory-n", type=int, default=20_000, help="Latin letters of the peak-memory build (0: skip)")
    p.add_argument("--runs", type=int, default=3, help="bare/app pairs per group, alternating (best of each counts)")
    p.add_argument("--sqlite", action="store_true", help="SQLite file instead of PostgreSQL")
    p.add_argument("--base-url", default=os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432"),
                   help="PostgreSQL server URL without a database name (env BENCH_PG_URL)")
    p.add_argument("--database", default=os.environ.get("BENCH_LETTERS_DATABASE", "retention_bench_letters"),
                   help="database to drop and create (env BENCH_LETTERS_DATABASE)")
    p.add_argument("--templates", default=",".join(letters_data.TEMPLATE_KEYS),
                   help="template keys used in turn (comma-separated)")
    p.add_argument("--groups", default="latin,rtl", help="groups timed (latin, rtl)")
    p.add_argument("--profile", action="store_true",
                   help="after the timed runs, one more app build per group under cProfile; prints where time goes")
    p.add_argument("--bare-encodes-qr", action="store_true",
                   help="the baseline encodes its QR codes inside the clock (default: before it, like shaping)")
    p.add_argument("--keep", action="store_true", help="keep the output directory (PDFs, manifests)")
    p.add_argument("--child-memory", help=argparse.SUPPRESS)   # internal: JSON job of the memory child
    args = p.parse_args(argv)
    if args.child_memory:
        return args
    if not 10 <= args.n <= 200_000 or not (args.memory_n == 0 or 100 <= args.memory_n <= 200_000):
        p.error("--n must be in [10, 200000], --memory-n 0 or in [100, 200000]")
    if not 1 <= args.runs <= 10:
        p.error("--runs must be in [1, 10]")
    args.templates = tuple(t.strip() for t in args.templates.split(",") if t.strip())
    unknown = set(args.templates) - set(letters_data.TEMPLATE_KEYS)
    if unknown or not args.templates:
        p.error(f"--templates: unknown {sorted(unknown)}; known: {', '.join(letters_data.TEMPLATE_KEYS)}")
    args.groups = tuple(g.strip() for g in args.groups.split(",") if g.strip())
    if not args.groups or set(args.groups) - set(GOALS):
        p.error("--groups: latin and/or rtl")
    return args


# --- app and database -------------------------------------------------------------------------

def reset_database(args, work: Path) -> str:
    if args.sqlite:
        return f"sqlite:///{work / 'bench.db'}"
    import psycopg
    from psycopg import sql

    with psycopg.connect(f"{args.base_url.rstrip('/')}/postgres", autocommit=True, connect_timeout=5) as conn:
        name = sql.Identifier(args.database)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    return f"{args.base_url.rstrip('/')}/{args.database}"


def make_app(url: str, instance: str):
    from retention import create_app

    options = {"pool_pre_ping": True}
    if not url.startswith("sqlite"):
        options["connect_args"] = {"options": "-c statement_timeout=600000"}
    return create_app({
        "TESTING": True,
        "RETENTION_ENV": "testing",
        "DATABASE_URL": url,
        "REDIS_URL": None,
        "INSTANCE_PATH": instance,
        "SECRET_KEY": "bench-letters-" + "x" * 40,
        "WEBHOOK_SECRETS": ["whsec_YmVuY2gtc2VjcmV0LW9mLTMyLWJ5dGVzLWV4YWN0bHk="],
        "PASSWORD_HASH_TIME_COST": 1,
        "PASSWORD_HASH_MEMORY_KIB": 8192,
        "SERVER_NAME": None,
        "SQLALCHEMY_ENGINE_OPTIONS": options,
    })


def window(group: str) -> tuple[dt.datetime, dt.datetime]:
    return WINDOWS[group], WINDOWS[group] + WINDOW_LENGTH


def seed(app, args) -> dict:
    """Schema, default templates (through the app), then bulk INSERTs of staff, customers, sales, letters."""
    from sqlalchemy import insert, text

    from retention.customers.models import Customer, Sale
    from retention.extensions import db
    from retention.postal.models import Letter
    from retention.postal.service import ensure_default_templates
    from retention.staff.models import StaffUser

    sizes = {g: args.n for g in args.groups}
    if args.memory_n:
        sizes["memory"] = args.memory_n
    counts = {}
    with app.app_context():
        db.create_all()
        ensure_default_templates(db.session, NOW)
        staff = letters_data.staff_rows(1, NOW)
        db.session.execute(insert(StaffUser), staff)
        staff_ids = [s["id"] for s in staff]
        db.session.commit()
        for group, n in sizes.items():
            t0 = time.perf_counter()
            customers, sales, letters = letters_data.rows("rtl" if group == "rtl" else group, n, FIRST_IDS[group],
                                                          WINDOWS[group], staff_ids, args.templates, NOW)
            for model, rows in ((Customer, customers), (Sale, sales), (Letter, letters)):
                for start in range(0, len(rows), 5000):
                    db.session.execute(insert(model), rows[start:start + 5000])
            db.session.commit()
            counts[group] = n
            log(f"  inserted {n:,} {group} customers + sales + queued letters in {time.perf_counter() - t0:.1f} s")
        if db.engine.dialect.name == "postgresql":
            for table in ("staff_users", "customers", "sales", "letters"):
                db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                        f"(SELECT max(id) FROM {table}))"))
            db.session.commit()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        else:
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        db.session.remove()
    return counts


def reset_group(app, group: str) -> None:
    """Put the group's letters back in the queue (no batch, no pages) and drop earlier batches."""
    from sqlalchemy import delete, select, update

    from retention.extensions import db
    from retention.postal.models import Letter, PrintBatch

    since, until = window(group)
    with app.app_context():
        batch_ids = db.session.scalars(select(Letter.batch_id).where(Letter.created_at >= since,
                                                                     Letter.created_at < until,
                                                                     Letter.batch_id.is_not(None)).distinct()).all()
        db.session.execute(update(Letter).where(Letter.created_at >= since, Letter.created_at < until)
                           .values(batch_id=None, first_page=None, page_count=None, error=None)
                           .execution_options(synchronize_session=False))
        if batch_ids:
            db.session.execute(delete(PrintBatch).where(PrintBatch.id.in_(batch_ids)))
        db.session.commit()
        db.session.remove()


class SqlClock:
    """Statements and wall time spent in cursor.execute while attached to the engine."""

    def __init__(self, engine):
        self.engine, self.seconds, self.count, self._t = engine, 0.0, 0, []

    def _before(self, *a):
        self._t.append(time.perf_counter())

    def _after(self, *a):
        self.seconds += time.perf_counter() - self._t.pop()
        self.count += 1

    def __enter__(self):
        from sqlalchemy import event
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)


class QrClock:
    """Time the app spends encoding QR codes: wraps letters.qr.qr_matrix (looked up as a module global
    by letters.qr.draw_qr) for the duration of a build; the app's code is not changed."""

    def __init__(self):
        self.seconds = 0.0

    def __enter__(self):
        import letters.qr as qr

        self._module, self._original = qr, qr.qr_matrix
        original = self._original

        def timed(data):
            t0 = time.perf_counter()
            try:
                return original(data)
            finally:
                self.seconds += time.perf_counter() - t0

        qr.qr_matrix = timed
        return self

    def __exit__(self, *exc):
        self._module.qr_matrix = self._original


def app_build(app, group: str, out_dir: Path, profiler: cProfile.Profile | None = None) -> dict:
    """create_batch + build_batch of the group's queued letters, timed end to end."""
    from retention.extensions import db
    from retention.postal import batches, service

    since, until = window(group)
    # Every letter's QR code is its own (the customer's id is in the URL): a worker building a batch meets
    # them for the first time, so codes cached by an earlier run of this process must not count.
    import letters.qr
    if hasattr(letters.qr.qr_matrix, "cache_clear"):
        letters.qr.qr_matrix.cache_clear()
    # Likewise the shaping and line caches: a worker meets this batch's lines cold (the repeats inside one
    # batch, the same sentence in many letters, are the cache's honest gain).
    import letters.textlayout as textlayout
    textlayout.clear_caches()
    with app.app_context():
        company = service.company_from(app.config)
        with SqlClock(db.engine) as clock, QrClock() as qr_clock:
            if profiler:
                profiler.enable()
            t0, c0 = time.perf_counter(), time.process_time()
            batch = batches.create_batch(db.session, filters={"since": since, "until": until}, duplex=False,
                                         actor="bench", now=NOW)
            batch = batches.build_batch(db.session, batch.id, out_dir=out_dir, company=company, today=NOW.date(),
                                        now=NOW)
            seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
            if profiler:
                profiler.disable()
        result = {"seconds": seconds, "cpu": cpu, "status": batch.status, "done": batch.done, "skipped": batch.skipped,
                  "pages": batch.pages, "pdf": batch.pdf_path, "manifest": batch.manifest_path,
                  "sql_s": clock.seconds, "sql_n": clock.count, "qr_s": qr_clock.seconds}
        db.session.commit()
        db.session.remove()
    if result["status"] != "ready" or result["skipped"]:
        raise BenchError(f"{group}: batch ended {result['status']} with {result['skipped']} skipped letters")
    return result


def load_contents(app, group: str) -> list:
    """The group's LetterContent in mailing order, rendered by the app's own letter_content (not timed)."""
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    from retention.customers.models import Customer
    from retention.extensions import db
    from retention.postal import service
    from retention.postal.models import Letter

    since, until = window(group)
    with app.app_context():
        company = service.company_from(app.config)
        letters = db.session.scalars(
            select(Letter).join(Customer, Customer.id == Letter.customer_id)
            .where(Letter.created_at >= since, Letter.created_at < until)
            .options(joinedload(Letter.customer).joinedload(Customer.owner), joinedload(Letter.sale))
            .order_by(Customer.country, Customer.postal_code, Customer.name, Letter.id)).unique().all()
        templates = {}
        contents = []
        for letter in letters:
            key = (letter.template_key, letter.language)
            if key not in templates:
                templates[key] = service.current_template(db.session, *key)
            contents.append(service.letter_content(letter, templates[key], company, NOW.date()))
        db.session.remove()
    return contents


def pdf_pages(path: str) -> int:
    """Page count read back from the file (pypdfium2: opens the xref and page tree only)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(path)
    try:
        return len(doc)
    finally:
        doc.close()


# --- the throughput of one group ---------------------------------------------------------------

def bench_group(app, group: str, n: int, runs: int, out: Path, profile: bool, bare_encodes_qr: bool) -> dict:
    import letters_bare

    log(f"\n== {LABELS[group]}: {n:,} letters ==")
    rtl = group == "rtl"
    t0 = time.perf_counter()
    contents = load_contents(app, group)
    if len(contents) != n:
        raise BenchError(f"{group}: {len(contents)} letters loaded, {n} expected")
    letters_bare.register_bare_fonts()
    letters_bare.ENCODE_IN_CLOCK[0] = bare_encodes_qr
    if rtl:
        items = [page for page in (letters_bare.prepare_rtl(c) for c in contents)]
    else:
        items = [letters_bare.prepare_latin(c) for c in contents]
    log(f"  baseline input prepared in {time.perf_counter() - t0:.1f} s (not timed)")
    # Font registration is a once-per-process cost for both sides.
    from letters.typefaces import register_fonts
    register_fonts()

    bare_s, bare_cpu, bare_qr, app_s, app_runs = [], [], [], [], []
    bare_pages = None
    for r in range(runs):
        path = str(out / f"bare-{group}-{r}.pdf")
        letters_bare.QR_SECONDS[0] = 0.0
        t0, c0 = time.perf_counter(), time.process_time()
        bare_pages = letters_bare.write_bare(path, items, rtl)
        bare_s.append(time.perf_counter() - t0)
        bare_cpu.append(time.process_time() - c0)
        bare_qr.append(letters_bare.QR_SECONDS[0])
        bare_size = os.path.getsize(path)
        log(f"  run {r + 1}: bare {n / bare_s[-1]:7.1f} letters/s ({bare_s[-1]:.2f} s, {bare_pages} pages, "
            f"{bare_size / 1e6:.1f} MB; CPU {bare_cpu[-1]:.2f} s" + (f"; QR encoding {bare_qr[-1]:.2f} s)"
                                                            if bare_encodes_qr else ")"))
        if r:
            os.remove(str(out / f"bare-{group}-{r - 1}.pdf"))
        reset_group(app, group)
        run_dir = out / f"app-{group}-{r}"
        res = app_build(app, group, run_dir)
        app_s.append(res["seconds"])
        app_runs.append(res)
        log(f"  run {r + 1}: app  {n / res['seconds']:7.1f} letters/s ({res['seconds']:.2f} s, {res['pages']} pages, "
            f"{os.path.getsize(res['pdf']) / 1e6:.1f} MB; CPU {res['cpu']:.2f} s; QR encoding {res['qr_s']:.2f} s; SQL {res['sql_s']:.2f} s in "
            f"{res['sql_n']} statements)")
        if r:
            shutil.rmtree(out / f"app-{group}-{r - 1}", ignore_errors=True)
    last = app_runs[-1]
    read_back = pdf_pages(last["pdf"])
    with open(last["manifest"], encoding="utf-8") as fh:
        manifest_rows = sum(1 for _ in fh) - 1
    if last["done"] != n or manifest_rows != n or read_back != last["pages"]:
        raise BenchError(f"{group}: {last['done']} letters done, {manifest_rows} manifest rows, "
                         f"{read_back} pages in the file vs {last['pages']} recorded (expected {n} letters)")
    if bare_pages != last["pages"]:
        log(f"  note: bare drew {bare_pages} pages, the app {last['pages']} (page counts differ)")
    result = {"group": group, "n": n, "bare_best_s": min(bare_s), "app_best_s": min(app_s), "bare_all": bare_s,
              "app_all": app_s, "pages": last["pages"], "bare_pages": bare_pages,
              "sql_s": min(app_runs, key=lambda x: x["seconds"])["sql_s"],
              "bare_qr_s": bare_qr[bare_s.index(min(bare_s))],
              "app_qr_s": min(app_runs, key=lambda x: x["seconds"])["qr_s"]}
    result["bare_rate"] = n / result["bare_best_s"]
    result["app_rate"] = n / result["app_best_s"]
    result["ratio"] = result["app_rate"] / result["bare_rate"]
    # Secondary, less sensitive to other load on the machine: this process's CPU time, best of each side
    # (the app's figure leaves out the database server's own CPU, a few per cent of its time here).
    result["cpu_ratio"] = min(bare_cpu) / min(r["cpu"] for r in app_runs)
    # Secondary: both sides without their QR encoding time (what the text pipeline alone costs).
    result["ratio_ex_qr"] = (result["bare_best_s"] - result["bare_qr_s"]) / (result["app_best_s"] - result["app_qr_s"])
    result["bare_encodes_qr"] = bare_encodes_qr
    if profile:
        reset_group(app, group)
        prof = cProfile.Profile()
        res = app_build(app, group, out / f"app-{group}-profile", profiler=prof)
        log(f"  profiled app build: {res['seconds']:.2f} s under cProfile")
        profile_report(prof, f"{LABELS[group]}: app build")
        shutil.rmtree(out / f"app-{group}-profile", ignore_errors=True)
    reset_group(app, group)
    return result


def profile_report(prof: cProfile.Profile, title: str, limit: int = 30) -> None:
    for order in ("tottime", "cumulative"):
        s = io.StringIO()
        stats = pstats.Stats(prof, stream=s)
        stats.sort_stats(order).print_stats(limit)
        text = s.getvalue()
        start = text.find("   ncalls")
        log(f"\n--- cProfile, {title}, by {order} (top {limit}) ---")
        log(text[start:].rstrip() if start >= 0 else text.rstrip())


# --- peak memory in a child --------------------------------------------------------------------

def _vm(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def child_memory(job: dict) -> None:
    """In the child: build the memory group's batch; print one JSON line with VmHWM and the batch."""
    app = make_app(job["url"], job["instance"])
    from letters.typefaces import register_fonts  # noqa: F401  (imported like the app; fonts load lazily)

    rss_ready = _vm("VmRSS")
    res = app_build(app, "memory", Path(job["out"]))
    res.update(hwm_mb=_vm("VmHWM"), rss_ready_mb=rss_ready, rss_end_mb=_vm("VmRSS"))
    print("CHILD-RESULT " + json.dumps(res), flush=True)


def bench_memory(args, url: str, out: Path, instance: str) -> dict:
    n = args.memory_n
    log(f"\n== Peak memory: app build of {n:,} Latin letters in a child process ==")
    job = {"url": url, "instance": instance, "out": str(out / "memory")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    parent_rss = _vm("VmRSS")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child-memory", json.dumps(job)],
                          capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, cwd=str(ROOT))
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise BenchError(f"memory child failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("CHILD-RESULT ")), None)
    if line is None:
        raise BenchError(f"memory child printed no result:\n{proc.stdout}\n{proc.stderr}")
    res = json.loads(line[len("CHILD-RESULT "):])
    ru_maxrss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    if res["done"] != n:
        raise BenchError(f"memory: {res['done']} letters done, {n} expected")
    t1 = time.perf_counter()
    read_back = pdf_pages(res["pdf"])
    read_s = time.perf_counter() - t1
    if read_back != res["pages"]:
        raise BenchError(f"memory: {read_back} pages in the file vs {res['pages']} recorded")
    res.update(n=n, wall_s=wall, size_mb=os.path.getsize(res["pdf"]) / 1e6, read_back=read_back, read_s=read_s,
               ru_maxrss_mb=ru_maxrss_mb if ru_maxrss_mb * 1024 > before else float("nan"))
    log(f"  build {res['seconds']:.1f} s ({n / res['seconds']:.0f} letters/s), child wall {wall:.1f} s")
    log(f"  RSS after app start {res['rss_ready_mb']:.0f} MB, at the end {res['rss_end_mb']:.0f} MB, "
        f"peak (VmHWM) {res['hwm_mb']:.0f} MB; ru_maxrss(children) {res['ru_maxrss_mb']:.0f} MB "
        f"(this process was at {parent_rss:.0f} MB when it spawned the child)")
    log(f"  PDF {res['size_mb']:.1f} MB, {read_back:,} pages (read back in {read_s:.2f} s)")
    shutil.rmtree(out / "memory", ignore_errors=True)
    return res


# --- main --------------------------------------------------------------------------------------

def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child_memory:
        child_memory(json.loads(args.child_memory))
        return 0
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bench-letters-"))
    out = work / "out"
    out.mkdir(parents=True)
    instance = str(work / "instance")
    try:
        import reportlab
        from reportlab.lib import rl_accel

        # Both sides run on ReportLab's helpers (number formatting, string widths, escaping): in C with the
        # optional rl_accel package, else in pure Python; the baseline gains much more from C than the app.
        accel = "C rl_accel" if type(rl_accel.fp_str).__name__ == "builtin_function_or_method" else "pure-Python rl_accel"
        log(f"bench/print_letters.py: n={args.n:,} per group, memory-n={args.memory_n:,}, runs={args.runs}, "
            f"templates={','.join(args.templates)}, ReportLab {reportlab.Version} ({accel}), "
            f"{'SQLite' if args.sqlite else 'PostgreSQL'}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
        url = reset_database(args, work)
        app = make_app(url, instance)
        t0 = time.perf_counter()
        seed(app, args)
        log(f"  data ready in {time.perf_counter() - t0:.1f} s")
        results = [bench_group(app, g, args.n, args.runs, out, args.profile, args.bare_encodes_qr)
                   for g in args.groups]
        with app.app_context():
            from retention.extensions import db
            db.engine.dispose()
        memory = bench_memory(args, url, out, instance) if args.memory_n else None

        log("\n== Summary ==")
        log(f"{'group':<24}{'bare l/s':>10}{'app l/s':>10}{'ratio':>8}{'goal':>7}  {'result':<6}{'CPU':>8}{'ex-QR':>8}   "
            f"(all runs: bare | app, s)")
        for r in results:
            goal = GOALS[r["group"]]
            verdict = "PASS" if r["ratio"] >= goal else "MISS"
            runs = " ".join(f"{s:.2f}" for s in r["bare_all"]) + " | " + " ".join(f"{s:.2f}" for s in r["app_all"])
            log(f"{LABELS[r['group']]:<24}{r['bare_rate']:>10.1f}{r['app_rate']:>10.1f}{r['ratio']:>7.2f}x"
                f"{goal:>6.1f}x  {verdict:<6}{r['cpu_ratio']:>7.2f}x{r['ratio_ex_qr']:>7.2f}x   ({runs}; QR encoding "
                + (f"bare {r['bare_qr_s']:.2f} s / " if r["bare_encodes_qr"] else "")
                + f"app {r['app_qr_s']:.2f} s; app SQL {r['sql_s']:.2f} s; {r['pages']} pages)")
        if memory:
            verdict = "PASS" if memory["hwm_mb"] <= GOAL_PEAK_MB else "MISS"
            log(f"{'peak memory':<24}{memory['hwm_mb']:>9.0f} MB at {memory['n']:,} letters (goal <= "
                f"{GOAL_PEAK_MB:.0f} MB)  {verdict}   PDF {memory['size_mb']:.1f} MB, {memory['read_back']:,} pages, "
                f"{memory['n'] / memory['seconds']:.0f} letters/s")
        log("ratio: app letters/s / bare letters/s (wall, best run of each; the goal applies to it). CPU: the same\n"
            "ratio on this process's CPU time (steadier on a busy machine; leaves out the database server's CPU).\n"
            "ex-QR: the wall ratio with the app's QR-code encoding time taken out"
            + (" (and the baseline's)." if args.bare_encodes_qr else
               " (the baseline encodes its codes before the clock;\n--bare-encodes-qr times that too)."))
        log(f"total bench time {time.perf_counter() - started:.0f} s")
        return 0
    finally:
        if args.keep:
            log(f"output kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench/print_letters.py: FAILED: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
