"""The `bountyguard payouts ...` command group.

The main CLI calls `register(subparsers)` to add the group and `handle(args)` to run it; `handle`
returns the exit status and prints a BountyguardError's message (never a traceback). Output names
payouts by id and amount only: no names, no bank accounts.
"""
from __future__ import annotations

import argparse
import sys

from bountyguard import payouts
from bountyguard.config import load_config
from bountyguard.errors import BountyguardError


# the top-level commands this module adds (bountyguard/cli.py dispatches them here)
COMMANDS = ("payouts",)


def register(subparsers) -> argparse.ArgumentParser:
    group = subparsers.add_parser("payouts", help="pay released bounties exactly once; held payouts, clawbacks, audit trail")
    commands = group.add_subparsers(dest="payouts_command", metavar="COMMAND", required=True)

    release = commands.add_parser("release", help="pay the `release` decisions of the newest clean report")
    release.add_argument("--db", required=True, help="the DuckDB file of the screening runs (not opened)")
    release.add_argument("--dry-run", action="store_true", help="print what would be paid; write nothing")
    release.add_argument("--config", help="TOML configuration (the payment provider: [payouts] provider)")

    holds = commands.add_parser("holds", help="held payouts of the newest report, with their reasons")
    holds.add_argument("--db", required=True)

    claws = commands.add_parser("clawbacks", help="payouts listed for recovery")
    claws.add_argument("--db", required=True)

    show = commands.add_parser("show", help="one payout across published reports, analyst decisions and the ledger")
    show.add_argument("payout_id", metavar="PAYOUT")
    show.add_argument("--db", required=True)

    decide = commands.add_parser("decide", help="record an analyst decision on a payout (append-only audit trail)")
    decide.add_argument("payout_id", metavar="PAYOUT")
    decide.add_argument("--db", required=True)
    choice = decide.add_mutually_exclusive_group(required=True)
    for decision in ("release", "void", "hold"):
        choice.add_argument(f"--{decision}", dest="decision", action="store_const", const=decision)
    decide.add_argument("--by", required=True, help="who decides (kept in the audit trail)")
    decide.add_argument("--reason", required=True, help="why (kept in the audit trail)")

    # money that fails to move
    failed = commands.add_parser("failed", help="payments the provider rejected for good, with the reason")
    failed.add_argument("--db", required=True)
    retry = commands.add_parser("retry", help="send a rejected payment again to a corrected account (audited)")
    retry.add_argument("payout_id", metavar="PAYOUT")
    retry.add_argument("--db", required=True)
    retry.add_argument("--iban", required=True, help="the corrected account (checked; never printed)")
    void = commands.add_parser("void", help="give up a rejected payment (audited; an analyst void)")
    void.add_argument("payout_id", metavar="PAYOUT")
    void.add_argument("--db", required=True)
    settle = commands.add_parser("settle", help="confirm sent payments from the provider's settlement file")
    settle.add_argument("--db", required=True)
    settle.add_argument("--file", required=True, help="CSV: payout_id, provider_reference, amount, currency")
    clawback = commands.add_parser("clawback", help="close a listed clawback: recovered or written off (audited)")
    clawback.add_argument("payout_id", metavar="PAYOUT")
    clawback.add_argument("--db", required=True)
    outcome = clawback.add_mutually_exclusive_group(required=True)
    outcome.add_argument("--recovered", dest="outcome", action="store_const", const="recovered")
    outcome.add_argument("--written-off", dest="outcome", action="store_const", const="written_off")
    for sub in (retry, void, clawback):
        sub.add_argument("--by", required=True, help="who decides (kept in the audit trail)")
        sub.add_argument("--reason", required=True, help="why (kept in the audit trail)")
    return group


def handle(args: argparse.Namespace) -> int:
    try:
        return _COMMANDS[args.payouts_command](args)
    except BountyguardError as exc:
        print(f"bountyguard payouts {args.payouts_command}: {exc}", file=sys.stderr)
        return exc.exit_code


def _release(args) -> int:
    config = load_config(args.config) if args.config else None
    summary = payouts.release(args.db, dry_run=args.dry_run, config=config)
    verb = "would pay" if args.dry_run else "paid"
    print(f"report {summary['run_id']} (as of {summary['as_of']}, sha256 {summary['report_sha256'][:12]}): "
          f"{summary['decided_release']} payouts decided release")
    for p in summary["paid"]:
        reference = f" (reference {p['reference']})" if p["reference"] else ""
        print(f"  {verb} {p['payout_id']}: {p['amount']} {p['currency']}{reference}")
    totals = ", ".join(f"{amount} {currency}" for currency, amount in payouts.totals_by_currency(summary["paid"]).items())
    print(f"{verb} {len(summary['paid'])} payouts{': ' + totals if totals else ''}")
    if summary["recovered"]:
        print(f"  of which {len(summary['recovered'])} claimed by an interrupted run: {', '.join(summary['recovered'])}")
    if summary["already_released"]:
        print(f"already released earlier, skipped: {len(summary['already_released'])}")
    if summary.get("instructions_pruned"):
        print(f"payment instructions past their retention, IBAN removed: {summary['instructions_pruned']}")
    for b in summary["blocked_by_analyst"]:
        print(f"not paid: {b['payout_id']}: analyst decision {b['decision']} by {b['decided_by']}")
    if summary["no_payee_account"]:
        print(f"not paid, no payee account on file: {', '.join(summary['no_payee_account'])} "
              "(paid by a later release once the referrer's bank account is known)")
    if summary["in_flight_elsewhere"]:
        print(f"being paid by another release run right now: {', '.join(summary['in_flight_elsewhere'])}")
    for r in summary["rejected"]:
        print(f"REJECTED by the provider: {r['payout_id']}: {r['reason']} (see `bountyguard payouts failed`)")
    if summary["clawbacks_listed"]:
        print(f"listed for clawback: {summary['clawbacks_listed']} (see `bountyguard payouts clawbacks`)")
    return 0


def _holds(args) -> int:
    held = payouts.held_payouts(args.db)
    print(f"report {held['run_id']} (as of {held['as_of']}, {held['status']}): {len(held['holds'])} payouts held")
    for h in held["holds"]:
        analyst = h["analyst"]
        note = f"  [analyst: {analyst['decision']} by {analyst['decided_by']}: {analyst['reason']}]" if analyst else ""
        print(f"  {h['payout_id']}: {h['reasons'] or '-'}{note}")
    return 0


def _clawbacks(args) -> int:
    rows = payouts.clawbacks(args.db)
    print(f"{len(rows)} payouts listed for clawback")
    for r in rows:
        amount = f"{r['amount']} {r['currency']}" if r["amount"] else "amount unknown (not paid by bountyguard)"
        print(f"  {r['payout_id']}: {amount}; {r['reasons']}; {r['state']}; run {r['run_id']}; listed {r['listed_at']}")
    return 0


def _show(args) -> int:
    history = payouts.payout_history(args.db, args.payout_id)
    print(f"payout {args.payout_id}")
    print("published reports:" if history["reports"] else "published reports: none mention it")
    for r in history["reports"]:
        if r["verified"]:
            print(f"  {r['as_of']} run {r['run_id']} ({r['status']}): {r['decision']} {r['reasons']}".rstrip())
        else:
            print(f"  run {r['run_id']}: NOT VERIFIED: {r['problem']}")
    print("analyst decisions:" if history["analyst_decisions"] else "analyst decisions: none")
    for d in history["analyst_decisions"]:
        print(f"  {d['decided_at']} {d['decision']} by {d['decided_by']}: {d['reason']} "
              f"(patterns seen: {d['reasons_seen'] or 'none'})")
    release = history["release"]
    if release:
        print(f"ledger: {release['state']} {release['amount']} {release['currency']} from run {release['run_id']}, "
              f"reference {release['provider_reference'] or '-'}, released {release['released_at'] or '-'}")
    else:
        print("ledger: never released by bountyguard")
    for e in history["payment_events"]:
        print(f"payment {e['event']} at {e['at']} by {e['actor']}: {e['detail']}")
    for c in history["clawbacks"]:
        print(f"clawback {c['state']}: listed {c['listed_at']} by run {c['run_id']}: {c['reasons']}")
    return 0


def _decide(args) -> int:
    d = payouts.decide(args.db, args.payout_id, args.decision, args.by, args.reason)
    print(f"recorded decision {d['decision_id']}: payout {d['payout_id']} {d['decision']} by {d['decided_by']} "
          f"at {d['decided_at']}")
    return 0


def _failed(args) -> int:
    rows = payouts.failed_payments(args.db)
    print(f"{len(rows)} payments rejected by the provider")
    for r in rows:
        print(f"  {r['payout_id']}: {r['amount']} {r['currency']}; attempt {r['attempt']}; {r['failure_reason']}; "
              f"rejected {r['failed_at']}")
    return 0


def _retry(args) -> int:
    result = payouts.retry_payment(args.db, args.payout_id, args.iban, args.by, args.reason)
    print(f"payout {result['payout_id']}: attempt {result['attempt']} to the corrected account is queued; "
          "`bountyguard payouts release` sends it")
    return 0


def _void(args) -> int:
    payouts.void_payment(args.db, args.payout_id, args.by, args.reason)
    print(f"payout {args.payout_id}: voided by {args.by}; it is not paid")
    return 0


def _settle(args) -> int:
    result = payouts.confirm_settlement(args.db, args.file)
    print(f"confirmed {len(result['confirmed'])} payments; already confirmed {len(result['already_confirmed'])}")
    for m in result["mismatched"]:
        print(f"  NOT confirmed: {m['payout_id']}: no sent payment with that reference, amount and currency "
              f"(ledger state {m['state'] or 'none'})")
    return 1 if result["mismatched"] else 0


def _clawback(args) -> int:
    payouts.close_clawback(args.db, args.payout_id, args.outcome, args.by, args.reason)
    print(f"clawback of payout {args.payout_id}: {args.outcome.replace('_', ' ')} by {args.by}")
    return 0


_COMMANDS = {"release": _release, "holds": _holds, "clawbacks": _clawbacks, "show": _show, "decide": _decide,
             "failed": _failed, "retry": _retry, "void": _void, "settle": _settle, "clawback": _clawback}
