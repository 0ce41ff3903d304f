#!/usr/bin/env node
// bench/issue-load.mjs: the HTTP side of bench/issue.sh (node:http only, keep-alive).
//
//   node issue-load.mjs orders BASE N OUT        registers an organisation and creates N orders; OUT
//                                                gets their numbers, one a line (issue.sh then moves
//                                                them to producing in the database)
//   node issue-load.mjs issue BASE ORDERS CSRDIR CLIENTS
//                                                logs in as the demo producer, then POSTs CSRDIR/<i>.pem
//                                                to the i-th order's certificates, CLIENTS requests in
//                                                flight; prints one JSON line with the timing
// Needs certdeskd with [dev] captcha_answer = ABCDE and expose_outbox = true.
import http from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';

const [cmd, base, ...args] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

// A caller with its own cookies and CSRF token, like a browser tab.
function client() {
  const cookies = new Map();
  let csrf = '';
  return function request(method, path, body) {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      const headers = { Cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
      if (csrf) headers['X-CSRF-Token'] = csrf;
      if (data) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': data.length });
      const req = http.request(new URL(path, base), { method, headers, agent }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
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
          resolve({ status: res.statusCode, json, text });
        });
      });
      req.on('error', reject);
      req.end(data);
    });
  };
}

async function must(p, want, what) {
  const r = await p;
  if (r.status !== want) throw new Error(`${what}: HTTP ${r.status}, expected ${want}: ${r.text.slice(0, 300)}`);
  return r;
}

const USCC = '91310115MA1K3BTP2B'; // a valid check digit
const FORM = {
  unit_address: '江西省鹰潭市月湖区测试路1号', legal_name: '李四', legal_id_number: '360426199101010071',
  legal_mobile: '13900139000', handler_id_number: '11010519491231002X', handler_email: 'zhang@example.com',
  invoice_email: 'fp@example.com', recipient_name: '王五', recipient_mobile: '13700137000',
  recipient_address: '江西省鹰潭市月湖区测试路1号前台',
};

async function orders(n, out) {
  const c = client();
  const mobile = '13800138099';
  await must(c('GET', '/api/v1/session'), 200, 'session'); // the CSRF token
  await c('GET', '/api/v1/captcha');
  await must(c('POST', '/api/v1/sms-codes', { purpose: 'register', mobile, captcha: 'ABCDE' }), 200, 'SMS code');
  const outbox = await must(c('GET', `/api/v1/dev/outbox?recipient=${mobile}`), 200, 'outbox');
  const code = outbox.json.items[0].params.code;
  await must(c('POST', '/api/v1/organisations', {
    unit_name: '鹰潭基准测试有限公司', uscc: USCC, handler_name: '张三',
    handler_mobile: mobile, password: 'Secret-2026', password_confirm: 'Secret-2026', sms_code: code,
  }), 201, 'registration');
  await c('GET', '/api/v1/captcha');
  await must(c('POST', '/api/v1/auth/login', { uscc: USCC, password: 'Secret-2026', captcha: 'ABCDE' }), 200, 'login');
  const nos = [];
  for (let i = 0; i < n; i++) {
    const r = await must(c('POST', '/api/v1/orders', { project_code: 'yingtan', key_type: 'secondary', form: FORM }), 201, 'order');
    nos.push(r.json.order_no);
  }
  writeFileSync(out, nos.join('\n') + '\n');
}

async function issue(ordersFile, csrDir, clients) {
  const c = client();
  await must(c('GET', '/api/v1/session'), 200, 'session');
  await c('GET', '/api/v1/captcha');
  await must(c('POST', '/api/v1/admin/auth/login', { username: 'producer', password: 'Demo-2026', captcha: 'ABCDE' }), 200, 'producer login');
  const nos = readFileSync(ordersFile, 'utf8').split('\n').filter(Boolean);
  const bodies = nos.map((_, i) => JSON.stringify({ csr: readFileSync(`${csrDir}/${i + 1}.pem`, 'utf8') }));
  const status = {};
  const lat = [];
  const errors = [];
  let next = 0;
  const t0 = process.hrtime.bigint();
  async function worker() {
    while (next < nos.length) {
      const i = next++;
      const s = process.hrtime.bigint();
      const r = await c('POST', `/api/v1/admin/orders/${nos[i]}/certificates`, bodies[i]);
      lat.push(Number(process.hrtime.bigint() - s) / 1e6);
      status[r.status] = (status[r.status] ?? 0) + 1;
      if (r.status !== 201 && errors.length < 5) errors.push(`${r.status} ${r.text.slice(0, 200)}`);
    }
  }
  await Promise.all(Array.from({ length: clients }, worker));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  lat.sort((a, b) => a - b);
  const pct = (p) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))];
  console.log(JSON.stringify({
    requests: nos.length, seconds: secs, issued: status[201] ?? 0, status, errors,
    certs_per_s: (status[201] ?? 0) / secs,
    latency_ms: { p50: pct(50), p90: pct(90), p99: pct(99), max: lat[lat.length - 1] },
  }));
}

try {
  if (cmd === 'orders') await orders(Number(args[0]), args[1]);
  else if (cmd === 'issue') await issue(args[0], args[1], Number(args[2]));
  else throw new Error('usage: issue-load.mjs orders BASE N OUT | issue BASE ORDERS CSRDIR CLIENTS');
} catch (e) {
  console.error(`issue-load: ${e.message}`);
  process.exitCode = 1;
}
agent.destroy();
