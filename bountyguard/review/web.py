"""The case-review web app (`bountyguard serve`): FastAPI with server-rendered Jinja2 templates and
plain HTML forms (no JavaScript, nothing loaded from elsewhere).

Every route but the login form needs a session: pages redirect to /login, /api routes answer 401.
The session cookie holds a random token (only its hash is stored); it is HttpOnly, SameSite=Strict,
and Secure when the app is reached over TLS. Every form carries the session's CSRF token (the login
form a double-submit token), checked before anything is done. Failed logins are counted per user
name and per client address; past `[review] login_max_failures` in `login_window_seconds`, logins
are refused (429) until the window passes. Lists mask e-mails, phones and IBANs; a case page shows
them in full and its every view is in the audit trail.
"""
from __future__ import annotations

import csv
import html
import io
import math
import secrets
from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from bountyguard.contract import PATTERNS
from bountyguard.errors import BountyguardError
from bountyguard.review import cases, store
from bountyguard.review.cases import CaseError, NoSuchCaseError, NotAllowedError, Snapshot

SESSION_COOKIE = "bountyguard_session"
LOGIN_CSRF_COOKIE = "bountyguard_login_csrf"
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.globals.update(mask_email=cases.mask_email, mask_phone=cases.mask_phone, mask_iban=cases.mask_iban)


class _LoginRequired(Exception):
    def __init__(self, api: bool):
        self.api = api


def create_app(db_path: str | Path, review_config: dict) -> FastAPI:
    """The app for the DuckDB file `db_path` (never opened: it reads the published snapshots and
    writes the review store and the ledger's analyst trail). `review_config`: the [review] section."""
    db_path = Path(db_path)
    cfg = dict(review_config)
    app = FastAPI(title="bountyguard case review", docs_url=None, redoc_url=None, openapi_url=None)
    store.open_store(db_path).close()  # create it now, not on the first request

    @app.exception_handler(_LoginRequired)
    async def login_required(request: Request, exc: _LoginRequired):
        if exc.api:
            return JSONResponse({"detail": "login required"}, status_code=401)
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(BountyguardError)
    async def refused(request: Request, exc: BountyguardError):
        status = (403 if isinstance(exc, NotAllowedError) else 404 if isinstance(exc, NoSuchCaseError)
                  else 409 if isinstance(exc, CaseError) else 500)
        return HTMLResponse(_page_error(str(exc)), status_code=status)

    def user_of(request: Request, api: bool = False) -> dict:
        con = store.open_store(db_path)
        try:
            user = store.session_user(con, request.cookies.get(SESSION_COOKIE))
        finally:
            con.close()
        if user is None:
            raise _LoginRequired(api)
        return user

    def check_csrf(user: dict, token: str) -> None:
        if not token or not secrets.compare_digest(token, user["csrf_token"]):
            raise _Forbidden()

    def render(request: Request, name: str, user: dict | None, status: int = 200, **context):
        response = TEMPLATES.TemplateResponse(request, name, {"user": user, **context}, status_code=status)
        response.headers["Cache-Control"] = "no-store"  # pages with personal data are never cached
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'"
        return response

    class _Forbidden(Exception):
        pass

    @app.exception_handler(_Forbidden)
    async def forbidden(request: Request, exc: _Forbidden):
        return HTMLResponse(_page_error("the form's CSRF token is missing or wrong: reload the page and try again"),
                            status_code=403)

    # --- login ---------------------------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, error: str | None = None):
        token = secrets.token_urlsafe(32)
        response = render(request, "login.html", None, error=error, csrf_token=token)
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")
        return response

    @app.post("/login")
    def login(request: Request, username: str = Form(""), password: str = Form(""), csrf_token: str = Form("")):
        cookie = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
        if not csrf_token or not secrets.compare_digest(csrf_token, cookie):
            raise _Forbidden()
        client = request.client.host if request.client else "?"
        con = store.open_store(db_path)
        try:
            if store.too_many_failures(con, [f"user:{username}", f"client:{client}"],
                                       cfg["login_max_failures"], cfg["login_window_seconds"]):
                store.audit(con, username or "?", "login_refused", None, "too many failed attempts")
                return HTMLResponse(_page_error("too many failed logins: wait a few minutes"), status_code=429)
            user = store.check_login(con, username.strip(), password, client)
            if user is None:
                return RedirectResponse("/login?" + urlencode({"error": "wrong name or password, or user disabled"}),
                                        status_code=303)
            token, _ = store.new_session(con, user["name"], cfg["session_hours"])
        finally:
            con.close()
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", max_age=int(cfg["session_hours"] * 3600))
        response.delete_cookie(LOGIN_CSRF_COOKIE)
        return response

    @app.post("/logout")
    def logout(request: Request, csrf_token: str = Form("")):
        user = user_of(request)
        check_csrf(user, csrf_token)
        con = store.open_store(db_path)
        try:
            store.end_session(con, request.cookies.get(SESSION_COOKIE))
        finally:
            con.close()
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    # --- the queue -------------------------------------------------------------------------------------

    def _queue(request: Request) -> tuple[dict, list[dict], int, Snapshot]:
        q = request.query_params
        filters = {"status": q.get("status", "open"), "pattern": q.get("pattern") or None,
                   "severity": q.get("severity") or None, "min_amount": q.get("min_amount") or None,
                   "max_amount": q.get("max_amount") or None, "min_age_days": q.get("min_age_days") or None,
                   "max_age_days": q.get("max_age_days") or None}
        if filters["status"] == "all":
            filters["status"] = None
        page = max(1, int(q.get("page") or 1)) if (q.get("page") or "1").isdigit() else 1
        snap = Snapshot(db_path)
        rows, total = snap.queue(**filters, page=page, page_size=cfg["page_size"])
        return filters | {"page": page}, rows, total, snap

    @app.get("/", response_class=HTMLResponse)
    def queue_page(request: Request):
        user = user_of(request)
        filters, rows, total, snap = _queue(request)
        snap.close()
        pages = max(1, math.ceil(total / cfg["page_size"]))
        base = {k: ("all" if k == "status" and v is None else v) for k, v in filters.items() if k != "page" and v is not None}
        return render(request, "queue.html", user, rows=rows, total=total, filters=filters, pages=pages,
                      patterns=PATTERNS, report=snap.report,
                      prev_url="/?" + urlencode(base | {"page": filters["page"] - 1}) if filters["page"] > 1 else None,
                      next_url="/?" + urlencode(base | {"page": filters["page"] + 1}) if filters["page"] < pages else None)

    @app.get("/api/cases")
    def queue_api(request: Request):
        user_of(request, api=True)
        filters, rows, total, snap = _queue(request)
        snap.close()
        return {"run_id": snap.run_id, "total": total, "page": filters["page"], "cases": [
            {"person_id": r["person_id"], "display_name": r["display_name"], "status": r["status"],
             "patterns": list(r["patterns"]), "severity": r["severity"], "score": r["score"],
             "at_stake": str(r["at_stake"]), "currency": r["currency"], "age_days": r["age_days"],
             "email": cases.mask_email(r["email"]), "phone": cases.mask_phone(r["phone"]),
             "payout_iban": cases.mask_iban(r["payout_iban"])} for r in rows]}

    # --- a case ----------------------------------------------------------------------------------------

    @app.get("/cases/{person_id}", response_class=HTMLResponse)
    def case_page(request: Request, person_id: str):
        user = user_of(request)
        with Snapshot(db_path) as snap:
            case = snap.case(person_id)
            run_id = snap.run_id
        con = store.open_store(db_path)
        try:  # the full e-mails, phones and IBANs are shown: every view is in the audit trail
            store.audit(con, user["name"], "view_case", person_id, f"run {run_id}; personal data shown")
        finally:
            con.close()
        return render(request, "case.html", user, case=case, run_id=run_id, network_svg=network_svg(case["network"]),
                      timeline_svg=timeline_svg(case["timeline"], person_id), message=request.query_params.get("message"))

    @app.post("/cases/{person_id}/preview", response_class=HTMLResponse)
    def preview(request: Request, person_id: str, action: str = Form(""), reason: str = Form(""),
                csrf_token: str = Form("")):
        user = user_of(request)
        check_csrf(user, csrf_token)
        if not reason.strip():
            return HTMLResponse(_page_error("a comment is required for every decision"), status_code=400)
        with Snapshot(db_path) as snap:
            plan = snap.plan(person_id, action, cfg["lead_only_above"])
        return render(request, "preview.html", user, plan=plan, reason=reason.strip(),
                      allowed=not plan["lead_required"] or user["role"] == "lead",
                      lead_only_above=cfg["lead_only_above"])

    @app.post("/cases/{person_id}/decide")
    def decide(request: Request, person_id: str, action: str = Form(""), reason: str = Form(""),
               run_id: str = Form(""), csrf_token: str = Form("")):
        user = user_of(request)
        check_csrf(user, csrf_token)
        result = cases.decide(db_path, person_id, action, user, reason, lead_only_above=cfg["lead_only_above"],
                              seen_run_id=run_id or None)
        message = f"{action} recorded: {len(result['changes'])} payouts changed ({result['total']})"
        return RedirectResponse(f"/cases/{person_id}?" + urlencode({"message": message}), status_code=303)

    # --- the audit trail ---------------------------------------------------------------------------------

    @app.get("/audit", response_class=HTMLResponse)
    def audit_page(request: Request):
        user = user_of(request)
        page = int(request.query_params.get("page") or 1) if (request.query_params.get("page") or "1").isdigit() else 1
        con = store.open_store(db_path)
        try:
            events = store.audit_events(con, limit=cfg["page_size"] + 1, offset=(max(page, 1) - 1) * cfg["page_size"])
        finally:
            con.close()
        return render(request, "audit.html", user, events=events[:cfg["page_size"]], page=page,
                      more=len(events) > cfg["page_size"])

    @app.get("/audit.csv")
    def audit_csv(request: Request):
        user = user_of(request)
        con = store.open_store(db_path)
        try:
            store.audit(con, user["name"], "export_audit", None, "audit trail exported as CSV")
            events = store.audit_events(con)
        finally:
            con.close()
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(store.AUDIT_CSV_COLUMNS)
        for e in reversed(events):
            writer.writerow([store.csv_safe(e[c]) for c in store.AUDIT_CSV_COLUMNS])
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="bountyguard-audit.csv"',
                                 "Cache-Control": "no-store"})

    return app


def _page_error(message: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>bountyguard</title></head><body>"
            f"<p role='alert'>{html.escape(message)}</p><p><a href='/'>back to the queue</a></p></body></html>")


# --- pictures (server-side SVG) -----------------------------------------------------------------------

def network_svg(network: dict, size: int = 360) -> str:
    """The person in the middle, the people they referred or were referred by around them."""
    center = network["center"]
    others = [n for n in network["nodes"] if n["id"] != center]
    pos = {center: (size / 2, size / 2)}
    for i, n in enumerate(others):
        angle = 2 * math.pi * i / max(len(others), 1)
        pos[n["id"]] = (size / 2 + size * 0.36 * math.cos(angle), size / 2 + size * 0.36 * math.sin(angle))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" role="img" '
             f'aria-label="referral network">']
    for e in network["edges"]:
        (x1, y1), (x2, y2) = pos[e["source"]], pos[e["target"]]
        if e["source"] == e["target"]:  # a self-referral
            parts.append(f'<circle cx="{x1:.0f}" cy="{y1 - 22:.0f}" r="14" fill="none" stroke="#b00">'
                         f'<title>referred themself {e["referrals"]} times</title></circle>')
            continue
        # an arrowhead drawn as a triangle just outside the candidate's circle: referrer -> candidate
        length = math.hypot(x2 - x1, y2 - y1) or 1.0
        ux, uy = (x2 - x1) / length, (y2 - y1) / length
        tip_x, tip_y = x2 - ux * 12, y2 - uy * 12
        base_x, base_y = tip_x - ux * 9, tip_y - uy * 9
        head = " ".join(f"{px:.1f},{py:.1f}" for px, py in (
            (tip_x, tip_y), (base_x - uy * 4, base_y + ux * 4), (base_x + uy * 4, base_y - ux * 4)))
        parts.append(f'<g><title>{e["referrals"]} referrals</title>'
                     f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{base_x:.0f}" y2="{base_y:.0f}" stroke="#555"/>'
                     f'<polygon points="{head}" fill="#555"/></g>')
    for n in network["nodes"]:
        x, y = pos[n["id"]]
        colour = "#b00" if n["id"] == center else ("#d80" if n["case_status"] in ("open", "confirmed") else "#4a7")
        label = html.escape((n["name"] or n["id"])[:24])
        node = (f'<circle cx="{x:.0f}" cy="{y:.0f}" r="10" fill="{colour}"/>'
                f'<text x="{x:.0f}" y="{y + 24:.0f}" font-size="11" text-anchor="middle">{label}</text>')
        if n["case_status"] and n["id"] != center:
            node = f'<a href="/cases/{html.escape(n["id"])}">{node}</a>'
        parts.append(node)
    parts.append("</svg>")
    return "".join(parts)


def timeline_svg(timeline: list[dict], person_id: str, width: int = 760) -> str:
    """One bar per stint from start to end (open: to its last known day), a tick at its guarantee end,
    a dot at each referral without a hire."""
    import datetime as dt

    def day(v):
        if v is None:
            return None
        return v.date() if isinstance(v, dt.datetime) else v

    dates = [d for t in timeline for d in (day(t["referred_at"]), day(t["started_at"]), day(t["ended_at"]),
                                           day(t["guarantee_end"])) if d]
    if not dates:
        return ""
    lo, hi = min(dates), max(dates)
    span = max((hi - lo).days, 1)
    x = lambda d: 10 + (width - 20) * (d - lo).days / span  # noqa: E731
    rows = [t for t in timeline]
    height = 20 + 18 * len(rows)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="timeline">',
             f'<text x="10" y="12" font-size="10">{lo}</text><text x="{width - 10}" y="12" font-size="10" '
             f'text-anchor="end">{hi}</text>']
    for i, t in enumerate(rows):
        y = 20 + 18 * i
        start, end, guarantee = day(t["started_at"]), day(t["ended_at"]), day(t["guarantee_end"])
        if start:
            stop = end or hi
            colour = "#b00" if end and guarantee and end < guarantee else "#36c"
            parts.append(f'<rect x="{x(start):.0f}" y="{y}" width="{max(x(stop) - x(start), 2):.0f}" height="10" '
                         f'fill="{colour}"><title>{html.escape(str(t["company_name"] or t["company_id"]))}: '
                         f'{start} to {end or "still employed"}</title></rect>')
            if guarantee:
                parts.append(f'<line x1="{x(guarantee):.0f}" x2="{x(guarantee):.0f}" y1="{y - 2}" y2="{y + 12}" '
                             f'stroke="#000" stroke-width="2"><title>guarantee end {guarantee}</title></line>')
        referred = day(t["referred_at"])
        if referred:
            parts.append(f'<circle cx="{x(referred):.0f}" cy="{y + 5}" r="3" fill="#d80"><title>referred {referred}'
                         f'</title></circle>')
    parts.append("</svg>")
    return "".join(parts)
