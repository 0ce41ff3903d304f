// Helpers for the browser tests (not a test file itself: run.mjs loads *.test.mjs only).
// They rely on the dev settings run.mjs starts the server with: every captcha's answer is
// CAPTCHA, and GET /api/v1/dev/outbox lists the SMS messages with their codes.
import assert from 'node:assert/strict'

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
  return {
    call,
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
