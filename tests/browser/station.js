// The station's page in a real browser: Debian's chromium driven by
// playwright-core, against the station tests/station-fixture.sh started
// (real post, relay, kiosks and tips). Run by tests/t_station_browser.sh,
// which passes everything through the environment. Prints one
// "PASS station_browser_<name>" / "FAIL station_browser_<name> (why)" line
// per flow, in the order an officer would meet them; a flow that needs an
// earlier one still runs and says why it failed.
//
// Robust on a loaded machine: every wait is for a condition (with generous
// limits), never a fixed sleep used as an assertion.
'use strict';
const fs = require('fs');
const path = require('path');
const http = require('http');
const { execFile } = require('child_process');

const E = process.env;
const URL0 = E.STATION_URL;
const pw = require(path.join(E.PW_DIR, 'node_modules', 'playwright-core'));
const WAIT = 20000;           // one UI condition
const WAIT_TIP = 45000;       // a tip from the kiosk through the relay to the page (poll 5 s)

let failed = 0;
const consoleProblems = [];
function pass(name) { console.log(`PASS station_browser_${name}`); }
function fail(name, why) {
  failed = 1;
  console.log(`FAIL station_browser_${name} (${String(why).split('\n')[0].slice(0, 300)})`);
}
async function step(name, fn) {
  try {
    await fn();
    pass(name);
    return true;
  } catch (e) {
    fail(name, e && e.message ? e.message : e);
    return false;
  }
}
function assert(cond, why) { if (!cond) throw new Error(why); }
function run(file, args) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 60000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(file)}: ${err.message} ${stderr}`));
      else resolve(String(stdout).trim());
    });
  });
}

// Every page on the station is watched: a console error or an uncaught
// exception anywhere in the run fails station_browser_no_console_errors.
// The page's expected refusals (a wrong password is a 401, a locked tip a
// 423...) show in Chromium's console as "Failed to load resource"; those
// codes are the contract (docs/station-api.md), anything else is not.
const EXPECTED_LOAD = /Failed to load resource: the server responded with a status of (401|403|423|429)\b/;
function watch(page, who) {
  page.on('console', (m) => {
    if (m.type() !== 'error' && m.type() !== 'warning') return;
    const text = m.text();
    if (m.type() === 'warning' && !/Content.Security.Policy|Refused/i.test(text)) return;
    if (EXPECTED_LOAD.test(text)) return;
    consoleProblems.push(`${who}: ${m.type()}: ${text}`);
  });
  page.on('pageerror', (e) => consoleProblems.push(`${who}: pageerror: ${e.message}`));
  page.setDefaultTimeout(WAIT);
  return page;
}

const tid = (page, id) => page.locator(`[data-testid="${id}"]`);
async function hashIs(page, re) {
  await page.waitForFunction((src) => new RegExp(src).test(location.hash), re.source, { timeout: WAIT });
}
async function errorCode(page, code) {
  await page.waitForFunction((c) => {
    const b = document.getElementById('error-box');
    return b && !b.hidden && b.getAttribute('data-code') === c && b.textContent.trim() !== '';
  }, code, { timeout: WAIT });
  return (await tid(page, 'error-words').textContent()).trim();
}
async function login(page, name, password) {
  await page.goto(URL0 + '/#/login');
  await tid(page, 'login-form').waitFor();
  await tid(page, 'login-name').fill(name);
  await tid(page, 'login-password').fill(password);
  // The answer itself is awaited: an error box left from an earlier try
  // must not stand for this one.
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/login') && r.request().method() === 'POST'),
    tid(page, 'login-submit').click()
  ]);
  return resp.status();
}
// A tip row's link in the list, by id.
const rowOf = (page, id) => page.locator(`a[data-testid="tip-row"][href="#/tips/${id}"]`);

// The page an attacker serves from another port: a form that posts to the
// station on its own, and a fetch that tries the same with the cookie.
function attackerServer(target) {
  const html = `<!DOCTYPE html><html><body>
<form id="f" method="POST" action="${target}"><input name="status" value="false"><input name="note" value="forged by a form"></form>
<script>
window.__tried = 0;
fetch(${JSON.stringify(target)}, { method: 'POST', mode: 'no-cors', credentials: 'include',
  body: new URLSearchParams({ status: 'closed', note: 'forged by fetch' }) })
  .catch(function () {}).then(function () { window.__tried = 1; document.getElementById('f').submit(); });
</script></body></html>`;
  const srv = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(srv)));
}

(async () => {
  const args = ['--autoplay-policy=no-user-gesture-required', '--mute-audio'];
  if (process.getuid && process.getuid() === 0) args.push('--no-sandbox');
  let browser;
  try {
    browser = await pw.chromium.launch({ executablePath: E.CHROMIUM, args, timeout: 60000 });
  } catch (e) {
    fail('launches_chromium', e.message);
    process.exit(1);
  }
  pass('launches_chromium');
  const attacker = await attackerServer(`${URL0}/api/tips/${E.VOICE}/status`);
  try {
    await main(browser, attacker);
  } catch (e) {
    fail('run', e.stack || e.message);
  } finally {
    attacker.close();
    await browser.close().catch(() => {});
  }
  process.exit(failed);
})();

async function main(browser, attacker) {
  const ctxA = await browser.newContext({ acceptDownloads: true, viewport: { width: 1366, height: 768 } });
  const A = watch(await ctxA.newPage(), 'commander');
  // Every <script> or <img> element that ever enters the page is noted
  // (the page itself has only /app.js and no images).
  await ctxA.addInitScript(() => {
    window.__added = [];
    new MutationObserver((ms) => ms.forEach((m) => m.addedNodes.forEach((n) => {
      if (n.nodeType !== 1) return;
      const all = [n].concat(Array.from(n.querySelectorAll ? n.querySelectorAll('script,img,iframe,object,svg') : []));
      all.forEach((x) => {
        if (!/^(SCRIPT|IMG|IFRAME|OBJECT|svg)$/i.test(x.tagName)) return;
        if (x.tagName === 'SCRIPT' && x.getAttribute('src') === '/app.js' && !x.textContent) return; // the page's own
        window.__added.push(x.outerHTML.slice(0, 80));
      });
    }))).observe(document, { childList: true, subtree: true });
  });

  // --- first run: the commander, with the code the station wrote ---
  await step('first_run_makes_the_commander', async () => {
    await A.goto(URL0 + '/');
    await hashIs(A, /^#\/setup$/);
    await tid(A, 'setup-code').fill(E.SETUP_CODE);
    await tid(A, 'setup-name').fill('chihuy');
    await tid(A, 'setup-password').fill('mat-khau-dai-1');
    await tid(A, 'setup-password2').fill('mat-khau-dai-1');
    await tid(A, 'setup-submit').click();
    await hashIs(A, /^#\/tips$/);
    await A.waitForFunction(() => {
      const r = document.querySelector('[data-testid="me-role"]');
      return r && r.textContent.trim() !== '';
    });
    assert((await tid(A, 'me-name').textContent()) === 'chihuy', 'the header does not name chihuy');
    assert(!fs.existsSync(path.join(E.POST, 'station-setup-code')), 'the setup code is still on disk');
  });

  // --- the commander adds an officer and a technician from the page ---
  await step('commander_adds_officers', async () => {
    for (const [name, role, p] of [['canbo1', 'officer', 'mat-khau-can-bo'], ['kythuat', 'technician', 'mat-khau-ky-thuat']]) {
      await A.goto(URL0 + '/#/officers');
      await tid(A, 'officer-add-form').waitFor();
      await tid(A, 'officer-name').fill(name);
      await tid(A, 'officer-role').selectOption(role);
      await tid(A, 'officer-password').fill(p);
      await tid(A, 'officer-password2').fill(p);
      await tid(A, 'officer-add-submit').click();
      await A.locator(`[data-testid="officer-row"][data-name="${name}"]`).waitFor();
    }
  });

  // --- login: a wrong password is said, the right one lets in ---
  await step('logout_shows_the_login_page', async () => {
    await tid(A, 'logout-button').click();
    await hashIs(A, /^#\/login$/);
    await tid(A, 'login-form').waitFor();
  });
  await step('wrong_password_is_shown', async () => {
    await login(A, 'chihuy', 'sai-mat-khau');
    const words = await errorCode(A, 'bad_login');
    assert(words.length > 5, 'no words for the refusal');
    assert(await tid(A, 'login-form').isVisible(), 'the login form went away');
  });
  await step('login', async () => {
    await login(A, 'chihuy', 'mat-khau-dai-1');
    await hashIs(A, /^#\/tips$/);
    await tid(A, 'tip-list').waitFor();
    await A.waitForFunction(() => document.querySelectorAll('[data-testid="tip-row"]').length === 4);
  });
  await step('locked_list_shows_arrivals_only', async () => {
    assert((await tid(A, 'lock-state').getAttribute('data-unlocked')) === 'false', 'the header does not say locked');
    await tid(A, 'tips-locked-note').waitFor();
    assert(await tid(A, 'tip-locked-line').count() === 4, 'rows do not say they are sealed');
  });

  // --- lockout: five wrong passwords for one officer, shown with the wait ---
  const ctxL = await browser.newContext();
  const L = watch(await ctxL.newPage(), 'lockout');
  await step('lockout_is_shown', async () => {
    for (let i = 1; i <= 5; i++) {
      const code = await login(L, 'canbo1', 'sai-mat-khau-' + i);
      assert(code === 401 || code === 429, `wrong password ${i} answered ${code}`);
      await errorCode(L, code === 401 ? 'bad_login' : 'locked_out');
    }
    const code = await login(L, 'canbo1', 'mat-khau-can-bo');
    assert(code === 429, `the right password after five wrong ones answered ${code}`);
    const words = await errorCode(L, 'locked_out');
    assert(/\d/.test(words), `the lockout does not say how long: "${words}"`);
    assert(!/^#\/tips/.test(await L.evaluate(() => location.hash)), 'a locked-out officer got in');
  });
  await ctxL.close();

  // --- unlock: a wrong passphrase is said, the right one opens ---
  await step('wrong_passphrase_is_shown', async () => {
    await tid(A, 'unlock-passphrase').fill('not the passphrase');
    await tid(A, 'unlock-submit').click();
    await errorCode(A, 'wrong_passphrase');
    assert((await tid(A, 'lock-state').getAttribute('data-unlocked')) === 'false', 'it says unlocked');
  });
  await step('unlock', async () => {
    await tid(A, 'unlock-passphrase').fill(E.HOMTHU_PASSPHRASE);
    await tid(A, 'unlock-submit').click();
    await A.waitForFunction(() => {
      const s = document.querySelector('[data-testid="lock-state"]');
      return s && s.getAttribute('data-unlocked') === 'true';
    });
    // Rows fill in as the station reads them (the page reloads the list).
    await A.waitForFunction(() => document.querySelectorAll('[data-testid="tip-row"]').length === 4 &&
      document.querySelectorAll('[data-testid="tip-locked-line"]').length === 0, null, { timeout: WAIT_TIP });
    const cat = await rowOf(A, E.VOICE).locator('[data-testid="tip-category"]').getAttribute('data-category');
    assert(cat === 'drugs', `the voice tip's category is "${cat}"`);
  });

  // --- a new tip announces itself in the open page ---
  let newTip = '';
  await step('new_tip_appears_without_reload', async () => {
    await A.click('body', { position: { x: 5, y: 5 } }); // a gesture: browsers allow sound after one
    const before = await A.title();
    const m0 = /^\((\d+)\) /.exec(before);
    const n0 = m0 ? +m0[1] : 0;
    const marker = await A.evaluate(() => { window.__sameDocument = 1; return 1; });
    newTip = await run(E.MAKETIP, ['--config', E.K1, '--category', '5', '--text', 'tin mới khi trang đang mở']);
    await run(E.UPLINK, ['--config', E.K1, '--once', '--max-failures', '3']);
    await A.waitForFunction((n) => {
      const m = /^\((\d+)\) /.exec(document.title);
      return m && +m[1] === n;
    }, n0 + 1, { timeout: WAIT_TIP });
    await rowOf(A, newTip).waitFor({ timeout: WAIT_TIP });
    assert(await rowOf(A, newTip).locator('[data-testid="new-mark"]').count() === 1, 'the new row is not marked new');
    assert(marker === 1 && await A.evaluate(() => window.__sameDocument) === 1, 'the page was reloaded');
    await A.waitForFunction(() => +(document.body.getAttribute('data-beeps') || 0) >= 1);
  });

  // --- one tip: open, play, speed, status, download, print ---
  await step('open_a_tip', async () => {
    await rowOf(A, E.VOICE).click();
    await hashIs(A, new RegExp('^#/tips/' + E.VOICE + '$'));
    await tid(A, 'tip-text').waitFor();
    assert((await tid(A, 'tip-text').textContent()) === 'Muaj neeg nqa tshuaj dhau dej', 'the typed text is not shown');
    await tid(A, 'tip-audio').waitFor();
  });
  await step('play_the_recording', async () => {
    const dur = await A.waitForFunction(() => {
      const a = document.getElementById('tip-audio');
      return a && a.readyState >= 1 && isFinite(a.duration) && a.duration > 0 ? a.duration : 0;
    }, null, { timeout: WAIT });
    const d = await dur.jsonValue();
    assert(Math.abs(d - Number(E.VOICE_SECONDS)) < 0.5, `duration ${d} s, the recording is ${E.VOICE_SECONDS} s`);
    await A.evaluate(() => document.getElementById('tip-audio').play());
    await A.waitForFunction(() => {
      const a = document.getElementById('tip-audio');
      return a && !a.paused && a.currentTime > 1.0;
    }, null, { timeout: WAIT });
  });
  await step('speed_buttons_change_the_rate', async () => {
    for (const r of ['1.25', '0.75', '1']) {
      await A.locator(`[data-testid="speed-${r}"]`).click();
      const got = await A.evaluate(() => document.getElementById('tip-audio').playbackRate);
      assert(Math.abs(got - Number(r)) < 1e-6, `rate ${got} after ${r}×`);
      assert((await A.locator(`[data-testid="speed-${r}"]`).getAttribute('aria-pressed')) === 'true', 'button not shown pressed');
    }
    await A.evaluate(() => document.getElementById('tip-audio').pause());
  });
  await step('status_changes_with_a_note', async () => {
    await tid(A, 'status-select').selectOption('checking');
    await tid(A, 'status-note').fill('Gọi trưởng bản xác minh');
    await tid(A, 'status-submit').click();
    await A.locator('[data-testid="history-item"][data-status="checking"] [data-testid="history-note"]',
      { hasText: 'Gọi trưởng bản xác minh' }).waitFor();
    await A.locator('[data-testid="tip-page"] [data-testid="tip-status"][data-status="checking"]').first().waitFor();
  });
  await step('download_the_recording', async () => {
    const [dl] = await Promise.all([A.waitForEvent('download'), tid(A, 'audio-download').click()]);
    const f = await dl.path();
    const bytes = fs.readFileSync(f);
    assert(bytes.length > 1000 && bytes.slice(0, 4).toString('latin1') === 'OggS', `not an Ogg file (${bytes.length} bytes)`);
    assert(/\.(ogg|opus)$/.test(dl.suggestedFilename()), `named ${dl.suggestedFilename()}`);
  });
  await step('printable_report', async () => {
    await tid(A, 'print-link').click();
    await hashIs(A, /\/print$/);
    await tid(A, 'print-text').waitFor();
    assert((await tid(A, 'print-text').textContent()) === 'Muaj neeg nqa tshuaj dhau dej', 'the report lacks the text');
    assert(await A.evaluate(() => document.body.classList.contains('printing')), 'not in print layout');
    await A.emulateMedia({ media: 'print' });
    assert(!(await A.locator('#top').isVisible()), 'the header would be printed');
    assert(await tid(A, 'print-report').isVisible(), 'the report would not be printed');
    assert(await A.locator('[data-testid="print-report"] [data-testid="history-note"]').count() >= 1, 'the report lacks the history');
    await A.emulateMedia({ media: 'screen' });
  });
  await step('download_the_csv', async () => {
    await A.goto(URL0 + '/#/tips');
    await tid(A, 'csv-link').waitFor();
    const [dl] = await Promise.all([A.waitForEvent('download'), tid(A, 'csv-link').click()]);
    const text = fs.readFileSync(await dl.path(), 'utf8');
    const lines = text.trim().split(/\r?\n/);
    assert(/^"?id"?,"?received_utc"?,"?kiosk"?,/.test(lines[0]), `header line is "${lines[0]}"`);
    assert(lines.length === 6 && text.includes(E.VOICE), `${lines.length - 1} rows`);
  });

  // --- attacker-controlled text ---
  await step('script_in_a_tip_runs_nothing', async () => {
    await A.goto(URL0 + '/#/tips/' + E.XSS);
    await tid(A, 'tip-text').waitFor();
    const text = await tid(A, 'tip-text').textContent();
    assert(text.includes('<script>window.__pwned=1</script>') && text.includes('onerror'), 'the text is not shown as text');
    await A.goto(URL0 + '/#/tips/' + E.XSS + '/print');
    await tid(A, 'print-text').waitFor();
    const r = await A.evaluate(() => ({
      pwned: typeof window.__pwned,
      scripts: Array.from(document.scripts).map((s) => s.getAttribute('src')),
      imgs: document.images.length,
      added: window.__added
    }));
    assert(r.pwned === 'undefined', 'window.__pwned was set');
    assert(r.scripts.length === 1 && r.scripts[0] === '/app.js', `scripts: ${r.scripts}`);
    assert(r.imgs === 0 && r.added.length === 0, `elements made: ${r.added} (${r.imgs} images)`);
  });
  await step('rtl_override_stays_in_its_field', async () => {
    await A.goto(URL0 + '/#/tips/' + E.RTL);
    await tid(A, 'tip-text').waitFor();
    const r = await A.evaluate(() => {
      const t = document.querySelector('[data-testid="tip-text"]');
      const cs = getComputedStyle(t);
      // The facts that follow keep their order: each label left of its value,
      // each row below the one before, all below the text.
      const facts = Array.from(document.querySelectorAll('.facts .fact')).map((f) => {
        const dt = f.querySelector('dt').getBoundingClientRect();
        const dd = f.querySelector('dd').getBoundingClientRect();
        return { dtL: dt.left, ddL: dd.left, top: dt.top };
      });
      return { text: t.textContent, dir: t.getAttribute('dir'), bidi: cs.unicodeBidi,
        textBottom: t.getBoundingClientRect().bottom, facts };
    });
    assert(r.text.includes('\u202e'), 'the override is not in the text');
    assert(r.dir === 'auto' && /isolate|plaintext/.test(r.bidi), `text is dir=${r.dir}, unicode-bidi ${r.bidi}`);
    assert(r.facts.length >= 5, 'no facts');
    const shown = await tid(A, 'tip-bidi-shown').textContent();
    assert(shown === 'abc [RLO]gnp.exe cba', `the trick is not shown as typed: "${shown}"`);
    r.facts.forEach((f, i) => {
      assert(f.dtL <= f.ddL, `fact ${i}: the value is left of its label`);
      if (i) assert(f.top >= r.facts[i - 1].top, `fact ${i} is above the one before`);
      assert(f.top >= r.textBottom, `fact ${i} is above the text`);
    });
    // The same text in a status note, next to the time and the badge.
    await tid(A, 'status-select').selectOption('checking');
    await tid(A, 'status-note').fill('xem lại \u202eabc.exe');
    await tid(A, 'status-submit').click();
    const item = A.locator('[data-testid="history-item"]').last();
    await item.locator('[data-testid="history-note"]').waitFor();
    const h = await item.evaluate((li) => {
      const time = li.querySelector('time').getBoundingClientRect();
      const badge = li.querySelector('[data-testid="tip-status"]').getBoundingClientRect();
      const note = li.querySelector('[data-testid="history-note"]');
      return { timeL: time.left, badgeL: badge.left, bidi: getComputedStyle(note).unicodeBidi };
    });
    assert(h.timeL < h.badgeL && /isolate|plaintext/.test(h.bidi), `history head out of order (${JSON.stringify(h)})`);
  });

  // --- a forged cross-site POST ---
  await step('forged_cross_site_post_is_refused', async () => {
    const X = watchNothing(await ctxA.newPage());
    const statuses = [];
    X.on('response', (r) => { if (r.url().includes('/api/tips/')) statuses.push(r.status()); });
    const port = attacker.address().port;
    await X.goto(`http://127.0.0.1:${port}/`);
    // The form's POST ends on the station's answer page.
    await X.waitForURL((u) => u.href.startsWith(URL0), { timeout: WAIT });
    await X.waitForLoadState();
    const body = await X.textContent('body');
    await X.close();
    assert(/csrf/.test(body), `the station answered: ${body.slice(0, 200)}`);
    assert(statuses.every((s) => s === 403), `statuses ${statuses}`);
    const st = await A.evaluate(async (id) => {
      const r = await fetch('/api/tips/' + id, { credentials: 'same-origin' });
      const j = await r.json();
      return { status: j.status, notes: (j.history || []).map((x) => x.note) };
    }, E.VOICE);
    assert(st.status === 'checking', `status is now ${st.status}`);
    assert(!st.notes.some((n) => /forged/.test(n)), 'a forged note was kept');
  });

  // --- the audit log, in the officer's words ---
  await step('audit_says_every_action_in_words', async () => {
    await A.goto(URL0 + '/#/audit');
    await tid(A, 'audit-row').first().waitFor();
    const rows = await A.evaluate(() => Array.from(document.querySelectorAll('[data-testid="audit-row"]')).map((tr) =>
      ({ action: tr.getAttribute('data-action'), words: tr.children[2].textContent.trim() })));
    const seen = new Set(rows.map((r) => r.action));
    for (const a of ['commander_made', 'officer_added', 'logged_in', 'logged_out', 'login_locked_out', 'unlock_refused',
      'unlocked', 'opened', 'listened', 'downloaded_recording', 'exported_list', 'status_changed']) {
      assert(seen.has(a), `no "${a}" entry`);
    }
    const raw = rows.filter((r) => r.words === r.action || /_/.test(r.words));
    assert(raw.length === 0, `shown as codes: ${[...new Set(raw.map((r) => r.action))]}`);
    assert((await tid(A, 'audit-intact').getAttribute('data-intact')) === 'true', 'the log says it was altered');
  });

  // --- lock: what was on screen goes ---
  await step('lock_hides_tip_content', async () => {
    await A.goto(URL0 + '/#/tips/' + E.VOICE);
    await tid(A, 'tip-text').waitFor();
    await tid(A, 'lock-button').click();
    await A.waitForFunction(() => {
      const s = document.querySelector('[data-testid="lock-state"]');
      return s && s.getAttribute('data-unlocked') === 'false';
    });
    await tid(A, 'tip-locked').waitFor();
    assert(await tid(A, 'tip-text').count() === 0 && await tid(A, 'tip-audio').count() === 0, 'tip content still shown');
    const html = await A.content();
    assert(!html.includes('tshuaj dhau') && !html.includes('Gọi trưởng bản'), 'tip words still in the page');
    await A.goto(URL0 + '/#/tips');
    await A.waitForFunction(() => document.querySelectorAll('[data-testid="tip-locked-line"]').length === 5);
  });

  // --- a technician sees kiosks, never tips ---
  const ctxT = await browser.newContext();
  const TP = watch(await ctxT.newPage(), 'technician');
  await step('technician_sees_no_content', async () => {
    await login(TP, 'kythuat', 'mat-khau-ky-thuat');
    await hashIs(TP, /^#\/kiosks$/);
    await TP.locator('[data-testid="kiosk-card"][data-id="na-co-sa-01"]').waitFor();
    assert(await tid(TP, 'nav-tips').count() === 0 && await tid(TP, 'new-count').count() === 0, 'the technician has a tips link');
    await TP.goto(URL0 + '/#/tips/' + E.VOICE);
    await hashIs(TP, /^#\/kiosks$/);
    assert(await tid(TP, 'tip-page').count() === 0, 'a tip page was drawn');
    for (const p of ['/api/tips', '/api/tips/' + E.VOICE, '/api/tips/' + E.VOICE + '/audio', '/api/audit']) {
      const r = await ctxT.request.get(URL0 + p);
      assert(r.status() === 403, `${p} answered ${r.status()}`);
    }
    const resp = await TP.goto(URL0 + '/api/tips/' + E.VOICE + '/audio');
    assert(resp.status() === 403, `the recording's address answered ${resp.status()}`);
  });
  await ctxT.close();

  // --- a stolen cookie stops working at logout ---
  await step('stolen_cookie_fails_after_logout', async () => {
    await A.goto(URL0 + '/#/tips');
    await tid(A, 'tip-list').waitFor();
    const ctxS = await browser.newContext();
    await ctxS.addCookies(await ctxA.cookies());
    const S = watch(await ctxS.newPage(), 'thief');
    await S.goto(URL0 + '/');
    await hashIs(S, /^#\/tips$/);
    await tid(S, 'tip-list').waitFor();
    await tid(A, 'logout-button').click();
    await hashIs(A, /^#\/login$/);
    await S.reload();
    await tid(S, 'login-form').waitFor();
    const r = await ctxS.request.get(URL0 + '/api/tips');
    assert(r.status() === 401, `the stolen cookie still gets ${r.status()}`);
    await ctxS.close();
  });

  await step('no_console_errors', async () => {
    assert(consoleProblems.length === 0, consoleProblems.join(' | '));
  });
  await ctxA.close();
}

// The attacker's own page may log what it likes.
function watchNothing(page) { page.setDefaultTimeout(WAIT); return page; }
