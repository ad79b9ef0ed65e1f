"""Bulk data for bench/print_letters.py: customers, sales and queued letters, inserted in plain bulk INSERTs.

Three groups, each in its own ``created_at`` window so that ``create_batch(filters={"since", "until"})``
takes exactly one group:

* ``latin``:  English letters to customers in the US, GB and DE (all on A4: the paper is the sender's, in London).
* ``rtl``:    Arabic (AE, SA, EG) and Persian (IR) letters, mixed; most names and addresses in Arabic
              script, some in Latin; every sale has an English product name, which the default
              templates put inside the Arabic/Persian sentence ({{ sale.product }}).
* ``memory``: like ``latin``, for the peak-memory build in a child process.

Ids are explicit (customer i, sale i and letter i belong together) and the PostgreSQL sequences are
moved past them afterwards. The staff (the letters' signers) are inserted the same way; about one
customer in ten has no owner, so the signature falls back to the company name.
"""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

UTC = dt.timezone.utc

TEMPLATE_KEYS = ("welcome", "thank_you", "referral_offer", "apology")

STAFF = [("Olivia Grant", "Customer care"), ("Karim Nasser", "Onboarding specialist"),
         ("Sophie Turner", "Customer care lead"), ("Daniel Ruiz", "Onboarding specialist"),
         ("Fatima Zahra", "Customer success"), ("Jonas Weber", "Customer care")]

FIRST = ["Emma", "Oliver", "Amelia", "George", "Isla", "Harry", "Olivia", "Jack", "Sophia", "Liam", "Ava",
         "Noah", "Mia", "Ethan", "Hannah", "Lukas", "Daniel", "Charlotte", "Benjamin", "Grace", "Jürgen",
         "Zoë", "Matthias", "Chloé"]
LAST = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Johnson", "Garcia", "Miller", "Davis", "Schmidt",
        "Wilson", "Evans", "Thomas", "Roberts", "O'Brien", "Kowalski", "Nguyen", "Müller", "Schäfer",
        "Fitzgerald-Hughes", "Anderson"]
PRODUCTS = [("Espresso machine Pro", "kitchen", 649), ("Robot vacuum S8", "home", 499),
            ("Standing desk", "office", 389), ("Road bike Carbon", "sports", 2199),
            ("Sofa Oslo 3-seat", "furniture", 1290), ("Air purifier", "home", 219),
            ('Smart TV 65"', "electronics", 1099), ("Washing machine 9 kg", "appliances", 749),
            ("Galaxy S24 Ultra", "electronics", 1299), ("AirPods Pro 2", "electronics", 249)]

US = [("Springfield", "IL", "627"), ("Portland", "OR", "972"), ("Austin", "TX", "787"), ("Denver", "CO", "802"),
      ("Brooklyn", "NY", "112")]
US_STREETS = ["Main Street", "Oak Avenue", "Maple Drive", "Washington Boulevard", "Lakeview Terrace"]
GB = [("London", "SW1A 1AA"), ("Leeds", "LS1 4AP"), ("Bristol", "BS1 5TR"), ("Manchester", "M1 1AE"),
      ("Edinburgh", "EH1 1YZ")]
GB_STREETS = ["High Street", "Baker Street", "Station Road", "Church Lane", "Victoria Road"]
DE = [("Berlin", "10115"), ("München", "80331"), ("Köln", "50667"), ("Hamburg", "20095"), ("Düsseldorf", "40213")]
DE_STREETS = ["Hauptstraße", "Bahnhofstraße", "Lindenallee", "Schillerstraße", "Gartenweg"]

AR_NAMES = ["ليلى حداد", "عمر المنصوري", "فاطمة خان", "أحمد الهاشمي", "نورة صالح", "يوسف ناصر", "مريم فاروق",
            "خالد العتيبي", "سارة القحطاني", "حسن عبد الله"]
FA_NAMES = ["مریم رحیمی", "رضا کریمی", "زهرا حسینی", "علی محمدی", "سارا احمدی", "حسین رضایی", "نگار موسوی",
            "امیر جعفری"]
LATIN_RTL_NAMES = ["Layla Haddad", "Omar Al Mansouri", "Reza Karimi", "Zahra Hosseini", "Ahmed Al Hashimi"]
# country, currency, (city, region, postal, street lines) in Arabic script, and in Latin letters
AR_PLACES = [
    ("AE", "AED", ("دبي", "", "", ["شارع الشيخ زايد، برج ١٢"]), ("Dubai", "", "", ["Sheikh Zayed Road 12"])),
    ("SA", "SAR", ("الرياض", "", "12211", ["طريق الملك فهد ٤٥"]), ("Riyadh", "", "12211", ["King Fahd Road 45"])),
    ("EG", "EGP", ("القاهرة", "", "11511", ["شارع التحرير ٧"]), ("Cairo", "", "11511", ["7 Tahrir Street"])),
]
FA_PLACE = ("IR", "IRR", ("تهران", "تهران", "1968653111", ["خیابان ولیعصر، پلاک ۱۲"]),
            ("Tehran", "Tehran", "1968653111", ["Valiasr Street, No. 12"]))


def _latin_customer(i: int, rng: random.Random) -> dict:
    first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST) + i) % len(LAST)]
    country = ("US", "GB", "DE")[i % 3]
    number = 1 + rng.randrange(998)
    if country == "US":
        city, region, zip3 = US[i % len(US)]
        lines = [f"{number} {US_STREETS[i % len(US_STREETS)]}"] + ([f"Apt {1 + i % 40}B"] if i % 4 == 0 else [])
        postal = f"{zip3}{rng.randrange(100):02d}"
        currency = "USD"
    elif country == "GB":
        city, postal = GB[i % len(GB)]
        region = ""
        lines = [f"{number} {GB_STREETS[i % len(GB_STREETS)]}"] + (["Flat 3"] if i % 5 == 0 else [])
        currency = "GBP"
    else:
        city, postal = DE[i % len(DE)]
        region = ""
        lines = [f"{DE_STREETS[i % len(DE_STREETS)]} {number}"]
        currency = "EUR"
    return {"name": f"{first} {last}", "locale": "en", "timezone": "UTC", "address_lines": lines, "city": city,
            "region": region, "postal_code": postal, "country": country, "currency": currency}


def _rtl_customer(i: int, rng: random.Random) -> dict:
    persian = i % 2 == 1
    latin_script = i % 5 == 0
    if persian:
        country, currency, local, latin = FA_PLACE
        name = FA_NAMES[i % len(FA_NAMES)]
    else:
        country, currency, local, latin = AR_PLACES[(i // 2) % len(AR_PLACES)]
        name = AR_NAMES[i % len(AR_NAMES)]
    city, region, postal, lines = latin if latin_script else local
    if latin_script:
        name = LATIN_RTL_NAMES[i % len(LATIN_RTL_NAMES)]
    return {"name": name, "locale": "fa" if persian else "ar", "timezone": "Asia/Tehran" if persian else "Asia/Dubai",
            "address_lines": list(lines), "city": city, "region": region, "postal_code": postal, "country": country,
            "currency": currency}


def rows(group: str, n: int, first_id: int, window_start: dt.datetime, staff_ids: list[int],
         templates: tuple[str, ...], now: dt.datetime) -> tuple[list[dict], list[dict], list[dict]]:
    """Customer, sale and letter rows for one group; ids first_id .. first_id + n - 1."""
    rng = random.Random(f"{group}-{n}")
    make = _rtl_customer if group == "rtl" else _latin_customer
    customers, sales, letters = [], [], []
    for k in range(n):
        cid = first_id + k
        c = make(k, rng)
        currency = c.pop("currency")
        owner = None if k % 10 == 9 else staff_ids[k % len(staff_ids)]
        customers.append({
            "id": cid, "external_id": f"BL-{group}-{k:06d}", "name": c["name"],
            "email": f"{group}.{k}@example.net", "phone": None, "locale": c["locale"], "timezone": c["timezone"],
            "address_lines": c["address_lines"], "city": c["city"], "region": c["region"],
            "postal_code": c["postal_code"], "country": c["country"], "owner_id": owner,
            "created_at": now - dt.timedelta(days=120), "updated_at": now - dt.timedelta(days=120)})
        product, category, price = PRODUCTS[k % len(PRODUCTS)]
        amount = Decimal(price * (60000 if currency == "IRR" else 1)) + (Decimal(k % 100) / 100 if currency != "IRR"
                                                                          else 0)
        sales.append({
            "id": cid, "external_id": f"BS-{group}-{k:06d}", "customer_id": cid, "amount": amount,
            "currency": currency, "product": product, "category": category, "referral_code": None,
            "sold_at": now - dt.timedelta(days=90 + k % 30, minutes=k % 1440),
            "created_at": now - dt.timedelta(days=90)})
        letters.append({
            "id": cid, "customer_id": cid, "sale_id": cid, "template_key": templates[k % len(templates)],
            "language": c["locale"], "status": "queued",
            "created_at": window_start + dt.timedelta(seconds=k % 3600)})
    return customers, sales, letters


def staff_rows(first_id: int, now: dt.datetime) -> list[dict]:
    return [{"id": first_id + i, "email": name.lower().replace(" ", ".") + "@bench.example.com", "name": name,
             "title": title, "role": "onboarding", "password_hash": "!bench-no-login", "locale": "en",
             "timezone": "UTC", "work_start": "09:00", "work_end": "17:00", "country": None,
             "daily_call_capacity": 25, "active": True, "created_at": now}
            for i, (name, title) in enumerate(STAFF)]
