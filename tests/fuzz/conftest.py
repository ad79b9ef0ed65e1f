"""Fuzz tests keep nothing in the checkout: hypothesis's own files (its caches; the example database is off in
strategies.bounded) go to a temporary directory."""
from __future__ import annotations

import tempfile

from hypothesis.configuration import set_hypothesis_home_dir

set_hypothesis_home_dir(tempfile.mkdtemp(prefix="hypothesis-fuzz-"))
