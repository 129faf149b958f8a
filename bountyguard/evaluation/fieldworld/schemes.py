"""The abuse schemes, one function each, as they are run in the field.

Each scheme labels the people it was built around; the contract's rule-shaped patterns (early_exit,
duplicate_referral, late_referral, job_hopping, self_referral, shared_payout_account, referral_ring)
are in addition labelled by the writer wherever the data shows them, honest or not.
About half of the instances of each scheme are placed so that a bounty falls due in the last weeks
before as-of (a decision is needed now), the others lie in the past (bounties already released).
"""
from __future__ import annotations

import datetime as dt
import string

from . import people as pp
from .background import honest_referral
from .world import DAY, World

SHORT_GUARANTEES = (30, 60, 60, 90, 90)


def _d(days: float) -> dt.timedelta:
    return dt.timedelta(days=days)


def _cover(w: World, rec, lo: dt.date, hi: dt.date, n: int, hire_p: float = 0.12) -> None:
    """Ordinary-looking referrals that abusers file besides their scheme."""
    lo = max(lo, rec.signed_up.date() + DAY, w.start)
    hi = min(hi, w.as_of - DAY)
    for _ in range(n):
        if hi <= lo:
            return
        honest_referral(w, rec, w.at(w.day_between(lo, hi)), "casual", hire_p=hire_p)


def _anchor(w: World, recent: bool, span_days: int, tail_days: int = 60) -> dt.date:
    """Start day of a scheme lasting span_days: recent ones end around as-of, others lie in the past."""
    if recent:
        return max(w.start + _d(20), w.as_of - _d(span_days))
    latest = w.as_of - _d(span_days + tail_days + 120)
    return w.day_between(w.start + _d(30), max(w.start + _d(31), latest))


def _due_start(w: World, g: int) -> dt.date:
    """A start day whose guarantee ends in the last weeks before as-of (its bounty is due now)."""
    return w.as_of - _d(g + w.rng.randrange(2, 40))


def _scheme_referrer(w: World, signed_up: dt.datetime, **kw):
    p = w.person(honest=False, **kw)
    return w.referrer(p, signed_up, iban=True)


def serial_rereferral(w: World) -> None:
    """An expert is placed at a new company every month or two and quits a few days to three weeks
    after each guarantee ends; the same referrer (or a small group) collects every bounty."""
    rng = w.rng
    for i in range(w.n(6, 2)):
        country = rng.choice(["DE", "DE", "PL", "UA", "AT"])
        expert = w.person(honest=False, country=country, age=(26, 46),
                          culture=rng.choice(["ua", "ua", "pl", "de", "ru", "tr"]))
        expert.disguised = rng.random() < 0.7
        k = rng.randrange(3, 7)
        # plan in days from the first referral, then place it in time
        plan, t, prev_end = [], 0, None
        for s in range(k):
            g = rng.choice(SHORT_GUARANTEES)
            hired = t + rng.uniform(10, 24)
            start = int(hired) + rng.randrange(3, 15)
            if prev_end is not None:
                start = max(start, prev_end + rng.randrange(2, 12))
            end = start + g + rng.randrange(3, 22)
            plan.append((t, hired, start, g, end))
            prev_end = end
            t = max(end - rng.randrange(14, 35), hired + 3)
        recent = i % 2 == 0
        if recent:  # the last stint's bounty is due now; the expert is still in it
            last_t, _h, last_start, last_g, _e = plan[-1]
            day0 = _due_start(w, last_g) - _d(last_start)
            day0 = max(day0, w.start + _d(10))
        else:
            day0 = _anchor(w, False, plan[-1][4])
        group = [_scheme_referrer(w, w.at(day0 - _d(rng.randrange(20, 400))),
                                  country=country if rng.random() < 0.6 else None)
                 for _ in range(rng.choices([1, 2, 3], [60, 28, 12])[0])]
        for rec in group:
            _cover(w, rec, rec.signed_up.date(), w.as_of, rng.randrange(0, 5))
        used: set[int] = set()
        refs, hires, recs = [], [], []
        offset = rng.randrange(len(group))
        for s, (t, hired, start, g, end) in enumerate(plan):
            ref_at = w.at(day0 + _d(int(t)))
            if ref_at >= w.end:
                break
            rec = group[(s + offset) % len(group)]
            job = w.job_at(ref_at, country=country, guarantees=(g,),
                           allow=lambda c: id(c) not in used and w.unknown_at(expert, c))
            used.add(id(job.company))
            if s == 0 or not expert.disguised:
                crec = w.candidate_for(rec, expert, ref_at, "other")
            else:
                crec = w.candidate_for(rec, expert, ref_at, "disguise", reuse=rng.random() < 0.35)
            ref = w.refer(rec, crec, job, ref_at)
            hired_at = max(w.at(day0 + _d(int(hired))), ref_at + _d(8))
            started = max(day0 + _d(start), hired_at.date() + DAY)
            h = w.hire(ref, crec, job, hired_at, started, started + _d(job.guarantee + (end - start - g)),
                       rng.choice(["resigned"] * 8 + ["other", "dismissed"]))
            refs.append(ref)
            recs.append(crec)
            if h is None:
                break
            hires.append(h)
        w.label("serial_rereferral", expert, "candidate", records=recs, referrals=refs, hires=hires)
        for rec in group:
            mine = [r for r in refs if r.referrer is rec]
            if not mine:
                continue
            w.label("serial_rereferral", rec.person, "referrer", records=[rec], referrals=mine,
                    hires=[h for h in hires if h.referral in mine])


def job_hopping(w: World) -> None:
    """A candidate who leaves (or is let go) within probation again and again, at different companies,
    mostly referred by different honest referrers who know nothing of the others."""
    rng = w.rng
    for i in range(w.n(8, 3)):
        p = w.person(honest=False, age=(22, 40))
        p.disguised = rng.random() < 0.3
        recent = i % 2 == 0
        k = rng.randrange(4, 6) if recent else rng.randrange(3, 6)
        plan, t = [], 0
        for s in range(k):
            g = rng.choice((30, 60, 90, 90, 180))
            hired = t + rng.uniform(10, 30)
            start = int(hired) + rng.randrange(7, 31)
            tenure = rng.randrange(20, 170)
            plan.append((t, hired, start, g, tenure))
            t = start + tenure + rng.randrange(7, 60) - rng.randrange(20, 45)
            t = max(t, start + tenure - 10)
        if recent:  # the last stint is running and its bounty falls due now
            _t, _h, last_start, last_g, _ten = plan[-1]
            day0 = max(_due_start(w, last_g) - _d(last_start), w.start + _d(10))
        else:
            day0 = _anchor(w, False, plan[-1][2] + plan[-1][4])
        used: set[int] = set()
        prev_end = None
        for s, (t, hired, start, g, tenure) in enumerate(plan):
            ref_at = w.at(day0 + _d(int(t)))
            if ref_at >= w.end:
                break
            direct = rng.random() < 0.2 and not (recent and s == k - 1)
            allow = lambda c: id(c) not in used and w.unknown_at(p, c)  # noqa: E731
            job = w.job_at(ref_at, country=p.country, allow=allow, guarantees=(g,))
            used.add(id(job.company))
            hired_at = max(w.at(day0 + _d(int(hired))), ref_at + _d(9))
            started = max(day0 + _d(start), hired_at.date() + DAY)
            if prev_end is not None and started <= prev_end:
                started = prev_end + _d(rng.randrange(3, 10))
                hired_at = min(hired_at, w.at(started - DAY))
            ended = None if (recent and s == k - 1) else started + _d(tenure)
            reason = rng.choices(["resigned", "probation_failed", "dismissed"], [45, 35, 20])[0]
            if direct:
                crec = w.candidate(p, ref_at - _d(0.01), None, "self")
                w.apply(crec, job, ref_at, rng.choice(["direct", "agency"]))
                h = w.hire(None, crec, job, hired_at, started, ended, reason)
            else:
                rec = rng.choice([r for r in w.honest_referrers if r.signed_up < ref_at])
                crec = w.candidate_for(rec, p, ref_at, "disguise" if p.disguised and s > 0 else "other")
                ref = w.refer(rec, crec, job, ref_at)
                h = w.hire(ref, crec, job, hired_at, started, ended, reason)
            if h is None:
                break
            prev_end = h.ended or started + _d(tenure)
        # labelled by the writer's rule (three or more short tenures at different companies)


def self_referral(w: World) -> None:
    """A referrer refers themselves through a candidate record: the same person, sometimes under an
    e-mail alias and another spelling of the name."""
    rng = w.rng
    for i in range(w.n(8, 3)):
        s_person = w.person(honest=False, age=(22, 45))
        s_person.disguised = rng.random() < 0.7
        g = rng.choice((30, 60, 90, 90, 180))
        lag, notice = rng.uniform(12, 40), rng.randrange(7, 31)
        if i % 2 == 0:
            started = _due_start(w, g)
            t = w.at(started - _d(notice + int(lag) + 1))
        else:
            t = w.at(_anchor(w, False, int(lag) + notice + g))
        su = w.at(max(w.start - _d(150), t.date() - _d(rng.randrange(3, 200))), 6, 23)
        if su >= t:
            su = t - _d(2)
        rec = w.referrer(s_person, su, iban=True)
        _cover(w, rec, su.date(), w.as_of, rng.randrange(0, 6))
        rounds = 2 if (i % 2 == 1 and rng.random() < 0.35) else 1
        for _r in range(rounds):
            mode = "disguise" if s_person.disguised else "self"
            crec = w.candidate(s_person, t - _d(rng.uniform(0.001, 0.02)), s_person, mode)
            job = w.job_at(t, country=s_person.country, guarantees=(g,),
                           allow=lambda c: w.unknown_at(s_person, c))
            ref = w.refer(rec, crec, job, t)
            hired_at = t + _d(lag)
            started = max(hired_at.date() + _d(notice), hired_at.date() + DAY)
            if not w.free_for(s_person, started):
                break
            if rng.random() < 0.7:
                ended, reason = started + _d(rng.randrange(300, 900)), "resigned"
            else:
                ended, reason = started + _d(job.guarantee + rng.randrange(3, 25)), "resigned"
            h = w.hire(ref, crec, job, hired_at, started, ended, reason)
            w.label("self_referral", s_person, "referrer", records=[rec, crec], referrals=[ref], hires=[h])
            if h is None or h.ended is None:
                break
            t = w.at(h.ended - _d(rng.randrange(10, 30)))
            g = rng.choice(SHORT_GUARANTEES)
            if t >= w.end - _d(40):
                break


def _referrals_from(w: World, rec, lo: dt.date, hi: dt.date, n: int, hire_p: float, device: str | None = None):
    """An account's referrals of new people in [lo, hi]; returns (referrals, hires)."""
    rng = w.rng
    refs, hires = [], []
    lo = max(lo, rec.signed_up.date() + DAY)
    hi = min(hi, w.as_of - DAY)
    for _ in range(n):
        if hi <= lo:
            break
        t = w.at(w.day_between(lo, hi))
        p = w.person(country=rec.person.country if rng.random() < 0.7 else None, age=(20, 50))
        job = w.job_at(t, country=p.country)
        crec = w.candidate_for(rec, p, t)
        ref = w.refer(rec, crec, job, t, device=device if device and rng.random() < 0.85 else True)
        refs.append(ref)
        if rng.random() < hire_p:
            hired_at = t + w.hire_lag(0)
            started = hired_at.date() + w.notice(job)
            ended, reason = w.honest_tenure(job, started)
            h = w.hire(ref, crec, job, hired_at, started, ended, reason)
            if h is not None:
                hires.append(h)
    return refs, hires


def shared_payout_account(w: World) -> None:
    """Several referrer accounts paying out to one bank account, typed differently on each:
    an operator's farm of made-up accounts, straw referrers paying to a collector, and couples who
    put their joint account on both their accounts."""
    rng = w.rng
    # farms: one operator, 3-5 accounts under made-up names, one device, one IBAN
    for i in range(w.n(3, 1)):
        op = w.person(honest=False, age=(24, 45))
        op.disguised = True
        iban = w.iban_for(op)
        length = rng.randrange(120, 260)
        lo = _anchor(w, i % 2 == 0, length + 150)
        hi = lo + _d(length)
        styles = rng.sample(pp.IBAN_STYLES, rng.randrange(3, 6))
        recs, refs, hires = [], [], []
        for style in styles:
            persona = w.person(country=op.country, honest=False, age=(20, 50))
            persona.phone = pp.make_mobile(rng, op.country) if rng.random() < 0.5 else None
            rec = w.referrer(op, w.at(lo + _d(rng.randrange(0, 30))), iban=pp.format_iban(rng, iban, style),
                             persona=persona)
            recs.append(rec)
            r, h = _referrals_from(w, rec, rec.signed_up.date(), hi, rng.randrange(3, 9), 0.2, op.devices[0])
            refs += r
            hires += h
        w.label("shared_payout_account", op, "referrer", records=recs, referrals=refs, hires=hires)
    # straw referrers: real, different people; the bounties go to the collector's account
    for i in range(w.n(2, 1)):
        collector = w.person(honest=False, age=(24, 50))
        iban = w.iban_for(collector)
        members = [w.person(honest=False, country=collector.country,
                            city=collector.city if rng.random() < 0.6 else None) for _ in range(rng.randrange(2, 4))]
        if rng.random() < 0.5:
            members.append(collector)
        lo = _anchor(w, i % 2 == 1, 300)
        styles = rng.sample(pp.IBAN_STYLES, len(members))
        for m, style in zip(members, styles):
            rec = w.referrer(m, w.at(lo + _d(rng.randrange(0, 60))), iban=pp.format_iban(rng, iban, style))
            r, h = _referrals_from(w, rec, rec.signed_up.date(), lo + _d(300), rng.randrange(2, 7), 0.3)
            w.label("shared_payout_account", m, "referrer", records=[rec], referrals=r, hires=h)
    # couples with one joint account on both referrer accounts (labelled: the contract's definition)
    for i in range(w.n(2, 1)):
        country = rng.choice(["DE", "AT", "PL"])
        a = w.person(honest=False, country=country, gender="m", age=(28, 55))
        b = w.person(honest=False, culture=a.culture, country=country, city=a.city, gender="f", age=(26, 55),
                     family=pp.female_form(a.culture, a.family))
        b.ip_prefix = a.ip_prefix
        joint = w.iban_for(a)
        b.iban = joint
        lo = _anchor(w, i % 2 == 0, 250)
        for m in (a, b):
            rec = w.referrer(m, w.at(lo + _d(rng.randrange(0, 90))), iban=True)
            r, h = _referrals_from(w, rec, rec.signed_up.date(), w.as_of, rng.randrange(2, 7), 0.25)
            w.label("shared_payout_account", m, "referrer", records=[rec], referrals=r, hires=h)
        w.notes["couples_joint_account_labelled"] += 1


def referral_ring(w: World) -> None:
    """Two to four people refer each other in a cycle, each is hired through the ring member before
    them, and each collects a bounty."""
    rng = w.rng
    for i in range(w.n(3, 2)):
        size = (2, 3, 4)[i % 3]
        country = rng.choice(["DE", "PL", "UA", "DE"])
        city = rng.choice(pp.CITIES[country])[0]
        members = [w.person(honest=False, country=country, city=city if rng.random() < 0.6 else None, age=(22, 45))
                   for _ in range(size)]
        disguised = rng.random() < 0.7
        for m in members:
            m.disguised = disguised
        t0 = _anchor(w, i % 2 == 0, rng.randrange(150, 230))
        recs = [w.referrer(m, w.at(t0 - _d(rng.randrange(5, 90))), iban=True) for m in members]
        for idx, a in enumerate(members):
            b = members[(idx + 1) % size]
            t = w.at(t0 + _d(rng.randrange(0, 75)))
            crec = w.candidate_for(recs[idx], b, t, "disguise" if disguised else "other")
            job = w.job_at(t, country=b.country, allow=lambda c: w.unknown_at(b, c))
            ref = w.refer(recs[idx], crec, job, t)
            hired_at = t + _d(rng.uniform(12, 40))
            started = hired_at.date() + _d(rng.randrange(7, 31))
            h = None
            if w.free_for(b, started):
                if rng.random() < 0.6:
                    ended = started + _d(rng.randrange(300, 900))
                else:
                    ended = started + _d(job.guarantee + rng.randrange(5, 40))
                h = w.hire(ref, crec, job, hired_at, started, ended, "resigned")
            w.label("referral_ring", a, "referrer", records=[recs[idx]], referrals=[ref], hires=[h])
            w.label("referral_ring", b, "referrer", records=[crec])
        for rec in recs:
            _cover(w, rec, rec.signed_up.date(), w.as_of, rng.randrange(0, 4))


def duplicate_referral(w: World) -> None:
    """A candidate the company already knows (someone else referred them, they applied themselves, or
    they worked there) is referred again by another referrer, who is then paid for the hire."""
    rng = w.rng
    for i in range(w.n(12, 3)):
        variant = ("referral", "application", "employment")[i % 3]
        p = w.person(honest=False, age=(22, 50))
        g = rng.choice((30, 60, 90, 90, 180))
        lag, notice = rng.uniform(9, 45), rng.randrange(7, 45)
        if i % 2 == 0:
            started = _due_start(w, g)
            t2 = w.at(started - _d(notice + int(lag) + 1))
        else:
            t2 = w.at(w.day_between(w.start + _d(250), w.as_of - _d(int(lag) + notice + g + 60)))
        job2 = w.job_at(t2, country=p.country, guarantees=(g,))
        company = job2.company
        first = None
        if variant == "referral":
            t1 = t2 - _d(rng.randrange(20, 200))
            pool = [r for r in w.honest_referrers if r.signed_up < t1]
            if t1.date() < w.start or not pool:
                t1 = t2 - _d(rng.randrange(5, 20))
                pool = [r for r in w.honest_referrers if r.signed_up < t1]
            first = rng.choice(pool)
            job1 = w.job_at(t1, company=company)
            w.refer(first, w.candidate_for(first, p, t1), job1, t1)  # not hired (yet): the process stalled
        elif variant == "application":
            t1 = t2 - _d(rng.randrange(3, 120))
            job1 = w.job_at(t1, company=company)
            crec = w.candidate(p, t1 - _d(rng.uniform(0.001, 0.03)), None, "self")
            w.apply(crec, job1, t1, rng.choice(["direct", "direct", "agency"]))
        else:
            left = t2.date() - _d(rng.randrange(60, 400))
            s1 = left - _d(rng.randrange(150, 500))
            t1 = w.at(s1 - _d(rng.randrange(30, 70)))
            job1 = w.job_at(t1, company=company)
            crec = w.candidate(p, t1 - _d(0.01), None, "self")
            w.apply(crec, job1, t1, "direct")
            w.hire(None, crec, job1, w.at(s1 - _d(rng.randrange(10, 25))), s1, left, "resigned")
        pool = [r for r in w.honest_referrers if r.signed_up < t2 and (first is None or r.person is not first.person)]
        claimer = rng.choice(pool)
        crec2 = w.candidate_for(claimer, p, t2)
        ref = w.refer(claimer, crec2, job2, t2)
        hired_at = t2 + _d(lag)
        started = hired_at.date() + _d(notice)
        if not w.free_for(p, started):
            continue
        ended, reason = w.honest_tenure(job2, started)
        if ended is not None and ended < started + _d(g):
            ended, reason = started + _d(rng.randrange(400, 900)), "resigned"
        w.hire(ref, crec2, job2, hired_at, started, ended, reason)
        # labelled by the writer's rule, which finds exactly this


def late_referral(w: World) -> None:
    """An insider who learns of a hire files a referral for it just before the offer is signed, after
    it, or even after the first working day, and claims the bounty."""
    rng = w.rng
    for i in range(w.n(6, 3)):
        insider = w.person(honest=False, age=(25, 55))
        su = w.at(w.day_between(w.start - _d(200), w.as_of - _d(300)), 6, 23)
        rec = w.referrer(insider, su, iban=True)
        _cover(w, rec, su.date(), w.as_of, rng.randrange(1, 5), hire_p=0.1)
        company = None
        for c in range(rng.choice((1, 1, 2, 3))):
            p = w.person(honest=False, age=(22, 50))
            g = rng.choice((30, 60, 90, 90, 180))
            notice = rng.randrange(7, 45)
            if (i + c) % 2 == 0:
                started = _due_start(w, g)
            else:
                started = w.day_between(max(su.date(), w.start) + _d(90), w.as_of - _d(g + 80))
            hired_at = w.at(started - _d(notice))
            job = w.job_at(hired_at - _d(rng.randrange(20, 50)), country=p.country, guarantees=(g,),
                           company=company)
            company = job.company if rng.random() < 0.6 else None  # the insider's own client, often
            kind = rng.choice(["just_before", "after_offer", "after_start"])
            if kind == "just_before":
                ref_at = hired_at - dt.timedelta(minutes=rng.randrange(60, 36 * 60))
            elif kind == "after_offer":
                ref_at = hired_at + dt.timedelta(minutes=rng.randrange(120, max(180, (notice - 1) * 1440)))
            else:
                ref_at = w.at(started + _d(rng.randrange(1, 30)))
            if ref_at >= w.end or ref_at <= rec.signed_up:
                ref_at = hired_at - dt.timedelta(minutes=rng.randrange(60, 36 * 60))
            crec = w.candidate_for(rec, p, ref_at)
            ref = w.refer(rec, crec, job, ref_at, mirror=0)
            ended, reason = w.honest_tenure(job, started)
            w.hire(ref, crec, job, hired_at, started, ended, reason)
            # labelled by the writer's rule (referral less than 48 h before the offer, or after it)


def _fake_person(w: World):
    rng = w.rng
    p = w.person(honest=False, phone=None, age=(20, 45))
    p.fake = True
    p.profile = None

    def make() -> str:
        letters = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randrange(5, 9)))
        domain = rng.choice(["mail.com", "gmx.net", "yahoo.com", "outlook.com", "proton.me", "inbox.lv"])
        return f"{letters}{rng.randrange(10, 9999)}@{domain}"

    p.email = w.unique_email(make)
    return p


def velocity_spike(w: World) -> None:
    """A new or long-dormant referrer suddenly files dozens of referrals in one or two weeks, mostly
    of made-up or scraped people; a few are hired and their bounties fall due months later."""
    rng = w.rng
    for i in range(w.n(5, 2)):
        v = w.person(honest=False, age=(20, 45))
        recent = i % 2 == 0
        length = rng.randrange(7, 17)
        if recent:
            burst = w.as_of - _d(rng.randrange(95, 140))
        else:
            burst = w.day_between(w.start + _d(260), w.as_of - _d(240))
        if i % 3 == 1 and burst > w.start + _d(200):  # dormant: a few referrals long ago, then silence
            su = w.at(w.day_between(w.start - _d(60), burst - _d(300)))
            rec = w.referrer(v, su, iban=True)
            _cover(w, rec, su.date(), su.date() + _d(90), rng.randrange(2, 5), hire_p=0.1)
        else:  # brand new
            rec = w.referrer(v, w.at(burst - _d(rng.randrange(1, 6))), iban=True)
        refs, real = [], []
        for _ in range(rng.randrange(25, 61)):
            t = w.at(burst + _d(rng.randrange(0, length)), 0, 24)
            if t <= rec.signed_up:
                t = rec.signed_up + _d(rng.uniform(0.05, 1))
            scraped = rng.random() < 0.3
            p = w.person(age=(20, 50)) if scraped else _fake_person(w)
            job = w.job_at(t, country=rng.choice([v.country, None]))
            crec = w.candidate_for(rec, p, t)
            ref = w.refer(rec, crec, job, t, channel=rng.choice(["link", "link", "facebook", "other"]), mirror=0.05)
            refs.append(ref)
            if scraped:
                real.append(ref)
        hires = []
        rng.shuffle(real)
        for j, ref in enumerate(real[: rng.randrange(2, 6)]):
            g = ref.job.guarantee
            if recent and j == 0 and g <= 90:
                started = _due_start(w, g)
                if started <= ref.at.date() + _d(12):
                    started = ref.at.date() + _d(rng.randrange(15, 40))
                hired_at = w.at(started - _d(rng.randrange(3, max(4, min(30, (started - ref.at.date()).days - 5)))))
            else:
                hired_at = ref.at + w.hire_lag(0)
                started = hired_at.date() + w.notice(ref.job)
            if rng.random() < 0.4 and g >= 20 and not (recent and j == 0):
                ended, reason = started + _d(rng.randrange(5, g - 3)), rng.choice(["probation_failed", "resigned"])
            else:
                ended, reason = w.honest_tenure(ref.job, started)
                if ended is not None and ended < started + _d(g) and recent and j == 0:
                    ended = None
            h = w.hire(ref, ref.candidate, ref.job, hired_at, started, ended, reason)
            if h is not None:
                hires.append(h)
        w.label("velocity_spike", v, "referrer", records=[rec], referrals=refs, hires=hires)


def schemes(w: World) -> None:
    serial_rereferral(w)
    job_hopping(w)
    self_referral(w)
    shared_payout_account(w)
    referral_ring(w)
    duplicate_referral(w)
    late_referral(w)
    velocity_spike(w)
