"""The case review end to end in a real headless browser (Playwright driving Debian's Chromium):
log in, open the top case, read its evidence, confirm it, run the payout DAG and see its payout not
paid; dismiss another case, run screening and payouts again, and see its payout paid exactly once.

The browser is /usr/bin/chromium (apt packages chromium and chromium-driver, which scripts/install.sh
installs when missing); browsers are never downloaded (`playwright install` is not used). Without it
this test FAILS when CI=true and is skipped elsewhere. With BOUNTYGUARD_SCREENSHOTS=DIR it also saves
the queue and case screenshots the README shows into DIR.

The DAG runs share the session's Airflow home with tests/test_dags.py (Airflow reads its home once per
process: see tests/airflow_support.py).
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from bountyguard import ledger
from bountyguard.config import load_config
from bountyguard.review import store
from tests.airflow_support import PAYOUTS, SCREENING, fresh_dag, run_dag, use_airflow_home, utc
from tests.review_support import AS_OF, NEXT_DAY, review_platform, write

pytestmark = pytest.mark.airflow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PASSWORD = "a long password"


def _missing(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: the browser tests cannot run (CI=true); run scripts/install.sh as root")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} not found (apt packages chromium chromium-driver)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the Python package playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def airflow_home():
    # the home conftest.py chose, or the one tests/test_dags.py prepared earlier in this session
    env, _ = use_airflow_home(Path(os.environ["AIRFLOW_HOME"]))
    return env


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    """The app on a free local port, served by uvicorn in a thread of this process."""
    import uvicorn

    from bountyguard.review.web import create_app

    root = tmp_path_factory.mktemp("review_browser")
    db = root / "bg.duckdb"
    landing = write(review_platform(), root / "landing")
    con = store.open_store(db)
    try:
        store.add_user(con, "ana", "analyst", PASSWORD)
    finally:
        con.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(db, load_config()["review"]), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the app did not start"
        time.sleep(0.05)
    yield {"url": f"http://127.0.0.1:{port}", "db": db, "landing": landing, "root": root}
    server.should_exit = True
    thread.join(timeout=10)


def screen_with_the_dag(app_server, as_of: str) -> None:
    conf = {"landing": str(app_server["landing"]), "db": str(app_server["db"]), "config": None}
    dr, states, seconds = run_dag(fresh_dag(SCREENING, retries=0), logical_date=utc(as_of), conf=conf)
    assert dr.state == "success", states
    print(f"\nreferral_screening {as_of}: {seconds:.1f} s")


def pay_with_the_dag(app_server, pays_for: str) -> None:
    # a manual payout run says which day it pays for (dags/payout_release.py): that day's report only
    dr, states, seconds = run_dag(fresh_dag(PAYOUTS, retries=0), conf={"db": str(app_server["db"]), "pays_for": pays_for})
    assert dr.state == "success", states
    print(f"payout_release: {seconds:.1f} s")


def payments_sent(db: Path) -> list[str]:
    """Every payment instruction the (file) payment provider received, one per line."""
    path = db.parent / f"{db.stem}.payments" / "instructions.jsonl"
    if not path.exists():
        return []
    return [json.loads(line)["payout_id"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def save_screenshot(page, tmp_dir: Path, name: str) -> None:
    path = tmp_dir / name
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("BOUNTYGUARD_SCREENSHOTS"):
        target = Path(os.environ["BOUNTYGUARD_SCREENSHOTS"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / name)


def decide_in_browser(page, action: str, comment: str) -> None:
    page.check(f"#decide input[name=action][value={action}]")
    page.fill("#decide textarea[name=reason]", comment)
    page.click("#decide button[type=submit]")
    page.wait_for_selector("#changes")
    page.click("#save button[type=submit]")
    page.wait_for_selector(".message")


def test_review_in_the_browser_decides_what_the_payout_dag_pays(browser, airflow_home, app_server):
    url, db = app_server["url"], app_server["db"]
    screen_with_the_dag(app_server, AS_OF)
    page = browser.new_page(viewport={"width": 1400, "height": 900})

    # log in (the queue sends an anonymous browser to the login form)
    page.goto(url + "/")
    assert page.url.endswith("/login")
    page.fill("input[name=username]", "ana")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#queue")
    assert "2 cases match" in page.inner_text("main")
    save_screenshot(page, app_server["root"], "queue.png")

    # open the top case (most money at stake) and read its evidence
    page.click("#queue tbody tr:first-child a.case-link")
    page.wait_for_selector("#evidence")
    assert page.inner_text("h1").startswith("Anna Selbst")
    evidence = page.inner_text("#evidence")
    assert "self_referral" in evidence and "RA (Anna Selbst)" in evidence and "CA (Anna Selbst)" in evidence
    assert "PA" in page.inner_text("#payouts") and "800.00" in page.inner_text("#payouts")
    assert page.locator("#network svg").count() == 1
    save_screenshot(page, app_server["root"], "case.png")

    # confirm it: the preview lists PA becoming void before anything is saved
    page.check("#decide input[name=action][value=confirm]")
    page.fill("#decide textarea[name=reason]", "She referred herself: same e-mail, phone and birth date.")
    page.click("#decide button[type=submit]")
    page.wait_for_selector("#changes")
    changes = page.inner_text("#changes")
    assert "PA" in changes and "800.00" in changes and "void" in changes
    assert ledger.analyst_decisions(db) == []  # a preview records nothing
    page.click("#save button[type=submit]")
    page.wait_for_selector(".message")
    assert page.inner_text("#case-status") == "confirmed"

    pay_with_the_dag(app_server, AS_OF)
    paid = payments_sent(db)
    assert "PA" not in paid and sorted(paid) == ["P1", "P2", "P3"]
    page.reload()
    assert "no" in page.locator("#payouts tbody tr", has_text="PA").inner_text()

    # dismiss the other case (now the top of the open queue)
    page.goto(url + "/")
    page.click("#queue tbody tr:first-child a.case-link")
    page.wait_for_selector("#evidence")
    assert page.inner_text("h1").startswith("Bernd Beispiel")
    decide_in_browser(page, "dismiss", "Checked: a twin brother with his own account.")
    assert page.inner_text("#case-status") == "dismissed"
    assert "PB" not in payments_sent(db)  # the hold is lifted by the next screening run, not now

    screen_with_the_dag(app_server, NEXT_DAY)
    pay_with_the_dag(app_server, NEXT_DAY)
    pay_with_the_dag(app_server, NEXT_DAY)  # a second payout run pays nothing again
    paid = payments_sent(db)
    assert paid.count("PB") == 1 and "PA" not in paid
    assert sorted(ledger.paid_payout_ids(db)) == ["P1", "P2", "P3", "PB"]
    page.reload()
    assert "sent" in page.locator("#payouts tbody tr", has_text="PB").inner_text()

    # the same flags in the new run did not reopen the dismissed case; the queue has none open
    page.goto(url + "/")
    assert "0 cases match" in page.inner_text("main")
    # the audit trail names both decisions and the case views
    page.goto(url + "/audit")
    trail = page.inner_text("#audit")
    for action in ("confirm", "dismiss", "view_case", "login"):
        assert action in trail
    page.close()
