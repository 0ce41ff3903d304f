#!/usr/bin/env node
// bench/all-load.mjs: the HTTP side of bench/all.sh (node:http and node:net only, keep-alive).
//
//   node all-load.mjs setup BASE OUTDIR NQUEUE     registers an organisation, creates one order to read
//                                                 (OUTDIR/order_no) and NQUEUE more (OUTDIR/queue_orders,
//                                                 which all.sh moves to producing for the staff queue);
//                                                 writes the organisation's and the producer's Cookie
//                                                 headers and CSRF tokens (OUTDIR/org_cookie, org_csrf,
//                                                 staff_cookie)
//   node all-load.mjs login BASE SECONDS CLIENTS   CLIENTS browsers logging in as that organisation over
//                                                 and over (new session, captcha, POST login) for
//                                                 SECONDS; prints one JSON line
//   node all-load.mjs idle BASE N                  opens N keep-alive connections, one GET each, prints
//                                                 "ready N" and holds them until stdin closes
//   node all-load.mjs burst BASE SIMBASE N CLIENTS JPEG DB
//                                                 N new organisations through register, order, upload,
//                                                 face verification, submit, pre-review pass and WeChat
//                                                 Pay (certdesk-sim), CLIENTS in flight; prints one JSON
//                                                 line (per-request latency, errors, total time)
// Needs certdeskd with [dev] captcha_answer = ABCDE and expose_outbox = true.
import http from 'node:http';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const [cmd, base, ...args] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
const lat = []; // per-request latency (ms) of every request made through client(), for the burst
const statuses = {};
const errors = [];

// A caller with its own cookies and CSRF token, like a browser tab.
function client(origin = base) {
  const cookies = new Map();
  let csrf = '';
  const request = function (method, path, body, type) {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      const headers = { Cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
      if (csrf) headers['X-CSRF-Token'] = csrf;
      if (data) Object.assign(headers, { 'Content-Type': type ?? 'application/json', 'Content-Length': data.length });
      const t0 = process.hrtime.bigint();
      const req = http.request(new URL(path, origin), { method, headers, agent }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
          statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
          for (const c of res.headers['set-cookie'] ?? []) {
            const [kv] = c.split(';');
            const i = kv.indexOf('=');
            cookies.set(kv.slice(0, i), kv.slice(i + 1));
          }
          const text = Buffer.concat(chunks).toString();
          let json = null;
          try {
            json = JSON.parse(text);
          } catch {}
          if (json && typeof json.csrf_token === 'string') csrf = json.csrf_token;
          resolve({ status: res.statusCode, json, text, headers: res.headers });
        });
      });
      req.on('error', reject);
      req.end(data);
    });
  };
  request.cookie = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  request.csrf = () => csrf;
  return request;
}

async function must(p, want, what) {
  const r = await p;
  if (r.status !== want) {
    throw new Error(`${what}: HTTP ${r.status}, expected ${want}: ${r.text.slice(0, 300)}`);
  }
  return r;
}

const ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
// A USCC with a valid check character (GB 32100-2015), distinct for each i.
function uscc(i) {
  const body = `91360602${String(1000000000 + i).slice(1)}`; // 8 + 9 = 17 characters
  let sum = 0;
  let w = 1;
  for (const ch of body) {
    sum += ALPHABET.indexOf(ch) * w;
    w = (w * 3) % 31;
  }
  return body + ALPHABET[(31 - (sum % 31)) % 31];
}

const FORM = {
  unit_address: '江西省鹰潭市月湖区测试路1号', legal_name: '李四', legal_id_number: '360426199101010071',
  legal_mobile: '13900139000', handler_id_number: '11010519491231002X', handler_email: 'zhang@example.com',
  invoice_email: 'fp@example.com', recipient_name: '王五', recipient_mobile: '13700137000',
  recipient_address: '江西省鹰潭市月湖区测试路1号前台',
};

// Registers organisation i (unit, USCC, mobile all derived from i) and logs c in as it.
async function registerLogin(c, i) {
  const mobile = `138${String(10000000 + i).slice(-8)}`;
  const code = uscc(i);
  await must(c('GET', '/api/v1/session'), 200, 'session');
  await c('GET', '/api/v1/captcha');
  await must(c('POST', '/api/v1/sms-codes', { purpose: 'register', mobile, captcha: 'ABCDE' }), 200, 'SMS code');
  const outbox = await must(c('GET', `/api/v1/dev/outbox?recipient=${mobile}`), 200, 'outbox');
  await must(c('POST', '/api/v1/organisations', {
    unit_name: `鹰潭基准测试${i}有限公司`, uscc: code, handler_name: '张三',
    handler_mobile: mobile, password: 'Secret-2026', password_confirm: 'Secret-2026', sms_code: outbox.json.items[0].params.code,
  }), 201, 'registration');
  await c('GET', '/api/v1/captcha');
  await must(c('POST', '/api/v1/auth/login', { uscc: code, password: 'Secret-2026', captcha: 'ABCDE' }), 200, 'login');
  return code;
}

async function staffLogin(username) {
  const c = client();
  await must(c('GET', '/api/v1/session'), 200, 'session');
  await c('GET', '/api/v1/captcha');
  await must(c('POST', '/api/v1/admin/auth/login', { username, password: 'Demo-2026', captcha: 'ABCDE' }), 200, `${username} login`);
  return c;
}

async function setup(outdir, nqueue) {
  const c = client();
  await registerLogin(c, 0);
  const nos = [];
  for (let i = 0; i <= nqueue; i++) {
    // the first one a main key's (it has the three forms), the others secondary keys (one main a unit)
    const r = await must(c('POST', '/api/v1/orders', { project_code: 'yingtan', key_type: i === 0 ? 'main' : 'secondary', form: FORM }), 201, 'order');
    nos.push(r.json.order_no);
  }
  writeFileSync(`${outdir}/order_no`, nos[0]);
  writeFileSync(`${outdir}/queue_orders`, nos.slice(1).join('\n') + '\n');
  writeFileSync(`${outdir}/org_cookie`, c.cookie());
  writeFileSync(`${outdir}/org_csrf`, c.csrf());
  const s = await staffLogin('producer');
  writeFileSync(`${outdir}/staff_cookie`, s.cookie());
}

function pct(a, p) {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : null;
}

async function login(seconds, clients) {
  const code = uscc(0);
  const posts = [];
  const st = {};
  let n = 0;
  const end = Date.now() + seconds * 1000;
  const t0 = process.hrtime.bigint();
  async function worker() {
    while (Date.now() < end) {
      const c = client();
      await c('GET', '/api/v1/session');
      await c('GET', '/api/v1/captcha');
      const s = process.hrtime.bigint();
      const r = await c('POST', '/api/v1/auth/login', { uscc: code, password: 'Secret-2026', captcha: 'ABCDE' });
      posts.push(Number(process.hrtime.bigint() - s) / 1e6);
      st[r.status] = (st[r.status] ?? 0) + 1;
      if (r.status !== 200 && errors.length < 5) errors.push(`${r.status} ${r.text.slice(0, 200)}`);
      else n++;
      await c('POST', '/api/v1/auth/logout'); // the session ends, as a browser's would
    }
  }
  await Promise.all(Array.from({ length: clients }, worker));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(JSON.stringify({ logins: n, seconds: secs, per_s: n / secs, status: st, errors,
    login_post_ms: { p50: pct(posts, 50), p99: pct(posts, 99) } }));
}

async function idle(n) {
  const port = Number(new URL(base).port);
  const socks = [];
  for (let i = 0; i < n; i++) {
    await new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('GET /api/v1/meta HTTP/1.1\r\nHost: bench\r\n\r\n'));
      let got = '';
      s.on('data', (d) => {
        got += d;
        if (/\r\n\r\n/.test(got) && got.includes('"version"')) resolve();
      });
      s.on('error', reject);
      s.on('close', () => reject(new Error(`connection ${i} closed: ${got.slice(0, 100)}`)));
      socks.push(s);
    });
  }
  console.log(`ready ${socks.length}`);
  process.stdin.resume();
  await new Promise((r) => process.stdin.on('end', r));
  for (const s of socks) s.destroy();
}

// Multipart body of one file part "file" (JPEG bytes).
function multipart(jpeg) {
  const b = '----certdeskbench';
  return {
    type: `multipart/form-data; boundary=${b}`,
    body: Buffer.concat([Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="file"; filename="scan.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`), jpeg, Buffer.from(`\r\n--${b}--\r\n`)]),
  };
}

async function burst(simbase, n, clients, jpegPath, db) {
  const jpeg = readFileSync(jpegPath);
  const slot = jpeg.indexOf('certdesk-bench:') + 15; // mkjpeg's comment: 32 bytes changed per upload
  if (slot < 15) throw new Error(`${jpegPath} has no certdesk-bench comment`);
  const sim = client(simbase);
  const t0 = process.hrtime.bigint();
  const orgs = [];
  let failed = 0;
  // pool: runs fn(i) for i in [0, count) with `clients` in flight; counts failures
  async function pool(count, fn) {
    let next = 0;
    async function worker() {
      while (next < count) {
        const i = next++;
        try {
          await fn(i);
        } catch (e) {
          failed++;
          if (errors.length < 10) errors.push(e.message.slice(0, 300));
        }
      }
    }
    await Promise.all(Array.from({ length: clients }, worker));
  }
  const phase = {};
  const mark = (name, t) => (phase[name] = Number(process.hrtime.bigint() - t) / 1e9);
  // 1. register, order, the five scans (a distinct JPEG each: a changed comment), as the organisation
  let t = process.hrtime.bigint();
  await pool(n, async (k) => {
    const c = client();
    await registerLogin(c, 1000 + k);
    const r = await must(c('POST', '/api/v1/orders', { project_code: 'yingtan', key_type: 'secondary', form: FORM }), 201, 'order');
    const no = r.json.order_no;
    for (const kind of ['application_form', 'business_licence', 'handler_id_front', 'handler_id_back', 'authorisation_letter']) {
      const j = Buffer.from(jpeg);
      j.write(`${no}-${kind}`.padEnd(32, '.').slice(0, 32), slot, 'latin1'); // the same file is not stored twice
      const m = multipart(j);
      await must(c('PUT', `/api/v1/orders/${no}/documents/${kind}`, m.body, m.type), 201, `upload ${kind}`);
    }
    orgs.push({ c, no });
  });
  mark('register_order_upload', t);
  // 2. the legal person's face verification (the link's token is in the authorisation letter's QR
  //    code; read here from the database), then submission
  const tokens = Object.fromEntries(execFileSync('sqlite3', ['-cmd', '.timeout 10000', db, 'SELECT order_no, verify_token FROM orders'])
    .toString().trim().split('\n').map((l) => l.split('|')));
  t = process.hrtime.bigint();
  await pool(orgs.length, async (k) => {
    const { c, no } = orgs[k];
    const phone = client(); // the phone that scanned the letter: a session and its CSRF token first
    await must(phone('GET', '/api/v1/session'), 200, 'session');
    await must(phone('GET', `/api/v1/verify/${tokens[no]}`), 200, 'verify page');
    const s = await must(phone('POST', `/api/v1/verify/${tokens[no]}/start`), 200, 'verify start');
    const biz = /token=([^&]+)/.exec(s.json.redirect_url)[1];
    await must(sim('POST', `/_sim/faceid/${biz}/decide`, { pass: true }), 200, 'FaceID decide');
    await must(phone('GET', `/api/v1/verify/${tokens[no]}/result`), 200, 'verify result');
    await must(c('POST', `/api/v1/orders/${no}/submit`), 200, 'submit');
  });
  mark('verify_submit', t);
  // 3. pre-review: one reviewer claims and passes each order
  const reviewer = await staffLogin('reviewer');
  t = process.hrtime.bigint();
  await pool(orgs.length, async (k) => {
    const { no } = orgs[k];
    await must(reviewer('POST', `/api/v1/admin/orders/${no}/claim`), 200, 'claim');
    await must(reviewer('POST', `/api/v1/admin/orders/${no}/review`, { decision: 'pass' }), 200, 'review pass');
  });
  mark('review', t);
  // 4. payment: a WeChat Pay QR code, paid on the simulator, which notifies certdeskd
  t = process.hrtime.bigint();
  await pool(orgs.length, async (k) => {
    const { c, no } = orgs[k];
    const a = await must(c('POST', `/api/v1/orders/${no}/payment`, { provider: 'wxpay' }), 200, 'payment');
    await must(sim('POST', `/_sim/wxpay/orders/${a.json.attempt.out_trade_no}/pay`, { notify: true }), 200, 'pay on the simulator');
  });
  // the simulator notifies certdeskd in the background: wait (up to 60 s) for every order to be paid
  const awaiting = () => {
    const nos = orgs.map((o) => `'${o.no}'`).join(',');
    return Number(execFileSync('sqlite3', ['-cmd', '.timeout 10000', db,
      `SELECT count(*) FROM orders WHERE state = 'awaiting_payment' AND order_no IN (${nos || "''"})`]).toString().trim());
  };
  for (let i = 0; i < 600 && awaiting() > 0; i++) await new Promise((r) => setTimeout(r, 100));
  mark('pay', t);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  // where the burst's orders ended (a paid order has left awaiting_payment; the notification may
  // still be in flight for the last ones)
  const nos = new Set(orgs.map((o) => o.no));
  const states = {};
  for (const l of execFileSync('sqlite3', ['-cmd', '.timeout 10000', db, 'SELECT order_no, state FROM orders']).toString().trim().split('\n')) {
    const [no, st] = l.split('|');
    if (nos.has(no)) states[st] = (states[st] ?? 0) + 1;
  }
  console.log(JSON.stringify({ organisations: n, flows_failed: failed, order_states: states,
    seconds: secs, phases_s: phase, requests: lat.length, status: statuses, errors,
    latency_ms: { p50: pct(lat, 50), p90: pct(lat, 90), p99: pct(lat, 99), max: Math.max(...lat) } }));
}

try {
  if (cmd === 'setup') await setup(args[0], Number(args[1]));
  else if (cmd === 'login') await login(Number(args[0]), Number(args[1]));
  else if (cmd === 'idle') await idle(Number(args[0]));
  else if (cmd === 'burst') await burst(args[0], Number(args[1]), Number(args[2]), args[3], args[4]);
  else throw new Error('usage: all-load.mjs setup|login|idle|burst BASE ...');
} catch (e) {
  console.error(`all-load: ${e.message}`);
  process.exitCode = 1;
}
agent.destroy();
