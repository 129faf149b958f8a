"""referral_ring: referral_ring"""
from __future__ import annotations

from bountyguard.evaluation.generator.records import (
    DAY,
)


def inject(world):
    rings = world.n(8, 3)
    for r in range(rings):
        size = (2, 3, 4)[r % 3]
        members = []
        for _ in range(size):
            person = world.new_person()
            exact = world.chance(0.3)
            referrer = world.new_referrer(person, world.ri(-60, world.D - 330), "exact" if exact else "usual")
            cand = world.new_candidate(person, "exact" if exact else "disguised")
            members.append((person, referrer, cand, exact))
        latest_signup = max(m[1].signup for m in members) // DAY
        zone, eligible = world.zone_eligible((0.45, 0.4, 0.15))
        edges = []
        used_companies: set = set()
        for i in range(size):
            referrer, target = members[i][1], members[(i + 1) % size][2]
            shifted = eligible + (world.ri(-120, 0) if zone != "due" else world.ri(-20, 0))
            plan = world.plan_backward(shifted, exclude=used_companies, not_before=latest_signup + 2)
            if plan is None:
                day = world.ri(max(1, latest_signup + 2), world.D)
                job = world.pick_job(day, exclude=used_companies)
                if job is None:
                    job = world.pick_job(day)
                edges.append((world.add_referral(referrer, target, job, max(world.ts(day), referrer.signup + 1,
                                                                          job.posted + 1)), None))
                continue
            job, ref_day, hired_day, start = plan
            used_companies.add(job.company)
            tenure = None if world.chance(0.6) else job.g + world.ri(40, 300)
            if world.chance(0.12):  # referred but not hired: still part of the ring
                edges.append((world.add_referral(referrer, target, job, max(world.ts(ref_day),
                                                                           referrer.signup + 1,
                                                                           job.posted + 1)), None))
                continue
            edges.append(world.stint(referrer, target, job, ref_day, hired_day, start,
                                    None if tenure is None else start + tenure))
        for person, referrer, cand, exact in members:
            mine = [(ref, hire) for ref, hire in edges if ref.referrer is referrer or ref.candidate is cand]
            world.label("referral_ring", person, "referrer", not exact, [referrer, cand],
                       [ref for ref, _ in mine], [h for _, h in mine if h is not None])
            world.fillers(referrer, world.ri(0, 2), 0.2)
