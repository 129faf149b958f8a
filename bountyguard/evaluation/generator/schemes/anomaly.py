"""anomaly: rule-free abuse: placements that each look fine, but every one quits just after its guarantee."""
from __future__ import annotations

from bountyguard.evaluation.generator.records import (
    DAY,
)


def inject(world, rng):
    """Rule-free abuse: placements that each look fine, but every one quits just after its guarantee."""
    saved, world.rng = world.rng, rng
    D = world.D
    try:
        for _ in range(world.n(20)):
            person = world.new_person()
            rec = world.new_referrer(person, D - world.ri(450, 600))
            placements = world.ri(6, 15)
            days = sorted(world.ri(D - 420, D - 215) for _ in range(placements))  # all over by as-of
            used: set = set()
            refs, hires = [], []
            for day in days:
                day = max(day, rec.signup // DAY + 2)
                job = world.pick_job(day, exclude=used, g_allowed=(30, 60, 90))
                if job is None:
                    continue
                used.add(job.company)
                cand = world.new_candidate(world.new_person())
                referral = world.add_referral(rec, cand, job, max(world.ts(day), rec.signup + 1, job.posted + 1))
                hire = world.hire_after(referral, world.ri(14, 60), job.g + world.ri(1, 10), "resigned",
                                       start_delay=(7, 30))
                refs.append(referral)
                if hire is not None:
                    hires.append(hire)
            world.label("anomaly", person, "referrer", False, [rec], refs, hires)
    finally:
        world.rng = saved

# -- payouts ---------------------------------------------------------------------------------------
