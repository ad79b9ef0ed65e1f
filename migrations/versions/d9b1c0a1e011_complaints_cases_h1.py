"""complaints_cases_h1: the default complaint categories with their intake questions in en, ar and fa (data).

The schema of cases and categories came with d9b0c0a1e010; this revision only adds the six default categories
(delivery, product quality, billing, service, outage, other) a new database starts with, by key: a category
already there (an admin's, or one added by `flask seed`) is left as it is, so running it is idempotent. The
data is written out here (not imported from the app), as retention/complaints/categories.py DEFAULTS had it.

Revision ID: d9b1c0a1e011
Revises: d9b0c0a1e010
Create Date: 2026-11-23 20:10:00
"""
import json

import sqlalchemy as sa
from alembic import op

revision = 'd9b1c0a1e011'
down_revision = 'd9b0c0a1e010'
branch_labels = None
depends_on = None

DEFAULTS = json.loads(r"""[
 {
  "key": "delivery",
  "names": {
   "en": "Delivery",
   "ar": "التوصيل",
   "fa": "ارسال و تحویل"
  },
  "questions": [
   {
    "key": "when",
    "text": {
     "en": "When should it have arrived, and when did it arrive (if it did)?",
     "ar": "متى كان يفترض أن يصل الطلب، ومتى وصل فعلًا (إن وصل)؟",
     "fa": "سفارش قرار بود کی برسد و کی رسید (اگر رسیده است)؟"
    }
   },
   {
    "key": "condition",
    "text": {
     "en": "In what condition did the package arrive?",
     "ar": "في أي حالة وصل الطرد؟",
     "fa": "بسته در چه وضعی به دستتان رسید؟"
    }
   },
   {
    "key": "tracking",
    "text": {
     "en": "Is there a tracking number or a note from the courier?",
     "ar": "هل يوجد رقم تتبع أو ملاحظة من شركة الشحن؟",
     "fa": "کد رهگیری یا یادداشتی از شرکت پست یا پیک دارید؟"
    }
   }
  ]
 },
 {
  "key": "product_quality",
  "names": {
   "en": "Product quality or defect",
   "ar": "جودة المنتج أو عيب فيه",
   "fa": "کیفیت یا ایراد کالا"
  },
  "questions": [
   {
    "key": "what",
    "text": {
     "en": "What exactly does not work, and since when?",
     "ar": "ما الذي لا يعمل بالضبط، ومنذ متى؟",
     "fa": "دقیقاً چه چیزی کار نمی‌کند و از کی؟"
    }
   },
   {
    "key": "example",
    "text": {
     "en": "Could you give an example of when it happens?",
     "ar": "هل يمكنك أن تذكر مثالًا على متى يحدث ذلك؟",
     "fa": "می‌توانید مثالی بزنید که کی این اتفاق می‌افتد؟"
    }
   },
   {
    "key": "tried",
    "text": {
     "en": "What has the customer already tried?",
     "ar": "ما الذي جرّبه العميل حتى الآن؟",
     "fa": "مشتری تا حالا چه کارهایی را امتحان کرده است؟"
    }
   }
  ]
 },
 {
  "key": "billing",
  "names": {
   "en": "Billing",
   "ar": "الفواتير والمدفوعات",
   "fa": "صورت‌حساب و پرداخت"
  },
  "questions": [
   {
    "key": "charge",
    "text": {
     "en": "Which charge or invoice is it about (date, amount)?",
     "ar": "ما الرسوم أو الفاتورة المقصودة (التاريخ والمبلغ)؟",
     "fa": "موضوع کدام پرداخت یا صورت‌حساب است (تاریخ و مبلغ)؟"
    }
   },
   {
    "key": "expected",
    "text": {
     "en": "What did the customer expect to pay?",
     "ar": "كم كان العميل يتوقع أن يدفع؟",
     "fa": "مشتری انتظار داشت چه مبلغی بپردازد؟"
    }
   }
  ]
 },
 {
  "key": "service",
  "names": {
   "en": "Service or staff behaviour",
   "ar": "الخدمة أو سلوك الموظفين",
   "fa": "خدمات یا رفتار کارکنان"
  },
  "questions": [
   {
    "key": "who_when",
    "text": {
     "en": "Who did the customer deal with, and when?",
     "ar": "مع من تعامل العميل، ومتى؟",
     "fa": "مشتری با چه کسی و چه زمانی سروکار داشته است؟"
    }
   },
   {
    "key": "what_said",
    "text": {
     "en": "What was said or done, in the customer's words?",
     "ar": "ما الذي قيل أو حدث، بكلمات العميل نفسه؟",
     "fa": "چه گفته یا چه کاری شد، به زبان خود مشتری؟"
    }
   }
  ]
 },
 {
  "key": "outage",
  "names": {
   "en": "Outage",
   "ar": "انقطاع الخدمة",
   "fa": "قطعی سرویس"
  },
  "questions": [
   {
    "key": "since",
    "text": {
     "en": "Since when has it been unavailable?",
     "ar": "منذ متى والخدمة غير متاحة؟",
     "fa": "از چه زمانی در دسترس نیست؟"
    }
   },
   {
    "key": "impact",
    "text": {
     "en": "What can the customer not do because of it? Is there a deadline?",
     "ar": "ما الذي لا يستطيع العميل فعله بسبب ذلك؟ وهل هناك موعد نهائي؟",
     "fa": "مشتری به خاطر آن چه کاری را نمی‌تواند انجام دهد؟ آیا مهلتی در کار است؟"
    }
   }
  ]
 },
 {
  "key": "other",
  "names": {
   "en": "Other",
   "ar": "أخرى",
   "fa": "سایر"
  },
  "questions": [
   {
    "key": "what_happened",
    "text": {
     "en": "What happened, in the customer's words?",
     "ar": "ماذا حدث، بكلمات العميل نفسه؟",
     "fa": "چه اتفاقی افتاد، به زبان خود مشتری؟"
    }
   }
  ]
 }
]""")

categories = sa.table(
    "complaint_categories",
    sa.column("id", sa.Integer), sa.column("key", sa.String), sa.column("names", sa.JSON),
    sa.column("questions", sa.JSON), sa.column("active", sa.Boolean), sa.column("position", sa.Integer),
)


def upgrade():
    bind = op.get_bind()
    have = set(bind.execute(sa.select(categories.c.key)).scalars())
    rows = [{"key": c["key"], "names": c["names"], "questions": c["questions"], "active": True,
             "position": (n + 1) * 10}
            for n, c in enumerate(DEFAULTS) if c["key"] not in have]
    if rows:
        op.bulk_insert(categories, rows)


def downgrade():
    # Only the defaults as this revision wrote them; a category an admin changed stays.
    bind = op.get_bind()
    for c in DEFAULTS:
        for row in bind.execute(sa.select(categories.c.id, categories.c.names, categories.c.questions)
                                .where(categories.c.key == c["key"])).all():
            if row.names == c["names"] and row.questions == c["questions"]:
                bind.execute(categories.delete().where(categories.c.id == row.id))
