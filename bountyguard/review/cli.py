"""`bountyguard users ...`, `bountyguard cases ...` and `bountyguard serve`.

The main CLI calls `register(subparsers)` and, for these commands, `handle(args)`. Lists name
persons by id and display name, with e-mails, phones and IBANs masked; `cases show` prints the full
records (like the case page) and records the view in the audit trail.
"""
from __future__ import annotations

import argparse
import getpass
import os
import sys

from bountyguard.config import load_config
from bountyguard.errors import BountyguardError
from bountyguard.review import cases, store


# the top-level commands this module adds (bountyguard/cli.py dispatches them here)
COMMANDS = ("users", "cases", "serve")


def register(subparsers) -> None:
    users = subparsers.add_parser("users", help="users of the case review: add, list, disable")
    sub = users.add_subparsers(dest="users_command", metavar="COMMAND", required=True)
    p = sub.add_parser("add", help="add a user (password from a prompt or BOUNTYGUARD_PASSWORD)")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=store.ROLES)
    p.add_argument("--db", required=True)
    p = sub.add_parser("list", help="list users and their roles")
    p.add_argument("--db", required=True)
    p = sub.add_parser("disable", help="disable a user (their sessions end now)")
    p.add_argument("name")
    p.add_argument("--db", required=True)

    group = subparsers.add_parser("cases", help="cases of the newest published run: list, show, decide")
    sub = group.add_subparsers(dest="cases_command", metavar="COMMAND", required=True)
    p = sub.add_parser("list", help="the queue: cases by money at stake, then score")
    p.add_argument("--db", required=True)
    p.add_argument("--status", default="open", choices=("open", "confirmed", "dismissed", "all"))
    p.add_argument("--pattern")
    p.add_argument("--severity", choices=("high", "medium", "low"))
    p.add_argument("--min-amount")
    p.add_argument("--max-amount")
    p.add_argument("--page", type=int, default=1)
    p.add_argument("--config")
    p = sub.add_parser("show", help="one case: records, flags with evidence, payouts (the view is audited)")
    p.add_argument("person_id", metavar="PERSON")
    p.add_argument("--db", required=True)
    p.add_argument("--by", required=True, help="who looks (kept in the audit trail)")
    p = sub.add_parser("decide", help="confirm or dismiss a case (writes the payout decisions it implies)")
    p.add_argument("person_id", metavar="PERSON")
    p.add_argument("--db", required=True)
    choice = p.add_mutually_exclusive_group(required=True)
    choice.add_argument("--confirm", dest="action", action="store_const", const="confirm")
    choice.add_argument("--dismiss", dest="action", action="store_const", const="dismiss")
    p.add_argument("--by", required=True, help="a user of `bountyguard users` (their role applies)")
    p.add_argument("--reason", required=True)
    p.add_argument("--dry-run", action="store_true", help="print what would change; record nothing")
    p.add_argument("--config")

    p = subparsers.add_parser("serve", help="the case-review web app")
    p.add_argument("--db", required=True, help="the DuckDB file of the screening runs (never opened)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--config", help="TOML configuration ([review] settings)")


def handle(args: argparse.Namespace) -> int:
    try:
        if args.command == "users":
            return _users(args)
        if args.command == "cases":
            return _cases(args)
        return _serve(args)
    except BountyguardError as exc:
        print(f"bountyguard {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code


def _users(args) -> int:
    con = store.open_store(args.db)
    try:
        if args.users_command == "add":
            password = os.environ.get("BOUNTYGUARD_PASSWORD") or getpass.getpass(f"password for {args.name}: ")
            store.add_user(con, args.name, args.role, password)
            print(f"user {args.name} added ({args.role})")
        elif args.users_command == "list":
            for u in store.list_users(con):
                print(f"{u['name']:<20} {u['role']:<8} {'disabled' if u['disabled'] else 'active':<9} since {u['created_at']}")
        else:
            store.disable_user(con, args.name)
            print(f"user {args.name} disabled")
    finally:
        con.close()
    return 0


def _user(db: str, name: str) -> dict:
    con = store.open_store(db)
    try:
        user = store.get_user(con, name)
    finally:
        con.close()
    if user is None or user["disabled"]:
        raise store.ReviewStoreError(f"--by {name}: no active user of that name (see `bountyguard users list`)")
    return user


def _cases(args) -> int:
    review = load_config(getattr(args, "config", None))["review"]
    if args.cases_command == "list":
        with cases.Snapshot(args.db) as snap:
            rows, total = snap.queue(status=None if args.status == "all" else args.status, pattern=args.pattern,
                                     severity=args.severity, min_amount=args.min_amount, max_amount=args.max_amount,
                                     page=args.page, page_size=review["page_size"])
            print(f"run {snap.run_id}: {total} {args.status} cases (page {args.page})")
        for r in rows:
            print(f"  {r['person_id']}  {r['at_stake']:>10} {r['currency']:<4} {r['score']:.2f} {r['severity']:<6} "
                  f"{r['status']:<9} {','.join(r['patterns'])}  {r['display_name']} {cases.mask_email(r['email'])}")
        return 0
    if args.cases_command == "show":
        user = _user(args.db, args.by)
        with cases.Snapshot(args.db) as snap:
            case = snap.case(args.person_id)
            run_id = snap.run_id
        con = store.open_store(args.db)
        try:
            store.audit(con, user["name"], "view_case", args.person_id, f"run {run_id}; personal data shown (cli)")
        finally:
            con.close()
        print(f"case {case['person_id']}: {case['display_name']} ({case['status']}), {case['at_stake']} {case['currency']} at stake, "
              f"patterns {', '.join(case['patterns'])}")
        for r in case["records"]:
            print(f"  record {r['record_type']} {r['record_id']}: {r['full_name']}, {r['email'] or '-'}, {r['phone'] or '-'}, "
                  f"{r['payout_iban'] or '-'}, {r['birth_date'] or '-'}, {r['city'] or '-'}")
        for link in case["links"]:
            print(f"  merged {link['record_id_l']} + {link['record_id_r']}: {link['rule']} "
                  f"(p={link['match_probability'] if link['match_probability'] is not None else 'exact'})")
        for f in case["flags"]:
            print(f"  flag {f['pattern']} {f['severity']} {f['score']:.2f} on {f['entity_type']} {f['entity_id']}")
            for item in f["evidence_items"]:
                if item["text"] is not None:
                    print(f"      {item['label']}: {item['text']}")
                else:
                    print(f"      {item['label']}:")
                    for row in item["rows"]:
                        print("        " + ", ".join(f"{c} {v}" for c, v in zip(item["columns"], row) if v != ""))
        for p in case["payouts"]:
            print(f"  payout {p['payout_id']} {p['amount']} {p['currency']} due {p['eligible_at']}: {p['decision'] or 'not due'} "
                  f"{p['reasons'] or ''}")
        return 0
    user = _user(args.db, args.by)
    if args.dry_run:
        with cases.Snapshot(args.db) as snap:
            plan = snap.plan(args.person_id, args.action, review["lead_only_above"])
        changes, total = plan["changes"], plan["total"]
        print(f"would {args.action} case {args.person_id}: {len(changes)} payouts, {total}"
              + (" (lead only)" if plan["lead_required"] else ""))
    else:
        result = cases.decide(args.db, args.person_id, args.action, user, args.reason,
                              lead_only_above=review["lead_only_above"])
        changes, total = result["changes"], result["total"]
        print(f"recorded case decision {result['decision_id']}: {args.action} {args.person_id} by {user['name']}: "
              f"{len(changes)} payouts, {total}")
    for c in changes:
        print(f"  {c['payout_id']} {c['amount']} {c['currency']}: {c['decision'] or 'not due'} -> {c['change']}")
    return 0


def _serve(args) -> int:
    import uvicorn

    from bountyguard.review.web import create_app

    app = create_app(args.db, load_config(args.config)["review"])
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0
