"""The truth a run is scored against: the rule-shaped labels derived from the finished world, and the
expected decision of every payout (the generator's docstring states both rules)."""
from __future__ import annotations

from bountyguard.contract import PATTERNS
from bountyguard.evaluation.generator.records import (
    CLAWBACK_PATTERNS,
    HOLD_PATTERNS,
    JOB_HOPPING_COMPANIES,
    LATE_REFERRAL_MINUTES,
    Payout,
    Person,
    SHORT_TENURE_DAYS,
)



def derive_labels(world):
    """The patterns that follow from the data alone, labelled wherever they occur (honest or not)."""
    known: dict[tuple, list] = {}  # (person, company) -> [(time, kind, referrer person, candidate record)]
    for r in world.referrals:
        known.setdefault((r.candidate.person, r.job.company), []).append((r.t, "referral", r.referrer.person,
                                                                          r.candidate))
    for a in world.applications:
        if a.source in ("direct", "agency"):
            known.setdefault((a.candidate.person, a.job.company), []).append((a.t, "application", None,
                                                                              a.candidate))
    for h in world.hires:
        known.setdefault((h.candidate.person, h.job.company), []).append((h.hired, "hire", None, h.candidate))
    world.void_reasons: dict[Payout, list] = {}
    short: dict[Person, list] = {}
    for h in sorted(world.hires, key=lambda h: h.id):
        person = h.candidate.person
        if h.end is not None and h.end - h.start < SHORT_TENURE_DAYS and h.reason != "contract_end":
            short.setdefault(person, []).append(h)
        r = h.referral
        if r is None:
            continue
        reasons = []
        if h.end is not None and h.end < h.start + h.job.g:
            reasons.append("early_exit")
            world.label("early_exit", person, "candidate", False, [h.candidate], [r], [h])
        evidence = [e for e in known.get((person, h.job.company), ())
                    if e[0] < r.t and (e[1] != "referral" or e[2] is not r.referrer.person)]
        if evidence:
            reasons.append("duplicate_referral")
            disguised = all(e[3] is not h.candidate for e in evidence)
            world.label("duplicate_referral", person, "candidate", disguised,
                       [h.candidate] + [e[3] for e in evidence], [r], [h])
        if h.hired - r.t <= LATE_REFERRAL_MINUTES:
            reasons.append("late_referral")
            world.label("late_referral", r.referrer.person, "referrer", False, [r.referrer], [r], [h])
        if h.payout is not None:
            world.void_reasons[h.payout] = reasons
    for person, hires in short.items():
        if len({h.job.company for h in hires}) >= JOB_HOPPING_COMPANIES:
            records = []
            for h in hires:
                if h.candidate not in records:
                    records.append(h.candidate)
            world.label("job_hopping", person, "candidate", len(records) > 1, records,
                       [h.referral for h in hires if h.referral is not None], hires)


def decide(world) -> dict[Payout, tuple[str, list]]:
    involved: dict[Person, set] = {}
    for pattern in HOLD_PATTERNS:
        for person in world.labels[pattern]:
            involved.setdefault(person, set()).add(pattern)
    decisions = {}
    for p in world.payouts:
        persons = (p.hire.referral.referrer.person, p.hire.candidate.person)
        hold = [c for c in PATTERNS if c in HOLD_PATTERNS and any(c in involved.get(x, ()) for x in persons)]
        void = world.void_reasons.get(p, [])
        if p.status == "pending" and p.eligible <= world.D:
            if void:
                decisions[p] = ("void", void)
            elif hold:
                decisions[p] = ("hold", hold)
            else:
                decisions[p] = ("release", [])
        elif p.status == "released":
            claw = [c for c in PATTERNS if c in void or (c in CLAWBACK_PATTERNS and c in hold)]
            decisions[p] = ("clawback", claw) if claw else ("", [])
        else:
            decisions[p] = ("", [])
    return decisions

# -- output ----------------------------------------------------------------------------------------
