"""duplicate_referral: the company already knew the candidate; a later referral by someone else claims the bounty."""
from __future__ import annotations

from bountyguard.evaluation.generator import disguise as dz
from bountyguard.evaluation.generator.records import (
    DAY,
)


def inject(world):
    """The company already knew the candidate; a later referral by someone else claims the bounty."""
    target, made = world.n(24), 0
    for _ in range(target * 4):
        if made >= target:
            break
        exact = world.chance(0.5)
        mode = dz.pick_weighted(world.rng, {"referral": .4, "application": .3, "employment": .3})
        # the first two fall due in this run, so even a small data set has payouts to void
        zone, eligible = world.zone_eligible((0.0, 1.0, 0.0) if made < 2 else (0.5, 0.35, 0.15))
        plan = world.plan_backward(eligible, not_before=250 if mode == "employment" else 60)
        if plan is None:
            continue
        job, ref_day, hired_day, start = plan
        company = job.company
        claimant = world.honest_referrer_at(ref_day, tiers=("regular", "casual"))
        if claimant is None:
            continue
        person = world.new_person()
        first = world.new_candidate(person)
        done = False
        if mode == "employment":
            end1 = ref_day - world.ri(30, 200)
            start1 = end1 - world.ri(200, 400)  # a full stint: direct hires never end inside the guarantee
            hired1 = start1 - world.ri(7, 25)
            job1 = world.company_job_open(company, hired1 - 20)
            if job1 is not None and hired1 - 20 > 0:
                app_day = max(job1.posted // DAY + 1, hired1 - world.ri(10, 20))
                world.add_application(first, job1, world.ts(app_day), "direct")
                world.add_hire(None, first, job1, world.ts(hired1), start1, end1, "resigned")
                done = True
            else:
                mode = "application"
        if mode == "application":
            app_day = ref_day - world.ri(3, 150)
            job1 = world.company_job_open(company, app_day)
            if job1 is not None and app_day > 0:
                world.add_application(first, job1, world.ts(app_day), "agency" if world.chance(0.3) else "direct")
                done = True
            else:
                mode = "referral"
        if mode == "referral":
            ref1_day = ref_day - world.ri(10, 200)
            job1 = world.company_job_open(company, ref1_day)
            earlier = world.honest_referrer_at(ref1_day, exclude=(person, claimant.person))
            if job1 is not None and earlier is not None and ref1_day > 0:
                world.add_referral(earlier, first, job1, max(world.ts(ref1_day), earlier.signup + 1,
                                                            job1.posted + 1))
                done = True
        if not done:
            continue
        made += 1
        cand = first if exact else world.new_candidate(person, "disguised")
        tenure = None if world.chance(0.6) else job.g + world.ri(40, 400)
        world.stint(claimant, cand, job, max(ref_day, claimant.signup // DAY + 1), hired_day, start,
                   None if tenure is None else start + tenure)
