// Helpers for the browser tests (not a test file itself: run.mjs loads *.test.mjs only).
// They rely on the dev settings run.mjs starts the server with: every captcha's answer is
// CAPTCHA, and GET /api/v1/dev/outbox lists the SMS messages with their codes.
import assert from 'node:assert/strict'
import fs from 'node:fs'

export const CAPTCHA = 'ABCDE'
export const DEMO_PASSWORD = 'Demo-2026'

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// The newest SMS code sent to mobile (waits briefly for it to appear).
export async function smsCode(t, mobile, { after = 0 } = {}) {
  const deadline = Date.now() + 5000
  for (;;) {
    const out = await t.getJSON(`/api/v1/dev/outbox?recipient=${encodeURIComponent(mobile)}`)
    const item = (out.items || [])[0]
    if (item && item.id > after && item.params && item.params.code) return item.params.code
    if (Date.now() > deadline) throw new Error(`no SMS code for ${mobile} in the outbox`)
    await sleep(100)
  }
}

// Id of the newest outbox message to mobile (0 if none): to wait for a newer one.
export async function lastSmsId(t, mobile) {
  const out = await t.getJSON(`/api/v1/dev/outbox?recipient=${encodeURIComponent(mobile)}`)
  return (out.items || [])[0] ? out.items[0].id : 0
}

// A minimal API client with its own cookie jar, for setting up data without the browser.
export function apiClient(t) {
  let cookie = ''
  let csrf = ''
  async function call(method, path, body) {
    const headers = { Accept: 'application/json' }
    if (cookie) headers.Cookie = cookie
    const init = { method, headers }
    if (method !== 'GET') {
      headers['Content-Type'] = 'application/json'
      headers['X-CSRF-Token'] = csrf
      init.body = JSON.stringify(body || {})
    }
    const res = await t.fetch(path, init)
    const set = res.headers.getSetCookie ? res.headers.getSetCookie() : []
    for (const c of set) {
      const m = /^certdesk_session=([^;]*)/.exec(c)
      if (m) cookie = `certdesk_session=${m[1]}`
    }
    const type = res.headers.get('content-type') || ''
    const data = type.includes('json') ? await res.json() : await res.arrayBuffer()
    if (data && data.csrf_token) csrf = data.csrf_token
    return { status: res.status, data }
  }
  // PUT/POST of one file as multipart/form-data (field "file"), with the session and CSRF token.
  async function upload(method, path, file, type = 'image/png') {
    const fd = new FormData()
    fd.set('file', new Blob([fs.readFileSync(file)], { type }), file.split('/').pop())
    const headers = { Accept: 'application/json', 'X-CSRF-Token': csrf }
    if (cookie) headers.Cookie = cookie
    const res = await t.fetch(path, { method, headers, body: fd })
    const data = (res.headers.get('content-type') || '').includes('json') ? await res.json() : null
    return { status: res.status, data }
  }
  return {
    call,
    upload,
    async session() {
      const r = await call('GET', '/api/v1/session')
      assert.equal(r.status, 200, 'GET /api/v1/session')
      return r.data
    },
    // One organisation login attempt through the API (fetches a captcha first).
    async login(uscc, password) {
      if (!csrf) await this.session()
      await call('GET', '/api/v1/captcha')
      return call('POST', '/api/v1/auth/login', { uscc, password, captcha: CAPTCHA })
    },
    // Registers an organisation through the API (captcha + SMS code like the page does).
    async register({ uscc, name, mobile, password, asPrinted = false }) {
      await this.session()
      await call('GET', '/api/v1/captcha')
      const sent = await call('POST', '/api/v1/sms-codes', { purpose: 'register', mobile, captcha: CAPTCHA })
      assert.equal(sent.status, 200, `send register code: ${JSON.stringify(sent.data)}`)
      const code = await smsCode(t, mobile)
      const r = await call('POST', '/api/v1/organisations', {
        unit_name: name,
        uscc,
        handler_name: '测试经办人',
        handler_mobile: mobile,
        password,
        password_confirm: password,
        sms_code: code,
        uscc_as_printed: asPrinted,
      })
      assert.equal(r.status, 201, `register ${uscc}: ${JSON.stringify(r.data)}`)
      return r.data.organisation
    },
  }
}

// Fills an Element Plus input found by its name attribute.
export async function fill(page, name, value) {
  await page.locator(`input[name="${name}"]`).fill(value)
}

// Fills the captcha input, first waiting for the picture so the captcha belongs to the session.
export async function fillCaptcha(page, value = CAPTCHA, scope = page) {
  await scope.locator('[data-test=captcha-img]').waitFor()
  await scope.locator('input[name=captcha]').fill(value)
}

// The error message Element Plus shows under the form item that holds input[name].
export function fieldError(page, name) {
  return page.locator('.el-form-item', { has: page.locator(`input[name="${name}"]`) }).locator('.el-form-item__error')
}

export async function expectNoPageErrors(t) {
  assert.deepEqual(t.pageErrors, [], 'no uncaught page errors')
}

// Starts every test logged out: the browser context (and its cookies) is shared between tests.
export async function freshStart(t) {
  await t.context.clearCookies()
}

// --- test data ------------------------------------------------------------------------------

// A USCC (GB 32100-2015) with the right check character for its first 17 characters.
export function uscc(first17) {
  const CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY'
  const W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
  let sum = 0
  for (let i = 0; i < 17; i++) sum += CHARS.indexOf(first17[i]) * W[i]
  return first17 + CHARS[(31 - (sum % 31)) % 31]
}

// A resident ID number (GB 11643) with the right check digit for its first 17 digits.
export function idNumber(first17) {
  const W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
  let sum = 0
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * W[i]
  return first17 + '10X98765432'[sum % 11]
}

// Logs an organisation in through /login; the landing page is the order list.
export async function loginViaPage(t, uscc, password) {
  const { page } = t
  await page.goto(t.url('/login'), { waitUntil: 'domcontentloaded' })
  await fill(page, 'uscc', uscc)
  await fill(page, 'password', password)
  await fillCaptcha(page)
  await page.getByRole('button', { name: '登录', exact: true }).click()
  await page.waitForURL((u) => u.pathname === '/orders', { timeout: 10000 })
}

// Logs a staff member in through /admin/login.
export async function staffLoginViaPage(t, username, password = DEMO_PASSWORD) {
  const { page } = t
  await page.goto(t.url('/admin/login'), { waitUntil: 'domcontentloaded' })
  await page.locator('[data-test=admin-login-page]').waitFor()
  await fill(page, 'username', username)
  await fill(page, 'password', password)
  await fillCaptcha(page)
  await page.getByRole('button', { name: '登录', exact: true }).click()
  await page.waitForURL((u) => u.pathname === '/admin', { timeout: 10000 })
}

// An API client logged in as a staff member.
export async function staffClient(t, username = 'admin', password = DEMO_PASSWORD) {
  const api = apiClient(t)
  await api.session()
  await api.call('GET', '/api/v1/captcha')
  const r = await api.call('POST', '/api/v1/admin/auth/login', { username, password, captcha: CAPTCHA })
  assert.equal(r.status, 200, `staff login ${username}: ${JSON.stringify(r.data)}`)
  return api
}

// Screenshot at phone width (then back to the desktop viewport).
export async function phoneScreenshot(t, name) {
  const size = t.page.viewportSize()
  await t.page.setViewportSize({ width: 390, height: 844 })
  await new Promise((r) => setTimeout(r, 300))
  await t.screenshot(name)
  await t.page.setViewportSize(size)
}

// A phone of its own (the legal person's: no cookies of the organisation's browser), 390×844 with
// touch. Close it with phone.close() (closes its browser).
export async function openPhone() {
  const { chromium } = await import('playwright-core')
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: process.env.E2E_HEADED !== '1',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking'],
  })
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: 'zh-CN',
  })
  const page = await context.newPage()
  const errors = []
  page.on('pageerror', (err) => errors.push(err.message))
  return {
    page,
    context,
    errors,
    async screenshot(t, name) {
      const file = `${t.artifacts}/${name}.png`
      await page.screenshot({ path: file, fullPage: true, animations: 'disabled' })
      return file
    },
    close: () => browser.close().catch(() => {}),
  }
}

// A desktop browser of its own with context options (e.g. { timezoneId: 'America/New_York' }):
// no cookies of the shared context. Returns { page, context, errors, screenshot(t, name), close }.
export async function openBrowser(options = {}) {
  const { chromium } = await import('playwright-core')
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: process.env.E2E_HEADED !== '1',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking'],
  })
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN', ...options })
  const page = await context.newPage()
  const errors = []
  page.on('pageerror', (err) => errors.push(err.message))
  return {
    page,
    context,
    errors,
    async screenshot(t, name) {
      const file = `${t.artifacts}/${name}.png`
      await page.screenshot({ path: file, fullPage: true, animations: 'disabled' })
      return file
    },
    close: () => browser.close().catch(() => {}),
  }
}

// The phone: opens a payment QR code's URL (the simulator's scan page) and presses the pay button of
// the simulated provider page (微信支付: 确认支付, 支付宝: 确认付款), with screenshots.
export async function payOnPhone(t, url, button, shot) {
  const phone = await openPhone()
  try {
    await phone.page.goto(url, { waitUntil: 'domcontentloaded' })
    await phone.page.getByRole('button', { name: button }).waitFor()
    await phone.screenshot(t, `${shot}-phone`)
    await phone.page.getByRole('button', { name: button }).click()
    await phone.page.waitForLoadState('domcontentloaded')
    await phone.screenshot(t, `${shot}-phone-paid`)
  } finally {
    await phone.close()
  }
}

// --- production onto a USB key (certdesk-agent with the software SKF key, t.agent) ------------

// Points the production page at the harness's certdesk-agent (the page's port setting).
export async function useAgentPort(t) {
  assert.ok(t.agent, 'certdesk-agent and the software SKF key are built (the harness starts them)')
  await t.page.locator('[data-test=agent-port] input').fill(String(t.agent.port))
  await t.page.getByRole('button', { name: '保存并检测' }).click()
  await t.page.locator('[data-test=agent-ok]').waitFor()
}

// Produces the order on its production page (already open) onto a new blank software key named
// `name`, waits for 完成 and pulls the key out again (later tests find no key inserted).
export async function produceOnPage(t, name, serial) {
  t.agent.tool('create', t.agent.dir, name, '--serial', serial)
  try {
    await useAgentPort(t)
    await t.waitForText(t.page.locator('[data-test=key-table]'), serial)
    await t.page.locator('[data-test=production-start]').click()
    await t.page.locator('[data-test=production-done]').waitFor({ timeout: 120000 })
  } finally {
    t.agent.tool('remove', t.agent.dir, name)
  }
}

// Chooses the two seal pictures of a main-key order (staff PUT .../seal-pictures/{org|legal}), drawn
// in the browser: a red round seal with a star (单位公章) and a red square one (法人章), as the
// integration tests' seal_png.c draws them.
export async function chooseSealPictures(t, staff, no) {
  const page = await t.context.newPage()
  try {
    for (const [name, square] of [
      ['org', false],
      ['legal', true],
    ]) {
      const png = await page.evaluate((sq) => {
        const size = 240
        const cv = document.createElement('canvas')
        cv.width = cv.height = size
        const g = cv.getContext('2d')
        const c = size / 2
        const lw = size * 0.045
        g.fillStyle = g.strokeStyle = 'rgb(217, 26, 31)'
        g.lineWidth = lw
        if (sq) {
          g.strokeRect(lw, lw, size - 2 * lw, size - 2 * lw)
          for (let i = 0; i < 2; i++)
            for (let k = 0; k < 2; k++) {
              const x = size * (0.2 + 0.35 * i)
              const y = size * (0.2 + 0.35 * k)
              g.fillRect(x, y, size * 0.25, size * 0.05)
              g.fillRect(x + size * 0.1, y, size * 0.05, size * 0.25)
              g.fillRect(x, y + size * 0.2, size * 0.25, size * 0.05)
            }
        } else {
          g.beginPath()
          g.arc(c, c, c - lw, 0, 2 * Math.PI)
          g.stroke()
          g.beginPath()
          for (let i = 0; i < 10; i++) {
            const a = -Math.PI / 2 + (i * Math.PI) / 5
            const r = i % 2 ? size * 0.16 * 0.4 : size * 0.16
            g.lineTo(c + r * Math.cos(a), c + r * Math.sin(a))
          }
          g.closePath()
          g.fill()
          for (let i = 0; i < 12; i++) {
            const a = Math.PI * (0.85 + (i * 1.3) / 11)
            g.save()
            g.translate(c + (c - lw * 4) * Math.cos(a), c + (c - lw * 4) * Math.sin(a))
            g.rotate(a + Math.PI / 2)
            g.fillRect(-size * 0.03, -size * 0.04, size * 0.06, size * 0.08)
            g.restore()
          }
          g.fillRect(size * 0.3, size * 0.7, size * 0.4, size * 0.05)
        }
        return cv.toDataURL('image/png').split(',')[1]
      }, square)
      const r = await staff.call('PUT', `/api/v1/admin/orders/${no}/seal-pictures/${name}`, { png })
      assert.equal(r.status, 200, `seal picture ${name}: ${JSON.stringify(r.data)}`)
    }
  } finally {
    await page.close()
  }
}
