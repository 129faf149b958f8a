"""The case-review web app's access rules, through its real HTTP interface (Starlette's TestClient
drives the FastAPI app in-process): login everywhere, CSRF on every form, roles, rate-limited
logins, disabled users, audited views and decisions, and masked personal data in lists."""
from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from bountyguard.config import load_config
from bountyguard.review import store
from bountyguard.review.web import SESSION_COOKIE, create_app
from tests.review_support import ANNA_EMAIL, ANNA_IBAN, ANNA_PHONE, AS_OF, case_of, review_platform, run_cli, write

PASSWORD = "a long password"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("review_web")
    platform = review_platform()
    db = root / "bg.duckdb"
    run_cli(db, write(platform, root / "landing"), AS_OF)
    con = store.open_store(db)
    try:
        for name, role in (("ana", "analyst"), ("lee", "lead"), ("gone", "analyst"), ("victim", "analyst")):
            store.add_user(con, name, role, PASSWORD)
        store.disable_user(con, "gone")
    finally:
        con.close()
    personal = set()
    for table in ("referrers", "candidates"):
        for row in platform.rows[table]:
            personal |= {row.get(k) for k in ("email", "phone", "payout_iban") if row.get(k)}
    return {"db": db, "platform": platform, "personal": personal,
            "anna": case_of(db, "Anna Selbst")["person_id"], "bernd": case_of(db, "Bernd Beispiel")["person_id"]}


def client(world, base_url="http://testserver", address="127.0.0.1", **review) -> TestClient:
    """A browser at `address` (failed logins are counted per client address too)."""
    return TestClient(create_app(world["db"], load_config()["review"] | review), base_url=base_url,
                      client=(address, 50000))


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(c: TestClient, name: str, password: str = PASSWORD):
    token = csrf_of(c.get("/login").text)
    return c.post("/login", data={"username": name, "password": password, "csrf_token": token}, follow_redirects=False)


def audit(world) -> list[dict]:
    con = store.open_store(world["db"])
    try:
        return store.audit_events(con)
    finally:
        con.close()


def test_anonymous_requests_get_no_data_on_any_route(world):
    c = client(world)
    app_routes = [r for r in c.app.routes if getattr(r, "methods", None)]
    checked = 0
    for route in app_routes:
        path = route.path.replace("{person_id}", world["anna"])
        for method in route.methods - {"HEAD"}:
            response = c.request(method, path, follow_redirects=False)
            if path == "/login":
                continue  # the login form itself is public (and holds no data)
            checked += 1
            assert response.status_code in (303, 401, 403), (method, path, response.status_code)
            if response.status_code == 303:
                assert response.headers["location"] == "/login"
            assert "Anna" not in response.text and world["anna"] not in response.text, (method, path)
    assert checked >= 8
    assert c.get("/api/cases").status_code == 401
    # a made-up session cookie is no session
    c.cookies.set(SESSION_COOKIE, "forged")
    assert c.get("/", follow_redirects=False).status_code == 303


def test_login_sets_a_hardened_session_cookie(world):
    c = client(world)
    response = login(c, "ana")
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    tls = client(world, base_url="https://testserver")
    response = login(tls, "ana")
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith(SESSION_COOKIE))
    assert "Secure" in cookie
    assert c.get("/").status_code == 200


def test_a_disabled_user_cannot_log_in(world):
    c = client(world, address="10.0.0.1")
    response = login(c, "gone")
    assert response.status_code == 303 and response.headers["location"].startswith("/login?error=")
    assert c.get("/", follow_redirects=False).status_code == 303
    assert any(e["action"] == "login_refused" and e["actor"] == "gone" for e in audit(world))


def test_login_attempts_are_rate_limited(world):
    c = client(world, address="10.0.0.2", login_max_failures=3)
    for _ in range(3):
        assert login(c, "victim", "wrong guess").headers["location"].startswith("/login?error=")
    response = login(c, "victim")  # even the right password is refused for now
    assert response.status_code == 429
    assert c.get("/", follow_redirects=False).status_code == 303
    # from another address too: the user name is counted as well as the address
    assert login(client(world, address="10.0.0.3", login_max_failures=3), "victim").status_code == 429
    # another user from a clean address logs in as usual
    assert login(client(world, address="10.0.0.4", login_max_failures=3), "ana").status_code == 303


def test_forms_without_their_csrf_token_are_refused(world):
    c = client(world)
    assert c.post("/login", data={"username": "ana", "password": PASSWORD}, follow_redirects=False).status_code == 403
    login(c, "ana")
    data = {"action": "confirm", "reason": "fraud"}
    for path in (f"/cases/{world['anna']}/preview", f"/cases/{world['anna']}/decide"):
        assert c.post(path, data=data).status_code == 403
        assert c.post(path, data=data | {"csrf_token": "not-the-token"}).status_code == 403
    assert c.post("/logout", data={}).status_code == 403
    assert not [e for e in audit(world) if e["action"] in ("confirm", "dismiss")]


def test_an_analyst_cannot_take_a_leads_decision(world):
    c = client(world, lead_only_above=100.0)
    login(c, "ana")
    token = csrf_of(c.get(f"/cases/{world['anna']}").text)
    preview = c.post(f"/cases/{world['anna']}/preview", data={"action": "confirm", "reason": "x", "csrf_token": token})
    assert preview.status_code == 200 and "only a lead may take it" in preview.text and 'id="save"' not in preview.text
    refused = c.post(f"/cases/{world['anna']}/decide",
                     data={"action": "confirm", "reason": "x", "csrf_token": token}, follow_redirects=False)
    assert refused.status_code == 403
    assert not [e for e in audit(world) if e["action"] == "confirm"]


def test_a_case_view_shows_personal_data_and_is_audited_lists_never_do(world):
    c = client(world)
    login(c, "ana")
    page = c.get(f"/cases/{world['anna']}")
    assert page.status_code == 200
    for value in (ANNA_EMAIL, ANNA_PHONE, ANNA_IBAN):
        assert value in page.text
    assert "self_referral" in page.text and "<svg" in page.text
    assert page.headers["cache-control"] == "no-store"
    views = [e for e in audit(world) if e["action"] == "view_case" and e["person_id"] == world["anna"]]
    assert views and views[0]["actor"] == "ana"
    lists = {path: c.get(path).text for path in
             ("/", "/?status=all", "/?page=2", "/?pattern=self_referral", "/api/cases?status=all", "/audit", "/audit.csv")}
    assert "Anna Selbst" in lists["/"] and "a***@e***" in lists["/"]
    for path, body in lists.items():
        for value in world["personal"]:
            assert value not in body, (path, value)
            assert re.sub(r"\s", "", value) not in re.sub(r"\s", "", body), (path, value)


def test_decisions_are_previewed_saved_and_audited(world):
    c = client(world)
    login(c, "lee")
    token = csrf_of(c.get(f"/cases/{world['bernd']}").text)
    assert c.post(f"/cases/{world['bernd']}/preview",
                  data={"action": "dismiss", "reason": "  ", "csrf_token": token}).status_code == 400
    preview = c.post(f"/cases/{world['bernd']}/preview",
                     data={"action": "dismiss", "reason": "known twin", "csrf_token": token})
    assert "PB" in preview.text and "600.00" in preview.text and "release" in preview.text
    save = re.search(r'<form method="post" action="([^"]+)" id="save">(.*?)</form>', preview.text, re.S)
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', save.group(2)))
    done = c.post(save.group(1), data=fields, follow_redirects=False)
    assert done.status_code == 303
    page = c.get(done.headers["location"])
    assert "dismiss recorded" in page.text and 'id="case-status">dismissed' in page.text
    [event] = [e for e in audit(world) if e["action"] == "dismiss"]
    assert event["actor"] == "lee" and event["reason"] == "known twin" and "PB release 600.00 EUR" in event["detail"]
    csv_text = c.get("/audit.csv").text
    assert csv_text.splitlines()[0] == ",".join(store.AUDIT_CSV_COLUMNS)
    assert "known twin" in csv_text and "view_case" in csv_text
    assert any(e["action"] == "export_audit" for e in audit(world))


def test_a_person_without_a_case_is_not_found(world):
    c = client(world)
    login(c, "ana")
    assert c.get("/cases/P0000000000000000").status_code == 404
