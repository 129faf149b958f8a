"""velocity_spike: a quiet referrer suddenly submits ten times their usual volume in the last 30 days."""
from __future__ import annotations



def inject(world):
    """A quiet referrer suddenly submits ten times their usual volume in the last 30 days."""
    D = world.D
    for _ in range(world.n(20)):
        person = world.new_person()
        signup = D - world.ri(400, 700)
        rec = world.new_referrer(person, signup)
        per_month = 1 + 2 * world.rng.random()
        history_days = (D - 31) - (signup + 5)
        count = int(world.rng.poisson(per_month * history_days / 30))
        hires = []
        for _ in range(count):
            day = world.ri(signup + 5, D - 31)
            cand = world.new_candidate(world.new_person())
            job = world.pick_job(day)
            if job is None:
                continue
            referral = world.add_referral(rec, cand, job, max(world.ts(day), rec.signup + 1, job.posted + 1))
            if world.chance(0.15):
                hire = world.hire_after(referral, world.ri(14, 50), world.ri(200, 700) if world.chance(0.3) else None)
        # payouts falling due right now, so the spike blocks real money
        for _ in range(world.ri(2, 3)):
            plan = world.plan_backward(D - world.ri(1, 40), g_allowed=(30, 60, 90), not_before=signup + 5)
            if plan is None:
                continue
            job, ref_day, hired_day, start = plan
            if ref_day > D - 31:
                continue
            cand = world.new_candidate(world.new_person())
            hires.append(world.stint(rec, cand, job, ref_day, hired_day, start, None)[1])
        realised = count / (history_days / 30)
        spike = max(25, int(round(12 * realised))) + world.ri(0, 8)  # ten times their own usual month
        spike_refs = []
        for _ in range(spike):
            day = world.ri(D - 29, D)
            cand = world.new_candidate(world.new_person())
            job = world.pick_job(day)
            if job is None:
                continue
            referral = world.add_referral(rec, cand, job, max(world.ts(day), rec.signup + 1, job.posted + 1))
            spike_refs.append(referral)
            if day <= D - 20 and world.chance(0.3):
                hire = world.hire_after(referral, world.ri(14, D - day - 3), None, start_delay=(1, 3))
                if hire is not None:
                    hires.append(hire)
        world.label("velocity_spike", person, "referrer", False, [rec], spike_refs, hires)
