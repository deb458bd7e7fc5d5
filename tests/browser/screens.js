// PNG screenshots of every page of the station, as an officer sees them,
// in Debian's chromium via playwright-core: Vietnamese and English, at
// 1366×768 (the post's PC) and 360×740 (a phone), full page. Run by
// tools/station-screens.sh, which starts the station (tests/station-fixture.sh)
// and passes everything through the environment. The station is driven
// through its API between shots (docs/station-api.md), as the page does.
'use strict';
const fs = require('fs');
const path = require('path');
const { execFile } = require('child_process');

const E = process.env;
const URL0 = E.STATION_URL;
const OUT = E.OUT;
const pw = require(path.join(E.PW_DIR, 'node_modules', 'playwright-core'));
const SIZES = [['1366x768', { width: 1366, height: 768 }], ['360x740', { width: 360, height: 740 }]];
const LANGS = ['vi', 'en'];
const WAIT = 30000;
let shots = 0;

function run(file, args) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 60000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(file)}: ${err.message} ${stderr}`));
      else resolve(String(stdout).trim());
    });
  });
}

// One browser context per language and size; `who` logs in through the API.
async function contexts(browser, who) {
  const list = [];
  for (const lang of LANGS) {
    for (const [size, viewport] of SIZES) {
      const ctx = await browser.newContext({ viewport, deviceScaleFactor: 1, locale: lang === 'vi' ? 'vi-VN' : 'en-GB',
        isMobile: viewport.width < 600, hasTouch: viewport.width < 600 });
      await ctx.addInitScript((l) => { try { localStorage.setItem('homthu.lang', l); } catch (e) { /* */ } }, lang);
      const page = await ctx.newPage();
      page.setDefaultTimeout(WAIT);
      page.on('pageerror', (e) => console.error(`screens: page error (${lang} ${size}): ${e.message}`));
      page.on('console', (m) => { if (m.type() === 'error' && !/status of (401|403|423|429)/.test(m.text())) console.error(`screens: console (${lang} ${size}): ${m.text()}`); });
      if (who) await apiLogin(ctx, who[0], who[1]);
      list.push({ lang, size, ctx, page });
    }
  }
  return list;
}

async function state(ctx) { return (await ctx.request.get(URL0 + '/api/state')).json(); }
async function apiPost(ctx, p, form) {
  const st = await state(ctx);
  const r = await ctx.request.post(URL0 + p, { form: Object.assign({ _: '1' }, form || {}),
    headers: { 'X-CSRF-Token': st.csrf || '' } });
  if (!r.ok()) throw new Error(`${p}: ${r.status()} ${await r.text()}`);
  return r.json().catch(() => ({}));
}
async function apiLogin(ctx, name, password) {
  const r = await ctx.request.post(URL0 + '/api/login', { form: { name, password } });
  if (!r.ok()) throw new Error(`login ${name}: ${r.status()} ${await r.text()}`);
}

// Shoot: go to the hash, wait for the page's own sign that it is drawn, shoot.
async function shoot(c, name, hash, ready) {
  const { page } = c;
  if (hash != null) {
    // A fresh document each time: the same one would keep the last view's
    // scroll and messages (and a reload would open the tip twice in the audit).
    await page.goto('about:blank');
    await page.goto(URL0 + '/' + hash);
  }
  if (ready) await ready(page);
  await page.waitForFunction(() => !document.querySelector('.loading'), null, { timeout: WAIT }).catch(() => {});
  await page.evaluate(() => document.fonts.ready);
  // Named like homthu-screens' kiosk pictures: size, language, order, page.
  const no = String(ORDER.indexOf(name) + 1).padStart(2, '0');
  const file = path.join(OUT, `station-${c.size}-${c.lang}-${no}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  shots++;
}
const ORDER = ['setup', 'login-error', 'tips-locked', 'kiosks-locked', 'tips-unlocked', 'tip', 'tip-typed', 'tip-rtl',
  'print', 'print-paper', 'audit', 'officers', 'kiosks', 'password', 'kiosks-technician', 'banner-relay-down'];
const sel = (id) => `[data-testid="${id}"]`;
const waitTid = (id) => (page) => page.locator(sel(id)).first().waitFor();

(async () => {
  fs.mkdirSync(OUT, { recursive: true });
  const args = [];
  if (process.getuid && process.getuid() === 0) args.push('--no-sandbox');
  const browser = await pw.chromium.launch({ executablePath: E.CHROMIUM, args, timeout: 60000 });
  try {
    // 1. First start: the setup form.
    const anon = await contexts(browser, null);
    for (const c of anon) await shoot(c, 'setup', '#/setup', waitTid('setup-form'));

    // The commander is made (through the first context, as the page does).
    {
      const ctx = anon[0].ctx;
      const r = await ctx.request.post(URL0 + '/api/setup', { form: { code: E.SETUP_CODE, name: 'chihuy', password: 'mat-khau-dai-1' } });
      if (!r.ok()) throw new Error('setup: ' + r.status() + ' ' + (await r.text()));
      await apiPost(ctx, '/api/officers', { name: 'canbo1', role: 'officer', password: 'mat-khau-can-bo' });
      await apiPost(ctx, '/api/officers', { name: 'kythuat', role: 'technician', password: 'mat-khau-ky-thuat' });
    }

    // 2. Login with an error (an unknown name: no account is locked out by this).
    for (const c of anon) {
      await c.ctx.clearCookies();
      await shoot(c, 'login-error', '#/login', async (page) => {
        await page.locator(sel('login-name')).fill('khach');
        await page.locator(sel('login-password')).fill('sai-mat-khau');
        await page.locator(sel('login-submit')).click();
        await page.waitForFunction(() => !document.getElementById('error-box').hidden);
      });
    }
    for (const c of anon) await c.ctx.close();

    // 3. The commander's pages, locked.
    const cmd = await contexts(browser, ['chihuy', 'mat-khau-dai-1']);
    for (const c of cmd) {
      await shoot(c, 'tips-locked', '#/tips', async (page) => {
        await page.waitForFunction(() => document.querySelectorAll('[data-testid="tip-row"]').length >= 4);
      });
    }
    for (const c of cmd) await shoot(c, 'kiosks-locked', '#/kiosks', waitTid('kiosk-card'));

    // 4. Unlocked: a status with a note, one tip opened (so the others show as new).
    const ctx0 = cmd[0].ctx;
    await apiPost(ctx0, '/api/unlock', { passphrase: E.HOMTHU_PASSPHRASE });
    for (let i = 0; i < 100; i++) {
      const j = await (await ctx0.request.get(URL0 + '/api/tips')).json();
      if (j.tips && j.tips.length && j.tips.every((t) => t.indexed)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await apiPost(ctx0, `/api/tips/${E.VOICE}/status`, { status: 'checking', note: 'Gọi trưởng bản Na Cô Sa xác minh; hẹn gặp sáng mai.' });
    await apiPost(ctx0, `/api/tips/${E.VOICE}/assign`, { officer: 'canbo1' });
    await apiPost(ctx0, `/api/tips/${E.PRACTICE}/status`, { status: 'closed', note: 'Tin tập dượt.' });
    await ctx0.request.get(URL0 + `/api/tips/${E.VOICE}`);
    // A new tip, arrived while the station runs.
    await run(E.MAKETIP, ['--config', E.K1, '--category', '5', '--language', 'vi', '--text', 'Có người lạ đưa hai cô gái qua suối tối qua']);
    await run(E.UPLINK, ['--config', E.K1, '--once', '--max-failures', '3']);
    for (let i = 0; i < 150; i++) {
      const j = await (await ctx0.request.get(URL0 + '/api/tips')).json();
      if (j.tips && j.tips.length >= 5 && j.tips.every((t) => t.indexed)) break;
      await new Promise((r) => setTimeout(r, 200));
    }

    for (const c of cmd) {
      await shoot(c, 'tips-unlocked', '#/tips', async (page) => {
        await page.waitForFunction(() => document.querySelectorAll('[data-testid="tip-row"]').length >= 5 &&
          !document.querySelector('[data-testid="tip-locked-line"]'));
      });
    }
    for (const c of cmd) {
      await shoot(c, 'tip', '#/tips/' + E.VOICE, async (page) => {
        await page.locator(sel('tip-text')).waitFor();
        await page.waitForFunction(() => { const a = document.getElementById('tip-audio'); return a && a.readyState >= 1; });
      });
    }
    for (const c of cmd) await shoot(c, 'tip-typed', '#/tips/' + E.XSS, waitTid('tip-text'));
    for (const c of cmd) await shoot(c, 'tip-rtl', '#/tips/' + E.RTL, waitTid('tip-text'));
    for (const c of cmd) await shoot(c, 'print', '#/tips/' + E.VOICE + '/print', waitTid('print-text'));
    for (const c of cmd) {
      await shoot(c, 'print-paper', null, async (page) => {
        await page.emulateMedia({ media: 'print' });
      });
      await c.page.emulateMedia({ media: 'screen' });
    }
    for (const c of cmd) await shoot(c, 'audit', '#/audit', waitTid('audit-row'));
    for (const c of cmd) await shoot(c, 'officers', '#/officers', waitTid('officer-row'));
    for (const c of cmd) await shoot(c, 'kiosks', '#/kiosks', waitTid('kiosk-card'));
    for (const c of cmd) await shoot(c, 'password', '#/password', waitTid('password-form'));

    // 5. The technician.
    const tech = await contexts(browser, ['kythuat', 'mat-khau-ky-thuat']);
    for (const c of tech) await shoot(c, 'kiosks-technician', '#/kiosks', waitTid('kiosk-card'));
    for (const c of tech) await c.ctx.close();

    // 6. The relay goes down: the banner.
    process.kill(Number(E.RELAY_PID), 'SIGTERM');
    for (let i = 0; i < 150; i++) {
      const st = await state(ctx0);
      if (st.pull && st.pull.error) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const c of cmd) await shoot(c, 'banner-relay-down', '#/tips', waitTid('banner-pull'));
    for (const c of cmd) await c.ctx.close();
  } finally {
    await browser.close();
  }
  console.log(`station-screens: ${shots} screenshots in ${OUT}`);
})().catch((e) => { console.error('station-screens: ' + (e.stack || e.message)); process.exit(1); });
