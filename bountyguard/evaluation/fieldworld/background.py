"""Honest life on the platform, including everything that merely looks like abuse.

Nothing made here is labelled, except what a contract rule labels wherever it happens (an honest
early exit is still an `early_exit`); the rules are applied afterwards by the writer.
"""
from __future__ import annotations

import datetime as dt

from . import people as pp
from .world import DAY, RESIDENT_CULTURES, ReferrerRec, World


def _signup(w: World, lo: dt.date, hi: dt.date) -> dt.datetime:
    return w.at(w.day_between(lo, hi), 6, 23)


def honest_referrer(w: World, signed_up: dt.datetime, country: str | None = None, iban: bool | None = None,
                    **person_kw) -> ReferrerRec:
    p = w.person(country=country, **person_kw)
    if iban is None:
        iban = w.rng.random() < 0.9
    return w.referrer(p, signed_up, iban=iban, honest_pool=True)


def new_candidate_person(w: World, rp: pp.Person) -> pp.Person:
    """Somebody a referrer knows: mostly from the referrer's own city and country."""
    rng = w.rng
    country = rp.country if rng.random() < 0.75 else w.pick((list(RESIDENT_CULTURES), [40, 20, 15, 10, 8, 7]))
    city = rp.city if (country == rp.country and rng.random() < 0.55) else None
    p = w.person(country=country, city=city, age=(20, 52))
    if rp.uni and rng.random() < 0.6:
        p.uni = rp.uni
    w.honest_candidates.append(p)
    return p


def _hire_probability(tier: str) -> float:
    return {"power": 0.26, "regular": 0.2, "casual": 0.12}.get(tier, 0.15)


def honest_referral(w: World, rrec: ReferrerRec, t: dt.datetime, tier: str, person: pp.Person | None = None,
                    hire_p: float | None = None, company=None):
    """One honest referral at t, and perhaps the hire it leads to."""
    rng = w.rng
    rp = rrec.person
    p = person
    if p is None:
        r = rng.random()
        if r < 0.08 and rp.referred:
            p = rng.choice(rp.referred)  # a friend referred again, to another job
        elif r < 0.13 and w.honest_candidates:
            p = rng.choice(w.honest_candidates)  # somebody another referrer also knows
        elif r < 0.145:
            fellows = [x.person for x in w.honest_referrers if x.person.rank > rp.rank and x.person is not rp]
            if fellows:
                p = rng.choice(fellows)  # a fellow referrer looking for a job (one-way: no rings)
        if p is not None and (p is rp or not p.honest or p.fake):
            p = None
    if p is None:
        p = new_candidate_person(w, rp)
    job = None
    if company is not None:
        job = w.job_at(t, company=company)
    else:
        for _ in range(3):
            cand_job = w.job_at(t, country=p.country if rng.random() < 0.7 else rp.country,
                                allow=lambda c: w.may_refer(p, rp, c))
            if w.may_refer(p, rp, cand_job.company):
                job = cand_job
                break
        if job is None:
            p = new_candidate_person(w, rp)
            job = w.job_at(t, country=p.country)
    crec = w.candidate_for(rrec, p, t)
    ref = w.refer(rrec, crec, job, t)
    if rng.random() < (hire_p if hire_p is not None else _hire_probability(tier)):
        hired_at = t + w.hire_lag()
        started = hired_at.date() + w.notice(job)
        if w.free_for(p, started):
            ended, reason = w.honest_tenure(job, started)
            w.hire(ref, crec, job, hired_at, started, ended, reason)
    return ref


# ------------------------------------------------------------------------------------------ volume

def referral_volume(w: World) -> None:
    """Power recruiters, regulars, casual referrers and silent sign-ups, processed in time order."""
    rng = w.rng
    start, end = w.start, w.as_of - DAY
    events = []
    for i in range(w.n(8, 3)):
        rec = honest_referrer(w, _signup(w, start - dt.timedelta(days=500), start - dt.timedelta(days=20)),
                              iban=True, age=(28, 55))
        w.power.append(rec)
        rate = rng.uniform(0.9, 1.7)  # referrals per week, for years
        n_weeks = (end - start).days // 7
        campaigns = set(rng.sample(range(4, n_weeks - 1), rng.randrange(1, 4)))
        if i == 0:
            campaigns.add(n_weeks - rng.randrange(10, 30))  # at least one campaign in the recent past
        for wk in range(n_weeks):
            week_start = start + dt.timedelta(days=7 * wk)
            if wk in campaigns:  # a job fair or a LinkedIn push: 3-6x the usual week
                k = max(int(round(rate * rng.uniform(3.5, 6))), w.poisson(rate * rng.uniform(3.5, 6)))
                w.notes["campaign_weeks"] += 1
            else:
                k = w.poisson(rate * w.growth(week_start) * (0.3 if rng.random() < 0.06 else 1))  # holidays
            for _ in range(k):
                events.append((w.at(week_start + dt.timedelta(days=rng.randrange(7)), 7, 21), rec, "power"))
    for _ in range(w.n(150, 12)):
        su = _signup(w, start - dt.timedelta(days=100), w.as_of - dt.timedelta(days=90))
        rec = honest_referrer(w, su)
        if rng.random() < 0.1:
            rec.person.uni = rng.choice(pp.UNIVERSITY_DOMAINS[rec.person.country])
        span_end = min(end, su.date() + dt.timedelta(days=rng.randrange(90, 900)))
        first = max(su.date() + DAY, start)
        k = 2
        while rng.random() < 0.78 and k < 22:
            k += 1
        for _ in range(k):
            events.append((w.at(w.day_between(first, span_end), 6, 23), rec, "regular"))
    for _ in range(w.n(260, 15)):
        su = _signup(w, start, w.as_of - dt.timedelta(days=10))
        rec = honest_referrer(w, su, iban=rng.random() < 0.7)
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            d = min(end, su.date() + dt.timedelta(days=rng.randrange(0, 60)))
            t = w.at(d, 6, 23)
            if t > su:
                events.append((t, rec, "casual"))
    for _ in range(w.n(60, 4)):
        honest_referrer(w, _signup(w, start - dt.timedelta(days=100), end), iban=rng.random() < 0.4)
    events.sort(key=lambda e: (e[0], e[1].sort))
    for t, rec, tier in events:
        if start <= t.date() <= end and t >= rec.signed_up:
            honest_referral(w, rec, t, tier)


# ------------------------------------------------------------------------------------------ look-alikes

def _some_referrer(w: World, exclude=()) -> ReferrerRec:
    pool = [r for r in w.honest_referrers if r not in exclude]
    return w.rng.choice(pool)


def _referrer_before(w: World, t: dt.datetime, exclude=()) -> ReferrerRec:
    pool = [r for r in w.honest_referrers if r.signed_up < t and r not in exclude]
    return w.rng.choice(pool or w.power)


def families(w: World) -> None:
    """A parent refers their grown-up child; siblings are referred by others. Same surname, same city,
    same household phone and internet line: different people, different birth dates."""
    rng = w.rng
    for _ in range(w.n(14, 3)):
        country = rng.choice(["DE", "DE", "PL", "UA", "AT"])
        shared = pp.make_landline(rng) if country == "DE" and rng.random() < 0.5 else pp.make_mobile(rng, country)
        parent = w.person(country=country, age=(46, 62), phone=shared)
        fam = pp.male_form(parent.culture, parent.family) if parent.gender == "f" else parent.family
        su = _signup(w, w.start - dt.timedelta(days=60), w.as_of - dt.timedelta(days=200))
        prec = w.referrer(parent, su, iban=True, honest_pool=True)
        kids = []
        for _k in range(rng.choice((1, 1, 2))):
            g = rng.choice("mf")
            kid = w.person(culture=parent.culture, country=country, city=parent.city, gender=g, age=(19, 28),
                           phone=shared, family=pp.female_form(parent.culture, fam) if g == "f" else fam)
            kid.ip_prefix = parent.ip_prefix
            w.honest_candidates.append(kid)
            kids.append(kid)
        t = w.at(w.day_between(su.date() + DAY, w.as_of - dt.timedelta(days=120)))
        honest_referral(w, prec, t, "regular", person=kids[0], hire_p=0.5)
        for _j in range(rng.randrange(0, 4)):
            t2 = w.at(w.day_between(su.date() + DAY, w.as_of - DAY))
            honest_referral(w, prec, t2, "regular")
        if len(kids) > 1:
            other = _some_referrer(w, exclude=(prec,))
            t3 = w.at(w.day_between(max(other.signed_up.date(), w.start) + DAY, w.as_of - dt.timedelta(days=30)))
            honest_referral(w, other, t3, "regular", person=kids[1])
        w.notes["families_sharing_a_phone"] += 1


def couples(w: World) -> None:
    """Spouses who both refer, from one household (same line, often one surname), each with their own
    bank account."""
    rng = w.rng
    for _ in range(w.n(6, 2)):
        country = rng.choice(["DE", "PL", "AT", "UA", "CH"])
        a = w.person(country=country, gender="m", age=(27, 55))
        b = w.person(culture=a.culture, country=country, city=a.city, gender="f", age=(25, 55),
                     family=pp.female_form(a.culture, a.family) if rng.random() < 0.65 else None)
        b.ip_prefix = a.ip_prefix
        b.devices.append(a.devices[0])  # the family laptop
        for p in (a, b):
            su = _signup(w, w.start - dt.timedelta(days=30), w.as_of - dt.timedelta(days=150))
            rec = w.referrer(p, su, iban=True, honest_pool=True)
            for _j in range(rng.randrange(2, 7)):
                honest_referral(w, rec, w.at(w.day_between(su.date() + DAY, w.as_of - DAY)), "regular")
        w.notes["couples_separate_accounts"] += 1


def similar_ibans(w: World) -> None:
    """Siblings who opened accounts at one bank on the same day: IBANs that differ in a digit or two."""
    rng = w.rng
    for _ in range(w.n(4, 2)):
        country = rng.choice(["DE", "DE", "AT", "PL", "NL"])
        a = w.person(country=country, age=(22, 40))
        b = w.person(culture=a.culture, country=country, family=a.family if a.culture != "pl" else None,
                     age=(22, 40))
        first = pp.make_iban(rng, country)
        c, bank, acct = pp.iban_parts(first)
        last = int(acct[-2:])
        acct2 = acct[:-2] + f"{(last + rng.choice((1, 2, 10, 11))) % 100:02d}"
        a.iban, b.iban = first, pp.make_iban(rng, country, bank=bank, account=acct2)
        for p in (a, b):
            su = _signup(w, w.start, w.as_of - dt.timedelta(days=200))
            rec = w.referrer(p, su, iban=True, honest_pool=True)
            for _j in range(rng.randrange(1, 5)):
                honest_referral(w, rec, w.at(w.day_between(su.date() + DAY, w.as_of - DAY)), "regular")
        w.notes["near_identical_ibans"] += 1


def namesakes(w: World) -> None:
    """Common names borne by different people (different birth dates, cities, phones, mailboxes)."""
    rng = w.rng
    for i in range(w.n(10, 3)):
        culture, country = rng.choice([("de", "DE"), ("de", "AT"), ("ua", "UA"), ("ua", "PL"), ("pl", "PL"),
                                       ("tr", "DE")])
        gender = rng.choice("mf")
        a = w.person(culture=culture, country=country, gender=gender)
        b = w.person(culture=culture, country=rng.choice([country, "DE", "PL"]), gender=gender,
                     given=a.given, family=a.family)
        if i % 3 == 0:  # a referrer refers their namesake: not a self-referral
            su = _signup(w, w.start, w.as_of - dt.timedelta(days=200))
            rec = w.referrer(a, su, iban=True, honest_pool=True)
            w.honest_candidates.append(b)
            honest_referral(w, rec, w.at(w.day_between(su.date() + DAY, w.as_of - dt.timedelta(days=60))),
                            "regular", person=b, hire_p=0.5)
        else:  # two candidates of one name, referred by different referrers to different companies
            for p in (a, b):
                w.honest_candidates.append(p)
                rec = _some_referrer(w)
                lo = max(rec.signed_up.date(), w.start) + DAY
                honest_referral(w, rec, w.at(w.day_between(lo, w.as_of - dt.timedelta(days=20))), "regular",
                                person=p, hire_p=0.3)
        w.notes["namesake_pairs"] += 1


def second_accounts(w: World) -> None:
    """Somebody who forgot the password signs up again with another mailbox; the old account never got
    a bank account, so there is no shared payout account."""
    rng = w.rng
    for _ in range(w.n(6, 2)):
        p = w.person()
        su1 = _signup(w, w.start - dt.timedelta(days=200), w.as_of - dt.timedelta(days=400))
        old = w.referrer(p, su1, iban=False, honest_pool=False)
        if rng.random() < 0.5:
            first = max(su1.date(), w.start) + DAY
            honest_referral(w, old, w.at(w.day_between(first, first + dt.timedelta(days=60))),
                            "casual")
        su2 = _signup(w, su1.date() + dt.timedelta(days=120), w.as_of - dt.timedelta(days=60))
        p.email = w.alias(p) if rng.random() < 0.6 else p.email
        new = w.referrer(p, su2, iban=True, honest_pool=True)
        for _j in range(rng.randrange(1, 5)):
            honest_referral(w, new, w.at(w.day_between(su2.date() + DAY, w.as_of - DAY)), "regular")
        w.notes["people_with_two_referrer_accounts"] += 1


def _direct_hire(w: World, p: pp.Person, job, applied: dt.datetime, started: dt.date,
                 ended: dt.date | None, reason: str | None, source: str = "direct", crec=None):
    crec = crec or w.candidate(p, applied - dt.timedelta(minutes=w.rng.randrange(1, 30)), None, "self")
    w.apply(crec, job, applied, source)
    hired_at = w.at(min(started - DAY, applied.date() + dt.timedelta(days=w.rng.randrange(14, 50))))
    if hired_at <= applied:
        hired_at = applied + dt.timedelta(days=3)
    started = max(started, hired_at.date() + DAY)
    return w.hire(None, crec, job, hired_at, started, ended, reason)


def job_changers(w: World) -> None:
    """People who move on every 1.5-3 years, each move through a referral to another company."""
    rng = w.rng
    for _ in range(w.n(14, 3)):
        p = None
        t = w.at(w.day_between(w.start + DAY, w.start + dt.timedelta(days=150)))
        rec = _referrer_before(w, t)
        k = 0
        while t.date() < w.as_of - dt.timedelta(days=30):
            ref = honest_referral(w, rec, t, "regular", person=p, hire_p=0.0)
            p = ref.candidate.person
            job = ref.job
            hired_at = t + w.hire_lag()
            started = hired_at.date() + w.notice(job)
            if not w.free_for(p, started, min_tenure_to_leave=500):  # ends the previous job (resigned)
                break
            tenure = dt.timedelta(days=rng.randrange(550, 900))
            h = w.hire(ref, ref.candidate, job, hired_at, started)  # still there, until the next move
            if h is None:
                break
            k += 1
            t = w.at(started + tenure - dt.timedelta(days=rng.randrange(40, 100)))
            if rng.random() < 0.5:
                rec = _referrer_before(w, t, exclude=(rec,))
        if k >= 2:
            w.notes["job_changers_18_36_months"] += 1


def contractors(w: World) -> None:
    """Freelancers placed by the same power recruiter contract after contract (contract_end), each
    running months past its guarantee."""
    rng = w.rng
    for _ in range(w.n(5, 2)):
        rec = rng.choice(w.power)
        p = w.person(country=rng.choice(["DE", "DE", "AT", "CH", "NL"]), age=(30, 55))
        w.honest_candidates.append(p)
        t = w.at(w.day_between(w.start + DAY, w.start + dt.timedelta(days=200)))
        used = set()
        prev_end = None
        for _k in range(rng.randrange(3, 5)):
            job = w.job_at(t, contract=True, allow=lambda c: id(c) not in used)
            used.add(id(job.company))
            crec = w.candidate_for(rec, p, t)
            ref = w.refer(rec, crec, job, t, channel=rng.choice(["email", "linkedin", "xing"]))
            hired_at = t + w.uniform_days(5, 20)
            started = hired_at.date() + w.notice(job)
            if prev_end is not None and started <= prev_end:
                started = prev_end + dt.timedelta(days=rng.randrange(3, 20))
            if not w.free_for(p, started):
                break
            end = started + dt.timedelta(days=rng.randrange(job.guarantee + 90, 300))
            h = w.hire(ref, crec, job, hired_at, started, end, "contract_end")
            if h is None or h.ended is None:
                break
            prev_end = end
            t = w.at(end - dt.timedelta(days=rng.randrange(10, 40)))
        if len(p.stints) >= 3:
            w.notes["contractors_with_repeat_contracts"] += 1


def boomerangs(w: World) -> None:
    """Former employees rehired directly by their old employer two or more years after they left."""
    rng = w.rng
    for _ in range(w.n(5, 2)):
        p = w.person(age=(27, 50))
        co = rng.choice(w.companies)
        first_start = w.day_between(w.start - dt.timedelta(days=700), w.start - dt.timedelta(days=420))
        job1 = w.job(co, w.at(first_start - dt.timedelta(days=rng.randrange(40, 90))))
        left = first_start + dt.timedelta(days=rng.randrange(300, 500))
        _direct_hire(w, p, job1, w.at(first_start - dt.timedelta(days=rng.randrange(30, 60))), first_start,
                     left, "resigned")
        back = w.day_between(left + dt.timedelta(days=740), w.as_of - dt.timedelta(days=20))
        if back > w.as_of - dt.timedelta(days=20):
            continue
        t = w.at(back - dt.timedelta(days=rng.randrange(35, 70)))
        job2 = w.job_at(t, company=co)
        _direct_hire(w, p, job2, t, back, None, None, source=rng.choice(["direct", "direct", "agency"]))
        w.notes["boomerang_rehires"] += 1


def near_miss_hoppers(w: World) -> None:
    """Two short stints among long ones: a bad year, not a pattern (job_hopping needs three)."""
    rng = w.rng
    for _ in range(w.n(8, 2)):
        p = w.person(age=(24, 45))
        w.honest_candidates.append(p)
        kinds = ["long", "short", "short"]
        rng.shuffle(kinds)
        t = w.at(w.day_between(w.start + DAY, w.start + dt.timedelta(days=90)))
        used: set[int] = set()
        for kind in kinds:
            if t.date() > w.as_of - dt.timedelta(days=60):
                break
            rec = _some_referrer(w)
            if rec.signed_up >= t:
                rec = rng.choice(w.power)
            job = w.job_at(t, country=p.country, allow=lambda c: id(c) not in used and w.may_refer(p, rec.person, c))
            used.add(id(job.company))
            crec = w.candidate_for(rec, p, t)
            ref = w.refer(rec, crec, job, t)
            hired_at = t + w.hire_lag(0)
            started = hired_at.date() + w.notice(job)
            if kind == "short":
                days = rng.randrange(40, 170)
                reason = rng.choice(["probation_failed", "resigned", "dismissed"])
            else:
                days = rng.randrange(400, 600)
                reason = "resigned"
            h = w.hire(ref, crec, job, hired_at, started, started + dt.timedelta(days=days), reason)
            if h is None or h.ended is None:
                break
            t = w.at(h.ended - dt.timedelta(days=rng.randrange(10, 40)))
        w.notes["near_miss_two_short_stints"] += 1


def own_applications(w: World) -> None:
    """Candidates' own applications (direct or through an agency), some leading to direct hires; some
    by people also referred, always to a company that nobody referred them to."""
    rng = w.rng
    for _ in range(w.n(420, 40)):
        if w.honest_candidates and rng.random() < 0.35:
            p = rng.choice(w.honest_candidates)
        else:
            p = w.person(age=(20, 55))
        t = w.at(w.day_between(w.start, w.as_of - DAY))
        job = w.job_at(t, country=p.country, allow=lambda c: w.unknown_at(p, c))
        if not w.unknown_at(p, job.company):
            continue
        source = "direct" if rng.random() < 0.8 else "agency"
        crec = w.candidate(p, t - dt.timedelta(minutes=rng.randrange(1, 60)), None, "self")
        w.apply(crec, job, t, source)
        if rng.random() < 0.25:
            hired_at = t + w.hire_lag(0)
            started = hired_at.date() + w.notice(job)
            if w.free_for(p, started):
                ended, reason = w.honest_tenure(job, started)
                w.hire(None, crec, job, hired_at, started, ended, reason)


def background(w: World) -> None:
    referral_volume(w)
    families(w)
    couples(w)
    similar_ibans(w)
    namesakes(w)
    second_accounts(w)
    job_changers(w)
    contractors(w)
    boomerangs(w)
    near_miss_hoppers(w)
    own_applications(w)
