"""Complaint categories admins edit, their intake questions per staff language (step 1), and the defaults.

A category has a stable `key` (what a case stores and a helpdesk sends), a name in en/ar/fa and a list of
questions [{"key": ..., "text": {"en": ..., "ar": ..., "fa": ...}}] in the order staff ask them. English is
required; a missing Arabic or Persian text shows the English one. The answers live on the case
(Complaint.answers, keyed by question key; see service.set_answers). Every save is audited.
"""
from __future__ import annotations

import datetime as dt
import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retention.audit.service import record
from retention.complaints.models import ComplaintCategory
from retention.errors import Conflict, N_, NotFound, ServiceError
from retention.validation import bad_character

LANGUAGES = ("en", "ar", "fa")
KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,59}\Z")
MAX_NAME = 120
MAX_QUESTIONS = 15
MAX_QUESTION = 300
MAX_CATEGORIES = 200

# Step 1, for staff: questions to ask the customer whatever the category (DESIGN section 9).
STAFF_HINTS = (_l("“What do you mean by …?”"), _l("“Could you give an example?”"),
               _l("“Could you say more about that?”"))
# Step 1, for staff to ask themselves before answering.
SELF_QUESTIONS = (_l("What else do I need to know?"), _l("What am I assuming?"),
                  _l("Why does this complaint matter?"))

# The categories a new database starts with (also inserted by migration d9b1c0a1e011, the same data).
DEFAULTS: list[dict] = [
    {"key": "delivery", "names": {"en": "Delivery", "ar": "التوصيل", "fa": "ارسال و تحویل"}, "questions": [
        {"key": "when", "text": {"en": "When should it have arrived, and when did it arrive (if it did)?",
                                 "ar": "متى كان يفترض أن يصل الطلب، ومتى وصل فعلًا (إن وصل)؟",
                                 "fa": "سفارش قرار بود کی برسد و کی رسید (اگر رسیده است)؟"}},
        {"key": "condition", "text": {"en": "In what condition did the package arrive?",
                                      "ar": "في أي حالة وصل الطرد؟",
                                      "fa": "بسته در چه وضعی به دستتان رسید؟"}},
        {"key": "tracking", "text": {"en": "Is there a tracking number or a note from the courier?",
                                     "ar": "هل يوجد رقم تتبع أو ملاحظة من شركة الشحن؟",
                                     "fa": "کد رهگیری یا یادداشتی از شرکت پست یا پیک دارید؟"}}]},
    {"key": "product_quality", "names": {"en": "Product quality or defect", "ar": "جودة المنتج أو عيب فيه",
                                         "fa": "کیفیت یا ایراد کالا"}, "questions": [
        {"key": "what", "text": {"en": "What exactly does not work, and since when?",
                                 "ar": "ما الذي لا يعمل بالضبط، ومنذ متى؟",
                                 "fa": "دقیقاً چه چیزی کار نمی‌کند و از کی؟"}},
        {"key": "example", "text": {"en": "Could you give an example of when it happens?",
                                    "ar": "هل يمكنك أن تذكر مثالًا على متى يحدث ذلك؟",
                                    "fa": "می‌توانید مثالی بزنید که کی این اتفاق می‌افتد؟"}},
        {"key": "tried", "text": {"en": "What has the customer already tried?",
                                  "ar": "ما الذي جرّبه العميل حتى الآن؟",
                                  "fa": "مشتری تا حالا چه کارهایی را امتحان کرده است؟"}}]},
    {"key": "billing", "names": {"en": "Billing", "ar": "الفواتير والمدفوعات", "fa": "صورت‌حساب و پرداخت"},
     "questions": [
        {"key": "charge", "text": {"en": "Which charge or invoice is it about (date, amount)?",
                                   "ar": "ما الرسوم أو الفاتورة المقصودة (التاريخ والمبلغ)؟",
                                   "fa": "موضوع کدام پرداخت یا صورت‌حساب است (تاریخ و مبلغ)؟"}},
        {"key": "expected", "text": {"en": "What did the customer expect to pay?",
                                     "ar": "كم كان العميل يتوقع أن يدفع؟",
                                     "fa": "مشتری انتظار داشت چه مبلغی بپردازد؟"}}]},
    {"key": "service", "names": {"en": "Service or staff behaviour", "ar": "الخدمة أو سلوك الموظفين",
                                 "fa": "خدمات یا رفتار کارکنان"}, "questions": [
        {"key": "who_when", "text": {"en": "Who did the customer deal with, and when?",
                                     "ar": "مع من تعامل العميل، ومتى؟",
                                     "fa": "مشتری با چه کسی و چه زمانی سروکار داشته است؟"}},
        {"key": "what_said", "text": {"en": "What was said or done, in the customer's words?",
                                      "ar": "ما الذي قيل أو حدث، بكلمات العميل نفسه؟",
                                      "fa": "چه گفته یا چه کاری شد، به زبان خود مشتری؟"}}]},
    {"key": "outage", "names": {"en": "Outage", "ar": "انقطاع الخدمة", "fa": "قطعی سرویس"}, "questions": [
        {"key": "since", "text": {"en": "Since when has it been unavailable?",
                                  "ar": "منذ متى والخدمة غير متاحة؟",
                                  "fa": "از چه زمانی در دسترس نیست؟"}},
        {"key": "impact", "text": {"en": "What can the customer not do because of it? Is there a deadline?",
                                   "ar": "ما الذي لا يستطيع العميل فعله بسبب ذلك؟ وهل هناك موعد نهائي؟",
                                   "fa": "مشتری به خاطر آن چه کاری را نمی‌تواند انجام دهد؟ آیا مهلتی در کار است؟"}}]},
    {"key": "other", "names": {"en": "Other", "ar": "أخرى", "fa": "سایر"}, "questions": [
        {"key": "what_happened", "text": {"en": "What happened, in the customer's words?",
                                          "ar": "ماذا حدث، بكلمات العميل نفسه؟",
                                          "fa": "چه اتفاقی افتاد، به زبان خود مشتری؟"}}]},
]


class CategoryError(ServiceError):
    """A category that cannot be saved (422): the field and a plain-language message."""


class CategoryNotFound(CategoryError, NotFound):
    """No such category (404)."""


class CategoryConflict(CategoryError, Conflict):
    """A category with this key exists already (409)."""


def ensure_default_categories(session: Session, now: dt.datetime) -> int:
    """Add the default categories that are missing (by key); returns how many were added. Idempotent."""
    have = set(session.scalars(select(ComplaintCategory.key)))
    added = 0
    for position, data in enumerate(DEFAULTS, start=1):
        if data["key"] not in have:
            session.add(ComplaintCategory(key=data["key"], names=dict(data["names"]),
                                          questions=[dict(q, text=dict(q["text"])) for q in data["questions"]],
                                          active=True, position=position * 10))
            added += 1
    if added:
        session.flush()
    return added


def all_categories(session: Session) -> list[ComplaintCategory]:
    return list(session.scalars(select(ComplaintCategory).order_by(ComplaintCategory.position,
                                                                   ComplaintCategory.id)))


def active_categories(session: Session) -> list[ComplaintCategory]:
    return [c for c in all_categories(session) if c.active]


def by_key(session: Session, key: str | None) -> ComplaintCategory | None:
    if not key:
        return None
    return session.scalar(select(ComplaintCategory).where(ComplaintCategory.key == key))


def get_category(session: Session, category_id: int) -> ComplaintCategory:
    category = session.get(ComplaintCategory, category_id)
    if category is None:
        raise CategoryNotFound("category", N_("No such complaint category."))
    return category


def name_of(category: ComplaintCategory | None, language: str, key: str | None = None) -> str:
    """The category's name in `language` (else English, else its key); an unknown key as it is."""
    if category is None:
        return key or ""
    names = category.names or {}
    return names.get(language) or names.get("en") or category.key


def case_category_name(names: dict[str, str], case, source_labels: dict) -> str:
    """How a case's category reads: its name (names: key -> name in the reader's language); an unknown key a
    helpdesk sent as it is (data); an unknown key another feature used (e.g. a detractor's recovery case) by
    where the case came from."""
    if case.category in names:
        return names[case.category]
    if case.source != "event" and case.source in source_labels:
        return str(source_labels[case.source])
    return case.category


def question_text(question: dict, language: str) -> str:
    text = question.get("text") or {}
    return text.get(language) or text.get("en") or question.get("key", "")


def _clean_text(value, field: str, max_length: int, *, required: bool, empty_message: str) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise CategoryError(field, N_("Write it as text."))
    value = value.strip()
    if bad_character(value):
        raise CategoryError(field, N_("Remove the control characters from this text."))
    if required and not value:
        raise CategoryError(field, empty_message)
    if len(value) > max_length:
        raise CategoryError(field, N_("At most %(max)s characters."), max=max_length)
    return value


def _question_key(text: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40] or "question"
    if not base[0].isalnum():
        base = "q_" + base
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


def clean(data: dict, *, existing: ComplaintCategory | None = None) -> dict:
    """The category's fields checked: {key, names, questions, active, position}; CategoryError naming the field.

    Fields: names.<lang> (English required), questions[n].text.<lang> (counted from 1; English required),
    an existing question keeps its key (its answers stay readable); new ones get a key from their English text.
    """
    if not isinstance(data, dict):
        raise CategoryError("", N_("Send the category as an object."))
    if existing is None:
        key = data.get("key")
        if not isinstance(key, str) or not KEY.match(key.strip()):
            raise CategoryError("key", N_("A key of lowercase letters, digits, - or _ (at most 60), e.g. delivery."))
        key = key.strip()
    else:
        key = existing.key
    names_in = data.get("names") or {}
    if not isinstance(names_in, dict):
        raise CategoryError("names", N_("Give the names per language (en, ar, fa)."))
    names = {}
    for language in LANGUAGES:
        text = _clean_text(names_in.get(language), f"names.{language}", MAX_NAME, required=language == "en",
                           empty_message=N_("Give the category a name in English."))
        if text:
            names[language] = text
    questions_in = data.get("questions") or []
    if not isinstance(questions_in, list):
        raise CategoryError("questions", N_("Give the questions as a list."))
    if len(questions_in) > MAX_QUESTIONS:
        raise CategoryError("questions", N_("At most %(max)s questions."), max=MAX_QUESTIONS)
    old_keys = {q.get("key") for q in (existing.questions if existing is not None else [])}
    taken: set[str] = set()
    questions = []
    for number, q in enumerate(questions_in, start=1):
        if not isinstance(q, dict):
            raise CategoryError(f"questions[{number}]", N_("Give each question as an object."))
        text_in = q.get("text") or {}
        if not isinstance(text_in, dict):
            raise CategoryError(f"questions[{number}].text", N_("Give the question per language (en, ar, fa)."))
        text = {}
        for language in LANGUAGES:
            value = _clean_text(text_in.get(language), f"questions[{number}].text.{language}", MAX_QUESTION,
                                required=language == "en", empty_message=N_("Write the question in English."))
            if value:
                text[language] = value
        qkey = q.get("key")
        if qkey is not None and (not isinstance(qkey, str) or not KEY.match(qkey)):
            raise CategoryError(f"questions[{number}].key", N_("A key of lowercase letters, digits, - or _."))
        qkey = qkey or _question_key(text["en"], taken | old_keys)
        if qkey in taken:
            raise CategoryError(f"questions[{number}].key", N_("Two questions have the same key."))
        taken.add(qkey)
        questions.append({"key": qkey, "text": text})
    active = data.get("active", True)
    if not isinstance(active, bool):
        raise CategoryError("active", N_("Say yes or no."))
    position = data.get("position", existing.position if existing is not None else None)
    if position is not None and (isinstance(position, bool) or not isinstance(position, int)
                                 or not 0 <= position <= 100000):
        raise CategoryError("position", N_("A whole number from 0 to 100000."))
    return {"key": key, "names": names, "questions": questions, "active": active, "position": position}


def save_category(session: Session, category: ComplaintCategory | None, data: dict, *, now: dt.datetime,
                  actor: str) -> ComplaintCategory:
    """Add (category None) or change a category; audited with what changed. The caller commits."""
    fields = clean(data, existing=category)
    if category is None:
        if by_key(session, fields["key"]) is not None:
            raise CategoryConflict("key", N_("A category with this key exists already."))
        if session.scalar(select(func.count()).select_from(ComplaintCategory)) >= MAX_CATEGORIES:
            raise CategoryError("key", N_("At most %(max)s categories."), max=MAX_CATEGORIES)
        if fields["position"] is None:
            last = session.scalar(select(func.max(ComplaintCategory.position))) or 0
            fields["position"] = last + 10
        category = ComplaintCategory(**fields)
        session.add(category)
        session.flush()
        record(session, actor=actor, action="complaint_category.created", entity_type="complaint_category",
               entity_id=category.id, now=now, changes={"key": category.key, "names": category.names,
                                                        "questions": len(category.questions)})
        return category
    before = {"names": category.names, "questions": category.questions, "active": category.active,
              "position": category.position}
    changed = {name: {"old": before[name], "new": fields[name]} for name in before
               if fields[name] is not None and before[name] != fields[name]}
    for name, change in changed.items():
        setattr(category, name, change["new"])
    if changed:
        record(session, actor=actor, action="complaint_category.changed", entity_type="complaint_category",
               entity_id=category.id, now=now, changes={"key": category.key, **changed})
    return category
