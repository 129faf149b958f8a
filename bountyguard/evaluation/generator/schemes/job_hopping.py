"""job_hopping: many short jobs that end whenever, not at the guarantee end; whoever referred them."""
from __future__ import annotations



def inject(world):
    """Many short jobs that end whenever, not at the guarantee end; whoever referred them."""
    D = world.D
    target, made = world.n(20), 0
    for _ in range(target * 3):
        if made >= target:
            break
        person = world.new_person()
        total = world.ri(4, 6)
        many_records = world.chance(0.4)
        records = [world.new_candidate(person)]
        day = world.ri(0, max(1, D - 190 * total))
        known, prev_end, short_ended = set(), None, 0
        for i in range(total):
            rec = records[0]
            if many_records and i > 0 and world.chance(0.6):
                rec = world.new_candidate(person, "disguised", avoid={(r.full_name, r.email) for r in records})
                records.append(rec)
            direct = world.chance(0.4)
            if direct:
                job = world.pick_job(min(day, D), exclude=known, g_allowed=(30,))
                if job is None:
                    break
                tenure = world.ri(56, 110)
                world.add_application(rec, job, max(world.ts(day), job.posted + 1), "direct")
                hired_day = day + world.ri(7, 25)
                start = hired_day + world.ri(5, 20)
                if prev_end is not None:
                    start = max(start, prev_end + world.ri(1, 10))
                if start > D:
                    break
                end = start + tenure if start + tenure <= D else None
                hire = world.add_hire(None, rec, job, world.ts(hired_day), start, end,
                                     world.pick(["resigned", "dismissed", "probation_failed", "other"])
                                     if end else "")
            else:
                referrer = world.honest_referrer_at(day, exclude=(person,))
                job = world.pick_job(min(day, D), exclude=known)
                if referrer is None or job is None:
                    break
                tenure = world.ri(30, 110)
                while 0 <= tenure - job.g <= 25:  # not timed to the guarantee: that is another scheme
                    tenure = world.ri(30, 110)
                referral = world.add_referral(referrer, rec, job, max(world.ts(day), referrer.signup + 1,
                                                                     job.posted + 1))
                hire = world.hire_after(referral, world.ri(14, 40), tenure,
                                       world.pick(["resigned", "dismissed", "probation_failed", "other"]),
                                       start_delay=(5, 20),
                                       min_start=None if prev_end is None else prev_end + world.ri(1, 10))
                if hire is None:
                    break
            known.add(job.company)
            if hire.end is None:
                break
            short_ended += 1
            prev_end = hire.end
            day = hire.end + world.ri(-25, 15)
        made += short_ended >= 4
