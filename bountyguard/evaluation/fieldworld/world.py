"""The platform itself: companies and jobs, people's records, referrals, applications, hires.

Everything is kept as linked objects; ids are given only when the tables are written, in time order,
so nothing about how a row came about shows in its id or its position.
"""
from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field

from . import people as pp
from .people import Person

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)

CURRENCY = {"DE": "EUR", "AT": "EUR", "NL": "EUR", "PL": "PLN", "CH": "CHF", "UA": "UAH"}
BOUNTIES = {"EUR": [500, 750, 1000, 1000, 1200, 1500, 1500, 2000, 2500, 3000],
            "PLN": [1500, 2000, 2500, 3000, 4000, 5000, 6000],
            "CHF": [1000, 1500, 2000, 2500, 3000, 4000],
            "UAH": [5000, 8000, 10000, 12000, 15000, 20000, 30000]}
GUARANTEES = ([30, 60, 90, 120, 180], [20, 25, 30, 5, 20])
COMPANY_COUNTRIES = (["DE", "PL", "UA", "AT", "CH", "NL"], [44, 18, 12, 10, 8, 8])
RESIDENT_CULTURES = {
    "DE": (["de", "tr", "pl", "ua", "ru", "en"], [62, 9, 7, 12, 5, 5]),
    "AT": (["de", "tr", "pl", "ua", "en"], [75, 5, 5, 8, 7]),
    "CH": (["de", "en", "pl", "ua", "tr"], [70, 15, 5, 5, 5]),
    "PL": (["pl", "ua", "en"], [75, 22, 3]),
    "UA": (["ua", "ru"], [92, 8]),
    "NL": (["en", "de", "pl", "tr"], [60, 15, 10, 15]),
}
REFERRER_COUNTRIES = (["DE", "PL", "UA", "AT", "CH", "NL"], [45, 20, 15, 8, 6, 6])

TITLES = {
    "DE": ["Senior Java Developer (m/w/d)", "Pflegefachkraft (m/w/d)", "Lagerlogistiker (m/w/d)",
           "SAP FI/CO Berater (m/w/d)", "Elektroniker für Betriebstechnik", "Data Engineer", "Kundenberater Vertrieb",
           "Projektleiter Bau", "Frontend Developer (React)", "CNC-Fräser", "Buchhalter (m/w/d)",
           "Vertriebsmitarbeiter Außendienst", "DevOps Engineer", "Berufskraftfahrer CE", "Mechatroniker",
           "Product Owner", "IT-Systemadministrator", "Controller (m/w/d)", "Erzieher (m/w/d)", "QA Engineer"],
    "AT": ["Software Engineer .NET", "Diplomierte Pflegekraft", "Elektriker", "Kellner/in", "Key Account Manager",
           "Lagermitarbeiter", "Data Analyst"],
    "CH": ["Senior Software Engineer", "Polymechaniker", "Pflegefachperson HF", "Business Analyst",
           "Cloud Engineer", "Treuhänder/in"],
    "PL": ["Programista .NET", "Kierowca C+E", "Spawacz MIG/MAG", "Księgowa", "Specjalista ds. sprzedaży",
           "Tester oprogramowania", "Magazynier", "Inżynier utrzymania ruchu", "Analityk danych"],
    "UA": ["Middle Python Developer", "Senior Frontend Developer", "QA Engineer", "Менеджер з продажу",
           "Бухгалтер", "Project Manager", "Recruiter", "DevOps Engineer", "Оператор call-центру"],
    "NL": ["Backend Developer (Go)", "Warehouse Operator", "Data Scientist", "Customer Support Agent (German)",
           "Mechanical Engineer", "Site Reliability Engineer"],
}
CONTRACT_TITLES = ["Freelance SAP S/4HANA Consultant", "Freelance Java Entwickler", "Interim Projektmanager",
                   "Freelance Cloud Architect (AWS)", "Contract Data Engineer", "Freelance Testmanager"]
COMPANY_WORDS = {
    "DE": (["Nord", "Süd", "Rhein", "Alpen", "Havel", "Elb", "Spree", "Isar", "Main", "Weser", "Ruhr", "Harz",
            "Neckar", "Mosel", "Bodensee"],
           ["tec", "werk", "logistik", "data", "bau", "med", "soft", "trans", "energie", "pflege", "metall",
            "consult", "systems"],
           [" GmbH", " AG", " SE", " GmbH & Co. KG"]),
    "AT": (["Donau", "Tirol", "Wiener", "Alpin", "Steirer", "Inn"], ["tech", "bau", "hotel", "soft", "logistik"],
           [" GmbH", " AG"]),
    "CH": (["Helvetia", "Limmat", "Aare", "Jura", "Rhône", "Gotthard"], ["tec", "med", "finanz", "soft", "präzision"],
           [" AG", " GmbH", " SA"]),
    "PL": (["Mazow", "Tatra", "Bałtyk", "Wisła", "Polbud", "Warta", "Odra", "Śląsk"],
           ["trans", "bud", "soft", "stal", "med", "log", "tech"], [" Sp. z o.o.", " S.A."]),
    "UA": (["Dnipro", "Karpaty", "Slavutych", "Kyiv", "Lviv", "Prykarpattia", "Polissia"],
           ["Soft", "Tech", "Agro", "Logistic", "Dev", "Trade"], [" LLC", " ТОВ"]),
    "NL": (["Holland", "Delta", "Zuid", "Amstel", "Maas", "Noordzee"], ["tech", "logistics", "data", "works"],
           [" B.V.", " N.V."]),
}
CHANNELS = ["linkedin", "xing", "facebook", "email", "link", "other"]
IP_BLOCKS = ["84.134", "91.64", "178.27", "5.146", "93.199", "79.240", "185.44", "46.114", "213.61", "31.172",
             "89.64", "77.47", "194.44", "109.91", "37.57", "217.118"]
MOBILE_IP_BLOCKS = ["2.205", "176.0", "94.254", "151.23", "31.41", "188.163"]


@dataclass(eq=False)
class Company:
    name: str
    country: str
    currency: str
    sort: float


@dataclass(eq=False)
class Job:
    company: Company
    title: str
    bounty: int
    currency: str
    guarantee: int
    posted: dt.datetime
    closes: dt.datetime
    contract: bool
    sort: float


@dataclass(eq=False)
class ReferrerRec:
    person: Person  # the real person behind the account
    full_name: str
    email: str | None
    phone: str | None
    iban: str | None
    birth: dt.date | None
    city: str | None
    signed_up: dt.datetime
    updated: dt.datetime | None
    sort: float
    persona: Person | None = None  # the identity shown, when it is not the real person's


@dataclass(eq=False)
class CandidateRec:
    person: Person
    full_name: str
    email: str | None
    phone: str | None
    birth: dt.date | None
    city: str | None
    profile: str | None
    created: dt.datetime
    updated: dt.datetime | None
    sort: float


@dataclass(eq=False)
class Referral:
    referrer: ReferrerRec
    candidate: CandidateRec
    job: Job
    at: dt.datetime
    channel: str
    ip: str | None
    device: str | None
    sort: float


@dataclass(eq=False)
class Application:
    candidate: CandidateRec
    job: Job
    at: dt.datetime
    source: str
    sort: float


@dataclass(eq=False)
class Hire:
    referral: Referral | None
    candidate: CandidateRec
    job: Job
    hired_at: dt.datetime
    started: dt.date
    ended: dt.date | None
    reason: str | None
    updated: dt.datetime | None
    sort: float
    end_recorded: dt.datetime | None = None  # when the platform learnt of the end

    @property
    def eligible(self) -> dt.date:
        return self.started + dt.timedelta(days=self.job.guarantee)


@dataclass(eq=False)
class Payout:
    hire: Hire
    status: str
    released_at: dt.datetime | None
    updated: dt.datetime | None
    sort: float


@dataclass
class Label:
    pattern: str
    person: Person
    role: str
    records: dict = field(default_factory=dict)  # ordered sets: object -> True
    referrals: dict = field(default_factory=dict)
    hires: dict = field(default_factory=dict)


class World:
    def __init__(self, seed: int, scale: float, as_of: dt.date):
        self.rng = random.Random(seed)
        self.seed = seed
        self.scale = scale
        self.as_of = as_of
        self.end = dt.datetime.combine(as_of, dt.time())  # every timestamp is before the as-of day
        self.start = as_of.replace(year=as_of.year - 3) + DAY  # three years of referral history
        self._epoch = self.start - dt.timedelta(days=800)
        self.persons: list[Person] = []
        self.companies: list[Company] = []
        self.jobs: list[Job] = []
        self.referrers: list[ReferrerRec] = []
        self.candidates: list[CandidateRec] = []
        self.referrals: list[Referral] = []
        self.applications: list[Application] = []
        self.hires: list[Hire] = []
        self.payouts: list[Payout] = []
        self.labels: dict[tuple[str, int], Label] = {}
        self.honest_referrers: list[ReferrerRec] = []  # active honest accounts schemes may borrow
        self.power: list[ReferrerRec] = []
        self.honest_candidates: list[Person] = []
        self._week_jobs: dict[int, list[Job]] = defaultdict(list)
        self._cand_by_typist: dict[tuple[int, int], CandidateRec] = {}
        self._names: set[str] = set()
        self._mailboxes: set[str] = set()
        self.notes: dict[str, int] = defaultdict(int)  # look-alike counts for meta.json

    # ------------------------------------------------------------------ small helpers
    def n(self, base: float, minimum: int = 1) -> int:
        return max(minimum, int(round(base * self.scale)))

    def s(self) -> float:
        return self.rng.random()

    def uniform_days(self, lo: float, hi: float) -> dt.timedelta:
        return dt.timedelta(seconds=int(self.rng.uniform(lo, hi) * 86400))

    def at(self, day: dt.date, lo: int = 7, hi: int = 22) -> dt.datetime:
        """A moment on this day at a human hour (UTC)."""
        return dt.datetime.combine(day, dt.time()) + dt.timedelta(
            seconds=self.rng.randrange(lo * 3600, hi * 3600))

    def day_between(self, a: dt.date, b: dt.date) -> dt.date:
        if b <= a:
            return a
        return a + dt.timedelta(days=self.rng.randrange((b - a).days + 1))

    def time_between(self, a: dt.datetime, b: dt.datetime) -> dt.datetime:
        if b <= a:
            return a
        return a + dt.timedelta(seconds=self.rng.randrange(int((b - a).total_seconds())))

    def growth(self, t: dt.datetime | dt.date) -> float:
        """The platform grows: between two and three times the volume at the end of the history as at its start."""
        d = t.date() if isinstance(t, dt.datetime) else t
        frac = min(1.0, max(0.0, (d - self.start).days / (self.as_of - self.start).days))
        return 0.55 + 0.9 * frac

    def before_end(self, t: dt.datetime | None, floor: dt.datetime | None = None) -> dt.datetime | None:
        """Keep an update inside the history: a moment after as-of becomes a moment shortly before it."""
        if t is None:
            return None
        if t >= self.end:
            t = self.end - dt.timedelta(minutes=self.rng.randrange(30, 2000))
        if floor is not None and t < floor:
            t = floor + dt.timedelta(minutes=self.rng.randrange(1, 30))
            if t >= self.end:
                t = floor
        return t

    def poisson(self, lam: float) -> int:
        if lam <= 0:
            return 0
        if lam > 30:
            return max(0, int(round(self.rng.gauss(lam, math.sqrt(lam)))))
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    def pick(self, weighted: tuple[list, list]):
        return self.rng.choices(weighted[0], weighted[1])[0]

    # ------------------------------------------------------------------ people
    def person(self, culture: str | None = None, country: str | None = None, city: str | None = None,
               gender: str | None = None, birth: dt.date | None = None, honest: bool = True,
               age: tuple[int, int] = (22, 58), phone: pp.Phone | None | str = "new",
               family: pp.Name | None = None, given: pp.Name | None = None) -> Person:
        rng = self.rng
        country = country or self.pick(REFERRER_COUNTRIES)
        culture = culture or self.pick(RESIDENT_CULTURES[country])
        gender = gender or rng.choice("mf")
        g, f, m = pp.draw_name(rng, culture, gender)
        if family is not None:
            f = family
        if given is not None:
            g = given
        if birth is None:
            years = rng.uniform(*age)
            birth = self.as_of - dt.timedelta(days=int(years * 365.25))
        city = city or rng.choice(pp.CITIES[country])[0]
        if phone == "new":
            home = country
            if culture == "ua" and country != "UA" and rng.random() < 0.45:
                home = "UA"
            elif culture == "ru" and rng.random() < 0.5:
                home = "RU"
            phone = pp.make_mobile(rng, home)
        mail_country = "UA" if culture == "ua" and rng.random() < 0.5 else ("RU" if culture == "ru" and rng.random() < 0.5 else country)
        email = self.unique_email(lambda: pp.make_email(rng, g, f, birth, mail_country))
        p = Person(key=len(self.persons), culture=culture, gender=gender, given=g, family=f, middle=m,
                   birth=birth, country=country, city=city, phone=phone, email=email, honest=honest)
        if culture in ("ua", "ru"):
            p.self_script = "native" if rng.random() < 0.35 else "passport"
            p.middle_habit = 0.45 if p.self_script == "native" else 0.1
        else:
            p.self_script = "native" if rng.random() < 0.85 else "ascii"
            p.middle_habit = 0.3
        p.devices = [self.device_id() for _ in range(rng.choice((1, 1, 2, 3)))]
        p.ip_prefix = f"{rng.choice(IP_BLOCKS)}.{rng.randrange(0, 256)}"
        p.rank = rng.random()
        if rng.random() < 0.45:
            p.profile = self.unique_email(lambda: pp.make_profile(rng, p))
        self.persons.append(p)
        return p

    @staticmethod
    def mailbox(address: str) -> str:
        """The mailbox an address reaches (Gmail ignores dots, +tags and googlemail.com)."""
        local, _, domain = address.lower().partition("@")
        local = local.split("+")[0]
        if domain in ("gmail.com", "googlemail.com"):
            return local.replace(".", "") + "@gmail.com"
        return f"{local}@{domain}"

    def unique_email(self, make) -> str:
        """A new address (or profile link) nobody else has: one mailbox belongs to one person."""
        for attempt in range(20):
            value = make()
            if attempt > 5 and "@" in value:
                local, domain = value.split("@")
                value = f"{local}{self.rng.randrange(2, 999)}@{domain}"
            elif attempt > 5:
                value = f"{value}{self.rng.randrange(2, 999)}"
            key = self.mailbox(value) if "@" in value else value.lower()
            if key not in self._mailboxes:
                self._mailboxes.add(key)
                return value
        raise RuntimeError("no unique address")

    def device_id(self) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(16))

    def iban_for(self, p: Person) -> str:
        if p.iban is None:
            country = p.country
            if p.culture == "ua" and country not in ("UA",) and self.rng.random() < 0.25:
                country = "UA"
            p.iban = pp.make_iban(self.rng, country)
        return p.iban

    def alias(self, p: Person) -> str:
        """A second mailbox: another provider, another local part."""
        if p.alias is None:
            rng = self.rng
            domain = p.email.split("@")[1]
            choices = [d for d in pp.DOMAINS.get(p.country, pp.DOMAINS["DE"]) + ["outlook.com", "proton.me",
                                                                                   "yahoo.com"] if d != domain]

            def make() -> str:
                local = rng.choice([
                    f"{pp.ascii_local(p.family)}.{pp.ascii_local(p.given)[:1]}",
                    f"{pp.ascii_local(p.given)}.{pp.ascii_local(p.family)}.work",
                    f"{pp.ascii_local(p.given)}{rng.randrange(100, 999)}",
                    f"{pp.ascii_local(p.family)}{p.birth.year}",
                    f"{pp.ascii_local(p.given)[:1]}{pp.ascii_local(p.family)}.{rng.choice(['job', 'pro', 'mail'])}",
                ])
                return f"{local}@{rng.choice(choices)}"

            p.alias = self.unique_email(make)
        return p.alias

    def uni_email(self, p: Person) -> str:
        """A student's university mailbox (the referrer's fellow students share its domain)."""
        if p.uni_email is None:
            p.uni_email = self.unique_email(
                lambda: f"{pp.ascii_local(p.given)}.{pp.ascii_local(p.family)}@{p.uni}")
        return p.uni_email

    def ip_for(self, p: Person) -> str | None:
        r = self.rng.random()
        if r < 0.1:
            return None
        if r < 0.75:
            return f"{p.ip_prefix}.{self.rng.randrange(2, 254)}"
        return f"{self.rng.choice(MOBILE_IP_BLOCKS)}.{self.rng.randrange(0, 256)}.{self.rng.randrange(2, 254)}"

    # ------------------------------------------------------------------ records
    def referrer(self, p: Person, signed_up: dt.datetime, iban: str | None | bool = True,
                 persona: Person | None = None, mode: str = "self", honest_pool: bool = False) -> ReferrerRec:
        """A referrer account of person p; persona: the (made-up) identity the account shows instead."""
        rng = self.rng
        who = persona or p
        if iban is True:
            iban_text = pp.format_iban(rng, self.iban_for(p))
        elif iban:
            iban_text = iban  # already typed
        else:
            iban_text = None
        email = pp.email_variant(rng, who.email, mode, alias=self.alias(who) if mode == "disguise" else None)
        updated = None
        if rng.random() < 0.4:
            updated = self.before_end(signed_up + self.uniform_days(1, 500), floor=signed_up)
        rec = ReferrerRec(
            person=p, full_name=pp.full_name(rng, who, mode), email=email,
            phone=pp.format_phone(rng, who.phone) if who.phone and rng.random() < 0.85 else None,
            iban=iban_text, birth=who.birth if rng.random() < 0.85 else None,
            city=pp.city_spelling(rng, who.country, who.city, "self") if rng.random() < 0.93 else None,
            signed_up=signed_up, updated=updated, sort=rng.random(), persona=persona)
        self.referrers.append(rec)
        if honest_pool:
            self.honest_referrers.append(rec)
        return rec

    def candidate(self, p: Person, created: dt.datetime, typer: Person | None = None,
                  mode: str = "other") -> CandidateRec:
        rng = self.rng
        if p.fake:
            rec = CandidateRec(p, pp.full_name(rng, p, "self"), p.email, None, None,
                               None if rng.random() < 0.5 else pp.city_spelling(rng, p.country, p.city, "other"),
                               None, created, None, rng.random())
            self.candidates.append(rec)
            return rec
        if mode == "self":
            email = pp.email_variant(rng, p.email, "self")
            keep = dict(phone=0.9, birth=0.8, profile=0.6, city=0.92)
        elif mode == "other":
            email = pp.email_variant(rng, p.email, "other") if rng.random() < 0.93 else None
            keep = dict(phone=0.6, birth=0.35, profile=0.45, city=0.8)
        else:
            email = pp.email_variant(rng, p.email, "disguise", alias=self.alias(p))
            keep = dict(phone=0.5, birth=0.75, profile=0.1, city=0.7)
        if p.uni and mode == "other" and rng.random() < 0.5:
            email = self.uni_email(p)
        updated = None
        if rng.random() < 0.2:
            updated = self.before_end(created + self.uniform_days(1, 300), floor=created)
        rec = CandidateRec(
            person=p, full_name=pp.full_name(rng, p, mode, typer.culture if typer else None), email=email,
            phone=pp.format_phone(rng, p.phone) if p.phone and rng.random() < keep["phone"] else None,
            birth=p.birth if rng.random() < keep["birth"] else None,
            city=pp.city_spelling(rng, p.country, p.city, "self" if mode == "self" else "other")
            if rng.random() < keep["city"] else None,
            profile=pp.profile_spelling(rng, p.profile) if p.profile and rng.random() < keep["profile"] else None,
            created=created, updated=updated, sort=rng.random())
        self.candidates.append(rec)
        return rec

    def candidate_for(self, rrec: ReferrerRec, p: Person, at: dt.datetime, mode: str = "other",
                      reuse: bool = True) -> CandidateRec:
        """The referrer's record of this candidate: a referrer keeps one record per person they refer."""
        key = (rrec.person.key, p.key)
        rec = self._cand_by_typist.get(key)
        if rec is not None and reuse and rec.created < at:
            return rec
        typist = rrec.persona or rrec.person
        rec = self.candidate(p, at - dt.timedelta(minutes=self.rng.randrange(1, 45)), typist, mode)
        self._cand_by_typist[key] = rec
        return rec

    # ------------------------------------------------------------------ companies and jobs
    def company(self, country: str | None = None) -> Company:
        rng = self.rng
        country = country or self.pick(COMPANY_COUNTRIES)
        a, b, c = COMPANY_WORDS[country]
        for _ in range(100):
            name = rng.choice(a) + rng.choice(b) + rng.choice(c)
            if country == "UA" and name.endswith(" ТОВ"):
                name = "ТОВ «" + name[:-4] + "»"
            if name not in self._names:
                break
        else:
            name = f"{name} {len(self.companies)}"
        self._names.add(name)
        co = Company(name, country, CURRENCY[country], rng.random())
        self.companies.append(co)
        return co

    def week(self, t: dt.datetime) -> int:
        return (t.date() - self._epoch).days // 7

    def job(self, company: Company, posted: dt.datetime, contract: bool = False,
            guarantee: int | None = None) -> Job:
        rng = self.rng
        if contract:
            title, g = rng.choice(CONTRACT_TITLES), guarantee or 30
        else:
            title = rng.choice(TITLES[company.country])
            g = guarantee or self.pick(GUARANTEES)
            if company.country == "UA" and guarantee is None and g > 90:
                g = rng.choice((30, 60, 90))
        bounty = rng.choice(BOUNTIES[company.currency])
        if contract:
            bounty = max(BOUNTIES[company.currency])
        closes = posted + self.uniform_days(30, 150)
        j = Job(company, title, bounty, company.currency, g, posted, closes, contract, rng.random())
        self.jobs.append(j)
        for w in range(self.week(posted), self.week(closes) + 1):
            self._week_jobs[w].append(j)
        return j

    def build_market(self) -> None:
        rng = self.rng
        for _ in range(self.n(80, 18)):
            self.company()
        weights = [rng.lognormvariate(0, 0.8) for _ in self.companies]
        n_jobs = self.n(620, 150)
        t0 = dt.datetime.combine(self.start - dt.timedelta(days=120), dt.time())
        span = (self.end - t0).total_seconds() - 3 * 86400
        made = 0
        while made < n_jobs:
            t = t0 + dt.timedelta(seconds=rng.randrange(int(span)))
            if rng.random() * 1.35 > self.growth(t):
                continue
            co = rng.choices(self.companies, weights)[0]
            contract = co.country in ("DE", "AT", "CH", "NL") and rng.random() < 0.08
            self.job(co, self.at(t.date(), 6, 18), contract=contract)
            made += 1

    def job_at(self, t: dt.datetime, country: str | None = None, allow=None, guarantees=None,
               contract: bool = False, company: Company | None = None, prefer: float = 0.75) -> Job:
        """A job open at t (posted before it, not yet closed) meeting the conditions; if the market has
        none, a company posts one a few weeks before t."""
        rng = self.rng
        pool = [j for j in self._week_jobs[self.week(t)]
                if j.posted < t <= j.closes and j.contract == contract
                and (company is None or j.company is company)
                and (guarantees is None or j.guarantee in guarantees)]
        if allow is not None:
            pool = [j for j in pool if allow(j.company)]
        if country and pool and rng.random() < prefer:
            local = [j for j in pool if j.company.country == country]
            pool = local or pool
        if pool:
            return rng.choice(pool)
        for _ in range(30):
            co = company or (rng.choice([c for c in self.companies if c.country == country] or self.companies)
                             if country and rng.random() < prefer else rng.choice(self.companies))
            if allow is None or allow(co):
                break
        else:
            co = self.company(country)
        posted = t - self.uniform_days(4, 40)
        g = rng.choice(guarantees) if guarantees else None
        return self.job(co, posted, contract=contract, guarantee=g)

    # ------------------------------------------------------------------ events
    @staticmethod
    def may_refer(p: Person, referrer_person: Person, company: Company) -> bool:
        """Honest data never makes a duplicate: nobody else referred, employed or saw an application
        of this person at this company (the same referrer may refer a friend to a second job there)."""
        k = p.known.get(id(company))
        if k is None:
            return True
        return not k["app"] and not k["hire"] and all(r == referrer_person.key for r in k["refs"])

    @staticmethod
    def unknown_at(p: Person, company: Company) -> bool:
        return id(company) not in p.known

    def _known(self, p: Person, company: Company) -> dict:
        return p.known.setdefault(id(company), {"refs": {}, "app": False, "hire": False})

    def refer(self, rrec: ReferrerRec, crec: CandidateRec, job: Job, at: dt.datetime,
              channel: str | None = None, ip: str | None | bool = True, device: str | None | bool = True,
              mirror: float = 0.2) -> Referral:
        rng = self.rng
        assert at < self.end and at >= rrec.signed_up and at >= crec.created
        actor = rrec.person
        if channel is None:
            channel = rng.choices(CHANNELS, [34, 14 if job.company.country in ("DE", "AT", "CH") else 3, 18, 14, 14, 6])[0]
        if ip is True:
            ip = self.ip_for(actor)
        if device is True:
            device = rng.choice(actor.devices) if rng.random() < 0.87 else None
        r = Referral(rrec, crec, job, at, channel, ip or None, device or None, rng.random())
        self.referrals.append(r)
        self._known(crec.person, job.company)["refs"][actor.key] = True
        if crec.person not in actor.referred and crec.person is not actor:
            actor.referred.append(crec.person)
        if mirror and rng.random() < mirror:
            # the client's applicant tracking system logs the referred candidate as an application
            t = at + dt.timedelta(minutes=rng.randrange(2, 1440))
            if t < self.end:
                self.applications.append(Application(crec, job, t, "referral", rng.random()))
        return r

    def apply(self, crec: CandidateRec, job: Job, at: dt.datetime, source: str = "direct") -> Application:
        assert at < self.end and at >= crec.created
        a = Application(crec, job, at, source, self.rng.random())
        self.applications.append(a)
        if source != "referral":
            self._known(crec.person, job.company)["app"] = True
        return a

    def free_for(self, p: Person, start: dt.date, min_tenure_to_leave: int = 540) -> bool:
        """Can p start a new job on `start`? A long-running job is ended (resigned) just before it."""
        for h in p.stints:
            if h.started >= start:
                return False
            if h.ended is not None and h.ended < start:
                continue
            if h.ended is None and (start - h.started).days >= min_tenure_to_leave:
                continue
            return False
        for h in p.stints:
            if h.ended is None and h.started < start:
                self.end_hire(h, start - dt.timedelta(days=self.rng.randrange(1, 15)), "resigned")
        return True

    def end_hire(self, h: Hire, ended: dt.date, reason: str, record_delay: tuple[int, int] = (0, 20)) -> None:
        if ended > self.as_of:
            h.ended, h.reason = None, None
            return
        h.ended, h.reason = ended, reason
        delay = self.rng.randrange(*record_delay)
        if record_delay == (0, 20) and self.rng.random() < 0.22:
            delay = self.rng.randrange(25, 200)  # the client tells the platform months later
        recorded = self.at(ended + dt.timedelta(days=delay), 6, 20)
        h.end_recorded = self.before_end(recorded, floor=h.hired_at)
        h.updated = h.end_recorded

    def hire(self, referral: Referral | None, crec: CandidateRec, job: Job, hired_at: dt.datetime,
             started: dt.date, ended: dt.date | None = None, reason: str | None = None,
             record_delay: tuple[int, int] = (0, 20)) -> Hire | None:
        """Record a hire; None when it would start after the as-of date (not in the data yet)."""
        if started > self.as_of or hired_at >= self.end:
            return None
        rng = self.rng
        assert started >= hired_at.date()
        upd = self.before_end(hired_at + dt.timedelta(minutes=rng.randrange(5, 60 * 24 * 5)), floor=hired_at)
        h = Hire(referral, crec, job, hired_at, started, None, None, upd if rng.random() < 0.8 else None,
                 rng.random())
        if ended is not None:
            self.end_hire(h, ended, reason or "resigned", record_delay)
        self.hires.append(h)
        crec.person.stints.append(h)
        self._known(crec.person, job.company)["hire"] = True
        return h

    # ------------------------------------------------------------------ labels
    def label(self, pattern: str, person: Person, role: str, records=(), referrals=(), hires=()) -> Label:
        lab = self.labels.get((pattern, person.key))
        if lab is None:
            lab = self.labels[(pattern, person.key)] = Label(pattern, person, role)
        for r in records:
            lab.records[r] = True
        for r in referrals:
            lab.referrals[r] = True
        for h in hires:
            if h is not None:
                lab.hires[h] = True
        return lab

    # ------------------------------------------------------------------ typical timings
    def hire_lag(self, fast: float = 0.05) -> dt.timedelta:
        """Referral to signed offer: weeks usually, 3-10 days for a genuinely fast process."""
        if self.rng.random() < fast:
            return self.uniform_days(3.05, 10)
        days = math.exp(self.rng.gauss(math.log(30), 0.45))
        return self.uniform_days(min(max(days, 11), 120), min(max(days, 11), 120) + 0.9)

    def notice(self, job: Job) -> dt.timedelta:
        r = self.rng.random()
        if job.contract:
            return dt.timedelta(days=self.rng.randrange(3, 15))
        if r < 0.4:
            return dt.timedelta(days=self.rng.randrange(7, 22))
        if r < 0.8:
            return dt.timedelta(days=self.rng.randrange(28, 46))
        return dt.timedelta(days=self.rng.randrange(56, 96))

    def honest_tenure(self, job: Job, started: dt.date) -> tuple[dt.date | None, str | None]:
        """How long an honest hire stays: mostly long, sometimes a failed probation or a quick exit."""
        rng, g = self.rng, job.guarantee
        d = dt.timedelta
        if job.contract:
            return started + d(days=rng.randrange(g + 60, 320)), "contract_end"
        r = rng.random()
        if r < 0.055 and g >= 20:
            reason = rng.choices(["probation_failed", "resigned", "dismissed", "other"], [40, 35, 20, 5])[0]
            return started + d(days=rng.randrange(5, g - 3)), reason
        if r < 0.075:
            return started + d(days=g + rng.randrange(4, 21)), "resigned"  # once: just after the guarantee
        if r < 0.13:
            lo = g + 25
            hi = max(lo + 20, 182) if lo < 160 else lo + 120
            return started + d(days=rng.randrange(lo, hi)), rng.choice(["resigned", "probation_failed", "dismissed"])
        if r < 0.28:
            return started + d(days=rng.randrange(max(183, g + 30), 541)), rng.choice(["resigned", "resigned", "dismissed", "other"])
        return started + d(days=rng.randrange(541, 1500)), "resigned"
