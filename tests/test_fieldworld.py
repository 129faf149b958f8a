"""The independent field-world generator (bountyguard.evaluation.fieldworld) on its own: form, determinism,
ground truth and the honest look-alikes. Nothing here runs or inspects the product's detectors."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
import statistics
import time
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pycountry
import pytest
import schwifty

from bountyguard.contract import (APPLICATION_SOURCES, CHANNELS, END_REASONS, LOAD_ORDER, PATTERNS,
                                  PAYOUT_STATUSES, TABLES)
from bountyguard.evaluation.fieldworld import generate
from bountyguard.evaluation.fieldworld.people import iban_check_digits, iban_is_valid

AS_OF = dt.date(2026, 6, 30)
SEED = 5
HOLD = {"serial_rereferral", "job_hopping", "self_referral", "shared_payout_account", "referral_ring",
        "velocity_spike"}
CLAWBACK = {"serial_rereferral", "self_referral", "shared_payout_account", "referral_ring"}
TRUTH_FILES = {"identities.csv", "patterns.csv", "payouts.csv", "meta.json"}


def _read(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def _ts(s: str) -> dt.datetime:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", s), s
    return dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")


def _date(s: str) -> dt.date:
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", s), s
    return dt.date.fromisoformat(s)


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


class World:
    """The written files, read back."""

    def __init__(self, out: Path, summary: dict):
        self.out, self.summary = out, summary
        self.header, self.rows = {}, {}
        for t in LOAD_ORDER:
            self.header[t], self.rows[t] = _read(out / "landing" / f"{t}.csv")
        self.by_id = {t: {r[TABLES[t].key]: r for r in self.rows[t]} for t in LOAD_ORDER}
        _, ident = _read(out / "truth" / "identities.csv")
        self.identities = ident
        self.person = {(r["record_type"], r["record_id"]): r["true_person_id"] for r in ident}
        self.pattern_header, self.patterns = _read(out / "truth" / "patterns.csv")
        self.payout_header, payout_rows = _read(out / "truth" / "payouts.csv")
        self.expected = {r["payout_id"]: r for r in payout_rows}
        self.meta = json.loads((out / "truth" / "meta.json").read_text(encoding="utf-8"))
        self.carried: dict[str, set] = {}
        for p in self.patterns:
            self.carried.setdefault(p["true_person_id"], set()).add(p["pattern"])

    def ids(self, pattern: str, column: str) -> set[str]:
        return {x for p in self.patterns if p["pattern"] == pattern for x in p[column].split(";") if x}

    def referrer_person(self, referral_id: str) -> str:
        return self.person[("referrer", self.by_id["referrals"][referral_id]["referrer_id"])]

    def candidate_person(self, candidate_id: str) -> str:
        return self.person[("candidate", candidate_id)]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    out = tmp_path_factory.mktemp("fieldworld") / "w"
    return World(out, generate(out, seed=SEED, scale=0.3, as_of=AS_OF))


def test_same_seed_same_bytes_other_seed_other_data(world, tmp_path):
    again = tmp_path / "again"
    generate(again, seed=SEED, scale=0.3, as_of=AS_OF.isoformat())
    assert _digest(again) == _digest(world.out)
    other = tmp_path / "other"
    generate(other, seed=SEED + 1, scale=0.3, as_of=AS_OF)
    assert _digest(other)["landing/referrals.csv"] != _digest(world.out)["landing/referrals.csv"]


def test_files_and_headers_follow_the_contract(world):
    assert {p.name for p in (world.out / "landing").iterdir()} == {f"{t}.csv" for t in LOAD_ORDER}
    assert {p.name for p in (world.out / "truth").iterdir()} == TRUTH_FILES
    for t in LOAD_ORDER:
        assert world.header[t] == TABLES[t].column_names, t
        keys = [r[TABLES[t].key] for r in world.rows[t]]
        assert len(keys) == len(set(keys)) and all(keys), f"{t}: keys must be unique and present"
        for col in TABLES[t].columns:
            if not col.nullable:
                assert all(r[col.name] != "" for r in world.rows[t]), f"{t}.{col.name} is required"
    assert world.pattern_header == ["pattern", "true_person_id", "role", "disguised", "record_ids",
                                    "referral_ids", "hire_ids", "payout_ids"]
    assert world.payout_header == ["payout_id", "expected_decision", "reasons", "blocked"]


def test_every_foreign_key_resolves_and_payouts_match_their_hire(world):
    for t in LOAD_ORDER:
        for col in TABLES[t].columns:
            if col.references:
                target_table, _target_col = col.references.split(".")
                for r in world.rows[t]:
                    if r[col.name]:
                        assert r[col.name] in world.by_id[target_table], (t, col.name, r[col.name])
    for p in world.rows["payouts"]:
        hire = world.by_id["hires"][p["hire_id"]]
        job = world.by_id["jobs"][hire["job_id"]]
        assert hire["referral_id"] == p["referral_id"]
        assert world.by_id["referrals"][p["referral_id"]]["referrer_id"] == p["referrer_id"]
        assert (Decimal(p["amount"]), p["currency"]) == (Decimal(job["bounty_amount"]), job["currency"])
        assert _date(p["eligible_at"]) == _date(hire["started_at"]) + dt.timedelta(days=int(job["guarantee_days"]))
        assert bool(p["released_at"]) == (p["status"] in ("released", "clawed_back"))
    referred_hires = [h for h in world.rows["hires"] if h["referral_id"]]
    assert len(world.rows["payouts"]) == len(referred_hires), "one payout per referred hire"
    assert any(not h["referral_id"] for h in world.rows["hires"]), "direct hires exist too"
    for h in referred_hires:
        ref = world.by_id["referrals"][h["referral_id"]]
        assert (ref["candidate_id"], ref["job_id"]) == (h["candidate_id"], h["job_id"])


def test_values_are_contract_valid(world):
    for j in world.rows["jobs"]:
        assert Decimal(j["bounty_amount"]) > 0 and 0 <= int(j["guarantee_days"]) <= 365
        assert j["currency"] in {"EUR", "PLN", "CHF", "UAH"}
    assert {int(j["guarantee_days"]) for j in world.rows["jobs"]} >= {30, 60, 90, 180}
    assert all(pycountry.countries.get(alpha_2=c["country"]) for c in world.rows["companies"])
    assert all(pycountry.currencies.get(alpha_3=j["currency"]) for j in world.rows["jobs"])
    assert {r["channel"] for r in world.rows["referrals"]} <= set(CHANNELS)
    assert {r["source"] for r in world.rows["applications"]} <= set(APPLICATION_SOURCES)
    assert {r["end_reason"] for r in world.rows["hires"]} <= set(END_REASONS) | {""}
    assert {r["status"] for r in world.rows["payouts"]} <= set(PAYOUT_STATUSES)
    ibans = [r["payout_iban"] for r in world.rows["referrers"] if r["payout_iban"]]
    assert ibans and all(iban_is_valid(i) for i in ibans)
    for i in ibans:  # an independent implementation agrees (check digits, length, structure)
        schwifty.IBAN(re.sub(r"[^0-9A-Za-z]", "", i).upper())
    assert any(" " in i for i in ibans) and any("-" in i for i in ibans) and any(i != i.upper() for i in ibans)
    for h in world.rows["hires"]:
        assert (h["ended_at"] == "") == (h["end_reason"] == "")
        if h["ended_at"]:
            assert _date(h["ended_at"]) >= _date(h["started_at"])
        assert _ts(h["hired_at"]).date() <= _date(h["started_at"])


def test_iban_check_digits_are_iso_13616():
    # published example IBANs
    assert iban_check_digits("DE", "370400440532013000") == "89"
    assert iban_check_digits("GB", "WEST12345698765432") == "82"
    assert iban_is_valid("DE89-3704-0044-0532-0130-00") and not iban_is_valid("DE88370400440532013000")


def test_nothing_is_dated_after_as_of(world):
    for t in LOAD_ORDER:
        for col in TABLES[t].columns:
            if col.type not in ("TIMESTAMP", "DATE"):
                continue
            for r in world.rows[t]:
                v = r[col.name]
                if not v or (t, col.name) == ("payouts", "eligible_at"):
                    continue
                if col.type == "TIMESTAMP":  # strictly before the as-of day begins
                    assert _ts(v) < dt.datetime.combine(AS_OF, dt.time()), (t, col.name, v)
                else:
                    assert _date(v) <= AS_OF, (t, col.name, v)
    for r in world.rows["referrals"]:
        ref = _ts(r["referred_at"])
        assert ref >= _ts(world.by_id["referrers"][r["referrer_id"]]["signed_up_at"])
        assert ref >= _ts(world.by_id["candidates"][r["candidate_id"]]["created_at"])
        assert ref >= _ts(world.by_id["jobs"][r["job_id"]]["posted_at"])
    first = min(_ts(r["referred_at"]) for r in world.rows["referrals"]).date()
    assert dt.date(2023, 6, 1) <= first <= dt.date(2023, 9, 1), "about three years of history"


def test_truth_identities_cover_every_record_exactly_once(world):
    records = [("referrer", r["referrer_id"]) for r in world.rows["referrers"]]
    records += [("candidate", r["candidate_id"]) for r in world.rows["candidates"]]
    listed = [(r["record_type"], r["record_id"]) for r in world.identities]
    assert Counter(listed) == Counter(records)
    assert all(r["true_person_id"] for r in world.identities)
    per_person = Counter(r["true_person_id"] for r in world.identities)
    assert max(per_person.values()) >= 3, "some people have several records"
    roles = defaultdict(set)
    for r in world.identities:
        roles[r["true_person_id"]].add(r["record_type"])
    assert any(len(v) == 2 for v in roles.values()), "some people are referrer and candidate"


def _mailbox(address: str) -> str:
    local, _, domain = address.lower().partition("@")
    local = local.split("+")[0]
    if domain in ("gmail.com", "googlemail.com"):
        return local.replace(".", "") + "@gmail.com"
    return f"{local}@{domain}"


def test_identity_varies_but_a_mailbox_belongs_to_one_person(world):
    owners = defaultdict(set)
    spellings = defaultdict(set)
    for t, key in (("referrers", "referrer_id"), ("candidates", "candidate_id")):
        for r in world.rows[t]:
            person = world.person[(t[:-1], r[key])]
            if r["email"]:
                owners[_mailbox(r["email"])].add(person)
            spellings[person].add(r["full_name"])
    assert all(len(v) == 1 for v in owners.values())
    emails = [r["email"] for r in world.rows["candidates"] + world.rows["referrers"] if r["email"]]
    assert any("+" in e for e in emails) and any(e != e.lower() for e in emails)
    names = [r["full_name"] for r in world.rows["candidates"] + world.rows["referrers"]]
    assert any(re.search("[\u0400-\u04ff]", n) for n in names), "Cyrillic names"
    assert any(re.search("[äöüÄÖÜßłśżźąęćńó]", n) for n in names), "names with diacritics"
    assert sum(1 for v in spellings.values() if len(v) > 1) >= 20, "one person, several spellings"
    phones = [r["phone"] for r in world.rows["candidates"] + world.rows["referrers"] if r["phone"]]
    assert any(p.startswith("00") for p in phones) and any(p.startswith("8 (") or p.startswith("8-") or
                                                          p.startswith("8") for p in phones)
    assert any("(" in p for p in phones) and any("-" in p for p in phones)


def test_every_pattern_is_labelled_at_least_twice_at_small_scale(world):
    per_pattern = Counter(p["pattern"] for p in world.patterns)
    for pattern in PATTERNS:
        if pattern == "anomaly":
            assert per_pattern[pattern] == 0
        else:
            assert per_pattern[pattern] >= 2, pattern
    assert world.meta["persons_per_pattern"] == {p: per_pattern.get(p, 0) for p in PATTERNS}
    assert world.summary["persons_per_pattern"] == world.meta["persons_per_pattern"]
    assert set(world.meta["definitions"]) == set(PATTERNS)
    assert len({(p["pattern"], p["true_person_id"]) for p in world.patterns}) == len(world.patterns)
    assert any(p["disguised"] == "true" for p in world.patterns)
    assert any(p["disguised"] == "false" for p in world.patterns)


def test_pattern_rows_name_existing_records_and_the_right_role(world):
    want_role = {"serial_rereferral": {"referrer", "candidate"}, "job_hopping": {"candidate"},
                 "early_exit": {"candidate"}, "self_referral": {"referrer"}, "shared_payout_account": {"referrer"},
                 "referral_ring": {"referrer"}, "duplicate_referral": {"candidate"}, "late_referral": {"referrer"},
                 "velocity_spike": {"referrer"}}
    people = set(world.person.values())
    payout_of_hire = {p["hire_id"]: p["payout_id"] for p in world.rows["payouts"]}
    for p in world.patterns:
        assert p["role"] in want_role[p["pattern"]], p
        assert p["true_person_id"] in people and p["disguised"] in ("true", "false")
        records = [x for x in p["record_ids"].split(";") if x]
        assert records
        for rid in records:
            rtype = "referrer" if rid in world.by_id["referrers"] else "candidate"
            assert world.person[(rtype, rid)] == p["true_person_id"], (p["pattern"], rid)
        hires = [x for x in p["hire_ids"].split(";") if x]
        assert all(x in world.by_id["referrals"] for x in p["referral_ids"].split(";") if x)
        assert all(h in world.by_id["hires"] for h in hires)
        assert set(x for x in p["payout_ids"].split(";") if x) == {payout_of_hire[h] for h in hires if h in payout_of_hire}


def _lag(world, hire) -> dt.timedelta:
    return _ts(hire["hired_at"]) - _ts(world.by_id["referrals"][hire["referral_id"]]["referred_at"])


def test_rule_shaped_labels_match_the_data(world):
    early, late, dup = world.ids("early_exit", "hire_ids"), world.ids("late_referral", "referral_ids"), \
        world.ids("duplicate_referral", "referral_ids")
    for h in world.rows["hires"]:
        if not h["referral_id"]:
            continue
        job = world.by_id["jobs"][h["job_id"]]
        ended_early = bool(h["ended_at"]) and _date(h["ended_at"]) < _date(h["started_at"]) + dt.timedelta(
            days=int(job["guarantee_days"]))
        assert ended_early == (h["hire_id"] in early), h["hire_id"]
        assert (_lag(world, h) < dt.timedelta(hours=48)) == (h["referral_id"] in late), h["hire_id"]
    # a duplicate: the company knew the person before this referral, through someone else
    for rid in dup:
        r = world.by_id["referrals"][rid]
        person, company = world.candidate_person(r["candidate_id"]), world.by_id["jobs"][r["job_id"]]["company_id"]
        at = _ts(r["referred_at"])
        earlier = [r2 for r2 in world.rows["referrals"] if world.candidate_person(r2["candidate_id"]) == person
                   and world.by_id["jobs"][r2["job_id"]]["company_id"] == company and _ts(r2["referred_at"]) < at
                   and world.referrer_person(r2["referral_id"]) != world.referrer_person(rid)]
        applied = [a for a in world.rows["applications"] if a["source"] != "referral"
                   and world.candidate_person(a["candidate_id"]) == person
                   and world.by_id["jobs"][a["job_id"]]["company_id"] == company and _ts(a["applied_at"]) < at]
        worked = [h for h in world.rows["hires"] if world.candidate_person(h["candidate_id"]) == person
                  and world.by_id["jobs"][h["job_id"]]["company_id"] == company and _ts(h["hired_at"]) < at]
        assert earlier or applied or worked, rid
    for p in world.patterns:
        if p["pattern"] == "self_referral":
            for rid in p["referral_ids"].split(";"):
                r = world.by_id["referrals"][rid]
                assert world.referrer_person(rid) == world.candidate_person(r["candidate_id"])
    # honest data never refers a person to themselves
    selfrefs = {r["referral_id"] for r in world.rows["referrals"]
                if world.referrer_person(r["referral_id"]) == world.candidate_person(r["candidate_id"])}
    assert selfrefs == world.ids("self_referral", "referral_ids")
    # job hopping: three or more companies left within probation (planned contract ends aside)
    short = defaultdict(set)
    for h in world.rows["hires"]:
        if h["ended_at"] and h["end_reason"] != "contract_end" and \
                (_date(h["ended_at"]) - _date(h["started_at"])).days <= 183:
            short[world.candidate_person(h["candidate_id"])].add(world.by_id["jobs"][h["job_id"]]["company_id"])
    hoppers = {p for p, cos in short.items() if len(cos) >= 3}
    assert hoppers == {p["true_person_id"] for p in world.patterns if p["pattern"] == "job_hopping"}
    assert any(len(cos) == 2 for p, cos in short.items() if p not in hoppers), "near misses exist"
    # shared payout accounts: one IBAN (however typed) on several referrer accounts
    accounts = defaultdict(set)
    for r in world.rows["referrers"]:
        if r["payout_iban"]:
            accounts[re.sub(r"[^0-9A-Za-z]", "", r["payout_iban"]).upper()].add(r["referrer_id"])
    sharing = {world.person[("referrer", rid)] for ids in accounts.values() if len(ids) > 1 for rid in ids}
    assert sharing == {p["true_person_id"] for p in world.patterns if p["pattern"] == "shared_payout_account"}


def test_expected_decisions_follow_the_policy_on_the_labels(world):
    early = world.ids("early_exit", "hire_ids")
    not_owed_refs = {"duplicate_referral": world.ids("duplicate_referral", "referral_ids"),
                     "late_referral": world.ids("late_referral", "referral_ids")}
    assert set(world.expected) == set(world.by_id["payouts"])
    seen = Counter()
    for pid, p in world.by_id["payouts"].items():
        exp = world.expected[pid]
        hire = world.by_id["hires"][p["hire_id"]]
        people = {world.referrer_person(p["referral_id"]), world.candidate_person(hire["candidate_id"])}
        carried = set().union(*(world.carried.get(x, set()) for x in people))
        not_owed = {"early_exit"} if p["hire_id"] in early else set()
        not_owed |= {code for code, refs in not_owed_refs.items() if p["referral_id"] in refs}
        due = p["status"] == "pending" and _date(p["eligible_at"]) <= AS_OF
        if due and not_owed:
            want, reasons = "void", not_owed
        elif due and carried & HOLD:
            want, reasons = "hold", carried & HOLD
        elif due:
            want, reasons = "release", set()
        elif p["status"] == "released" and (not_owed or carried & CLAWBACK):
            want, reasons = "clawback", not_owed | (carried & CLAWBACK)
        else:
            want, reasons = "", set()
        assert exp["expected_decision"] == want, (pid, exp)
        assert exp["reasons"] == ";".join(c for c in PATTERNS if c in reasons), (pid, exp)
        assert exp["blocked"] == ("true" if want in ("hold", "void", "clawback") else "false")
        seen[want] += 1
    assert all(seen[d] >= 1 for d in ("release", "hold", "void", "clawback")), seen
    assert world.meta["decisions"] == {d: seen[d] for d in ("release", "hold", "void", "clawback")}
    # pending payouts are the recent ones; older ones were released (or voided, held, clawed back)
    for p in world.rows["payouts"]:
        if p["status"] == "pending":
            assert _date(p["eligible_at"]) > AS_OF - dt.timedelta(days=46)


def _phone_key(phone: str) -> str:
    return re.sub(r"\D", "", phone)[-9:]


def test_honest_lookalikes_exist(world):
    # honest: carrying no pattern other than early_exit (which honest people have too)
    labelled = {p["true_person_id"] for p in world.patterns if p["pattern"] != "early_exit"}
    # different people behind one phone number (families), none of them labelled
    owners = defaultdict(set)
    for t, key in (("referrers", "referrer_id"), ("candidates", "candidate_id")):
        for r in world.rows[t]:
            if r["phone"]:
                owners[_phone_key(r["phone"])].add(world.person[(t[:-1], r[key])])
    shared = [v for v in owners.values() if len(v) >= 2 and not (v & labelled)]
    assert shared, "an honest phone shared by different people"
    # namesakes: one written name, different people
    names = defaultdict(set)
    for r in world.rows["candidates"] + world.rows["referrers"]:
        rtype, key = ("candidate", "candidate_id") if "candidate_id" in r else ("referrer", "referrer_id")
        names[r["full_name"].lower()].add(world.person[(rtype, r[key])])
    assert any(len(v) >= 2 for v in names.values())
    # campaign weeks: an unlabelled power recruiter with a week of 3x their usual weekly volume
    weeks = defaultdict(Counter)
    for r in world.rows["referrals"]:
        person = world.referrer_person(r["referral_id"])
        weeks[person][_ts(r["referred_at"]).isocalendar()[:2]] += 1
    campaigners = []
    for person, per_week in weeks.items():
        if person in labelled or sum(per_week.values()) < 100:
            continue
        usual = statistics.median(per_week.values())
        if max(per_week.values()) >= 3 * usual and max(per_week.values()) >= 5:
            campaigners.append(person)
    assert campaigners, "an honest recruiter with a campaign week"
    # fast honest hires: 3-10 days from referral to offer
    fast = [h for h in world.rows["hires"] if h["referral_id"]
            and dt.timedelta(days=3) <= _lag(world, h) <= dt.timedelta(days=10)
            and world.referrer_person(h["referral_id"]) not in labelled]
    assert fast, "an honest fast hire"
    # near-identical IBANs of different, unlabelled people
    by_bank = defaultdict(list)
    for r in world.rows["referrers"]:
        if r["payout_iban"]:
            compact = re.sub(r"[^0-9A-Za-z]", "", r["payout_iban"]).upper()
            by_bank[compact[:2] + compact[4:12]].append((compact, world.person[("referrer", r["referrer_id"])]))
    close = [(a, b) for group in by_bank.values() for a in group for b in group
             if a[1] != b[1] and a[0] != b[0] and sum(x != y for x, y in zip(a[0], b[0])) <= 4
             and not ({a[1], b[1]} & labelled)]
    assert close, "two people whose IBANs differ only slightly"
    # honest candidates referred by two referrers, to different companies
    companies = defaultdict(set)
    for r in world.rows["referrals"]:
        companies[world.candidate_person(r["candidate_id"])].add(
            (world.referrer_person(r["referral_id"]), world.by_id["jobs"][r["job_id"]]["company_id"]))
    assert any(len({x[0] for x in v}) >= 2 and len({x[1] for x in v}) >= 2 and k not in labelled
               for k, v in companies.items())
    # contractors: several contract_end stints, unlabelled
    contract_ends = Counter(world.candidate_person(h["candidate_id"]) for h in world.rows["hires"]
                            if h["end_reason"] == "contract_end")
    assert any(n >= 3 and p not in labelled for p, n in contract_ends.items())


def test_velocity_spikes_stand_out_from_their_own_history(world):
    times = defaultdict(list)
    for r in world.rows["referrals"]:
        times[world.referrer_person(r["referral_id"])].append(_ts(r["referred_at"]))
    for person in {p["true_person_id"] for p in world.patterns if p["pattern"] == "velocity_spike"}:
        ts = sorted(times[person])
        best = max(sum(1 for u in ts if t <= u < t + dt.timedelta(days=16)) for t in ts)
        assert best >= 25 and best >= 0.8 * len(ts)


def test_scale_one_size_and_speed(tmp_path):
    started = time.perf_counter()
    summary = generate(tmp_path / "w", seed=11, scale=1.0)
    elapsed = time.perf_counter() - started
    assert 2000 <= summary["rows"]["referrals"] <= 4000
    assert elapsed < 10
    assert all(n >= 3 for p, n in summary["persons_per_pattern"].items() if p != "anomaly")
