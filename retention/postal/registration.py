"""What the mail room plugs into the layers below: the letter hand-out, its step check, its timeline source."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from retention.customers import timeline as customer_timeline
from retention.customers.models import Customer
from retention.journeys import registry, wording
from retention.journeys.service import N_, JourneyError, Names
from retention.mail import optouts
from retention.postal.batches import RETURN_UNDONE_PATTERN, cancel_unposted_letters
from retention.postal.labels import LANGUAGE, return_undone_words
from retention.postal.models import Letter, LetterTemplate
from retention.postal.service import LANGUAGES
from retention.postal.timeline import letters
from retention.queries import id_in, insert_rows

CHUNK = 5000


def letter_languages() -> tuple[str, ...]:
    """The languages a journey writes letters in: every language letter templates exist for.

    A letter goes out in the customer's language (en, ar or fa), so a letter step's template must exist
    in each of them; the English fallback would send an English letter to an Arabic or Persian reader.
    """
    return tuple(LANGUAGES)


def check_letter_step(session: Session, where: str, spec: dict) -> None:
    """A letter step's template (its template_key, else its key, as the hand-out uses) exists in every letter language."""
    name = spec["template_key"] or spec["key"]
    found = set(session.scalars(select(LetterTemplate.language).where(
        LetterTemplate.key == name, LetterTemplate.is_current.is_(True))))
    missing = [lang for lang in letter_languages() if lang not in found]
    if missing:
        raise JourneyError(N_("no letter template '%(name)s' in %(languages)s"), where=where, field="template_key",
                           name=name, languages=Names(missing, LANGUAGE))


def queue_letters(session: Session, due: list[registry.Due], now: dt.datetime) -> None:
    """One queued letter per due letter step, in the customer's language (one query for the languages)."""
    ids = list({d.customer_id for d in due})
    locales = {}
    for start in range(0, len(ids), CHUNK):
        locales.update(session.execute(select(Customer.id, Customer.locale)
                                       .where(id_in(session, Customer.id, ids[start:start + CHUNK]))).all())
    insert_rows(session, Letter.__table__, [
        {"touchpoint_id": d.touchpoint_id, "customer_id": d.customer_id, "sale_id": d.sale_id,
         "template_key": d.step.template_key or d.step.key, "language": locales.get(d.customer_id) or "en",
         "status": "queued", "created_at": now} for d in due])


def register() -> None:
    from retention.postal import email_step

    email_step.register()  # the `email` step kind: a letter template sent as an email (retention/mail)
    registry.register_handout(registry.HandOut("letter", write=queue_letters, needs_sale=True, channel="letter"))
    optouts.on_opt_out("letter", cancel_unposted_letters)  # letters not posted yet never reach the post
    registry.register_step_check("letter", check_letter_step)
    customer_timeline.register_source(letters)
    wording.register_reason("return_undone", RETURN_UNDONE_PATTERN, return_undone_words)  # its fix-address call closed
