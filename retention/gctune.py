"""The process's garbage collector, set once for a server: at the first request a process serves (create_app
registers `tune` before every request; RETENTION_GC_TUNING=0: off). RQ workers, the CLI and the tick serve no
request and keep Python's defaults.

CPython's full (generation 2) collection walks every object that survived the younger ones. After the imports an
app process holds about 165,000 of them (SQLAlchemy, Babel, Jinja, the app itself), and a busy page promotes
thousands of its own short-lived objects (ORM rows, the words of fifty call cards) while it runs, so about one
request of My calls in fifteen paid a full collection of ~200,000 objects: 75 ms of CPU, the page's p95
(bench/tick.py). Two settings, once per process:

- `gc.freeze()` after a full collection: what exists then (modules, mappers, the app) lives as long as the
  process anyway and is left out of every later collection (an object among them freed by its reference count
  still is freed; only a cycle among them would stay).
- a generation-0 threshold of 10,000 allocations instead of 700: a request's objects mostly die by reference
  count before a collection sees them, so far fewer are promoted and full collections come rarely.
"""
from __future__ import annotations

import gc

GEN0_THRESHOLD = 10_000
_tuned = False


def tune() -> None:
    """Freeze what the process holds now and raise the generation-0 threshold (the first call only; a few
    hundred ms once, then one flag test per request)."""
    global _tuned
    if _tuned:
        return
    _tuned = True
    gc.collect()  # garbage of the start-up is not frozen with the rest
    gc.freeze()
    gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(gen0, GEN0_THRESHOLD), gen1, gen2)
