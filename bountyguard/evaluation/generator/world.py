"""The simulated platform: people and their records, companies and jobs, the honest background with
its look-alikes, payouts, ids and the rows of the landing tables. The abuse schemes (`schemes/`) and
the truth (`truth.py`) work on it."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np

from bountyguard.contract import PATTERNS
from bountyguard.evaluation.generator import disguise as dz
from bountyguard.evaluation.generator.records import (
    Application,
    BUCKET,
    CHANNEL_WEIGHTS,
    COMMON_NAMES,
    COMPANY_COUNTRIES,
    COMPANY_STEMS,
    COMPANY_TAILS,
    Candidate,
    Company,
    DAY,
    DUE_WINDOW_DAYS,
    GUARANTEES,
    HISTORY_DAYS,
    Hire,
    IP_FIRST_OCTETS,
    JOB_TITLES,
    Job,
    LEGAL_FORMS,
    Payout,
    Person,
    Referral,
    Referrer,
    _surname_for,
)


class World:
    def __init__(self, seed: int, scale: float, as_of: date):
        self.seed, self.scale, self.as_of = seed, scale, as_of
        self.start = as_of - timedelta(days=HISTORY_DAYS)
        self.D = HISTORY_DAYS  # as_of as a day number
        self.persons: list[Person] = []
        self.referrers: list[Referrer] = []
        self.candidates: list[Candidate] = []
        self.companies: list[Company] = []
        self.jobs: list[Job] = []
        self.referrals: list[Referral] = []
        self.applications: list[Application] = []
        self.hires: list[Hire] = []
        self.payouts: list[Payout] = []
        self.labels: dict[str, dict[Person, dict]] = {p: {} for p in PATTERNS}
        self.used_emails: set[str] = set()
        self.used_phones: set[tuple] = set()
        self.used_ibans: set[str] = set()
        self.seq = 0
        self.honest_referrers: list[Referrer] = []
        self.reserved: set[Referrer] = set()  # honest referrers already used to carry an injected pattern
        self.rng = np.random.default_rng([seed, 0])

    # -- small random helpers (all draws go through self.rng, so the stream is one deterministic sequence)

    def ri(self, a: int, b: int) -> int:
        """Uniform integer in [a, b], both ends included."""
        return int(self.rng.integers(a, b + 1))

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def pick(self, seq):
        return seq[int(self.rng.integers(len(seq)))]

    def ts(self, day: int) -> int:
        """A time on `day` during waking hours."""
        return day * DAY + self.ri(7 * 60, 22 * 60 - 1)

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def n(self, base: float, minimum: int = 5) -> int:
        return max(minimum, int(round(base * self.scale)))

    # -- people and their records ----------------------------------------------------------------------

    def new_person(self, country=None, origin=None, gender=None, name=None, city=None, phone=None,
                   birth=None) -> Person:
        rng = self.rng
        country = country or dz.pick_weighted(rng, dz.COUNTRY_WEIGHTS)
        origin = origin or (name or {}).get("origin") or dz.pick_weighted(rng, dz.ORIGIN_BY_COUNTRY[country])
        gender = gender or (name or {}).get("gender") or ("m" if self.chance(0.55) else "f")
        name = dict(name) if name else dz.new_name(rng, origin, gender)
        if birth is None:
            birth = date(1962, 1, 1) + timedelta(days=self.ri(0, 15700))
        city = city or self.pick(dz.CITIES[country])
        if phone is None:
            while True:
                phone = dz.new_phone(country, rng)
                if phone not in self.used_phones:
                    break
        self.used_phones.add(phone)
        email = self.unique_email(name, birth.year, country)
        while True:
            iban = dz.new_iban(country, rng)
            if iban not in self.used_ibans:
                self.used_ibans.add(iban)
                break
        cyr = dz.is_cyrillic(name["given"])
        script = "cyr" if cyr and self.chance(0.5 if country == "UA" else 0.15) else "lat"
        person = Person(len(self.persons), name, birth, country, city, phone, self.pick(dz.PHONE_STYLES), email,
                        iban, self.pick(dz.IBAN_STYLES), script)
        self.persons.append(person)
        return person

    def unique_email(self, name, birth_year, country) -> str:
        for attempt in range(20):
            email = dz.new_email(name, birth_year, country, self.rng)
            if attempt > 4:
                local, domain = email.split("@")
                email = f"{local}{self.ri(2, 9999)}@{domain}"
            if email not in self.used_emails:
                self.used_emails.add(email)
                return email
        raise RuntimeError("could not find a free e-mail address")

    def _usual(self, person: Person) -> dict:
        """How the person fills in a form normally (each field may be left empty)."""
        return {
            "full_name": dz.usual_name(person.name, person.script),
            "email": person.email if self.chance(0.97) else "",
            "phone": dz.format_phone(person.country, person.phone, person.phone_style) if self.chance(0.85) else "",
            "birth": person.birth.isoformat() if self.chance(0.88) else "",
            "city": person.city[0] if self.chance(0.95) else "",
        }

    def _exact(self, person: Person) -> dict:
        """The very same identifiers as the usual form (the sloppy abuser): same e-mail and phone string."""
        return {"full_name": dz.usual_name(person.name, person.script), "email": person.email,
                "phone": dz.format_phone(person.country, person.phone, person.phone_style),
                "birth": person.birth.isoformat(), "city": person.city[0]}

    def _disguised(self, person: Person, avoid=()) -> dict:
        """The same person made to look different; still linkable by a careful identity resolver."""
        for _ in range(10):  # an abuser opening record after record makes each one look new
            fields = self._disguise_once(person)
            if (fields["full_name"], fields["email"]) not in avoid:
                break
        return fields

    def _disguise_once(self, person: Person) -> dict:
        rng = self.rng
        usual = dz.usual_name(person.name, person.script)
        full_name = dz.disguised_name(person.name, rng, avoid=usual)
        roll = rng.random()
        fresh_mailbox = False
        if roll < 0.72:
            email = dz.email_alias(person.email, rng, person.country, person.name, person.birth.year)
        elif roll < 0.9:
            email = self.unique_email(person.name, person.birth.year, person.country)
            fresh_mailbox = True
        else:
            email = ""
        styles = [s for s in dz.PHONE_STYLES if s != person.phone_style]
        if fresh_mailbox or not email or self.chance(0.8):
            phone = dz.format_phone(person.country, person.phone, self.pick(styles))
        else:
            phone = ""
        # the birth date is kept: it is on the ID card the platform checks at payout time
        birth = person.birth.isoformat() if (fresh_mailbox or not email or self.chance(0.9)) else ""
        city = self.pick(person.city) if self.chance(0.9) else ""
        return {"full_name": full_name, "email": email, "phone": phone, "birth": birth, "city": city}

    def _devices(self, person: Person):
        devices = [f"{int(self.rng.integers(2**48)):012x}" for _ in range(self.ri(1, 2))]
        ips = [self.random_ip(person.country) for _ in range(self.ri(1, 3))]
        return devices, ips

    def random_ip(self, country: str) -> str:
        return (f"{self.pick(IP_FIRST_OCTETS[country])}.{self.ri(0, 255)}.{self.ri(0, 255)}."
                f"{self.ri(1, 254)}")

    def new_referrer(self, person: Person, signup_day: int, form: str = "usual", iban_text: str | None = None,
                     tier: str = "abuse") -> Referrer:
        fields = {"usual": self._usual, "exact": self._exact, "disguised": self._disguised}[form](person)
        if iban_text is None:
            iban_text = dz.format_iban(person.iban, person.iban_style) if self.chance(0.93) else ""
        devices, ips = self._devices(person)
        update = self.ri(1, 400) * DAY + self.ri(0, DAY - 1) if self.chance(0.3) else None
        rec = Referrer(person, self.ts(signup_day), fields["full_name"], fields["email"], fields["phone"], iban_text,
                       fields["birth"], fields["city"], update, devices, ips, tier=tier, seq=self.next_seq())
        self.referrers.append(rec)
        return rec

    def new_candidate(self, person: Person, form: str = "usual", avoid=()) -> Candidate:
        fields = (self._disguised(person, avoid) if form == "disguised"
                  else {"usual": self._usual, "exact": self._exact}[form](person))
        if form == "disguised":
            profile = dz.new_profile_url(person.name, self.rng) if self.chance(0.3) else ""
        else:
            profile = getattr(person, "_profile", None)
            if profile is None:
                profile = dz.new_profile_url(person.name, self.rng) if self.chance(0.55) else ""
                person._profile = profile
            if form == "usual" and not self.chance(0.9):
                profile = ""
        # most profiles are created by the referrer minutes before the referral, some long before
        offset = self.ri(1, 15) if self.chance(0.65) else self.ri(1, 200) * DAY + self.ri(0, DAY - 1)
        update = self.ri(1, 300) * DAY + self.ri(0, DAY - 1) if self.chance(0.25) else None
        rec = Candidate(person, fields["full_name"], fields["email"], fields["phone"], fields["birth"],
                        fields["city"], profile, offset, update, seq=self.next_seq())
        self.candidates.append(rec)
        return rec

    # -- companies and jobs ----------------------------------------------------------------------------

    def make_companies_and_jobs(self):
        names = set()
        for _ in range(self.n(200, 40)):
            country = dz.pick_weighted(self.rng, COMPANY_COUNTRIES)
            while True:
                name = f"{self.pick(COMPANY_STEMS)}{self.pick(COMPANY_TAILS)} {self.pick(LEGAL_FORMS[country])}"
                if name not in names:
                    names.add(name)
                    break
            self.companies.append(Company(name, country, self.next_seq()))
        # a few big employers post most jobs
        weights = np.array([1.0 / (1 + i) ** 0.6 for i in range(len(self.companies))])
        weights /= weights.sum()
        for _ in range(self.n(1500, 300)):
            company = self.companies[int(self.rng.choice(len(self.companies), p=weights))]
            title, base = self.pick(JOB_TITLES)
            amount = base * (0.8 + 0.5 * self.rng.random())
            currency = "EUR"
            if company.country == "CH":
                currency, amount = "CHF", amount * 1.1
            elif company.country == "PL" and self.chance(0.8):
                currency, amount = "PLN", amount * 4.3
            elif company.country == "UA":
                amount *= 0.6
            step = 100 if currency == "PLN" else 50
            amount = max(step, int(round(amount / step)) * step)
            g = int(dz.pick_weighted(self.rng, GUARANTEES))
            posted_day = self.ri(-150, self.D - 30)
            close_day = min(self.D, posted_day + self.ri(60, 420))
            job = Job(company, title, f"{amount:.2f}", currency, g, self.ts(posted_day), close_day,
                      self.next_seq())
            self.jobs.append(job)
            company.jobs.append(job)
        self.job_buckets = []
        for b in range(self.D // BUCKET + 1):
            lo, hi = b * BUCKET, b * BUCKET + BUCKET - 1
            self.job_buckets.append([j for j in self.jobs if j.posted // DAY < lo and j.close_day >= hi])

    def pick_job(self, day: int, exclude=(), g_allowed=None) -> Job | None:
        b = day // BUCKET
        pool = self.job_buckets[b] if 0 <= b < len(self.job_buckets) else []
        ok = lambda j: j.company not in exclude and (g_allowed is None or j.g in g_allowed)  # noqa: E731
        for _ in range(30):
            if not pool:
                break
            job = pool[int(self.rng.integers(len(pool)))]
            if ok(job):
                return job
        options = [j for j in pool if ok(j)] or [
            j for j in self.jobs if j.posted // DAY < day <= j.close_day and ok(j)]
        return self.pick(options) if options else None

    def company_job_open(self, company: Company, day: int) -> Job | None:
        options = [j for j in company.jobs if j.posted // DAY < day <= j.close_day]
        return self.pick(options) if options else None

    # -- events ----------------------------------------------------------------------------------------

    def add_referral(self, referrer: Referrer, candidate: Candidate, job: Job, t: int) -> Referral:
        assert t > referrer.signup and t > job.posted and 0 <= t < (self.D + 1) * DAY
        channel = dz.pick_weighted(self.rng, CHANNEL_WEIGHTS)
        roll = self.rng.random()
        ip = "" if roll < 0.05 else (self.random_ip(referrer.person.country) if roll < 0.15
                                     else self.pick(referrer.ips))
        device = "" if self.chance(0.05) else self.pick(referrer.devices)
        ref = Referral(referrer, candidate, job, t, channel, ip, device, self.next_seq())
        self.referrals.append(ref)
        if self.chance(0.3):  # the platform logs the referred candidate's application too
            at = min(t + self.ri(10, 3 * DAY), (self.D + 1) * DAY - 1)
            self.add_application(candidate, job, at, "referral")
        return ref

    def add_application(self, candidate: Candidate, job: Job, t: int, source: str) -> Application | None:
        if t >= (self.D + 1) * DAY:
            return None  # would happen after the as-of date: does not exist yet
        assert t >= 0 and t > job.posted
        app = Application(candidate, job, t, source, self.next_seq())
        self.applications.append(app)
        return app

    def add_hire(self, referral: Referral | None, candidate: Candidate, job: Job, hired: int, start: int,
                 end: int | None, reason: str = "") -> Hire:
        assert start <= self.D and hired < (start + 1) * DAY and (end is None or start <= end <= self.D)
        if referral is not None:
            assert referral.t < hired and referral.candidate is candidate and referral.job is job
        if end is not None:
            updated = min(end * DAY + self.ri(0, 10) * DAY + self.ri(6 * 60, 20 * 60), (self.D + 1) * DAY - 1)
            reason = reason or dz.pick_weighted(self.rng, {"resigned": .6, "dismissed": .1, "contract_end": .25,
                                                           "other": .05})
        else:
            updated = hired + self.ri(1, 3) * DAY if self.chance(0.3) else None
            if updated is not None and updated >= (self.D + 1) * DAY:
                updated = None
            reason = ""
        hire = Hire(referral, candidate, job, hired, start, end, reason, updated, self.next_seq())
        self.hires.append(hire)
        return hire

    def hire_after(self, referral: Referral, lead_days: int, tenure: int | None, reason: str = "",
                   start_delay: tuple = (7, 45), min_start: int | None = None) -> Hire | None:
        """Hire the referred candidate `lead_days` later; None when that lies beyond the as-of date."""
        hired_day = referral.t // DAY + lead_days
        hired = self.ts(hired_day)
        if hired <= referral.t:
            hired = referral.t + self.ri(60, 600)
        start = hired // DAY + self.ri(*start_delay)
        if min_start is not None:
            start = max(start, min_start)
        if hired >= (self.D + 1) * DAY or start > self.D:
            return None
        end = start + tenure if tenure is not None and start + tenure <= self.D else None
        return self.add_hire(referral, referral.candidate, referral.job, hired, start, end,
                             reason if end is not None else "")

    # -- honest referrers: steady volume, pre-planned as dated slots -----------------------------------

    def make_honest_referrers(self):
        D = self.D
        self.slots: list[list[Referrer]] = [[] for _ in range(D + 1)]
        n_total = self.n(1380, 200)
        for _ in range(n_total):
            roll = self.rng.random()
            if roll < 0.02:
                tier, length, count = "power", self.ri(640, 900), self.ri(50, 150)
                signup = self.ri(-60, D - 560)
            elif roll < 0.32:
                tier, length, count = "regular", self.ri(200, 1000), self.ri(6, 24)
                signup = self.growing(-60, D - 60)
            else:
                tier, length, count = "casual", self.ri(20, 500), int(self.pick([1, 1, 2, 2, 3, 4, 5, 6]))
                signup = self.growing(-60, D - 20)
            person = self.new_person()
            rec = self.new_referrer(person, signup, tier=tier)
            self.plan_slots(rec, signup, length, count)
            self.honest_referrers.append(rec)
            if tier != "power" and self.chance(0.035):
                self.make_family(rec)
        self.make_namesakes()

    def growing(self, first: int, last: int) -> int:
        """A sign-up day on a growing platform: three times as many sign-ups at the end as at the start."""
        u = self.rng.random()
        # inverse of the cumulative of the linear density (1 + 2x) / 2 on [0, 1]: x = (sqrt(1 + 8u) - 1) / 2
        return first + int((last - first) * ((1 + 8 * u) ** 0.5 - 1) / 2)

    def plan_slots(self, rec: Referrer, signup: int, length: int, count: int):
        first = max(0, signup + 1)
        last = min(self.D, max(first + 10, signup + length))
        rec.active_end = last
        # a steady rate: an activity cut off by the history's start or the as-of date keeps its pace
        # instead of squeezing all its referrals into the visible part (that would look like a spike)
        count = max(1, int(round(count * (last - first + 1) / max(length, 1))))
        for _ in range(count):
            self.slots[self.ri(first, last)].append(rec)

    def make_family(self, rec: Referrer):
        """Relatives share a surname, a city and the household phone, and are still different people."""
        head = rec.person
        for _ in range(self.ri(1, 2)):
            gender = "m" if self.chance(0.5) else "f"
            name = dz.new_name(self.rng, head.name["origin"], gender)
            name["surname"] = _surname_for(head.name["surname"], gender)
            name["middle"] = ""
            while name["given"] == head.name["given"]:
                name["given"] = dz.new_name(self.rng, head.name["origin"], gender)["given"]
            if self.chance(0.5):  # a sibling
                years, sign = self.ri(2, 8), (1 if head.birth.year < 1995 else -1)
            else:  # a child of the referrer, or a parent
                years = self.ri(20, 32)
                sign = 1 if head.birth.year + years <= 2006 else -1
            birth = head.birth + timedelta(days=sign * (365 * years + self.ri(10, 300)))
            member = self.new_person(country=head.country, name=name, city=head.city, phone=head.phone,
                                     birth=birth)
            member._family_referrer = rec if self.chance(0.6) else None
            self.special_candidates.append(member)

    def make_namesakes(self):
        """Different people with one common name: different birth dates, contacts and cities."""
        for g in range(self.n(30, 6)):
            given, surname, origin, gender = COMMON_NAMES[g % len(COMMON_NAMES)]
            name = {"given": given, "middle": "", "surname": surname, "origin": origin, "gender": gender}
            size = self.ri(2, 3)
            members, births, cities = [], set(), set()
            for _ in range(size):
                while True:
                    country = dz.pick_weighted(self.rng, dz.COUNTRY_WEIGHTS)
                    city = self.pick(dz.CITIES[country])
                    birth = date(1965, 1, 1) + timedelta(days=self.ri(0, 13500))
                    if city[0] not in cities and all(abs((birth - b).days) > 400 for b in births):
                        break
                cities.add(city[0])
                births.add(birth)
                members.append(self.new_person(country=country, name=name, city=city, birth=birth))
            if self.chance(0.4):
                # one namesake refers the other: not a self-referral
                signup = self.ri(0, self.D - 400)
                rec = self.new_referrer(members[0], signup, tier="regular")
                self.plan_slots(rec, signup, self.ri(200, 600), self.ri(3, 10))
                self.honest_referrers.append(rec)
                members[1]._family_referrer = rec
                rest = members[1:]
            else:
                rest = members
            self.special_candidates.extend(rest)

    def take_slot(self, day: int, person: Person, pure_only: bool) -> tuple[Referrer | None, int]:
        for r in range(0, 40):
            for d in ((day,) if r == 0 else (day - r, day + r)):
                if 0 <= d <= self.D and self.slots[d]:
                    lst = self.slots[d]
                    for k in range(len(lst) - 1, -1, -1):
                        ref = lst[k]
                        if ref.person is person or (pure_only and not ref.pure):
                            continue
                        lst.pop(k)
                        return ref, d
        ref = self.honest_referrer_at(day, exclude=(person,), pure_only=pure_only)
        return ref, day

    def honest_referrer_at(self, day: int, exclude=(), pure_only=True, tiers=("regular", "casual", "power"),
                           avoid_reserved=False) -> Referrer | None:
        pool = self.honest_referrers
        for attempt in range(400):
            ref = pool[int(self.rng.integers(len(pool)))]
            if (ref.signup < day * DAY and ref.person not in exclude and (ref.pure or not pure_only)
                    and ref.tier in tiers and not (avoid_reserved and ref in self.reserved)
                    and (attempt > 200 or day <= ref.active_end + 60)):
                return ref
        return None

    # -- honest careers --------------------------------------------------------------------------------

    def honest_background(self):
        self.special_candidates: list[Person] = []
        self.make_honest_referrers()
        self.once_hires: list[Hire] = []  # single-stint honest hires: where late corrections can happen
        D = self.D
        # referrers who were once candidates themselves (placed by someone else): both roles, no abuse
        for rec in self.honest_referrers:
            if rec.tier != "power" and self.chance(0.04):
                rec.pure = False
        dual = [r for r in self.honest_referrers if not r.pure]
        for rec in dual:
            form = "exact" if self.chance(0.5) else "disguised"
            cand = self.new_candidate(rec.person, form)
            self.career(rec.person, [cand], "once", pure_only=True)
        for person in self.special_candidates:
            cand = self.new_candidate(person)
            kind = "once" if self.chance(0.5) else "unplaced"
            self.career(person, [cand], kind, pure_only=False, first_referrer=getattr(person, "_family_referrer",
                                                                                      None))
        n_placed = self.n(2050, 400)
        for _ in range(n_placed):
            roll = self.rng.random()
            kind = ("once" if roll < 0.78 else "changer" if roll < 0.90 else "quitter" if roll < 0.98
                    else "boomerang")
            person = self.new_person()
            records = [self.new_candidate(person)]
            if self.chance(0.04):
                records.append(self.new_candidate(person, "disguised"))  # re-registered honestly
            self.career(person, records, kind, pure_only=False)
        # everyone else who was referred and never hired takes the remaining slots
        for day in range(D + 1):
            while self.slots[day]:
                ref = self.slots[day].pop()
                person = self.new_person()
                cand = self.new_candidate(person)
                known = set()
                if self.chance(0.06):  # applied somewhere on their own before
                    app_day = max(0, day - self.ri(5, 200))
                    job = self.pick_job(app_day)
                    if job is not None:
                        self.add_application(cand, job, max(self.ts(app_day), job.posted + 1),
                                             "agency" if self.chance(0.3) else "direct")
                        known.add(job.company)
                job = self.pick_job(day, exclude=known)
                if job is None or ref.person is person:
                    continue
                self.add_referral(ref, cand, job, max(self.ts(day), ref.signup + 1, job.posted + 1))
                known.add(job.company)
                for _ in range(int(self.pick([0, 0, 1, 1, 2, 2]))):
                    later = day + self.ri(10, 200)
                    if later > D:
                        break
                    ref2, d2 = self.take_slot(later, person, pure_only=False)
                    job2 = self.pick_job(d2, exclude=known)
                    if ref2 is None or job2 is None or d2 < day:
                        continue
                    self.add_referral(ref2, cand, job2, max(self.ts(d2), ref2.signup + 1, job2.posted + 1))
                    known.add(job2.company)

    def career(self, person: Person, records: list, kind: str, pure_only: bool, first_referrer=None):
        """One honest working life: referrals, (direct) hires, tenures; never two stints at once."""
        D = self.D
        known: set = set()  # companies that know this person: no other referrer may claim them there
        if kind == "unplaced":
            day = self.ri(0, D)
            for i in range(int(self.pick([1, 1, 2]))):
                ref, d = ((first_referrer, max(day, first_referrer.signup // DAY + 1)) if i == 0 and first_referrer
                          else self.take_slot(day, person, pure_only))
                job = self.pick_job(min(d, D), exclude=known)
                if ref is None or job is None or d > D:
                    continue
                self.add_referral(ref, records[0], job, max(self.ts(d), ref.signup + 1, job.posted + 1))
                known.add(job.company)
                day = d + self.ri(10, 150)
            return
        plan = {"once": 1, "changer": self.ri(2, 3), "quitter": 1 + int(self.chance(0.5)), "boomerang": 2}[kind]
        day = self.ri(0, 330) if kind in ("changer", "boomerang") else self.ri(0, D - 75)
        prev_end = None
        first_company = None
        for i in range(plan):
            rec = records[min(i, len(records) - 1)]
            if kind == "boomerang" and i == 1:
                # back at the first employer more than a year after leaving: a direct rehire, no bounty
                rehire_day = prev_end + self.ri(370, 500)
                job = self.company_job_open(first_company, rehire_day - self.ri(10, 30))
                if job is None or rehire_day + 45 > D:
                    return
                app_day = max(job.posted // DAY + 1, rehire_day - self.ri(10, 30))
                self.add_application(rec, job, self.ts(app_day), "direct")
                start = rehire_day + self.ri(7, 30)
                if start > D:
                    return
                self.add_hire(None, rec, job, self.ts(rehire_day), start, None)
                return
            if self.chance(0.3):  # another, unsuccessful referral somewhere else first
                before = max(0, day - self.ri(5, 60))
                ref0, d0 = self.take_slot(before, person, pure_only)
                job0 = self.pick_job(d0, exclude=known | ({first_company} if first_company else set()))
                if ref0 is not None and job0 is not None and d0 <= D:
                    self.add_referral(ref0, rec, job0, max(self.ts(d0), ref0.signup + 1, job0.posted + 1))
                    known.add(job0.company)
            direct = kind == "changer" and self.chance(0.3)
            if direct:
                job = self.pick_job(min(day, D), exclude=known)
                if job is None:
                    return
                self.add_application(rec, job, max(self.ts(day), job.posted + 1),
                                     "agency" if self.chance(0.25) else "direct")
                hired_day = day + self.ri(10, 40)
                referral = None
            else:
                if i == 0 and first_referrer is not None:
                    ref, d = first_referrer, max(day, first_referrer.signup // DAY + 1)
                else:
                    ref, d = self.take_slot(day, person, pure_only)
                job = self.pick_job(min(d, D), exclude=known)
                if ref is None or job is None or d > D:
                    return
                if self.chance(0.03):
                    # the same referrer had already referred this person to this job: still theirs
                    earlier = max(job.posted // DAY + 1, d - self.ri(20, 120), ref.signup // DAY + 1)
                    if 0 <= earlier < d:
                        self.add_referral(ref, rec, job, self.ts(earlier))
                referral = self.add_referral(ref, rec, job, max(self.ts(d), ref.signup + 1, job.posted + 1))
                lead = self.ri(14, 75) if self.chance(0.95) else self.ri(4, 13)
                hired_day = referral.t // DAY + lead
                if self.chance(0.1) and lead > 3:
                    # the candidate also applied on the company site, after being referred: not a duplicate
                    self.add_application(rec, job, referral.t + self.ri(1, lead - 2) * DAY, "direct")
            known.add(job.company)
            g = job.g
            if kind == "quitter" and i == 0:
                tenure, reason = self.ri(3, g - 1), dz.pick_weighted(
                    self.rng, {"probation_failed": .65, "resigned": .25, "dismissed": .1})
            elif kind == "changer" and i < plan - 1:
                tenure, reason = self.ri(365, 1095), ""
            elif kind == "boomerang":
                tenure, reason = self.ri(365, 600), "resigned"
            else:
                roll = self.rng.random()
                if roll < 0.04:
                    tenure, reason = g + self.ri(1, 21), "resigned"  # left soon after the guarantee: once
                elif roll < 0.45:
                    tenure, reason = self.ri(200, 1100), ""
                else:
                    tenure, reason = None, ""
            min_start = prev_end + self.ri(1, 30) if prev_end is not None else None
            if referral is None:
                hired = self.ts(hired_day)
                start = hired_day + self.ri(7, 45)
                if min_start is not None:
                    start = max(start, min_start)
                if start > D or hired_day > D:
                    return
                end = start + tenure if tenure is not None and start + tenure <= D else None
                hire = self.add_hire(None, rec, job, hired, start, end, reason if end is not None else "")
            else:
                hire = self.hire_after(referral, hired_day - referral.t // DAY, tenure, reason,
                                       min_start=min_start)
                if hire is None:
                    return
                if kind == "once":
                    self.once_hires.append(hire)
            first_company = first_company or job.company
            if hire.end is None:
                return
            prev_end = hire.end
            day = hire.end + self.ri(-40, 40)
            if kind == "boomerang":
                day = hire.end

    # -- injected abuse --------------------------------------------------------------------------------

    def label(self, pattern: str, person: Person, role: str, disguised: bool, records=(), referrals=(), hires=()):
        entry = self.labels[pattern].setdefault(person, {"role": role, "disguised": False, "records": [],
                                                         "referrals": [], "hires": []})
        entry["disguised"] = entry["disguised"] or disguised
        for key, items in (("records", records), ("referrals", referrals), ("hires", hires)):
            for item in items:
                if item is not None and item not in entry[key]:
                    entry[key].append(item)

    def zone_eligible(self, weights=(0.5, 0.35, 0.15)) -> tuple[str, int]:
        """Pick when a payout falls due: long ago (released), just now (decided this run) or later."""
        roll = self.rng.random()
        if roll < weights[0]:
            return "old", self.ri(200, self.D - 60)
        if roll < weights[0] + weights[1]:
            return "due", self.D - self.ri(1, 40)
        return "future", self.D + self.ri(1, 20)

    def plan_backward(self, eligible: int, exclude=(), g_allowed=(30, 60, 90, 180), not_before: int = 0):
        """A job and the dates (referral day, hire day, start day) that make a payout fall due on `eligible`."""
        for _ in range(60):
            g = int(self.pick(list(g_allowed)))
            start = eligible - g
            hired_day = start - self.ri(7, 25)
            ref_day = hired_day - self.ri(14, 35)
            if ref_day < max(1, not_before) or start > self.D:
                continue
            job = self.pick_job(ref_day, exclude=exclude, g_allowed=(g,))
            if job is not None:
                return job, ref_day, hired_day, start
        return None

    def stint(self, referrer: Referrer, cand: Candidate, job: Job, ref_day: int, hired_day: int, start: int,
              end: int | None, reason: str = "") -> tuple[Referral, Hire]:
        ref_t = max(self.ts(ref_day), referrer.signup + 1, job.posted + 1)
        referral = self.add_referral(referrer, cand, job, ref_t)
        hired = max(self.ts(hired_day), ref_t + 14 * DAY)
        shift = max(0, hired // DAY + 1 - start)
        start += shift  # a later referral moves the whole stint, keeping its length
        if end is not None:
            end += shift
            if end > self.D:
                end = None
        if start > self.D:
            start, hired = self.D, min(hired, self.D * DAY + 6 * 60)
        hire = self.add_hire(referral, cand, job, hired, start, end, reason if end is not None else "")
        return referral, hire

    def fillers(self, referrer: Referrer, count: int, hire_rate: float, first_day: int | None = None):
        """Ordinary referrals of fresh candidates, so an abuser does not look like a one-trick account."""
        first = max(1, first_day if first_day is not None else referrer.signup // DAY + 1)
        for _ in range(count):
            day = self.ri(first, self.D)
            person = self.new_person()
            cand = self.new_candidate(person)
            job = self.pick_job(day)
            if job is None:
                continue
            referral = self.add_referral(referrer, cand, job, max(self.ts(day), referrer.signup + 1,
                                                                  job.posted + 1))
            if self.chance(hire_rate):
                tenure = self.ri(200, 900) if self.chance(0.4) else None
                self.hire_after(referral, self.ri(14, 60), tenure)

    def make_payouts(self, hires: list[Hire], rng):
        """The platform's own payout state: what it released, voided or held before this run."""
        saved, self.rng = self.rng, rng
        D, last = self.D, (self.D + 1) * DAY - 1
        try:
            for hire in hires:
                if hire.referral is None or hire.payout is not None:
                    continue
                payout = Payout(hire, hire.start + hire.job.g)
                hire.payout = payout
                self.payouts.append(payout)
                if payout.eligible > D - DUE_WINDOW_DAYS:
                    continue  # pending: not due yet, or due and waiting for this run
                release_t = min(last, payout.eligible * DAY + self.ri(2, 7) * DAY + self.ri(6 * 60, 18 * 60))
                early = hire.end is not None and hire.end < payout.eligible
                if early and hire.updated <= release_t:
                    payout.status = "void"
                    payout.updated = min(last, max(hire.updated, payout.eligible * DAY) + self.ri(60, 3 * DAY))
                elif not early and self.chance(0.015):
                    payout.status = "held"  # an analyst is already looking at it
                    payout.updated = release_t
                else:
                    payout.status, payout.released, payout.updated = "released", release_t, release_t
        finally:
            self.rng = saved

    def late_corrections(self):
        """Released bounties whose hire, it turns out later, had ended before the guarantee end."""
        D, last = self.D, (self.D + 1) * DAY - 1
        options = [h for h in self.once_hires if h.payout is not None and h.payout.status == "released"
                   and (h.end is None or h.end > h.payout.eligible + 100) and h.payout.eligible < D - 80]
        wanted = self.n(25)
        order = self.rng.permutation(len(options))
        for k in order[:wanted]:
            hire = options[int(k)]
            payout = hire.payout
            hire.end = hire.start + self.ri(5, hire.job.g - 1)
            hire.reason = dz.pick_weighted(self.rng, {"resigned": .5, "probation_failed": .4, "other": .1})
            hire.updated = min(last, payout.released + self.ri(14, 150) * DAY)
            if self.chance(0.15) and hire.updated + 20 * DAY < last:
                # the platform already recovered this one itself
                payout.status = "clawed_back"
                payout.updated = hire.updated + self.ri(3, 20) * DAY

    # -- finishing: ids, derived labels, decisions -----------------------------------------------------

    def assign_ids(self):
        for cand in self.candidates:
            uses = [r.t for r in self.referrals_of.get(cand, ())] + [a.t for a in self.apps_of.get(cand, ())] + [
                h.hired for h in self.hires_of.get(cand, ())]
            first = min(uses) if uses else self.D * DAY
            floor = -120 * DAY  # the platform's profiles go back a few months before the history
            cand.created = first - cand.created_offset
            if cand.created < floor:
                # spread over the time the platform existed instead of piling up on its first day
                cand.created = floor + cand.created_offset % max(1, first - floor)
            if cand.created >= first:
                cand.created = first - 1
        order = lambda items, key: sorted(items, key=lambda x: (key(x), x.seq))  # noqa: E731
        for i, r in enumerate(order(self.referrers, lambda r: r.signup), 1):
            r.id = f"R{i:05d}"
        for i, c in enumerate(order(self.candidates, lambda c: c.created), 1):
            c.id = f"C{i:06d}"
        for i, c in enumerate(sorted(self.companies, key=lambda c: c.name), 1):
            c.id = f"CO{i:04d}"
        for i, j in enumerate(order(self.jobs, lambda j: j.posted), 1):
            j.id = f"J{i:05d}"
        for i, r in enumerate(order(self.referrals, lambda r: r.t), 1):
            r.id = f"RL{i:06d}"
        for i, a in enumerate(order(self.applications, lambda a: a.t), 1):
            a.id = f"AP{i:06d}"
        for i, h in enumerate(order(self.hires, lambda h: h.hired), 1):
            h.id = f"H{i:06d}"
        for i, p in enumerate(sorted(self.payouts, key=lambda p: (p.hire.hired, p.hire.seq)), 1):
            p.id = f"PO{i:06d}"
        next_pid = 0
        for rec in sorted(self.referrers, key=lambda r: r.id) + sorted(self.candidates, key=lambda c: c.id):
            if not rec.person.pid:
                next_pid += 1
                rec.person.pid = f"TP{next_pid:06d}"

    def index(self):
        self.referrals_of, self.apps_of, self.hires_of = {}, {}, {}
        for r in self.referrals:
            self.referrals_of.setdefault(r.candidate, []).append(r)
        for a in self.applications:
            self.apps_of.setdefault(a.candidate, []).append(a)
        for h in self.hires:
            self.hires_of.setdefault(h.candidate, []).append(h)

    def fmt_ts(self, minutes: int | None) -> str:
        if minutes is None:
            return ""
        moment = datetime(self.start.year, self.start.month, self.start.day) + timedelta(minutes=minutes)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def fmt_day(self, day: int | None) -> str:
        return "" if day is None else (self.start + timedelta(days=day)).isoformat()

    def rows(self) -> dict[str, list[list[str]]]:
        last = (self.D + 1) * DAY - 1
        upd = lambda base, off: "" if off is None else self.fmt_ts(min(last, base + off))  # noqa: E731
        t = {}
        t["referrers"] = [[r.id, r.full_name, r.email, r.phone, r.iban, r.birth, r.city, self.fmt_ts(r.signup),
                           upd(r.signup, r.update_offset)] for r in sorted(self.referrers, key=lambda r: r.id)]
        t["candidates"] = [[c.id, c.full_name, c.email, c.phone, c.birth, c.city, c.profile, self.fmt_ts(c.created),
                            upd(c.created, c.update_offset)] for c in sorted(self.candidates, key=lambda c: c.id)]
        t["companies"] = [[c.id, c.name, c.country] for c in sorted(self.companies, key=lambda c: c.id)]
        t["jobs"] = [[j.id, j.company.id, j.title, j.amount, j.currency, str(j.g), self.fmt_ts(j.posted)]
                     for j in sorted(self.jobs, key=lambda j: j.id)]
        t["referrals"] = [[r.id, r.referrer.id, r.candidate.id, r.job.id, self.fmt_ts(r.t), r.channel, r.ip,
                           r.device] for r in sorted(self.referrals, key=lambda r: r.id)]
        t["applications"] = [[a.id, a.candidate.id, a.job.id, self.fmt_ts(a.t), a.source]
                             for a in sorted(self.applications, key=lambda a: a.id)]
        t["hires"] = [[h.id, h.referral.id if h.referral else "", h.candidate.id, h.job.id, self.fmt_ts(h.hired),
                       self.fmt_day(h.start), self.fmt_day(h.end), h.reason, self.fmt_ts(h.updated)]
                      for h in sorted(self.hires, key=lambda h: h.id)]
        t["payouts"] = [[p.id, p.hire.id, p.hire.referral.id, p.hire.referral.referrer.id, p.hire.job.amount,
                         p.hire.job.currency, self.fmt_day(p.eligible), p.status, self.fmt_ts(p.released),
                         self.fmt_ts(p.updated)] for p in sorted(self.payouts, key=lambda p: p.id)]
        return t
