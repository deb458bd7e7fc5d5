/*
 * The post station's page (docs/station-api.md is the contract).
 *
 * Plain ES2017, no framework, no build step: the station serves this file
 * from memory under a strict Content-Security-Policy, so there is no inline
 * script or style, no eval, and no innerHTML anywhere. Every element is made
 * with document.createElement and every word or datum goes in by
 * textContent: tip text is written by whoever stood at a kiosk, and must
 * never become markup. Fields that carry such text are bidi-isolated
 * (dir="auto" + CSS unicode-bidi) so an RTL override cannot flip the
 * fields beside them.
 */
'use strict';

(function () {
  // ---------- state ----------
  var S = {
    lang: 'vi',
    cat: {},            // the catalog in use (flat keys)
    st: null,           // the last /api/state answer
    latest: null,       // tips.latest when we last looked (null: not yet known)
    interacted: false,  // browsers only let a page make sound after a gesture
    audioCtx: null,
    poll: null,
    filters: { status: '', category: '', kiosk: '', from: '', to: '', q: '' },
    offset: 0,
    limit: 50,
    kiosks: null,       // for the kiosk filter
    route: '',
    renderSeq: 0        // a newer render makes the answers of an older one moot
  };

  var CATEGORIES = ['border', 'drugs', 'weapons', 'smuggling', 'theft', 'trafficking', 'other'];
  // Code points of fonts/HomthuPictos.ttf (src/kiosk/pictos.h), served as /pictos.ttf.
  var PICTO = {
    border: 0xE000, drugs: 0xE001, weapons: 0xE002, smuggling: 0xE003,
    theft: 0xE004, trafficking: 0xE005, other: 0xE006,
    today: 0xE010, yesterday: 0xE011, this_week: 0xE012, earlier: 0xE013,
    hear: 0xE021, play: 0xE025, keyboard: 0xE026, postbox: 0xE027, lock: 0xE028,
    wrench: 0xE02B, practice: 0xE02D, warning: 0xE02F, wait: 0xE030,
    lang_vi: 0xE040, lang_hmn: 0xE041
  };
  var STATUSES = ['new', 'checking', 'acted', 'false', 'closed'];
  var VERDICTS = ['signed', 'cut_short', 'unconfirmed', 'practice', 'refused'];
  var ROLES = ['commander', 'officer', 'technician'];

  // ---------- words ----------
  function t(key, vars) {
    var s = Object.prototype.hasOwnProperty.call(S.cat, key) ? S.cat[key] : key;
    if (vars) {
      s = s.replace(/\{(\w+)\}/g, function (m, k) {
        return Object.prototype.hasOwnProperty.call(vars, k) ? String(vars[k]) : m;
      });
    }
    return s;
  }
  function has(key) { return Object.prototype.hasOwnProperty.call(S.cat, key); }
  // A word from the catalog when it has one, else the server's own word.
  function tOr(key, fallback) { return has(key) ? t(key) : (fallback == null ? '' : String(fallback)); }

  function loadCatalog(lang) {
    return fetch('/i18n/' + lang + '.json', { credentials: 'same-origin' })
      .then(function (r) {
        if (!r.ok) throw new Error('catalog ' + r.status);
        return r.json();
      })
      .then(function (c) {
        S.cat = c;
        S.lang = lang;
        document.documentElement.lang = lang;
      });
  }

  // ---------- elements ----------
  // el('div', {class:'x', testid:'y', text:'…', attrs:{…}, on:{click:f}}, [children])
  function el(tag, o, kids) {
    var e = document.createElement(tag);
    o = o || {};
    if (o.class) e.className = o.class;
    if (o.id) e.id = o.id;
    if (o.testid) e.setAttribute('data-testid', o.testid);
    if (o.text != null) e.textContent = String(o.text);
    if (o.attrs) {
      Object.keys(o.attrs).forEach(function (k) {
        var v = o.attrs[k];
        if (v === false || v == null) return;
        e.setAttribute(k, v === true ? '' : String(v));
      });
    }
    if (o.on) Object.keys(o.on).forEach(function (k) { e.addEventListener(k, o.on[k]); });
    (kids || []).forEach(function (k) {
      if (k == null || k === false) return;
      e.appendChild(typeof k === 'string' ? document.createTextNode(k) : k);
    });
    return e;
  }
  // Text someone outside wrote (tip text, notes, names): isolated both ways.
  function untrusted(tag, text, o) {
    o = o || {};
    var e = el(tag, o);
    e.classList.add('iso');
    e.setAttribute('dir', 'auto');
    e.textContent = text == null ? '' : String(text);
    return e;
  }
  function picto(name, o) {
    var cp = PICTO[name];
    o = o || {};
    var e = el('span', { class: 'picto' + (o.class ? ' ' + o.class : ''), attrs: { 'aria-hidden': 'true' } });
    if (cp) e.textContent = String.fromCodePoint(cp);
    return e;
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); return e; }
  function $(id) { return document.getElementById(id); }
  function field(label, input, hint) {
    var id = input.id || ('f-' + Math.random().toString(36).slice(2));
    input.id = id;
    return el('div', { class: 'field' }, [
      el('label', { text: label, attrs: { for: id } }),
      input,
      hint ? el('div', { class: 'hint', text: hint }) : null
    ]);
  }
  function input(type, name, testid, extra) {
    var a = { type: type, name: name, autocomplete: 'off' };
    if (extra) Object.keys(extra).forEach(function (k) { a[k] = extra[k]; });
    return el('input', { testid: testid, attrs: a });
  }
  function button(text, testid, onclick, cls) {
    return el('button', { class: 'btn' + (cls ? ' ' + cls : ''), text: text, testid: testid,
      attrs: { type: onclick ? 'button' : 'submit' }, on: onclick ? { click: onclick } : null });
  }
  function select(name, testid, options, value) {
    var s = el('select', { testid: testid, attrs: { name: name } });
    options.forEach(function (o) {
      var op = el('option', { text: o[1], attrs: { value: o[0] } });
      if (String(o[0]) === String(value)) op.selected = true;
      s.appendChild(op);
    });
    return s;
  }

  // ---------- time ----------
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function fmtDate(unix) {
    if (!unix) return '—';
    var d = new Date(unix * 1000);
    return pad(d.getDate()) + '/' + pad(d.getMonth() + 1) + '/' + d.getFullYear();
  }
  function fmtTime(unix) {
    if (!unix) return '—';
    var d = new Date(unix * 1000);
    return fmtDate(unix) + ' ' + pad(d.getHours()) + ':' + pad(d.getMinutes());
  }
  function fmtLen(s) {
    if (s == null || !(s > 0)) return '—';
    var n = Math.round(s);
    return Math.floor(n / 60) + ':' + pad(n % 60);
  }
  function fmtSpan(secs) {
    secs = Math.max(0, Math.floor(secs));
    if (secs < 60) return t('span.seconds', { n: secs });
    if (secs < 3600) return t('span.minutes', { n: Math.floor(secs / 60) });
    if (secs < 86400 * 2) return t('span.hours', { n: Math.floor(secs / 3600) });
    return t('span.days', { n: Math.floor(secs / 86400) });
  }
  function ago(unix) {
    if (!unix) return t('ago.never');
    var s = Math.floor(Date.now() / 1000) - unix;
    if (s < 60) return t('ago.now');
    if (s < 3600) return t('ago.minutes', { n: Math.floor(s / 60) });
    if (s < 86400 * 2) return t('ago.hours', { n: Math.floor(s / 3600) });
    return t('ago.days', { n: Math.floor(s / 86400) });
  }
  // "2025-04-18" → "18/04/2025"
  function fmtDay(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || '');
    return m ? m[3] + '/' + m[2] + '/' + m[1] : (iso ? String(iso) : '—');
  }
  // <input type=date> value → unix seconds at local midnight (end: the next midnight − 1)
  function dayToUnix(v, end) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v || '');
    if (!m) return '';
    var d = new Date(+m[1], +m[2] - 1, +m[3] + (end ? 1 : 0), 0, 0, 0);
    return String(Math.floor(d.getTime() / 1000) - (end ? 1 : 0));
  }

  // ---------- the API ----------
  function ApiError(code, message, status, body) {
    this.code = code; this.message = message || ''; this.status = status; this.body = body || {};
  }
  function handle(r) {
    var ct = r.headers.get('Content-Type') || '';
    var p = ct.indexOf('json') >= 0 ? r.json().catch(function () { return null; }) : Promise.resolve(null);
    return p.then(function (body) {
      if (r.ok) return body || {};
      var code = body && body.error ? String(body.error) : 'http_' + r.status;
      var e = new ApiError(code, body && body.message, r.status, body);
      if (code === 'locked_out' && !(body && body.retry_after)) {
        var ra = parseInt(r.headers.get('Retry-After') || '', 10);
        if (ra > 0) e.body.retry_after = ra;
      }
      throw e;
    }, function () { throw new ApiError('http_' + r.status, '', r.status); });
  }
  function netFail(e) {
    if (e instanceof ApiError) throw e;
    throw new ApiError('network', String(e && e.message || e), 0);
  }
  function get(url) {
    return fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(handle, netFail).then(null, sessionGone);
  }
  function post(url, params) {
    var csrf = (S.st && S.st.csrf) || '';
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'X-CSRF-Token': csrf, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params || {})
    }).then(handle, netFail).then(null, sessionGone);
  }
  // not_logged_in anywhere: the session ended (logout elsewhere, idle, restart).
  function sessionGone(e) {
    if (e instanceof ApiError && e.code === 'not_logged_in' && S.st && S.st.me) {
      S.st.me = null;
      S.st.csrf = null;
      S.expired = true;
      go('#/login');
    }
    throw e;
  }
  function refreshState() {
    return get('/api/state').then(function (st) {
      S.st = st;
      return st;
    });
  }

  // ---------- messages ----------
  function showError(e) {
    var box = $('error-box');
    clear(box);
    var code = e && e.code ? e.code : 'unknown';
    var words = has('err.' + code) ? t('err.' + code) : t('err.unknown');
    if (code === 'locked_out') {
      var secs = e.body && e.body.retry_after ? +e.body.retry_after : 0;
      if (secs > 0) words = t('login.locked_out', { min: Math.max(1, Math.ceil(secs / 60)) });
    }
    box.appendChild(el('div', { class: 'error-words', testid: 'error-words', text: words }));
    var tech = e && e.message ? e.message : (has('err.' + code) ? '' : code);
    if (tech) box.appendChild(untrusted('small', tech, { class: 'error-detail', testid: 'error-detail' }));
    box.setAttribute('data-code', code);
    box.hidden = false;
    $('notice-box').hidden = true;
    if (box.scrollIntoView) box.scrollIntoView({ block: 'nearest' });
  }
  function showNotice(words, warn) {
    var box = $('notice-box');
    box.textContent = words;
    box.classList.toggle('is-warn', !!warn);
    box.hidden = false;
    $('error-box').hidden = true;
  }
  function clearMessages() {
    $('error-box').hidden = true;
    $('notice-box').hidden = true;
  }
  // A click handler that clears old messages and shows the failure of its promise.
  function guarded(fn) {
    return function (ev) {
      if (ev && ev.preventDefault) ev.preventDefault();
      clearMessages();
      var b = ev && ev.submitter ? ev.submitter : null;
      if (b) b.disabled = true;
      Promise.resolve().then(function () { return fn(ev); })
        .catch(function (e) { if (!(e instanceof ApiError && e.code === 'not_logged_in')) showError(e); })
        .then(function () { if (b) b.disabled = false; });
    };
  }

  // ---------- sound and title ----------
  var IDLE_MS = 15 * 60 * 1000;  // docs/station-api.md: a session ends after 15 idle minutes
  function noteInteraction() {
    S.lastActive = Date.now();
    if (S.interacted) return;
    S.interacted = true;
    var AC = window.AudioContext || window.webkitAudioContext;
    if (AC) { try { S.audioCtx = new AC(); } catch (e) { S.audioCtx = null; } }
  }
  function beep() {
    var ac = S.audioCtx;
    if (!S.interacted || !ac) return;
    try {
      if (ac.state === 'suspended') ac.resume();
      var now = ac.currentTime;
      [0, 0.22].forEach(function (off, i) {
        var o = ac.createOscillator();
        var g = ac.createGain();
        o.type = 'sine';
        o.frequency.value = i ? 1175 : 880;
        g.gain.setValueAtTime(0.0001, now + off);
        g.gain.exponentialRampToValueAtTime(0.25, now + off + 0.02);
        g.gain.exponentialRampToValueAtTime(0.0001, now + off + 0.18);
        o.connect(g);
        g.connect(ac.destination);
        o.start(now + off);
        o.stop(now + off + 0.2);
      });
      S.beeps = (S.beeps || 0) + 1;
      document.body.setAttribute('data-beeps', String(S.beeps));
    } catch (e) { /* no sound is not a failure */ }
  }
  function postName() {
    return S.st && S.st.post ? t('app.title_post', { post: S.st.post }) : t('app.title');
  }
  function updateTitle() {
    var n = S.st && S.st.tips ? S.st.tips.new : 0;
    document.title = (n > 0 ? '(' + n + ') ' : '') + postName();
  }

  // ---------- routing ----------
  function go(hash) {
    if (location.hash === hash) render();
    else location.hash = hash;
  }
  function me() { return S.st && S.st.me; }
  function role() { return me() ? me().role : ''; }
  function isCommander() { return role() === 'commander'; }
  function canTips() { return role() === 'commander' || role() === 'officer'; }
  function homeFor() {
    if (!S.st) return '#/login';
    if (S.st.setup_needed) return '#/setup';
    if (!me()) return '#/login';
    return canTips() ? '#/tips' : '#/kiosks';
  }

  function render() {
    var seq = ++S.renderSeq;
    var h = location.hash || '';
    var parts = h.replace(/^#\/?/, '').split('/').filter(Boolean);
    var name = parts[0] || '';
    var st = S.st;
    clearMessages();
    if (name !== 'login') S.expired = false;

    if (st && st.setup_needed && name !== 'setup') return go('#/setup');
    if (st && !st.setup_needed && name === 'setup') return go(homeFor());
    if (st && !st.setup_needed && !me() && name !== 'login') return go('#/login');
    if (me() && (name === 'login' || name === '')) return go(homeFor());
    if (me() && !canTips() && ['tips', 'audit', 'officers'].indexOf(name) >= 0) return go('#/kiosks');
    if (me() && !isCommander() && (name === 'audit' || name === 'officers')) return go(homeFor());

    S.route = name;
    document.body.setAttribute('data-route', name);
    document.body.classList.toggle('printing', name === 'tips' && parts[2] === 'print');
    updateTitle();
    renderHeader();
    renderBanner();
    var v = clear($('view'));
    var ctx = { seq: seq, view: v, alive: function () { return seq === S.renderSeq; } };
    switch (name) {
      case 'setup': return viewSetup(ctx);
      case 'login': return viewLogin(ctx);
      case 'tips':
        if (parts[1] && parts[2] === 'print') return viewPrint(ctx, parts[1]);
        if (parts[1]) return viewTip(ctx, parts[1]);
        return viewTips(ctx);
      case 'audit': return viewAudit(ctx);
      case 'officers': return viewOfficers(ctx);
      case 'kiosks': return viewKiosks(ctx);
      case 'password': return viewPassword(ctx);
      default: return go(homeFor());
    }
  }

  // ---------- header and banner ----------
  function renderHeader() {
    var top = $('top');
    clear(top);
    var m = me();
    top.hidden = false;
    var brand = el('div', { class: 'brand' }, [
      picto('postbox', { class: 'brand-picto' }),
      el('span', { class: 'brand-name', testid: 'post-name', text: postName() })
    ]);
    var langBtn = el('button', { class: 'btn btn-small btn-ghost', testid: 'lang-button',
      attrs: { type: 'button', title: t('lang.switch') }, on: { click: function () {
      var next = S.lang === 'vi' ? 'en' : 'vi';
      try { localStorage.setItem('homthu.lang', next); } catch (e) { /* private mode */ }
      loadCatalog(next).then(function () { updateTitle(); render(); }, showError);
    } } }, [el('span', { class: 'long', text: t('lang.switch') }), el('span', { class: 'short', text: t('lang.switch_short') })]);
    langBtn.setAttribute('lang', S.lang === 'vi' ? 'en' : 'vi');
    var row1 = el('div', { class: 'top-row' }, [brand, el('div', { class: 'spacer' }), langBtn]);
    top.appendChild(row1);
    if (!m) return;

    var n = S.st.tips ? S.st.tips.new : 0;
    var who = el('div', { class: 'who' }, [
      untrusted('span', m.name, { class: 'who-name', testid: 'me-name' }),
      el('span', { class: 'who-role', testid: 'me-role', text: t('role.' + m.role) })
    ]);
    var unlocked = !!S.st.unlocked;
    var lockState = el('span', { class: 'lock-state ' + (unlocked ? 'is-open' : 'is-locked'), testid: 'lock-state',
      attrs: { 'data-unlocked': unlocked ? 'true' : 'false' } }, [
      picto('lock'), ' ', unlocked ? t('lock.unlocked') : t('lock.locked')
    ]);
    var lockCtl = null;
    if (unlocked && canTips()) {
      lockCtl = button(t('lock.lock'), 'lock-button', guarded(function () {
        return post('/api/lock').then(refreshState).then(function () { showNotice(t('lock.done_lock')); keepMsg(); });
      }), 'btn-small');
    } else if (!unlocked && isCommander()) {
      var pass = input('password', 'passphrase', 'unlock-passphrase', { placeholder: t('lock.passphrase'),
        'aria-label': t('lock.passphrase'), autocomplete: 'off' });
      lockCtl = el('form', { class: 'unlock-form', testid: 'unlock-form', on: { submit: guarded(function () {
        if (!pass.value) { pass.focus(); return null; }
        return post('/api/unlock', { passphrase: pass.value }).then(function () {
          pass.value = '';
          return refreshState();
        }).then(function () { showNotice(t('lock.done_unlock')); keepMsg(); }, function (e) {
          pass.value = '';
          throw e;
        });
      }) } }, [pass, button(t('lock.unlock'), 'unlock-submit')]);
    } else if (!unlocked && canTips()) {
      lockCtl = el('span', { class: 'hint', testid: 'unlock-hint', text: t('lock.only_commander') });
    }
    var nav = el('nav', { class: 'nav' });
    function link(hash, words, testid, extra) {
      var a = el('a', { class: 'nav-link' + (S.route === hash.slice(2).split('/')[0] ? ' is-here' : ''),
        text: words, testid: testid, attrs: { href: hash } });
      if (extra) a.appendChild(extra);
      nav.appendChild(a);
    }
    if (canTips()) link('#/tips', t('nav.tips'), 'nav-tips',
      el('span', { class: 'count' + (n > 0 ? ' has-new' : ''), testid: 'new-count', text: String(n),
        attrs: { title: t('tips.new_count', { n: n }), 'data-count': n } }));
    if (isCommander()) link('#/audit', t('nav.audit'), 'nav-audit');
    if (isCommander()) link('#/officers', t('nav.officers'), 'nav-officers');
    link('#/kiosks', t('nav.kiosks'), 'nav-kiosks');
    link('#/password', t('nav.password'), 'nav-password');
    var logout = button(t('nav.logout'), 'logout-button', guarded(function () {
      return post('/api/logout').then(function () {
        S.st.me = null; S.st.csrf = null; S.latest = null;
        return refreshState();
      }).then(function () { go('#/login'); });
    }), 'btn-small btn-ghost logout');
    top.appendChild(el('div', { class: 'top-row row-me' }, [who, lockState, lockCtl, el('div', { class: 'spacer' }), el('span', { class: 'break' }), logout]));
    top.appendChild(nav);
  }
  // The header's notice survives the re-render that follows a lock change.
  function keepMsg() {
    var words = $('notice-box').textContent;
    render();
    if (words) showNotice(words);
  }

  function renderBanner() {
    var b = clear($('banner'));
    var st = S.st;
    var lines = [];
    if (st && st.store && st.store.ok === false)
      lines.push(['store', t('banner.store'), st.store.error]);
    if (st && st.pull && st.pull.error)
      lines.push(['pull', t('banner.pull', { when: st.pull.last_ok ? ago(st.pull.last_ok) : t('ago.never') }), st.pull.error]);
    if (st && st.disk && st.disk.low)
      lines.push(['disk', t('banner.disk', { mb: st.disk.free_mb }), '']);
    lines.forEach(function (l) {
      b.appendChild(el('div', { class: 'banner-line', testid: 'banner-' + l[0] }, [
        picto('warning'), ' ', el('span', { text: l[1] }),
        l[2] ? untrusted('small', l[2], { class: 'banner-detail' }) : null
      ]));
    });
    b.hidden = lines.length === 0;
  }

  // ---------- 1. first start ----------
  function viewSetup(ctx) {
    var code = input('text', 'code', 'setup-code', { required: true, autocapitalize: 'off', spellcheck: 'false' });
    var name = input('text', 'name', 'setup-name', { required: true, autocomplete: 'username' });
    var p1 = input('password', 'password', 'setup-password', { required: true, autocomplete: 'new-password' });
    var p2 = input('password', 'password2', 'setup-password2', { required: true, autocomplete: 'new-password' });
    var form = el('form', { class: 'card narrow', testid: 'setup-form', on: { submit: guarded(function () {
      if (p1.value !== p2.value) throw new ApiError('mismatch', '', 0);
      return post('/api/setup', { code: code.value.trim(), name: name.value.trim(), password: p1.value })
        .then(function (r) {
          if (r && r.csrf) S.st.csrf = r.csrf;
          return refreshState();
        }).then(function () { go(homeFor()); });
    }) } }, [
      el('h1', { text: t('setup.title') }),
      el('p', { class: 'intro', text: t('setup.intro') }),
      field(t('setup.code'), code, t('setup.code_hint')),
      field(t('setup.name'), name),
      field(t('setup.password'), p1, t('setup.password_hint')),
      field(t('setup.password2'), p2),
      el('div', { class: 'actions' }, [button(t('setup.submit'), 'setup-submit', null, 'btn-primary')])
    ]);
    ctx.view.appendChild(form);
    code.focus();
  }

  // ---------- 2. login ----------
  function viewLogin(ctx) {
    var name = input('text', 'name', 'login-name', { required: true, autocomplete: 'username', autocapitalize: 'off' });
    var pw = input('password', 'password', 'login-password', { required: true, autocomplete: 'current-password' });
    var form = el('form', { class: 'card narrow', testid: 'login-form', on: { submit: guarded(function () {
      return post('/api/login', { name: name.value.trim(), password: pw.value }).then(function (r) {
        pw.value = '';
        S.expired = false;
        if (r && r.me) { S.st.me = r.me; S.st.csrf = r.csrf; }
        S.latest = null;
        return refreshState();
      }, function (e) { pw.value = ''; pw.focus(); throw e; }).then(function () { go(homeFor()); });
    }) } }, [
      el('h1', {}, [picto('lock'), ' ', t('login.title')]),
      S.expired ? el('p', { class: 'hint', testid: 'login-expired', text: t('login.expired') }) : null,
      field(t('login.name'), name),
      field(t('login.password'), pw),
      el('div', { class: 'actions' }, [button(t('login.submit'), 'login-submit', null, 'btn-primary')]),
      S.st && S.st.fingerprint ? el('p', { class: 'fingerprint' }, [
        el('span', { text: t('login.fingerprint') + ' ' }),
        el('code', { testid: 'fingerprint', text: S.st.fingerprint, attrs: { dir: 'ltr' } })
      ]) : null,
      S.st && S.st.version ? el('p', { class: 'version', text: t('app.version', { v: S.st.version }) }) : null
    ]);
    ctx.view.appendChild(form);
    name.focus();
  }

  // ---------- 4. tips list ----------
  function catLabel(c) {
    if (!c) return t('cat.none');
    return tOr('cat.' + c, c);
  }
  function langLabel(l) {
    if (!l) return '—';
    return tOr('lang.' + l, l);
  }
  function filterParams(withPaging) {
    var f = S.filters, p = new URLSearchParams();
    if (f.status) p.set('status', f.status);
    if (f.category) p.set('category', f.category);
    if (f.kiosk) p.set('kiosk', f.kiosk);
    if (f.from) p.set('from', dayToUnix(f.from, false));
    if (f.to) p.set('to', dayToUnix(f.to, true));
    if (f.q && S.st && S.st.unlocked) p.set('q', f.q);
    if (withPaging) { p.set('offset', String(S.offset)); p.set('limit', String(S.limit)); }
    return p;
  }

  function viewTips(ctx) {
    var v = ctx.view;
    var unlocked = !!(S.st && S.st.unlocked);
    var f = S.filters;
    v.appendChild(el('h1', { text: t('tips.title') }));

    var fStatus = select('status', 'filter-status', [['', t('filter.all')]].concat(STATUSES.map(function (s) {
      return [s, t('status.' + s)];
    })), f.status);
    var fCat = select('category', 'filter-category', [['', t('filter.all')]].concat(CATEGORIES.map(function (c) {
      return [c, t('cat.' + c)];
    })), f.category);
    var kioskOpts = [['', t('filter.all')]];
    (S.kiosks || []).forEach(function (k) { kioskOpts.push([k.id, k.id + (k.commune ? ' — ' + k.commune : '')]); });
    if (f.kiosk && !(S.kiosks || []).some(function (k) { return k.id === f.kiosk; })) kioskOpts.push([f.kiosk, f.kiosk]);
    var fKiosk = select('kiosk', 'filter-kiosk', kioskOpts, f.kiosk);
    var fFrom = input('date', 'from', 'filter-from', { value: f.from });
    var fTo = input('date', 'to', 'filter-to', { value: f.to });
    var fQ = input('search', 'q', 'filter-q', { value: unlocked ? f.q : '', disabled: !unlocked,
      placeholder: unlocked ? t('filter.q_placeholder') : '' });
    var csv = el('a', { class: 'btn btn-small', testid: 'csv-link', text: t('tips.csv'),
      attrs: { href: '/api/tips.csv', download: 'tin-bao.csv' } });
    function setCsv() {
      var q = filterParams(false).toString();
      csv.setAttribute('href', '/api/tips.csv' + (q ? '?' + q : ''));
    }
    setCsv();
    function apply() {
      f.status = fStatus.value; f.category = fCat.value; f.kiosk = fKiosk.value;
      f.from = fFrom.value; f.to = fTo.value; f.q = unlocked ? fQ.value.trim() : '';
      S.offset = 0;
      setCsv();
      load();
    }
    [fStatus, fCat, fKiosk, fFrom, fTo].forEach(function (x) { x.addEventListener('change', apply); });
    var filters = el('form', { class: 'filters', testid: 'filters', on: { submit: function (ev) { ev.preventDefault(); apply(); } } }, [
      field(t('filter.status'), fStatus),
      field(t('filter.category'), fCat),
      field(t('filter.kiosk'), fKiosk),
      field(t('filter.from'), fFrom),
      field(t('filter.to'), fTo),
      field(t('filter.q'), fQ, unlocked ? null : t('filter.q_locked')),
      el('div', { class: 'filter-actions' }, [
        button(t('filter.apply'), 'filter-apply', null, 'btn-small btn-primary'),
        button(t('filter.clear'), 'filter-clear', function () {
          S.filters = { status: '', category: '', kiosk: '', from: '', to: '', q: '' };
          S.offset = 0;
          render();
        }, 'btn-small btn-ghost'),
        csv
      ])
    ]);
    // On a phone the filters fold away unless one is in use; on a PC they stay open.
    var anyFilter = Object.keys(f).some(function (k) { return f[k]; });
    var wide = !window.matchMedia || window.matchMedia('(min-width: 700px)').matches;
    v.appendChild(el('details', { class: 'filter-box', testid: 'filter-box', attrs: { open: wide || anyFilter } }, [
      el('summary', { class: 'filter-summary', text: t('filter.toggle') }), filters]));
    if (!unlocked) v.appendChild(el('p', { class: 'locked-note', testid: 'tips-locked-note' }, [picto('lock'), ' ', t('tips.locked_note')]));

    var summary = el('div', { class: 'list-summary', testid: 'tips-total', attrs: { 'aria-live': 'polite' } });
    var list = el('div', { class: 'tip-list', testid: 'tip-list', attrs: { role: 'list' } });
    var pager = el('div', { class: 'pager' });
    v.appendChild(summary);
    v.appendChild(list);
    v.appendChild(pager);

    function load() {
      return get('/api/tips?' + filterParams(true).toString()).then(function (r) {
        if (!ctx.alive()) return;
        drawList(r);
      }).catch(function (e) { if (ctx.alive()) showError(e); });
    }
    function drawList(r) {
      clear(list); clear(pager);
      var tips = r.tips || [];
      var total = r.total || 0;
      // Right after an unlock the station reads the tips in the background:
      // look again on the next poll until every row shown is read.
      S.listPending = !!r.unlocked && tips.some(function (x) { return x.indexed === false; });
      summary.setAttribute('data-total', String(total));
      summary.textContent = total === 0 ? t('tips.none')
        : t('tips.total', { from: r.offset + 1, to: r.offset + tips.length, total: total });
      list.appendChild(listHead());
      tips.forEach(function (row) { list.appendChild(tipRow(row, r.unlocked)); });
      var prev = button(t('tips.prev'), 'page-prev', function () {
        S.offset = Math.max(0, S.offset - S.limit); load();
      }, 'btn-small');
      prev.disabled = r.offset <= 0;
      var next = button(t('tips.next'), 'page-next', function () {
        S.offset = S.offset + S.limit; load();
      }, 'btn-small');
      next.disabled = r.offset + tips.length >= total;
      pager.appendChild(prev);
      pager.appendChild(el('span', { class: 'page-no', testid: 'page-no',
        text: t('tips.page', { n: Math.floor(r.offset / S.limit) + 1, of: Math.max(1, Math.ceil(total / S.limit)) }) }));
      pager.appendChild(next);
    }
    ctx.reload = load;
    S.reloadList = function () { if (ctx.alive()) load(); };
    // The kiosk filter's names: fetched once, quietly (a failure only costs the names).
    if (!S.kiosks) {
      get('/api/kiosks').then(function (r) {
        S.kiosks = r.kiosks || [];
        if (!ctx.alive()) return;
        S.kiosks.forEach(function (k) {
          if (k.id === f.kiosk) return;
          fKiosk.appendChild(el('option', { text: k.id + (k.commune ? ' — ' + k.commune : ''), attrs: { value: k.id } }));
        });
      }, function () { S.kiosks = []; });
    }
    return load();
  }

  function listHead() {
    return el('div', { class: 'tip-row tip-head', attrs: { 'aria-hidden': 'true' } }, [
      el('span', { class: 'c-new' }),
      el('span', { class: 'c-cat', text: t('col.category') }),
      el('span', { class: 'c-lang', text: t('col.language') }),
      el('span', { class: 'c-kiosk', text: t('col.kiosk') }),
      el('span', { class: 'c-recv', text: t('col.received') }),
      el('span', { class: 'c-len', text: t('col.length') }),
      el('span', { class: 'c-status', text: t('col.status') }),
      el('span', { class: 'c-verdict', text: t('col.verdict') })
    ]);
  }

  function statusBadge(s) {
    return el('span', { class: 'status status-' + s, testid: 'tip-status', attrs: { 'data-status': s },
      text: tOr('status.' + s, s) });
  }
  function verdictBadge(v) {
    return el('span', { class: 'verdict verdict-' + v, testid: 'tip-verdict', attrs: { 'data-verdict': v } }, [
      v === 'refused' ? picto('warning') : v === 'practice' ? picto('practice') : null,
      v === 'refused' || v === 'practice' ? ' ' : null,
      tOr('verdict.' + v, v)
    ]);
  }

  function tipRow(row, listUnlocked) {
    var known = row.indexed !== false;
    var a = el('a', { class: 'tip-row' + (row.seen ? '' : ' is-new') + (known ? '' : ' is-sealed'),
      testid: 'tip-row', attrs: { href: '#/tips/' + encodeURIComponent(row.id), role: 'listitem',
        'data-id': row.id, 'data-seen': row.seen ? 'true' : 'false' } });
    a.appendChild(el('span', { class: 'c-new' }, [row.seen ? null :
      el('span', { class: 'new-dot', testid: 'new-mark', attrs: { title: t('tips.new') } }, [
        el('span', { class: 'sr', text: t('tips.new') })])]));
    a.appendChild(el('span', { class: 'c-cat', testid: 'tip-category', attrs: { 'data-category': row.category || '' } },
      known ? [row.category ? picto(row.category, { class: 'cat-picto' }) : null, ' ', catLabel(row.category)]
        : [el('span', { class: 'muted', text: '—' })]));
    a.appendChild(el('span', { class: 'c-lang', testid: 'tip-language' },
      known && row.language ? [picto('lang_' + row.language), ' ', langLabel(row.language)] : ['—']));
    a.appendChild(el('span', { class: 'c-kiosk' }, [
      untrusted('span', row.kiosk, { class: 'kiosk-id', testid: 'tip-kiosk' }),
      row.commune ? untrusted('span', row.commune, { class: 'commune', testid: 'tip-commune' }) : null
    ]));
    a.appendChild(el('span', { class: 'c-recv', testid: 'tip-received', text: fmtTime(row.received),
      attrs: { 'data-unix': row.received } }));
    a.appendChild(el('span', { class: 'c-len', testid: 'tip-length', text: known ? fmtLen(row.seconds) : '—' }));
    a.appendChild(el('span', { class: 'c-status' }, [statusBadge(row.status),
      row.assigned ? untrusted('span', t('tips.assigned', { name: row.assigned }), { class: 'assigned' }) : null]));
    a.appendChild(el('span', { class: 'c-verdict' }, [verdictBadge(row.verdict)]));
    if (!known) {
      a.appendChild(el('span', { class: 'c-sealed', testid: 'tip-locked-line' }, [picto('lock'), ' ',
        listUnlocked ? t('tips.not_indexed') : t('tips.locked_line')]));
    }
    return a;
  }

  // ---------- 6. one tip ----------
  function tipId(id) { return encodeURIComponent(id); }

  function viewTip(ctx, id) {
    var v = ctx.view;
    v.appendChild(el('a', { class: 'back', testid: 'back-to-list', text: t('tip.back'), attrs: { href: '#/tips' } }));
    var box = el('div', { class: 'tip-page', testid: 'tip-page' }, [el('p', { class: 'loading', text: t('common.loading') })]);
    v.appendChild(box);
    return get('/api/tips/' + tipId(id)).then(function (tip) {
      if (!ctx.alive()) return;
      clear(box);
      drawTip(ctx, box, tip);
    }).catch(function (e) {
      if (!ctx.alive()) return;
      clear(box);
      showError(e);
      if (e.code === 'locked') box.appendChild(el('p', { class: 'locked-note', testid: 'tip-locked' }, [picto('lock'), ' ', t('tips.locked_line')]));
    });
  }

  function dl(pairs, cls) {
    var d = el('dl', { class: 'facts' + (cls ? ' ' + cls : '') });
    pairs.forEach(function (p) {
      if (!p) return;
      d.appendChild(el('div', { class: 'fact' }, [el('dt', { text: p[0] }),
        el('dd', { testid: p[2] || null }, [p[1] instanceof Node ? p[1] : document.createTextNode(String(p[1]))])]));
    });
    return d;
  }

  function whenLabel(w) {
    if (!w) return t('when.not_said');
    var k = 'when.' + String(w).replace(/ /g, '_');
    return tOr(k, w);
  }
  function verdictExplain(tip, testid) {
    var v = tip.verdict;
    return el('div', { class: 'verdict-box verdict-' + v, testid: testid || 'tip-verdict-explain' }, [
      el('div', { class: 'verdict-head' }, [verdictBadge(v)]),
      el('p', { text: tOr('verdict.' + v + '.explain', tip.verdict_line) }),
      v === 'refused' && tip.why ? el('p', { class: 'why' }, [el('strong', { text: t('tip.why') + ' ' }),
        untrusted('span', tip.why, { testid: 'tip-why' })]) : null,
      tip.verdict_line ? untrusted('small', tip.verdict_line, { class: 'tech', testid: 'tip-verdict-line' }) : null
    ]);
  }

  function drawTip(ctx, box, tip) {
    var id = tip.id;
    var head = el('div', { class: 'tip-title' }, [
      tip.category ? picto(tip.category, { class: 'cat-picto big' }) : null,
      el('h1', { testid: 'tip-category-title', text: catLabel(tip.category) }),
      statusBadge(tip.status),
      el('span', { class: 'spacer' }),
      el('a', { class: 'btn btn-small', testid: 'print-link', text: t('tip.print'), attrs: { href: '#/tips/' + tipId(id) + '/print' } })
    ]);
    box.appendChild(head);
    // Two columns on a PC: what the tip says on the left, what the post does on the right.
    var left = el('div', { class: 'tip-col' });
    var right = el('div', { class: 'tip-col' });
    box.appendChild(left);
    box.appendChild(right);

    // Listening first: voice is the main way people tell.
    var listen = el('section', { class: 'card listen' }, [el('h2', {}, [picto('hear'), ' ', t('tip.audio')])]);
    if (tip.has_audio) {
      var au = el('audio', { testid: 'tip-audio', id: 'tip-audio',
        attrs: { controls: true, preload: 'metadata', src: '/api/tips/' + tipId(id) + '/audio' } });
      var speeds = el('div', { class: 'speeds', attrs: { role: 'group', 'aria-label': t('tip.speed') } },
        [el('span', { class: 'label', text: t('tip.speed') })]);
      [0.75, 1, 1.25].forEach(function (r) {
        var b = button(String(r).replace('.', S.lang === 'vi' ? ',' : '.') + '×', 'speed-' + r, function () {
          au.playbackRate = r;
          Array.prototype.forEach.call(speeds.querySelectorAll('button'), function (x) {
            x.setAttribute('aria-pressed', x === b ? 'true' : 'false');
          });
        }, 'btn-small');
        b.setAttribute('aria-pressed', r === 1 ? 'true' : 'false');
        b.setAttribute('data-rate', String(r));
        speeds.appendChild(b);
      });
      var seeks = el('div', { class: 'seeks' }, [
        button(t('tip.back10'), 'seek-back', function () { au.currentTime = Math.max(0, au.currentTime - 10); }, 'btn-small'),
        button(t('tip.fwd10'), 'seek-forward', function () {
          var d = isFinite(au.duration) ? au.duration : Infinity;
          au.currentTime = Math.min(d, au.currentTime + 10);
        }, 'btn-small')
      ]);
      var auErr = el('p', { class: 'locked-note', testid: 'tip-audio-error', text: t('tip.audio_failed'), attrs: { hidden: true } });
      au.addEventListener('error', function () { auErr.hidden = false; });
      au.addEventListener('loadedmetadata', function () { auErr.hidden = true; });
      // Some browsers reset the rate when a new source loads: keep the chosen one.
      au.addEventListener('play', function () {
        var on = speeds.querySelector('[aria-pressed="true"]');
        if (on) au.playbackRate = parseFloat(on.getAttribute('data-rate'));
      });
      listen.appendChild(au);
      listen.appendChild(auErr);
      listen.appendChild(el('div', { class: 'player-ctl' }, [seeks, speeds]));
      listen.appendChild(el('a', { class: 'btn btn-small', testid: 'audio-download', text: t('tip.download'),
        attrs: { href: '/api/tips/' + tipId(id) + '/audio?download=1', download: 'tin-bao-' + id.slice(0, 8) + '.ogg' } }));
    } else {
      listen.appendChild(el('p', { class: 'muted', testid: 'tip-no-audio', text: t('tip.no_audio') }));
    }
    left.appendChild(listen);

    var textSec = el('section', { class: 'card' }, [el('h2', {}, [picto('keyboard'), ' ', t('tip.text')])]);
    if (tip.withheld) textSec.appendChild(el('p', { class: 'locked-note', testid: 'tip-withheld', text: t('tip.withheld') }));
    if (tip.text) {
      textSec.appendChild(untrusted('div', tip.text, { class: 'tip-text', testid: 'tip-text' }));
      var shown = bidiShown(tip.text);
      if (shown) textSec.appendChild(el('div', { class: 'bidi-warn', testid: 'tip-bidi-warning' }, [
        picto('warning'), ' ', el('span', { text: t('tip.bidi_warning') }),
        el('code', { class: 'bidi-shown', testid: 'tip-bidi-shown', text: shown, attrs: { dir: 'ltr' } })]));
    } else textSec.appendChild(el('p', { class: 'muted', testid: 'tip-text', text: t('tip.no_text') }));
    left.appendChild(textSec);

    left.appendChild(el('section', { class: 'card' }, [
      el('h2', { text: t('tip.facts') }),
      dl([
        [t('tip.when'), el('span', {}, [PICTO[tip.when && String(tip.when).replace(/ /g, '_')] ? picto(String(tip.when).replace(/ /g, '_')) : null,
          ' ', whenLabel(tip.when)]), 'tip-when'],
        [t('tip.capture_day'), fmtDay(tip.capture_day), 'tip-capture-day'],
        [t('tip.received'), fmtTime(tip.received), 'tip-received'],
        [t('tip.kiosk'), untrusted('span', tip.kiosk), 'tip-kiosk'],
        [t('tip.commune'), untrusted('span', tip.commune || '—'), 'tip-commune'],
        [t('tip.language'), langLabel(tip.language), 'tip-language'],
        [t('tip.length'), fmtLen(tip.seconds), 'tip-length'],
        [t('tip.source'), tOr('source.' + tip.source, tip.source), 'tip-source'],
        [t('tip.id'), el('code', { text: id, attrs: { dir: 'ltr' } }), 'tip-id']
      ]),
      verdictExplain(tip)
    ]));

    right.appendChild(statusSection(ctx, tip));
    right.appendChild(assignSection(ctx, tip));
  }

  // Characters that turn the direction of what follows (U+202A..202E, U+2066..2069,
  // U+200E/F, U+061C): a typed "gnp.exe" behind U+202E reads as "exe.png". The text
  // is isolated either way (.iso); this makes the trick visible: the characters
  // named, in reading order. "" when there are none.
  var BIDI_NAMES = { '\u202a': 'LRE', '\u202b': 'RLE', '\u202c': 'PDF', '\u202d': 'LRO', '\u202e': 'RLO',
    '\u2066': 'LRI', '\u2067': 'RLI', '\u2068': 'FSI', '\u2069': 'PDI', '\u200e': 'LRM', '\u200f': 'RLM', '\u061c': 'ALM' };
  var BIDI_RE = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/g;
  function bidiShown(text) {
    var s = String(text);
    if (!s.match(BIDI_RE)) return '';
    return s.replace(BIDI_RE, function (c) { return '[' + BIDI_NAMES[c] + ']'; });
  }

  function historyList(tip) {
    var h = tip.history || [];
    if (!h.length) return el('p', { class: 'muted', testid: 'history-empty', text: t('tip.no_history') });
    var ol = el('ol', { class: 'history', testid: 'history' });
    h.forEach(function (x) {
      ol.appendChild(el('li', { testid: 'history-item', attrs: { 'data-status': x.status } }, [
        el('div', { class: 'history-head' }, [
          el('time', { text: fmtTime(x.at) }), ' ', statusBadge(x.status)
        ]),
        x.note ? untrusted('div', x.note, { class: 'note', testid: 'history-note' }) : null,
        x.sealed ? el('div', { class: 'sealed muted', testid: 'history-sealed', text: t('tip.sealed') }) : null
      ]));
    });
    return ol;
  }

  function statusSection(ctx, tip) {
    var sel = select('status', 'status-select', STATUSES.map(function (s) { return [s, t('status.' + s)]; }), tip.status);
    var note = el('textarea', { testid: 'status-note', attrs: { name: 'note', required: true, rows: 3,
      maxlength: 4000, placeholder: t('tip.note_placeholder'), dir: 'auto' } });
    note.classList.add('iso');
    var form = el('form', { class: 'status-form', testid: 'status-form', on: { submit: guarded(function () {
      if (!note.value.trim()) { note.focus(); throw new ApiError('note_required', '', 0); }
      return post('/api/tips/' + tipId(tip.id) + '/status', { status: sel.value, note: note.value.trim() })
        .then(function () { render(); }).then(function () { showNotice(t('tip.saved')); });
    }) } }, [
      field(t('tip.status_new'), sel),
      field(t('tip.note'), note),
      el('div', { class: 'actions' }, [button(t('tip.status_submit'), 'status-submit', null, 'btn-primary')])
    ]);
    return el('section', { class: 'card' }, [
      el('h2', { text: t('tip.status') }),
      el('p', {}, [statusBadge(tip.status), ' ', el('span', { class: 'muted', text: tip.status_at ? fmtTime(tip.status_at) : '' })]),
      form,
      el('h3', { text: t('tip.history') }),
      historyList(tip)
    ]);
  }

  function assignSection(ctx, tip) {
    var sec = el('section', { class: 'card' }, [el('h2', { text: t('tip.assign') })]);
    sec.appendChild(el('p', {}, [el('span', { text: t('tip.assigned_to') + ' ' }),
      tip.assigned ? untrusted('strong', tip.assigned, { testid: 'tip-assigned' })
        : el('strong', { testid: 'tip-assigned', text: t('tip.nobody') })]));
    function send(who) {
      return post('/api/tips/' + tipId(tip.id) + '/assign', { officer: who })
        .then(function () { render(); }).then(function () { showNotice(t('tip.saved')); });
    }
    var row = el('div', { class: 'assign-row' });
    if (isCommander()) {
      var sel = select('officer', 'assign-select', [['', t('tip.assign_none')]], tip.assigned);
      var form = el('form', { class: 'inline-form', testid: 'assign-form', on: { submit: guarded(function () {
        if (sel.value === (tip.assigned || '')) return null;
        return send(sel.value);
      }) } }, [sel, button(t('tip.assign_submit'), 'assign-submit', null, 'btn-small btn-primary')]);
      row.appendChild(form);
      if (tip.assigned !== me().name)
        row.appendChild(button(t('tip.assign_me'), 'assign-me', guarded(function () { return send(me().name); }), 'btn-small'));
      get('/api/officers').then(function (r) {
        if (!ctx.alive()) return;
        (r.officers || []).forEach(function (o) {
          if (o.disabled || o.role === 'technician') return;
          if (o.name === tip.assigned) return;
          sel.appendChild(el('option', { text: o.name + ' (' + t('role.' + o.role) + ')', attrs: { value: o.name } }));
        });
        if (tip.assigned && !sel.querySelector('option[value="' + CSS.escape(tip.assigned) + '"]'))
          sel.appendChild(el('option', { text: tip.assigned, attrs: { value: tip.assigned, selected: true } }));
      }, function (e) { if (ctx.alive()) showError(e); });
    } else {
      if (tip.assigned !== me().name)
        row.appendChild(button(t('tip.assign_me'), 'assign-me', guarded(function () { return send(me().name); }), 'btn-small btn-primary'));
    }
    if (tip.assigned)
      row.appendChild(button(t('tip.assign_clear'), 'assign-clear', guarded(function () { return send(''); }), 'btn-small btn-ghost'));
    sec.appendChild(row);
    return sec;
  }

  // ---------- 6b. printable report ----------
  function viewPrint(ctx, id) {
    var v = ctx.view;
    v.appendChild(el('div', { class: 'no-print actions' }, [
      el('a', { class: 'btn btn-ghost', testid: 'print-back', text: t('print.back'), attrs: { href: '#/tips/' + tipId(id) } }),
      button(t('print.button'), 'print-button', function () { window.print(); }, 'btn-primary')
    ]));
    var rep = el('article', { class: 'report', testid: 'print-report' }, [el('p', { text: t('common.loading') })]);
    v.appendChild(rep);
    return get('/api/tips/' + tipId(id)).then(function (tip) {
      if (!ctx.alive()) return;
      clear(rep);
      rep.appendChild(el('h1', { text: t('print.title') }));
      rep.appendChild(el('p', { class: 'report-post', text: postName() }));
      rep.appendChild(dl([
        [t('tip.id'), el('code', { text: tip.id, attrs: { dir: 'ltr' } })],
        [t('tip.category'), catLabel(tip.category)],
        [t('tip.received'), fmtTime(tip.received)],
        [t('tip.when'), whenLabel(tip.when)],
        [t('tip.capture_day'), fmtDay(tip.capture_day)],
        [t('tip.kiosk'), untrusted('span', tip.kiosk)],
        [t('tip.commune'), untrusted('span', tip.commune || '—')],
        [t('tip.language'), langLabel(tip.language)],
        [t('tip.length'), tip.has_audio ? fmtLen(tip.seconds) : t('tip.no_audio')],
        [t('tip.status'), tOr('status.' + tip.status, tip.status)],
        [t('tip.assigned_to').replace(/:\s*$/, ''), tip.assigned ? untrusted('span', tip.assigned) : t('tip.nobody')]
      ], 'report-facts'));
      rep.appendChild(verdictExplain(tip, 'print-verdict'));
      rep.appendChild(el('h2', { text: t('tip.text') }));
      rep.appendChild(tip.text ? untrusted('div', tip.text, { class: 'tip-text', testid: 'print-text' })
        : el('p', { text: t('tip.no_text') }));
      rep.appendChild(el('h2', { text: t('tip.history') }));
      rep.appendChild(historyList(tip));
      rep.appendChild(el('p', { class: 'printed-by' }, [
        t('print.printed', { time: fmtTime(Math.floor(Date.now() / 1000)), name: '' }),
        untrusted('span', me() ? me().name : '')
      ]));
    }).catch(function (e) { if (ctx.alive()) { clear(rep); showError(e); } });
  }

  // A phone shows each table row as a card: every cell carries its column's name.
  function labelled(tr, names) {
    Array.prototype.forEach.call(tr.children, function (td, i) { if (names[i]) td.setAttribute('data-label', names[i]); });
    return tr;
  }

  // ---------- 7. audit ----------
  // The station writes an entry's detail in fixed English forms (src/station/):
  // those known are said in the officer's words, anything else is shown as is.
  function auditDetail(e) {
    var d = e.detail || '';
    var m;
    if (!d) return null;
    if (e.action === 'status_changed' && (m = /^([a-z]+) -> ([a-z]+)$/.exec(d)))
      return el('span', {}, [statusBadge(m[1]), ' → ', statusBadge(m[2])]);
    if (e.action === 'officer_added' && (m = /^(.+) as (commander|officer|technician)$/.exec(d)))
      return el('span', {}, [untrusted('span', m[1]), ' (' + t('role.' + m[2]) + ')']);
    if (e.action === 'exported_list' && (m = /^(\d+) rows$/.exec(d)))
      return el('span', { text: t('audit.detail.rows', { n: m[1] }) });
    if (d && has('audit.detail.' + d)) return el('span', { text: t('audit.detail.' + d) });
    return untrusted('span', d);
  }

  function viewAudit(ctx) {
    var v = ctx.view;
    v.appendChild(el('h1', { text: t('audit.title') }));
    var flag = el('div', { class: 'intact', testid: 'audit-intact' });
    var table = el('table', { class: 'table', testid: 'audit-table' });
    var more = el('div', { class: 'pager' });
    v.appendChild(flag);
    v.appendChild(el('div', { class: 'table-wrap' }, [table]));
    v.appendChild(more);
    var head = el('thead', {}, [el('tr', {}, ['at', 'officer', 'action', 'tip', 'detail'].map(function (c) {
      return el('th', { text: t('audit.col.' + c) });
    }))]);
    var body = el('tbody');
    table.appendChild(head);
    table.appendChild(body);
    var limit = 100;
    function load(before) {
      var q = new URLSearchParams({ limit: String(limit) });
      if (before) q.set('before', String(before));
      return get('/api/audit?' + q.toString()).then(function (r) {
        if (!ctx.alive()) return;
        var ok = r.intact !== false;
        flag.className = 'intact ' + (ok ? 'is-ok' : 'is-broken');
        flag.setAttribute('data-intact', ok ? 'true' : 'false');
        clear(flag).appendChild(el('span', {}, [ok ? null : picto('warning'), ok ? null : ' ', ok ? t('audit.intact_ok') : t('audit.intact_bad')]));
        var es = r.entries || [];
        es.forEach(function (e) {
          body.appendChild(labelled(el('tr', { testid: 'audit-row', attrs: { 'data-action': e.action } }, [
            el('td', { class: 'nowrap', text: fmtTime(e.at) }),
            el('td', {}, [untrusted('span', e.officer || '—')]),
            el('td', { text: tOr('audit.action.' + e.action, e.action) }),
            el('td', {}, [e.tip ? el('a', { text: String(e.tip).slice(0, 8), attrs: { href: '#/tips/' + encodeURIComponent(e.tip), dir: 'ltr' } }) : null]),
            el('td', {}, [auditDetail(e)])
          ]), ['at', 'officer', 'action', 'tip', 'detail'].map(function (c) { return t('audit.col.' + c); })));
        });
        if (!body.firstChild) body.appendChild(el('tr', {}, [el('td', { text: t('audit.none'), attrs: { colspan: 5 } })]));
        clear(more);
        if (es.length >= limit) more.appendChild(button(t('audit.more'), 'audit-more', function () { var last = es[es.length - 1]; load(last.id != null ? last.id : last.at); }, 'btn-small'));
      }).catch(function (e) { if (ctx.alive()) showError(e); });
    }
    return load(0);
  }

  // ---------- 8. officers ----------
  function viewOfficers(ctx) {
    var v = ctx.view;
    v.appendChild(el('h1', { text: t('officers.title') }));
    var table = el('table', { class: 'table', testid: 'officers-table' });
    v.appendChild(el('div', { class: 'table-wrap' }, [table]));

    var name = input('text', 'name', 'officer-name', { required: true, autocapitalize: 'off' });
    var roleSel = select('role', 'officer-role', ROLES.map(function (r) { return [r, t('role.' + r)]; }), 'officer');
    var p1 = input('password', 'password', 'officer-password', { required: true, autocomplete: 'new-password' });
    var p2 = input('password', 'password2', 'officer-password2', { required: true, autocomplete: 'new-password' });
    v.appendChild(el('form', { class: 'card', testid: 'officer-add-form', on: { submit: guarded(function () {
      if (p1.value !== p2.value) throw new ApiError('mismatch', '', 0);
      return post('/api/officers', { name: name.value.trim(), role: roleSel.value, password: p1.value }).then(function () {
        var n = name.value.trim();
        render();
        showNotice(t('officers.added', { name: n }));
      });
    }) } }, [
      el('h2', { text: t('officers.add') }),
      el('div', { class: 'grid-form' }, [
        field(t('officers.name'), name),
        field(t('officers.role'), roleSel),
        field(t('officers.password'), p1, t('setup.password_hint')),
        field(t('officers.password2'), p2)
      ]),
      el('div', { class: 'actions' }, [button(t('officers.add_submit'), 'officer-add-submit', null, 'btn-primary')])
    ]));

    return get('/api/officers').then(function (r) {
      if (!ctx.alive()) return;
      table.appendChild(el('thead', {}, [el('tr', {}, ['name', 'role', 'state', 'created', 'last_login', 'actions'].map(function (c) {
        return el('th', { text: t('officers.col.' + c) });
      }))]));
      var tb = el('tbody');
      table.appendChild(tb);
      var now = Date.now() / 1000;
      (r.officers || []).forEach(function (o) {
        var stateWords = o.disabled ? t('officers.disabled')
          : o.locked_until && o.locked_until > now ? t('officers.locked_until', { time: fmtTime(o.locked_until) })
            : t('officers.active');
        var actions = el('td', { class: 'row-actions' });
        var tr = el('tr', { testid: 'officer-row', attrs: { 'data-name': o.name, 'data-disabled': o.disabled ? 'true' : 'false' } }, [
          el('td', {}, [untrusted('strong', o.name)]),
          el('td', { text: t('role.' + o.role) }),
          el('td', { class: o.disabled ? 'muted' : '', text: stateWords }),
          el('td', { class: 'nowrap', text: fmtTime(o.created) }),
          el('td', { class: 'nowrap', text: o.last_login ? fmtTime(o.last_login) : t('officers.never') }),
          actions
        ]);
        labelled(tr, ['name', 'role', 'state', 'created', 'last_login', 'actions'].map(function (c) { return t('officers.col.' + c); }));
        if (!o.disabled) {
          var pwBox = el('div', { class: 'pw-box' });
          actions.appendChild(button(t('officers.set_password'), 'officer-set-password', function () {
            if (pwBox.firstChild) { clear(pwBox); return; }
            var np = input('password', 'password', 'officer-new-password', { required: true, autocomplete: 'new-password',
              'aria-label': t('officers.new_password'), placeholder: t('officers.new_password') });
            pwBox.appendChild(el('form', { class: 'inline-form', on: { submit: guarded(function () {
              return post('/api/officers/' + encodeURIComponent(o.name) + '/password', { password: np.value }).then(function () {
                if (me() && o.name === me().name) return refreshState().then(function () { go('#/login'); });
                render();
                showNotice(t('officers.password_set', { name: o.name }));
              });
            }) } }, [np, button(t('common.save'), 'officer-password-submit', null, 'btn-small btn-primary')]));
            np.focus();
          }, 'btn-small'));
          if (!(me() && o.name === me().name))
            actions.appendChild(button(t('officers.disable'), 'officer-disable', guarded(function () {
              if (!window.confirm(t('officers.disable_confirm', { name: o.name }))) return null;
              return post('/api/officers/' + encodeURIComponent(o.name) + '/disable').then(function () {
                render();
                showNotice(t('officers.disabled_done', { name: o.name }));
              });
            }), 'btn-small btn-danger'));
          actions.appendChild(pwBox);
        }
        tb.appendChild(tr);
      });
    }).catch(function (e) { if (ctx.alive()) showError(e); });
  }

  // ---------- own password ----------
  function viewPassword(ctx) {
    var p1 = input('password', 'password', 'own-password', { required: true, autocomplete: 'new-password' });
    var p2 = input('password', 'password2', 'own-password2', { required: true, autocomplete: 'new-password' });
    ctx.view.appendChild(el('form', { class: 'card narrow', testid: 'password-form', on: { submit: guarded(function () {
      if (p1.value !== p2.value) throw new ApiError('mismatch', '', 0);
      return post('/api/officers/' + encodeURIComponent(me().name) + '/password', { password: p1.value }).then(function () {
        // A new password ends every session of this officer, this one too.
        return refreshState().then(function () { S.expired = false; go(homeFor()); showNotice(t('password.done')); });
      });
    }) } }, [
      el('h1', { text: t('password.title') }),
      el('p', { class: 'intro', text: t('password.intro') }),
      field(t('password.new'), p1, t('setup.password_hint')),
      field(t('password.again'), p2),
      el('div', { class: 'actions' }, [button(t('common.save'), 'own-password-submit', null, 'btn-primary')])
    ]));
  }

  // ---------- 9. kiosks ----------
  function viewKiosks(ctx) {
    var v = ctx.view;
    v.appendChild(el('h1', { text: t('kiosks.title') }));
    var list = el('div', { class: 'kiosk-list', testid: 'kiosk-list' }, [el('p', { class: 'loading', text: t('common.loading') })]);
    v.appendChild(list);
    if (isCommander()) v.appendChild(enrolForm());
    return get('/api/kiosks').then(function (r) {
      if (!ctx.alive()) return;
      S.kiosks = r.kiosks || [];
      clear(list);
      if (!S.kiosks.length) list.appendChild(el('p', { class: 'muted', text: t('kiosks.none') }));
      S.kiosks.forEach(function (k) { list.appendChild(kioskCard(k)); });
    }).catch(function (e) { if (ctx.alive()) { clear(list); showError(e); } });
  }

  function kioskCard(k) {
    var hb = k.heartbeat;
    var revoked = !!k.revoked;
    var card = el('section', { class: 'card kiosk' + (revoked ? ' is-revoked' : ''), testid: 'kiosk-card',
      attrs: { 'data-id': k.id, 'data-revoked': revoked ? 'true' : 'false' } });
    card.appendChild(el('div', { class: 'kiosk-head' }, [
      el('h2', {}, [untrusted('span', k.id, { testid: 'kiosk-id' })]),
      k.commune ? untrusted('span', k.commune, { class: 'commune', testid: 'kiosk-commune' }) : null,
      el('span', { class: 'kiosk-state ' + (revoked ? 'is-revoked' : 'is-active'), testid: 'kiosk-revoked',
        text: revoked ? t('kiosks.revoked', { date: fmtTime(k.revoked) }) : t('kiosks.active') })
    ]));
    if (revoked && k.reason) card.appendChild(el('p', { class: 'reason' }, [el('span', { text: t('kiosks.reason') + ': ' }), untrusted('span', k.reason)]));
    var facts = [
      [t('kiosks.last_contact'), el('span', { text: ago(k.last_contact), attrs: { title: fmtTime(k.last_contact) } }), 'kiosk-last-contact'],
      [t('kiosks.held'), String(k.tips_held || 0), 'kiosk-held'],
      [t('kiosks.last_tip'), k.last_tip ? fmtTime(k.last_tip) : '—', 'kiosk-last-tip'],
      [t('kiosks.enrolled'), k.enrolled_known === false ? t('kiosks.not_enrolled') : fmtDate(k.enrolled), 'kiosk-enrolled']
    ];
    if (hb) {
      facts.push([t('kiosks.waiting'), String(hb.tips_waiting || 0), 'kiosk-waiting']);
      facts.push([t('kiosks.oldest'), hb.tips_waiting ? fmtSpan(hb.oldest_waiting_s || 0) : '—', 'kiosk-oldest']);
      facts.push([t('kiosks.version'), el('code', { text: hb.version || '—' }), 'kiosk-version']);
      facts.push([t('kiosks.uptime'), fmtSpan(hb.uptime_s || 0), 'kiosk-uptime']);
    }
    card.appendChild(dl(facts));
    if (hb) {
      var faults = hb.faults || [];
      var fl = el('div', { class: 'faults', testid: 'kiosk-faults' });
      if (!faults.length) fl.appendChild(el('p', { class: 'ok', text: t('kiosks.no_faults') }));
      else {
        fl.appendChild(el('h3', { text: t('kiosks.faults') }));
        var ul = el('ul');
        faults.forEach(function (f) {
          ul.appendChild(el('li', { testid: 'kiosk-fault', attrs: { 'data-code': f.code } }, [
            el('span', { class: 'fault-code', text: t('kiosks.fault_code', { n: f.code }) }), ' ',
            el('strong', { text: tOr('fault.' + f.code, f.name) }),
            has('fault.' + f.code + '.do') ? el('div', { class: 'hint', text: t('fault.' + f.code + '.do') }) : null,
            f.name ? untrusted('small', f.name, { class: 'tech' }) : null
          ]));
        });
        fl.appendChild(ul);
      }
      card.appendChild(fl);
    } else {
      // null is "sealed" only while locked; unlocked, no heartbeat has come yet.
      card.appendChild(S.st && S.st.unlocked
        ? el('p', { class: 'muted', testid: 'kiosk-no-heartbeat' }, [picto('wait'), ' ', t('kiosks.no_heartbeat')])
        : el('p', { class: 'locked-note', testid: 'kiosk-sealed' }, [picto('lock'), ' ', t('kiosks.sealed')]));
    }
    if (isCommander() && !revoked) card.appendChild(revokeBox(k));
    return card;
  }

  function revokeBox(k) {
    var wrap = el('div', { class: 'revoke' });
    var open = button(t('kiosks.revoke'), 'kiosk-revoke', function () {
      open.hidden = true;
      var reason = el('input', { testid: 'revoke-reason', attrs: { type: 'text', name: 'reason', required: true,
        maxlength: 200, dir: 'auto', autocomplete: 'off' } });
      var sure = el('input', { testid: 'revoke-confirm', attrs: { type: 'checkbox', required: true } });
      var form = el('form', { class: 'revoke-form', on: { submit: guarded(function () {
        if (!sure.checked) { sure.focus(); return null; }
        return post('/api/kiosks/' + encodeURIComponent(k.id) + '/revoke', { reason: reason.value.trim() }).then(function (r) {
          var relay = r && r.relay ? String(r.relay) : '';
          var told = relay === 'told';
          var why = relay.replace(/^not told:\s*/, '');
          render();
          var words = t('kiosks.revoked_done', { id: k.id }) + ' ' +
            (told ? t('kiosks.relay_told') : t('kiosks.relay_not_told', { why: why || '?' }));
          showNotice(words, !told);
          $('notice-box').setAttribute('data-relay', told ? 'told' : 'not-told');
        });
      }) } }, [
        field(t('kiosks.reason'), reason),
        el('label', { class: 'check' }, [sure, ' ', el('span', { text: t('kiosks.revoke_confirm', { id: k.id }) })]),
        el('div', { class: 'actions' }, [
          button(t('kiosks.revoke_submit'), 'revoke-submit', null, 'btn-danger'),
          button(t('common.cancel'), 'revoke-cancel', function () { clear(wrap).appendChild(open); open.hidden = false; }, 'btn-ghost')
        ])
      ]);
      wrap.appendChild(form);
      reason.focus();
    }, 'btn-small btn-danger');
    wrap.appendChild(open);
    return wrap;
  }

  function enrolForm() {
    var id = input('text', 'id', 'enrol-id', { required: true, autocapitalize: 'off', spellcheck: 'false', placeholder: 'na-co-sa-01' });
    var key = input('text', 'device_key', 'enrol-key', { required: true, autocapitalize: 'off', spellcheck: 'false' });
    var commune = input('text', 'commune', 'enrol-commune', { required: true });
    return el('form', { class: 'card', testid: 'enrol-form', on: { submit: guarded(function () {
      return post('/api/kiosks', { id: id.value.trim(), device_key: key.value.trim(), commune: commune.value.trim() }).then(function () {
        var n = id.value.trim();
        S.kiosks = null;
        render();
        showNotice(t('kiosks.enrolled_done', { id: n }));
      });
    }) } }, [
      el('h2', { text: t('kiosks.enrol') }),
      el('div', { class: 'grid-form' }, [
        field(t('kiosks.id'), id),
        field(t('kiosks.device_key'), key, t('kiosks.device_key_hint')),
        field(t('kiosks.commune'), commune)
      ]),
      el('div', { class: 'actions' }, [button(t('kiosks.enrol_submit'), 'enrol-submit', null, 'btn-primary')])
    ]);
  }

  // ---------- 5. polling ----------
  function pollOnce() {
    // The poll itself is a request: without this the page would keep an
    // unattended session alive for ever. 15 minutes with nobody touching the
    // page logs it out, as the station would.
    if (me() && Date.now() - S.lastActive > IDLE_MS) {
      S.lastActive = Date.now();
      post('/api/logout').catch(function () { return null; }).then(function () {
        S.st.me = null; S.st.csrf = null; S.latest = null; S.expired = true;
        go('#/login');
      });
      return;
    }
    if (document.body.classList.contains('printing')) return;
    var hadMe = !!me();
    var wasUnlocked = S.st && S.st.unlocked;
    get('/api/state').then(function (st) {
      var prev = S.st;
      S.st = st;
      if (hadMe && !st.me) {
        S.expired = true;
        S.latest = null;
        return go('#/login');
      }
      var latest = st.tips ? st.tips.latest : null;
      var grew = latest != null && S.latest != null && latest > S.latest;
      var changed = latest != null && S.latest != null && latest !== S.latest;
      if (latest != null) S.latest = latest;
      if (grew) beep();
      updateTitle();
      if (!!st.unlocked !== !!wasUnlocked && st.me) {
        // Locked or unlocked elsewhere (another browser, the console, the idle
        // timer): what may be shown changed. Locking wipes what is on screen at
        // once; unlocking waits until nobody is typing.
        if (!st.unlocked || !isTyping()) return render();
      }
      var banner = JSON.stringify([st.pull, st.disk, st.store]);
      if (!prev || banner !== JSON.stringify([prev.pull, prev.disk, prev.store])) renderBanner();
      var nc = document.querySelector('[data-testid="new-count"]');
      if (nc && st.tips) {
        nc.textContent = String(st.tips.new);
        nc.setAttribute('data-count', String(st.tips.new));
        nc.classList.toggle('has-new', st.tips.new > 0);
        nc.setAttribute('title', t('tips.new_count', { n: st.tips.new }));
      }
      if ((changed || S.listPending) && S.route === 'tips' && location.hash.split('/').length <= 2 && S.reloadList) S.reloadList();
    }, function () { /* the next poll tries again; a failing station shows on the next action */ });
  }
  function isTyping() {
    var a = document.activeElement;
    return a && (a.tagName === 'INPUT' || a.tagName === 'TEXTAREA') && a.value;
  }

  // ---------- start ----------
  var started = false;
  function start() {
    if (!started) hookOnce();
    started = true;
    var lang = 'vi';
    try { if (localStorage.getItem('homthu.lang') === 'en') lang = 'en'; } catch (e) { /* private mode */ }
    S.lastActive = Date.now();
    loadCatalog(lang).catch(function () { return lang === 'vi' ? null : loadCatalog('vi'); })
      .then(refreshState)
      .then(function (st) {
        if (st.tips) S.latest = st.tips.latest;
        updateTitle();
        window.addEventListener('hashchange', render);
        render();
        S.poll = setInterval(pollOnce, 5000);
      })
      .catch(function (e) {
        clear($('view'));
        showError(e);
        // Try again: the station may be starting.
        setTimeout(start, 5000);
      });
  }
  function hookOnce() {
    ['pointerdown', 'keydown', 'touchstart', 'wheel'].forEach(function (ev) {
      document.addEventListener(ev, noteInteraction, { capture: true, passive: true });
    });
    window.addEventListener('error', function (ev) {
      showError(new ApiError('script', ev && ev.message ? ev.message : '', 0));
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
