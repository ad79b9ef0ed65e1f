"""Imports every model so the metadata (and Alembic) sees all tables."""
from retention.audit.models import AuditEntry  # noqa: F401
from retention.customers.models import Customer, Sale  # noqa: F401
from retention.hooks.models import InboundEvent  # noqa: F401
from retention.staff.models import ApiToken, LoginThrottle, StaffSession, StaffUser  # noqa: F401
from retention.calls.models import CallAttempt, CustomerNote  # noqa: F401
from retention.journeys.models import Enrollment, Journey, JourneyStep, RoundRobin, Touchpoint  # noqa: F401
from retention.postal.models import Letter, LetterTemplate, PrintBatch, ReturnedMail  # noqa: F401
from retention.referrals.models import LedgerEntry, Referral, ReferralOffer, ReferralProgram  # noqa: F401
from retention.surveys.models import NpsAnswer, Survey  # noqa: F401
from retention.complaints.models import Complaint  # noqa: F401
from retention.mail.models import CustomerOptOut, MailServerProblem, OutboundEmail  # noqa: F401
