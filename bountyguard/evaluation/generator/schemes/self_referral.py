"""self_referral: self_referral"""
from __future__ import annotations



def inject(world):
    for _ in range(world.n(24)):
        person = world.new_person()
        signup = world.ri(-60, world.D - 250)
        exact = world.chance(0.25)
        referrer = world.new_referrer(person, signup, "exact" if exact else "usual")
        cand = world.new_candidate(person, "exact" if exact else "disguised")
        refs, hires, used = [], [], set()
        for attempt in range(2 if world.chance(0.2) else 1):
            zone, eligible = world.zone_eligible()
            plan = world.plan_backward(eligible, exclude=used, not_before=signup + 3)
            if plan is None:
                continue
            job, ref_day, hired_day, start = plan
            used.add(job.company)
            tenure = None if world.chance(0.6) else job.g + world.ri(60, 500)
            referral, hire = world.stint(referrer, cand, job, ref_day, hired_day, start,
                                        None if tenure is None else start + tenure)
            refs.append(referral)
            hires.append(hire)
        if not refs:
            cand_day = world.ri(max(1, signup + 3), world.D)
            job = world.pick_job(cand_day)
            refs.append(world.add_referral(referrer, cand, job, max(world.ts(cand_day), referrer.signup + 1,
                                                                   job.posted + 1)))
        world.label("self_referral", person, "referrer", not exact, [referrer, cand], refs, hires)
        world.fillers(referrer, world.ri(0, 4), 0.25)
