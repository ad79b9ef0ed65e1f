"""The staff interface's languages: text direction and the few UI strings we translate."""
from __future__ import annotations

from flask_login import current_user

from letters.l10n import RTL_LANGUAGES
UI_LANGUAGES = ("en", "ar", "fa")

STRINGS = {
    "ar": {
        "Customers": "العملاء", "Events": "الأحداث", "Sign in": "تسجيل الدخول", "Sign out": "تسجيل الخروج",
        "Search": "بحث", "Timeline": "الخط الزمني", "Sales": "المبيعات", "My calls": "مكالماتي",
        "Journeys": "المسارات", "Letters": "الرسائل", "Print batches": "دفعات الطباعة",
        "Previous": "السابق", "Next": "التالي", "Email": "البريد الإلكتروني", "Password": "كلمة المرور",
    },
    "fa": {
        "Customers": "مشتریان", "Events": "رویدادها", "Sign in": "ورود", "Sign out": "خروج",
        "Search": "جستجو", "Timeline": "خط زمانی", "Sales": "فروش‌ها", "My calls": "تماس‌های من",
        "Journeys": "مسیرها", "Letters": "نامه‌ها", "Print batches": "دسته‌های چاپ",
        "Previous": "قبلی", "Next": "بعدی", "Email": "ایمیل", "Password": "رمز عبور",
    },
}


def direction(language: str | None) -> str:
    """'rtl' for right-to-left languages, else 'ltr'."""
    return "rtl" if (language or "en").split("-")[0].split("_")[0] in RTL_LANGUAGES else "ltr"


def template_context() -> dict:
    """Language, direction and a translator for the page being rendered."""
    from flask import request

    language = "en"
    if getattr(current_user, "is_authenticated", False):
        language = current_user.locale or "en"
    language = request.args.get("lang", language) if request else language
    if language not in UI_LANGUAGES:
        language = "en"
    table = STRINGS.get(language, {})
    from flask import current_app

    return {"ui_lang": language, "ui_dir": direction(language), "_": lambda text: table.get(text, text),
            "text_dir": direction, "nav_endpoints": current_app.view_functions,
            "extra_nav": current_app.extensions.get("retention_nav", [])}
