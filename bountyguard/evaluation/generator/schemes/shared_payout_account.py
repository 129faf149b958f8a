"""shared_payout_account: shared_payout_account"""
from __future__ import annotations

from bountyguard.evaluation.generator import disguise as dz
from bountyguard.evaluation.generator.records import (
    DAY,
)


def inject(world):
    target, people = world.n(24, 6), 0
    while people < target:
        size = world.ri(2, 4)
        country = dz.pick_weighted(world.rng, {"DE": .6, "AT": .2, "PL": .2})
        iban = dz.new_iban(country, world.rng)
        identical = world.chance(0.2)
        styles = list(dz.IBAN_STYLES)
        world.rng.shuffle(styles)
        sock = world.chance(0.3)
        accounts = []
        for j in range(size):
            text = dz.format_iban(iban, styles[0] if identical else styles[j % len(styles)])
            signup = world.ri(-60, world.D - 200)
            if sock and j == 1:
                # a sock puppet: the same person under a second account, name and e-mail varied
                person = accounts[0].person
                rec = world.new_referrer(person, signup, "disguised", iban_text=text)
                rec.devices = list(accounts[0].devices)  # opened from the same phone
            else:
                person = world.new_person(country=country if world.chance(0.7) else None)
                rec = world.new_referrer(person, signup, "usual", iban_text=text)
            accounts.append(rec)
        for k, rec in enumerate(accounts):
            refs, hires = [], []
            for m in range(world.ri(2, 6)):
                person = world.new_person()
                cand = world.new_candidate(person)
                if world.chance(0.45) or (k == 0 and m == 0):
                    zone, eligible = world.zone_eligible((0.45, 0.4, 0.15))
                    plan = world.plan_backward(eligible, not_before=rec.signup // DAY + 3)
                    if plan is not None:
                        job, ref_day, hired_day, start = plan
                        tenure = None if world.chance(0.6) else job.g + world.ri(40, 400)
                        referral, hire = world.stint(rec, cand, job, ref_day, hired_day, start,
                                                    None if tenure is None else start + tenure)
                        refs.append(referral)
                        hires.append(hire)
                        continue
                day = world.ri(max(1, rec.signup // DAY + 1), world.D)
                job = world.pick_job(day)
                if job is not None:
                    refs.append(world.add_referral(rec, cand, job, max(world.ts(day), rec.signup + 1,
                                                                      job.posted + 1)))
            disguised = (not identical) or sock
            people += rec.person not in world.labels["shared_payout_account"]
            world.label("shared_payout_account", rec.person, "referrer", disguised, [rec], refs, hires)
