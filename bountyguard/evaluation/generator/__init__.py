"""Labelled synthetic referral-platform data: the demo, test and evaluation data of bountyguard.

`generate(out, seed, scale, as_of)` writes a landing folder (`out/landing/<table>.csv`, exactly the contract
tables) and the ground truth the pipeline is scored against (`out/truth/`):

- `meta.json`: seed, scale, as_of, options, row counts, persons per pattern, decision counts;
- `identities.csv`: record_type, record_id, true_person_id (every referrer and candidate record once);
- `patterns.csv`: pattern, true_person_id, role, disguised, record_ids, referral_ids, hire_ids, payout_ids:
  one row per (pattern, person) a detector must flag;
- `payouts.csv`: payout_id, expected_decision, reasons, blocked: one row per payout.

The world is simulated person by person: honest careers (power recruiters, job changers, boomerang rehires,
early quitters, families sharing a phone, namesakes) and, beside them, every abuse scheme of the contract,
with identities disguised the way people really vary them (see `disguise`).

How the truth is decided, so that the pipeline can implement exactly the same rules:
- early_exit (role candidate): a referred hire whose `ended_at < started_at + guarantee_days`.
- late_referral (role referrer): a hired referral submitted at most 2 days before `hired_at`.
- duplicate_referral (role candidate): a hired referral whose candidate *person* was known to the job's
  company before `referred_at`: an earlier referral there by a different referrer person, an own
  application there (source direct or agency), or an earlier hire there.
- job_hopping (role candidate): a candidate person with tenures that ended within a probation period
  (shorter than 183 days, German probation being at most six months; a contract that simply ran out
  does not count) at 3 or more different companies (so a serial re-referral victim with 3+ stints is a
  job hopper too).
- serial_rereferral (candidate and colluding referrers), self_referral, shared_payout_account,
  referral_ring, velocity_spike (referrers), anomaly (referrers, `rule_free_abuse` only): as injected;
  the honest background is built so that none of them occurs by accident.
Payout decisions (only for payouts `pending` with `eligible_at <= as_of`, and `released` ones):
- pending and due: `void` if early_exit, duplicate_referral or late_referral applies to the payout itself;
  else `hold` if its referrer person or candidate person is involved (in any role) in serial_rereferral,
  self_referral, shared_payout_account, referral_ring, velocity_spike or job_hopping; else `release`.
- released: `clawback` if it was not owed (early_exit, duplicate_referral, late_referral) or its referrer
  or candidate person is involved in serial_rereferral, self_referral, shared_payout_account or
  referral_ring; otherwise no decision.
- reasons are the pattern codes behind the decision, in contract order.

Payout states written to the landing data: `eligible_at` later than `as_of - 45 days` stays `pending`
(the run decides the due ones); older ones are `released` a few days after `eligible_at`, `void` when the
hire's early end was known before the release date, or (rarely) `held`. Late corrections: some released
payouts get an `ended_at` before the guarantee end filled in later (hire `updated_at` after the release),
a few of which the platform already recovered (`clawed_back`).

Ids are numbered in time order (sign-up, creation, referral, hire), so an id never tells injected
records from honest ones. One seed gives the same bytes every time; `rule_free_abuse` draws from a
random stream of its own, after everything else, so the default data set does not depend on it.

Personal data never goes to logs: this module prints nothing.
"""
from bountyguard.evaluation.generator.writer import generate

__all__ = ["generate"]
