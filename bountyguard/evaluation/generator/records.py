"""The generator's vocabulary: its constants and the records of its simulated platform."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from bountyguard.evaluation.generator import disguise as dz

HISTORY_DAYS = 1276  # 2023-01-01 .. 2026-06-30 for the default as-of date
DUE_WINDOW_DAYS = 45  # payouts that fell due this recently are still pending: the run decides them
SHORT_TENURE_DAYS = 183  # ends within a probation period (in Germany at most six months)
JOB_HOPPING_COMPANIES = 3
LATE_REFERRAL_MINUTES = 2 * 1440
DAY = 1440  # minutes; all times are minutes since the first day of the history
BUCKET = 10  # days per bucket of open jobs / active referrers

HOLD_PATTERNS = ("serial_rereferral", "job_hopping", "self_referral", "shared_payout_account", "referral_ring",
                 "velocity_spike")
CLAWBACK_PATTERNS = ("serial_rereferral", "self_referral", "shared_payout_account", "referral_ring")
NOT_OWED_PATTERNS = ("early_exit", "duplicate_referral", "late_referral")
GUARANTEES = {30: 0.30, 60: 0.25, 90: 0.35, 180: 0.10}
CHANNEL_WEIGHTS = {"linkedin": 0.30, "xing": 0.15, "email": 0.20, "link": 0.20, "facebook": 0.10, "other": 0.05}
COMPANY_COUNTRIES = {"DE": 0.45, "AT": 0.10, "CH": 0.10, "PL": 0.20, "UA": 0.15}
IP_FIRST_OCTETS = {"DE": [77, 79, 84, 87, 91, 93], "AT": [62, 80, 178], "CH": [31, 85, 178],
                   "PL": [31, 46, 83, 89], "UA": [37, 46, 91, 176, 178]}

# (title, bounty in EUR before variation)
JOB_TITLES = [("Java Developer", 2500), ("Senior Python Developer", 3500), ("Data Engineer", 3000),
              ("DevOps Engineer", 3000), ("SAP Consultant", 3500), ("Frontend Developer", 2200),
              ("QA Engineer", 1800), ("IT Support Specialist", 1000), ("Pflegefachkraft", 2000),
              ("Medizinische Fachangestellte", 1200), ("Lagerlogistiker", 600), ("Berufskraftfahrer CE", 1000),
              ("Warehouse Team Lead", 1200), ("Elektriker", 1500), ("Mechatroniker", 1500), ("Schweißer", 1200),
              ("CNC-Fräser", 1400), ("Buchhalter", 1500), ("Sales Manager", 2500), ("Customer Support Agent", 600),
              ("Recruiter", 1500), ("Projektleiter Bau", 3000), ("Controller", 2200), ("Kundenberater Bank", 1600)]
COMPANY_STEMS = ["Nord", "Süd", "Alpen", "Rhein", "Spree", "Isar", "Donau", "Elbe", "Baltic", "Wisła", "Karpaty",
                 "Dnipro", "Blau", "Grün", "Stern", "Falken", "Adler", "Linden", "Berg", "Tal", "Sonnen", "Main",
                 "Weser", "Oder", "Vistula", "Tatra", "Bodensee", "Jura", "Aare", "Limmat", "Polar", "Kobalt"]
COMPANY_TAILS = ["werk", "tech", "soft", "logistik", "systems", "consult", "media", "care", "bau", "pharma",
                 "tronic", "labs", "vision", "data", "energie", "mobil", "finanz", "haus", "net", "form"]
LEGAL_FORMS = {"DE": ["GmbH", "AG", "SE", "GmbH & Co. KG"], "AT": ["GmbH", "AG"], "CH": ["AG", "GmbH", "SA"],
               "PL": ["sp. z o.o.", "S.A."], "UA": ["TOV", "LLC"]}
COMMON_NAMES = [("Thomas", "Müller", "de", "m"), ("Anna", "Schmidt", "de", "f"), ("Michael", "Weber", "de", "m"),
                ("Julia", "Fischer", "de", "f"), ("Piotr", "Nowak", "pl", "m"), ("Anna", "Kowalska", "pl", "f"),
                ("Олена", "Коваленко", "ua", "f"), ("Андрій", "Мельник", "ua", "m"), ("Сергей", "Иванов", "ru", "m"),
                ("Stefan", "Huber", "de", "m"), ("Katarzyna", "Nowak", "pl", "f"), ("Ольга", "Шевченко", "ua", "f")]


# --- the simulated world ----------------------------------------------------------------------------------

@dataclass(eq=False)
class Person:
    idx: int
    name: dict
    birth: date
    country: str
    city: list
    phone: tuple
    phone_style: str
    email: str
    iban: str
    iban_style: str
    script: str
    pid: str = ""


@dataclass(eq=False)
class Referrer:
    person: Person
    signup: int
    full_name: str
    email: str
    phone: str
    iban: str
    birth: str
    city: str
    update_offset: int | None
    devices: list
    ips: list
    tier: str = "abuse"
    pure: bool = True  # never a candidate in the honest background: keeps accidental rings impossible
    active_end: int = 0
    seq: int = 0
    id: str = ""


@dataclass(eq=False)
class Candidate:
    person: Person
    full_name: str
    email: str
    phone: str
    birth: str
    city: str
    profile: str
    created_offset: int  # minutes before first use: when the profile was created
    update_offset: int | None
    seq: int = 0
    created: int = 0
    id: str = ""


@dataclass(eq=False)
class Company:
    name: str
    country: str
    seq: int
    jobs: list = field(default_factory=list)
    id: str = ""


@dataclass(eq=False)
class Job:
    company: Company
    title: str
    amount: str
    currency: str
    g: int
    posted: int
    close_day: int
    seq: int
    id: str = ""


@dataclass(eq=False)
class Referral:
    referrer: Referrer
    candidate: Candidate
    job: Job
    t: int
    channel: str
    ip: str
    device: str
    seq: int
    id: str = ""


@dataclass(eq=False)
class Application:
    candidate: Candidate
    job: Job
    t: int
    source: str
    seq: int
    id: str = ""


@dataclass(eq=False)
class Hire:
    referral: Referral | None
    candidate: Candidate
    job: Job
    hired: int
    start: int  # day
    end: int | None  # day
    reason: str
    updated: int | None
    seq: int
    payout: "Payout | None" = None
    id: str = ""


@dataclass(eq=False)
class Payout:
    hire: Hire
    eligible: int  # day
    status: str = "pending"
    released: int | None = None
    updated: int | None = None
    id: str = ""


def _surname_for(surname: str, gender: str) -> str:
    """The surname form of a relative of the other gender (Kowalski / Kowalska, Петров / Петрова)."""
    for male, female in dz.PL_SURNAMES + dz.CYR_SURNAMES:
        if surname in (male, female):
            return male if gender == "m" else female
    return surname
