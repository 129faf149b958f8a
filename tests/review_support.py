"""A small platform for the case-review tests: two self-referrals (two cases) and honest referrals.

- person "Anna Selbst" refers herself (referrer RA, candidate CA: the same e-mail): payout PA, 800 EUR;
- person "Bernd Beispiel" refers himself (RB, CB): payout PB, 600 EUR;
- honest referrers R1..R3 with candidates C1..C3: payouts P1..P3, released by every clean run.
All payouts are due on AS_OF. `add_new_hire_for_bernd` adds new evidence to Bernd's case.
"""
from __future__ import annotations

from pathlib import Path

from tests.builders import Platform

AS_OF = "2026-06-30"
NEXT_DAY = "2026-07-01"
ANNA_EMAIL = "anna.selbst@example.org"
ANNA_PHONE = "+49 171 5550123"
ANNA_IBAN = "DE89370400440532013000"


def review_platform() -> Platform:
    p = Platform()
    p.job("J1", "CO1", bounty="800.00")
    p.job("J2", "CO2", bounty="600.00")
    p.job("J3", "CO3", bounty="500.00")
    p.add("referrers", referrer_id="RA", full_name="Anna Selbst", email=ANNA_EMAIL, phone=ANNA_PHONE,
          payout_iban=ANNA_IBAN, birth_date="1990-04-01", city="Köln")
    p.add("candidates", candidate_id="CA", full_name="Anna Selbst", email=ANNA_EMAIL, phone=ANNA_PHONE,
          birth_date="1990-04-01", city="Köln")
    p.referred_hire("A", "RA", "CA", "J1", started="2026-01-05")
    p.add("referrers", referrer_id="RB", full_name="Bernd Beispiel", email="bernd.b@example.net",
          phone="+49 160 5550987", payout_iban="DE02120300000000202051", birth_date="1985-09-09", city="Hamburg")
    p.add("candidates", candidate_id="CB", full_name="Bernd Beispiel", email="bernd.b@example.net",
          phone="+49 160 5550987", birth_date="1985-09-09", city="Hamburg")
    p.referred_hire("B", "RB", "CB", "J2", started="2026-01-10")
    ibans = ["DE75512108001245126199", "DE12500105170648489890", "DE91100000000123456789"]
    for i, (name, cand, iban) in enumerate(zip(("Clara Weiss", "Dirk Roth", "Eva Gruen"),
                                               ("Felix Braun", "Gabi Schwarz", "Hans Blau"), ibans), start=1):
        p.add("referrers", referrer_id=f"R{i}", full_name=name, email=f"r{i}@example.com", payout_iban=iban,
              birth_date=f"198{i}-02-0{i}", city="Berlin")
        p.add("candidates", candidate_id=f"C{i}", full_name=cand, email=f"c{i}@example.com",
              birth_date=f"199{i}-03-0{i}", city="München")
        p.referred_hire(str(i), f"R{i}", f"C{i}", "J3", started=f"2026-02-0{i}")
    return p


def add_new_hire_for_bernd(p: Platform) -> None:
    """New evidence for Bernd's case: another self-referral, to another company, with its payout."""
    p.job("J4", "CO4", bounty="700.00")
    p.referred_hire("B2", "RB", "CB", "J4", started="2026-03-01")


def write(p: Platform, folder: Path) -> Path:
    return p.write_landing(folder)


def run_cli(db: Path, landing: Path, as_of: str) -> None:
    """A screening run through the command line; its report must be clean."""
    from bountyguard.cli import main

    assert main(["run", "--landing", str(landing), "--db", str(db), "--as-of", as_of]) == 0


def case_of(db: Path, name: str) -> dict:
    """The case (any status) of the person shown as `name` in the newest published run."""
    from bountyguard.review import cases

    with cases.Snapshot(db) as snap:
        rows, _ = snap.queue(status=None, page_size=100)
    return next(r for r in rows if r["display_name"] == name)
