"""Payout rows, the contract's rule-shaped labels, expected decisions, ids, and the files."""
from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter, defaultdict
from pathlib import Path

from bountyguard.contract import LOAD_ORDER, PATTERNS, TABLES

from .world import DAY, Payout, World

LATE_HOURS = 48  # a referral less than two days before the signed offer (or after it) is late
PROBATION_DAYS = 183  # German probation: at most six months
JOB_HOPPING_MIN_STINTS = 3
HOLD_CODES = ("serial_rereferral", "job_hopping", "self_referral", "shared_payout_account", "referral_ring",
              "velocity_spike")
CLAWBACK_CODES = ("serial_rereferral", "self_referral", "shared_payout_account", "referral_ring")
NOT_OWED_CODES = ("early_exit", "duplicate_referral", "late_referral")
PENDING_DAYS = 45

DEFINITIONS = {
    "serial_rereferral": "Injected: an expert placed at three or more companies in a row through the same referrer "
                         "(or a small colluding group), each stint ending 3-21 days after its guarantee; the "
                         "expert (role candidate) and every colluding referrer (role referrer) are labelled.",
    "job_hopping": "Rule: a candidate person with three or more hires at three or more different companies "
                   "(referred or direct) that ended within 183 days of starting for a reason other than "
                   "contract_end; serial experts meet it too and are labelled for both.",
    "early_exit": "Rule: the candidate person of every referred hire whose ended_at is before "
                  "started_at + guarantee_days, honest or not.",
    "self_referral": "Rule: every referrer person who referred a candidate record of themselves (all injected, "
                     "most under an alias and another spelling).",
    "shared_payout_account": "Rule: every person holding a referrer account whose IBAN (compared without "
                             "spaces, dashes, dots and case) is on at least one other referrer account: "
                             "operators' farms, straw referrers and a couple's joint account.",
    "referral_ring": "Rule: every person on a directed cycle of person-level referrals (A refers B ... refers A); "
                     "all are injected rings of 2-4 people, each hired through the ring.",
    "duplicate_referral": "Rule: the candidate person of a hired referral filed after that person was already "
                          "known to the same company through another referrer person's earlier referral, an "
                          "own direct/agency application, or an earlier hire there.",
    "late_referral": "Rule: the referrer person of a hired referral filed less than 48 hours before hired_at, "
                     "or after hired_at or started_at (honest fast hires take 3 days or more).",
    "velocity_spike": "Injected: a new or long-dormant referrer who files 25-60 referrals within 7-16 days, "
                      "mostly of made-up people; power recruiters' 3-6x campaign weeks are not labelled.",
    "anomaly": "Not labelled.",
}


def _ts(t: dt.datetime | None) -> str:
    return "" if t is None else t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _day(d: dt.date | None) -> str:
    return "" if d is None else d.isoformat()


def _iban_key(text: str | None) -> str | None:
    if not text:
        return None
    return "".join(ch for ch in text if ch.isalnum()).upper()


# ------------------------------------------------------------------------------------------ payouts

def make_payouts(w: World) -> None:
    """One bounty per referred hire, in the state the platform shows on the as-of day."""
    rng = w.rng
    recent_limit = w.as_of - dt.timedelta(days=PENDING_DAYS)
    for h in w.hires:
        if h.referral is None:
            continue
        elig = h.eligible
        early = h.ended is not None and h.ended < elig
        known = h.end_recorded
        created = w.before_end(h.hired_at + dt.timedelta(minutes=rng.randrange(5, 2000)), floor=h.hired_at)
        status, released, updated = "pending", None, (created if rng.random() < 0.6 else None)
        if elig > recent_limit:
            # the platform voids a bounty it knows is not owed in its next batch, some weeks after the end
            if early and known is not None and rng.random() < (0.5 if elig > w.as_of else 0.25):
                status, updated = "void", w.before_end(known + dt.timedelta(hours=rng.randrange(1, 72)), floor=known)
        else:
            release_at = w.at(elig + dt.timedelta(days=rng.randrange(2, 11)), 6, 18)
            if early and known is not None and known < release_at:
                status, updated = "void", w.before_end(max(known, w.at(elig, 5, 7)) + dt.timedelta(hours=rng.randrange(1, 48)))
            elif early:
                status, released, updated = "released", release_at, release_at
                if known is not None and rng.random() < 0.45:  # the platform already recovered it
                    status = "clawed_back"
                    updated = w.before_end(known + dt.timedelta(days=rng.randrange(2, 30)), floor=known)
            elif h.referral.referrer.iban is None:
                status, updated = "held", w.at(elig + DAY, 5, 8)  # nowhere to pay it to
            elif rng.random() < 0.01:
                status, updated = "held", w.at(elig + DAY, 5, 8)  # the platform's own manual review
            else:
                status, released, updated = "released", release_at, release_at
        w.payouts.append(Payout(h, status, released, updated, rng.random()))


# ------------------------------------------------------------------------------------------ rule labels

def rule_labels(w: World) -> None:
    by_pc_refs, by_pc_apps, by_pc_hires = defaultdict(list), defaultdict(list), defaultdict(list)
    for r in w.referrals:
        by_pc_refs[(r.candidate.person.key, id(r.job.company))].append(r)
    for a in w.applications:
        if a.source != "referral":
            by_pc_apps[(a.candidate.person.key, id(a.job.company))].append(a)
    for h in w.hires:
        by_pc_hires[(h.candidate.person.key, id(h.job.company))].append(h)

    for h in w.hires:
        r = h.referral
        if r is None:
            continue
        cand, ref_person = h.candidate.person, r.referrer.person
        if h.ended is not None and h.ended < h.eligible:
            w.label("early_exit", cand, "candidate", records=[h.candidate], referrals=[r], hires=[h])
        if (h.hired_at - r.at) < dt.timedelta(hours=LATE_HOURS):
            w.label("late_referral", ref_person, "referrer", records=[r.referrer], referrals=[r], hires=[h])
        key = (cand.key, id(h.job.company))
        known = (any(r2.at < r.at and r2.referrer.person is not ref_person for r2 in by_pc_refs[key])
                 or any(a.at < r.at for a in by_pc_apps[key])
                 or any(h2 is not h and h2.hired_at < r.at for h2 in by_pc_hires[key]))
        if known:
            w.label("duplicate_referral", cand, "candidate", records=[h.candidate], referrals=[r], hires=[h])

    # job hopping: short tenures (ended within probation, not a planned contract end) at 3+ companies
    stints = defaultdict(list)
    for h in w.hires:
        if h.ended is not None and h.reason != "contract_end" and (h.ended - h.started).days <= PROBATION_DAYS:
            stints[h.candidate.person.key].append(h)
    for key, hs in stints.items():
        if len({id(h.job.company) for h in hs}) >= JOB_HOPPING_MIN_STINTS:
            w.label("job_hopping", hs[0].candidate.person, "candidate", records=[h.candidate for h in hs],
                    referrals=[h.referral for h in hs if h.referral], hires=hs)

    hire_of = {}
    for h in w.hires:
        if h.referral is not None:
            hire_of[id(h.referral)] = h
    for r in w.referrals:
        if r.referrer.person is r.candidate.person:
            w.label("self_referral", r.referrer.person, "referrer", records=[r.referrer, r.candidate],
                    referrals=[r], hires=[hire_of.get(id(r))])

    accounts = defaultdict(list)
    for rec in w.referrers:
        k = _iban_key(rec.iban)
        if k:
            accounts[k].append(rec)
    for k, recs in accounts.items():
        if len(recs) < 2:
            continue
        for rec in recs:
            w.label("shared_payout_account", rec.person, "referrer", records=[rec])

    # rings: strongly connected person-level referral graph components (self-loops excluded)
    graph = defaultdict(dict)
    persons = {}
    for r in w.referrals:
        a, b = r.referrer.person, r.candidate.person
        if a is not b:
            graph[a.key][b.key] = True
            persons[a.key], persons[b.key] = a, b
    for comp in _sccs(graph):
        if len(comp) < 2:
            continue
        members = set(comp)
        for r in w.referrals:
            a, b = r.referrer.person, r.candidate.person
            if a.key in members and b.key in members and a is not b:
                w.label("referral_ring", a, "referrer", records=[r.referrer], referrals=[r],
                        hires=[hire_of.get(id(r))])
                w.label("referral_ring", b, "referrer", records=[r.candidate])


def _sccs(graph: dict) -> list[list[int]]:
    """Tarjan's strongly connected components, iteratively, in a deterministic order."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = 0
    nodes = sorted(set(graph) | {v for targets in graph.values() for v in targets})
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, {}))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for u in it:
                if u not in index:
                    index[u] = low[u] = counter
                    counter += 1
                    stack.append(u)
                    on_stack.add(u)
                    work.append((u, iter(sorted(graph.get(u, {})))))
                    advanced = True
                    break
                if u in on_stack:
                    low[v] = min(low[v], index[u])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    x = stack.pop()
                    on_stack.discard(x)
                    comp.append(x)
                    if x == v:
                        break
                out.append(sorted(comp))
    return out


# ------------------------------------------------------------------------------------------ decisions

def expected_decisions(w: World) -> dict[int, tuple[str, list[str]]]:
    """The product's decision policy applied to this generator's own labels: id(payout) -> (decision, reasons)."""
    early, dup, late = set(), set(), set()
    carried = defaultdict(set)
    for lab in w.labels.values():
        carried[lab.person.key].add(lab.pattern)
        if lab.pattern == "early_exit":
            early |= {id(h) for h in lab.hires}
        elif lab.pattern == "duplicate_referral":
            dup |= {id(r) for r in lab.referrals}
        elif lab.pattern == "late_referral":
            late |= {id(r) for r in lab.referrals}
    out = {}
    for po in w.payouts:
        h, r = po.hire, po.hire.referral
        not_owed = set()
        if id(h) in early:
            not_owed.add("early_exit")
        if id(r) in dup:
            not_owed.add("duplicate_referral")
        if id(r) in late:
            not_owed.add("late_referral")
        person_codes = carried[r.referrer.person.key] | carried[h.candidate.person.key]
        decision, reasons = "", set()
        if po.status == "pending" and h.eligible <= w.as_of:
            if not_owed:
                decision, reasons = "void", not_owed
            elif person_codes & set(HOLD_CODES):
                decision, reasons = "hold", person_codes & set(HOLD_CODES)
            else:
                decision = "release"
        elif po.status == "released":
            claw = not_owed | (person_codes & set(CLAWBACK_CODES))
            if claw:
                decision, reasons = "clawback", claw
        out[id(po)] = (decision, [p for p in PATTERNS if p in reasons])
    return out


# ------------------------------------------------------------------------------------------ ids and files

def _number(items, key, prefix: str, width: int) -> dict[int, str]:
    ordered = sorted(items, key=key)
    return {id(x): f"{prefix}{i + 1:0{width}d}" for i, x in enumerate(ordered)}


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def write(w: World, out: Path) -> dict:
    make_payouts(w)
    rule_labels(w)
    decisions = expected_decisions(w)

    ids = {}
    ids.update(_number(w.referrers, lambda x: (x.signed_up, x.sort), "rf", 5))
    ids.update(_number(w.candidates, lambda x: (x.created, x.sort), "cd", 6))
    ids.update(_number(w.companies, lambda x: x.sort, "co", 4))
    ids.update(_number(w.jobs, lambda x: (x.posted, x.sort), "jb", 5))
    ids.update(_number(w.referrals, lambda x: (x.at, x.sort), "rl", 6))
    ids.update(_number(w.applications, lambda x: (x.at, x.sort), "ap", 6))
    ids.update(_number(w.hires, lambda x: (x.hired_at, x.sort), "hr", 5))
    ids.update(_number(w.payouts, lambda x: (x.hire.hired_at, x.sort), "po", 5))
    # true persons: only people behind some record, numbered by their first appearance
    first_seen = {}
    for rec in w.referrers:
        first_seen[rec.person.key] = min(first_seen.get(rec.person.key, rec.signed_up), rec.signed_up)
    for rec in w.candidates:
        first_seen[rec.person.key] = min(first_seen.get(rec.person.key, rec.created), rec.created)
    rank = {p.key: p.rank for p in w.persons}
    person_id = {k: f"tp{i + 1:05d}" for i, k in enumerate(sorted(first_seen, key=lambda k: (first_seen[k], rank[k], k)))}

    landing, truth = out / "landing", out / "truth"
    landing.mkdir(parents=True, exist_ok=True)
    truth.mkdir(parents=True, exist_ok=True)
    rows = {
        "referrers": [(ids[id(r)], [ids[id(r)], r.full_name, r.email or "", r.phone or "", r.iban or "",
                                    _day(r.birth), r.city or "", _ts(r.signed_up), _ts(r.updated)]) for r in w.referrers],
        "candidates": [(ids[id(c)], [ids[id(c)], c.full_name, c.email or "", c.phone or "", _day(c.birth),
                                     c.city or "", c.profile or "", _ts(c.created), _ts(c.updated)]) for c in w.candidates],
        "companies": [(ids[id(c)], [ids[id(c)], c.name, c.country]) for c in w.companies],
        "jobs": [(ids[id(j)], [ids[id(j)], ids[id(j.company)], j.title, f"{j.bounty:.2f}", j.currency,
                               str(j.guarantee), _ts(j.posted)]) for j in w.jobs],
        "referrals": [(ids[id(r)], [ids[id(r)], ids[id(r.referrer)], ids[id(r.candidate)], ids[id(r.job)],
                                    _ts(r.at), r.channel, r.ip or "", r.device or ""]) for r in w.referrals],
        "applications": [(ids[id(a)], [ids[id(a)], ids[id(a.candidate)], ids[id(a.job)], _ts(a.at), a.source])
                         for a in w.applications],
        "hires": [(ids[id(h)], [ids[id(h)], ids[id(h.referral)] if h.referral else "", ids[id(h.candidate)],
                                ids[id(h.job)], _ts(h.hired_at), _day(h.started), _day(h.ended), h.reason or "",
                                _ts(h.updated)]) for h in w.hires],
        "payouts": [(ids[id(p)], [ids[id(p)], ids[id(p.hire)], ids[id(p.hire.referral)],
                                  ids[id(p.hire.referral.referrer)], f"{p.hire.job.bounty:.2f}", p.hire.job.currency,
                                  _day(p.hire.eligible), p.status, _ts(p.released_at), _ts(p.updated)])
                    for p in w.payouts],
    }
    counts = {}
    for table in LOAD_ORDER:
        ordered = [row for _k, row in sorted(rows[table], key=lambda x: x[0])]
        _write_csv(landing / f"{table}.csv", TABLES[table].column_names, ordered)
        counts[table] = len(ordered)

    # truth: identities
    ident = [["referrer", ids[id(r)], person_id[r.person.key]] for r in w.referrers]
    ident += [["candidate", ids[id(c)], person_id[c.person.key]] for c in w.candidates]
    ident.sort(key=lambda x: (x[0] != "referrer", x[1]))
    _write_csv(truth / "identities.csv", ["record_type", "record_id", "true_person_id"], ident)

    # truth: patterns
    payout_of = {id(p.hire): p for p in w.payouts}
    prows = []
    for lab in w.labels.values():
        hires = [h for h in lab.hires if h is not None]
        prows.append([
            lab.pattern, person_id[lab.person.key], lab.role, "true" if lab.person.disguised else "false",
            ";".join(sorted(ids[id(r)] for r in lab.records)),
            ";".join(sorted(ids[id(r)] for r in lab.referrals)),
            ";".join(sorted(ids[id(h)] for h in hires)),
            ";".join(sorted(ids[id(payout_of[id(h)])] for h in hires if id(h) in payout_of)),
        ])
    prows.sort(key=lambda x: (PATTERNS.index(x[0]), x[1]))
    _write_csv(truth / "patterns.csv", ["pattern", "true_person_id", "role", "disguised", "record_ids",
                                        "referral_ids", "hire_ids", "payout_ids"], prows)

    # truth: payouts
    drows = []
    for p in w.payouts:
        decision, reasons = decisions[id(p)]
        drows.append([ids[id(p)], decision, ";".join(reasons),
                      "true" if decision in ("hold", "void", "clawback") else "false"])
    drows.sort(key=lambda x: x[0])
    _write_csv(truth / "payouts.csv", ["payout_id", "expected_decision", "reasons", "blocked"], drows)

    persons_per_pattern = {p: 0 for p in PATTERNS}
    for row in prows:
        persons_per_pattern[row[0]] += 1
    decision_counts = Counter(d for d, _ in decisions.values() if d)
    decision_counts = {k: decision_counts.get(k, 0) for k in ("release", "hold", "void", "clawback")}
    status_counts = Counter(p.status for p in w.payouts)
    meta = {
        "generator": "bountyguard.evaluation.fieldworld",
        "seed": w.seed,
        "scale": w.scale,
        "as_of": w.as_of.isoformat(),
        "history_start": w.start.isoformat(),
        "rows": counts,
        "persons": len(person_id),
        "persons_per_pattern": persons_per_pattern,
        "decisions": decision_counts,
        "payout_statuses": {k: status_counts.get(k, 0) for k in ("pending", "released", "held", "void", "clawed_back")},
        "thresholds": {"late_referral_hours": LATE_HOURS, "probation_days": PROBATION_DAYS,
                       "job_hopping_min_short_tenures": JOB_HOPPING_MIN_STINTS,
                       "pending_window_days": PENDING_DAYS},
        "lookalikes": dict(sorted(w.notes.items())),
        "definitions": DEFINITIONS,
    }
    (truth / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return {"rows": counts, "persons_per_pattern": persons_per_pattern, "decisions": decision_counts}
