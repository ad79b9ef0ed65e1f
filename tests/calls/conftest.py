"""Fixtures of the calls tests: the default journey and its owners (shared with the journeys tests)."""
from tests.journeys.conftest import world  # noqa: F401
