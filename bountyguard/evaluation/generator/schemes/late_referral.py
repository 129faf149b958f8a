"""late_referral: the referral arrives hours before the offer is signed: the referrer did not bring the candidate."""
from __future__ import annotations

from bountyguard.evaluation.generator.records import (
    DAY,
)


def inject(world):
    """The referral arrives hours before the offer is signed: the referrer did not bring the candidate."""
    target, made = world.n(24), 0
    for _ in range(target * 4):
        if made >= target:
            break
        # the first two fall due in this run, so even a small data set has payouts to void
        zone, eligible = world.zone_eligible((0.0, 1.0, 0.0) if made < 2 else (0.5, 0.35, 0.15))
        plan = world.plan_backward(eligible, not_before=30)
        if plan is None:
            continue
        job, ref_day, hired_day, start = plan
        referrer = world.honest_referrer_at(hired_day, tiers=("regular", "casual"), avoid_reserved=True)
        if referrer is None or referrer.signup >= world.ts(hired_day) - 3 * DAY:
            continue
        world.reserved.add(referrer)
        made += 1
        for k in range(2 if world.chance(0.2) else 1):
            if k == 1:
                plan = world.plan_backward(eligible - world.ri(30, 200), not_before=30)
                if plan is None:
                    break
                job, ref_day, hired_day, start = plan
            hired = world.ts(hired_day)
            ref_t = hired - world.ri(30, 44 * 60)
            if ref_t <= max(referrer.signup, job.posted):
                continue
            person = world.new_person()
            cand = world.new_candidate(person)
            referral = world.add_referral(referrer, cand, job, ref_t)
            tenure = None if world.chance(0.6) else job.g + world.ri(40, 400)
            end = None if tenure is None or start + tenure > world.D else start + tenure
            world.add_hire(referral, cand, job, hired, max(start, hired // DAY + 1), end)
