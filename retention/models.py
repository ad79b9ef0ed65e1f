"""Imports every model so the metadata (and Alembic) sees all tables."""
from retention.audit.models import AuditEntry  # noqa: F401
from retention.customers.models import Customer, Sale  # noqa: F401
from retention.hooks.models import InboundEvent  # noqa: F401
from retention.staff.models import ApiToken, LoginAttempt, StaffUser  # noqa: F401
