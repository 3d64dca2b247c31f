"""The agent workspace in a real browser: Playwright driving Debian's Chromium.

A real ``uvicorn`` server runs in a subprocess against the per-test demo database (SQLite or
PostgreSQL, like the rest of the suite). ``scripts/ensure-browser.sh`` installs Chromium;
``playwright install`` is never used (it downloads its own browsers).

Screenshots of the key pages land in ``$HEARD_SCREENSHOTS`` when it is set
(``HEARD_SCREENSHOTS=docs/screenshots pytest tests/web/test_browser.py``), so an ordinary
run leaves the working tree alone.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from heard.access import SYSTEM
from heard.channels.email.ingest import receive_raw
from heard.channels.email.mailboxes import create_mailbox
from heard.db import Conversation, Database, Mailbox
from heard.domain.rating_link import sign_token
from heard.settings import Settings
from tests.conftest import FAST_HASH, copied_database

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
ADMIN = ("admin@demo.heard.test", "heard-demo")  # Noor Haddad, admin
LEAD = ("camille@demo.heard.test", "heard-demo")  # Camille Laurent, lead (Orders)
SHOTS = os.environ.get("HEARD_SCREENSHOTS")

if not Path(CHROMIUM).exists():  # pragma: no cover - CI runs scripts/ensure-browser.sh first
    pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-browser.sh", pytrace=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def small_demo(db: Database) -> None:
    """40 open demo conversations and some earlier ones of the same customers: the full demo
    set takes ~40 s to load per xdist worker, this one under 2 s."""
    from heard.demo.content import build_demo
    from heard.demo.load import load_demo

    data = build_demo()
    open_ = [c for c in data.conversations if c.status == "open"][:40]
    customers = {c.customer_key for c in open_}
    earlier = [c for c in data.conversations
               if c.status != "open" and c.customer_key in customers][:20]
    load_demo(db, dataclasses.replace(data, conversations=open_ + earlier), **FAST_HASH)


@pytest.fixture(scope="session")
def browser_template(backend: Any) -> str:
    return str(backend.make_template("browser", small_demo))


@pytest.fixture
def browser_db(backend: Any, browser_template: str) -> Iterator[Database]:
    yield from copied_database(backend, browser_template)


@pytest.fixture
def server(browser_db: Database, tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "HEARD_DATABASE_URL": browser_db.url, "HEARD_DATA_DIR": str(tmp_path),
           "HEARD_SECRET_KEY": "browser-test-secret", "HEARD_ENV": "development"}
    env.pop("HEARD_REDIS_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "heard.web.app:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/login", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "died") from None
                time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
        if proc.stderr:
            proc.stderr.close()


@pytest.fixture
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def shot(page: object, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=False)  # type: ignore[attr-defined]


def login(browser: object, base: str, who: tuple[str, str]) -> object:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-GB")  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    page.goto(base + "/login")
    page.fill("#email", who[0])
    page.fill("#password", who[1])
    page.click("button.primary")
    page.wait_for_url("**/inbox")
    return page


def test_triage_evidence_saved_reply_coach_and_live_update(server: str, browser: object) -> None:
    expect = playwright_api.expect
    noor = login(browser, server, ADMIN)
    # Triage by urgency: the most urgent conversations first.
    noor.select_option("#sort", "urgency")
    noor.click("form.filters button[type=submit]")
    noor.wait_for_url("**sort=urgency**")
    first = noor.locator("#rows tr").first
    expect(first.locator(".urgent")).to_be_visible()
    shot(noor, "inbox")
    # Keyboard: j selects the first row; open an escalated (angry) conversation.
    noor.keyboard.press("j")
    expect(noor.locator("#rows tr.sel")).to_have_count(1)
    angry = noor.locator("#rows tr", has=noor.locator(".a-escalated")).first
    href = angry.get_attribute("data-href")
    assert href
    noor.goto(server + href)
    # The evidence: why Heard reads this customer as upset, highlighted in the message.
    expect(noor.locator(".why")).to_be_visible()
    expect(noor.locator(".msg.inbound mark.ev").first).to_be_visible()
    shot(noor, "conversation")

    # A teammate opens the same conversation and sees Noor there.
    camille = login(browser, server, LEAD)
    camille.goto(server + href)
    expect(camille.locator("#presence")).to_contain_text("Noor Haddad", timeout=15_000)

    # Saved reply, then a coach rewrite, then send.
    noor.select_option("#saved", index=1)
    text = noor.locator("#reply")
    assert "Noor Haddad" in text.input_value()  # {agent_name} filled
    text.press("End")
    text.type("\n\nUnfortunately we cannot do more.")
    apply = noor.locator(".finding .apply").first
    expect(apply).to_be_visible(timeout=10_000)
    shot(noor, "composer-coach")
    before = text.input_value()
    negative = noor.locator(".finding", has_text="Unfortunately").locator(".apply")
    (negative if negative.count() else apply).click()
    expect(text).not_to_have_value(before)
    after = text.input_value()
    noor.click("#composer .reply-only button.primary")
    noor.wait_for_load_state()
    expect(noor.locator(".msg.outbound").last).to_contain_text(after.split("\n")[0])

    # Camille's page shows the reply without a reload.
    expect(camille.locator(".msg.outbound").last).to_contain_text(after.split("\n")[0],
                                                                  timeout=10_000)
    # Camille wrote nothing since loading: her send would warn that Noor replied meanwhile.
    camille.fill("#reply", "I'll take it from here.")
    camille.click("#composer .reply-only button.primary")
    expect(camille.locator(".collision")).to_contain_text("Noor Haddad")
    assert noor.errors == [] and camille.errors == []  # type: ignore[attr-defined]


def test_switch_ui_to_french(server: str, browser: object) -> None:
    expect = playwright_api.expect
    page = login(browser, server, ADMIN)
    page.select_option("#ui_language", "fr")
    expect(page.locator("nav.views")).to_contain_text("Mes équipes")
    expect(page.locator("th").nth(1)).to_contain_text("Client")
    page.keyboard.press("?")
    expect(page.locator("#help")).to_contain_text("Raccourcis clavier")
    page.keyboard.press("Escape")
    shot(page, "inbox-fr")
    assert page.errors == []  # type: ignore[attr-defined]


# --- satisfaction ratings and attachment previews -----------------------------------------

SECRET = "browser-test-secret"  # the server fixture's HEARD_SECRET_KEY
PIC = (Path(__file__).resolve().parents[3] / "shared" / "corpora" / "mailgun-flanker" / "tests"
       / "fixtures" / "messages" / "mailgun-pic.eml")


def _french_email_conversation(db: Database) -> int:
    with db.read() as s:
        cid = s.scalars(select(Conversation.id).where(
            Conversation.language == "fr", Conversation.channel == "email",
            Conversation.merged_into_id.is_(None)).order_by(Conversation.id)).first()
    assert cid is not None, "the demo has French email conversations"
    return int(cid)


def test_customer_rates_on_a_phone_and_the_agent_sees_it_live(
        server: str, browser: Any, browser_db: Database) -> None:
    expect = playwright_api.expect
    cid = _french_email_conversation(browser_db)
    agent: Any = login(browser, server, ADMIN)
    agent.goto(f"{server}/conversations/{cid}")
    expect(agent.locator("#timeline")).to_be_visible()
    expect(agent.locator("#live-state.on")).to_be_attached()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR",
                                is_mobile=True, has_touch=True)
    customer = phone.new_page()
    customer.goto(f"{server}/rate/{sign_token(SECRET, cid)}")
    expect(customer.locator("h1")).to_have_text("Comment nous en sommes-nous sortis ?")
    buttons = customer.locator(".scores button")
    expect(buttons).to_have_count(3)
    # Three answers side by side, each big enough to tap, nothing wider than the screen.
    for i in range(3):
        box = buttons.nth(i).bounding_box()
        assert box is not None and box["height"] >= 44 and box["x"] + box["width"] <= 390
    assert customer.evaluate("document.documentElement.scrollWidth") <= 390
    shot(customer, "rating-page")
    customer.fill("#comment", "Réponse rapide et claire, merci !")
    customer.locator(".scores button.s-good").tap()
    expect(customer.locator("h1")).to_have_text("Merci")
    shot(customer, "rating-thanks")

    badge = agent.locator("#timeline .rating.r-good")
    expect(badge).to_be_visible(timeout=10_000)  # the conversation.rating event, no reload
    expect(agent.locator("#timeline")).to_contain_text("Réponse rapide et claire, merci !")
    agent.locator("#rating").scroll_into_view_if_needed()
    shot(agent, "conversation-rating")
    assert agent.errors == []
    phone.close()


def test_image_attachment_thumbnail_loads(server: str, browser: Any,
                                          browser_db: Database) -> None:
    settings = Settings(database_url=browser_db.url, secret_key=SECRET)
    mailbox = create_mailbox(browser_db, actor=SYSTEM, secret_key=SECRET,
                             address="support@shop.example")
    result = receive_raw(browser_db, settings, mailbox, PIC.read_bytes())
    agent: Any = login(browser, server, ADMIN)
    agent.goto(f"{server}/conversations/{result.conversation_id}")
    image = agent.locator(".files .thumb img")
    image.scroll_into_view_if_needed()
    agent.wait_for_function("img => img.complete && img.naturalWidth > 0",
                            arg=image.element_handle())
    box = image.bounding_box()
    assert box is not None and round(box["height"]) == 120 and box["width"] <= 320
    shot(agent, "conversation-attachment")


def test_admin_sets_mailbox_hours_and_a_saved_reply_reaches_the_composer(
        server: str, browser: object, browser_db: Database) -> None:
    from sqlalchemy import select

    from heard.db import Conversation, Mailbox

    expect = playwright_api.expect
    noor = login(browser, server, ADMIN)
    noor.goto(server + "/admin/mailboxes")
    noor.fill("form.create input[name=address]", "help@shop.example")
    noor.fill("form.create input[name=name]", "Shop help")
    noor.click("form.create button.primary")
    noor.wait_for_url("**/admin/mailboxes/*")
    noor.check("input[name=hours_mode][value=hours]")
    for day in ("mon", "tue"):
        noor.locator(f"input[name={day}_start]").first.fill("09:00")
        noor.locator(f"input[name={day}_end]").first.fill("17:30")
    noor.fill("input[name=timezone]", "Europe/Paris")
    noor.fill("input[name=smtp_host]", "smtp.shop.example")
    noor.fill("input[name=smtp_password]", "browser-secret")
    noor.check("input[name=auto_ack]")
    noor.click("form.settings button.primary")
    expect(noor.locator(".flash")).to_contain_text("Mailbox saved.")
    expect(noor.locator("input[name=smtp_password]")).to_have_value("")
    shot(noor, "admin-mailbox")
    with browser_db.read() as session:
        hours = session.scalars(select(Mailbox.business_hours)).one()
        conversation_id = session.scalars(select(Conversation.id).where(
            Conversation.language == "en", Conversation.status == "open")).first()
    assert hours["week"] == {"mon": [["09:00", "17:30"]], "tue": [["09:00", "17:30"]]}
    assert "browser-secret" not in noor.content()

    noor.goto(server + "/admin/saved-replies")
    noor.fill("form.create input[name=title]", "A browser-made reply")
    noor.select_option("form.create select[name=language]", "en")
    noor.fill("form.create textarea[name=body]", "Hello {first_name}, {agent_name} here.")
    noor.click("form.create button.primary")
    expect(noor.locator(".flash")).to_contain_text("Saved reply created.")
    noor.goto(f"{server}/conversations/{conversation_id}")
    noor.select_option("#saved", label="A browser-made reply")
    assert noor.locator("#reply").input_value().endswith(", Noor Haddad here.")
    assert noor.errors == []  # type: ignore[attr-defined]


# --- accessibility: every control named, every text readable -----------------------------

AUDIT = """() => {
  const problems = [];
  let controls = 0, texts = 0;
  const visible = el => {
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none';
  };
  const text = el => (el ? el.textContent.replace(/\\s+/g, ' ').trim() : '');
  for (const el of document.querySelectorAll(
      'input:not([type=hidden]), select, textarea, button, a[href]')) {
    if (!visible(el)) continue;
    controls++;
    const byId = (el.getAttribute('aria-labelledby') || '').split(/\\s+/)
      .map(id => text(document.getElementById(id))).join(' ');
    const name = [...(el.labels || [])].map(text).join(' ') || el.getAttribute('aria-label')
      || byId.trim() || el.getAttribute('title') || (el.matches('button, a') ? text(el) : '')
      || (el.matches('[type=submit], [type=button]') ? el.value : '')
      || (el.querySelector('img[alt]') ? el.querySelector('img[alt]').alt : '');
    if (!name || !name.trim()) problems.push('no accessible name: ' + el.outerHTML.slice(0, 140));
  }
  const rgba = s => { const m = s.match(/rgba?\\(([^)]+)\\)/); return m ? m[1].split(/[ ,\\/]+/)
    .filter(Boolean).map(Number) : null; };
  const over = (fg, bg) => { const a = fg.length > 3 ? fg[3] : 1;
    return [0, 1, 2].map(i => fg[i] * a + bg[i] * (1 - a)); };
  const background = el => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c && (c.length < 4 || c[3] > 0)) { layers.push(c); if (c.length < 4 || c[3] >= 1) break; }
    }
    let bg = [255, 255, 255];
    for (const c of layers.reverse()) bg = over(c, bg);
    return bg;
  };
  const lum = c => { const [r, g, b] = c.map(v => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !visible(el) || el.closest('[disabled], [aria-hidden=true], .blur, svg')) continue;
    const s = getComputedStyle(el);
    if (s.filter !== 'none' || Number(s.opacity) < 1) continue;
    texts++;
    const bg = background(el), fg = over(rgba(s.color), bg);
    const [l1, l2] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    const size = parseFloat(s.fontSize), bold = Number(s.fontWeight) >= 700;
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < needed) problems.push(`contrast ${ratio.toFixed(2)} < ${needed}: ` +
      `${el.tagName.toLowerCase()}.${el.className} "${text(el).slice(0, 40)}"`);
  }
  return {problems, controls, texts};
}"""


def test_pages_name_every_control_and_keep_text_readable(
        server: str, browser: Any, browser_db: Database) -> None:
    """WCAG 2.1 AA basics on the key pages: each visible control has an accessible name, and
    each visible text has a contrast of at least 4.5:1 (3:1 when large) on its background."""
    cid = _french_email_conversation(browser_db)
    with browser_db.read() as s:
        mailbox = s.scalars(select(Mailbox.id).order_by(Mailbox.id)).first()
    agent: Any = login(browser, server, ADMIN)
    pages = ["/inbox", "/inbox?view=closed", f"/conversations/{cid}", "/admin/agents",
             "/admin/teams", "/admin/tags", "/admin/mailboxes", "/admin/saved-replies",
             "/admin/sla"]
    if mailbox is not None:
        pages.append(f"/admin/mailboxes/{mailbox}")
    found: dict[str, list[str]] = {}
    for path in pages:
        response = agent.goto(server + path)
        assert response is not None and response.status == 200, path
        audit = agent.evaluate(AUDIT)
        assert audit["controls"] >= 3 and audit["texts"] >= 10, (path, audit)
        found[path] = audit["problems"]
    visitor = browser.new_context(locale="es-ES").new_page()
    for path in ("/login", f"/rate/{sign_token(SECRET, cid)}"):
        visitor.goto(server + path)
        audit = visitor.evaluate(AUDIT)
        assert audit["controls"] >= 3, (path, audit)
        found[path] = audit["problems"]
    assert {p: v for p, v in found.items() if v} == {}
    # The audit can fail: a control without a name and pale text are caught.
    agent.set_content('<body style="background:#fff"><input id="x">'
                      '<p style="color:#bbb">pale</p></body>')
    caught = agent.evaluate(AUDIT)["problems"]
    assert any("no accessible name" in p for p in caught)
    assert any("contrast" in p and "pale" in p for p in caught)
