"""serial_rereferral: an expert re-placed again and again, quitting right after each guarantee; the referrer splits it."""
from __future__ import annotations



def inject(world):
    """An expert re-placed again and again, quitting right after each guarantee; the referrer splits it."""
    D = world.D
    for _ in range(world.n(22)):
        person = world.new_person()
        stints_total = world.ri(3, 6)
        exact = world.chance(0.5)
        pair = stints_total >= 4 and world.chance(0.35)
        referrers = [world.new_referrer(world.new_person(), world.ri(-60, 60))]
        if pair:
            referrers.append(world.new_referrer(world.new_person(), world.ri(-60, 60)))
        g_allowed = (30, 60, 90) if stints_total >= 4 else (30, 60, 90, 180)
        due = world.chance(0.7)
        eligible = D - world.ri(1, 40) if due else D + world.ri(1, 20)
        plans, exclude, next_ref_day = [], set(), None
        for i in range(stints_total):
            if next_ref_day is not None:
                end = next_ref_day - world.ri(0, 10)
                eligible = end - world.ri(1, 21)
            plan = world.plan_backward(eligible, exclude, g_allowed, not_before=5)
            if plan is None:
                break
            job, ref_day, hired_day, start = plan
            end = None if next_ref_day is None else end
            if next_ref_day is None and due and world.chance(0.3):
                end = start + job.g + world.ri(1, 21)  # the newest stint already over as well
            plans.append((job, ref_day, hired_day, start, end))
            exclude.add(job.company)
            next_ref_day = ref_day
        if len(plans) < 3:
            continue
        plans.reverse()
        records = [world.new_candidate(person)]
        refs, hires = [], []
        for k, (job, ref_day, hired_day, start, end) in enumerate(plans):
            cand = records[0] if exact or k == 0 else world.new_candidate(
                person, "disguised", avoid={(r.full_name, r.email) for r in records})
            if cand not in records:
                records.append(cand)
            referrer = referrers[k % len(referrers)]
            referral, hire = world.stint(referrer, cand, job, ref_day, hired_day, start, end,
                                        "resigned" if world.chance(0.85) else "other")
            refs.append(referral)
            hires.append(hire)
        world.label("serial_rereferral", person, "candidate", not exact, records, refs, hires)
        for referrer in referrers:
            mine = [r for r in refs if r.referrer is referrer]
            world.label("serial_rereferral", referrer.person, "referrer", not exact, [referrer], mine,
                       [h for h in hires if h.referral in mine])
            world.fillers(referrer, world.ri(0, 4), 0.15)
