// Smoke tests: the server answers, serves the built web UI and the browser renders it.
import assert from 'node:assert/strict'

const TITLE = '数字证书在线业务办理平台'

async function indexHtml(t) {
  const res = await t.fetch('/')
  return { res, body: await res.text() }
}

export default [
  {
    name: 'GET /api/v1/meta returns JSON',
    async fn(t) {
      const res = await t.fetch('/api/v1/meta')
      assert.equal(res.status, 200)
      assert.match(res.headers.get('content-type') || '', /^application\/json\b/i)
      const meta = await res.json()
      assert.equal(meta.name, 'certdesk')
      assert.equal(meta.title, TITLE)
      assert.match(String(meta.version), /^\d+\.\d+\.\d+/)
    },
  },
  {
    name: 'static files are served with correct content types',
    async fn(t) {
      const { res, body } = await indexHtml(t)
      assert.equal(res.status, 200)
      assert.match(res.headers.get('content-type') || '', /^text\/html\b/i)
      const assets = [...body.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1])
      assert.ok(assets.some((a) => a.endsWith('.js')), 'index.html references a .js asset')
      for (const a of assets) {
        const r = await t.fetch(a)
        assert.equal(r.status, 200, `${a}: status`)
        const ct = r.headers.get('content-type') || ''
        if (a.endsWith('.js')) assert.match(ct, /^(text|application)\/javascript\b/i, `${a}: ${ct}`)
        if (a.endsWith('.css')) assert.match(ct, /^text\/css\b/i, `${a}: ${ct}`)
        await r.arrayBuffer()
      }
    },
  },
  {
    name: 'unknown page paths fall back to index.html, unknown API paths do not',
    async fn(t) {
      const { body: index } = await indexHtml(t)
      const res = await t.fetch('/some/unknown/page')
      assert.equal(res.status, 200)
      assert.match(res.headers.get('content-type') || '', /^text\/html\b/i)
      assert.equal(await res.text(), index)
      const api = await t.fetch('/api/v1/no-such-endpoint')
      assert.equal(api.status, 404)
      assert.notEqual(await api.text(), index)
    },
  },
  {
    name: 'home page renders title and version',
    async fn(t) {
      const meta = await t.getJSON('/api/v1/meta')
      const consoleErrors = []
      t.page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()))
      await t.page.goto(t.url('/'), { waitUntil: 'domcontentloaded' })
      assert.equal(await t.page.title(), TITLE)
      await t.page.getByText(TITLE).first().waitFor({ timeout: 10000 })
      await t.waitForText(t.page.locator('[data-test=title]'), meta.title)
      await t.waitForText(t.page.locator('[data-test=version]'), String(meta.version))
      await t.waitForText(t.page.locator('[data-test=version]'), '版本')
      assert.equal(await t.page.locator('[data-test=meta-error]').count(), 0, 'no connection error shown')
      await t.page.getByRole('button', { name: '免费注册' }).waitFor()
      await t.page.getByRole('button', { name: '登录' }).waitFor()
      assert.equal(await t.page.locator('html').getAttribute('lang'), 'zh-CN')
      await t.page.waitForLoadState('networkidle')
      await t.screenshot('home')
      assert.deepEqual(t.pageErrors, [], 'no uncaught page errors')
      assert.deepEqual(consoleErrors, [], 'no console errors')
    },
  },
  {
    name: 'unknown page shows the not-found page',
    async fn(t) {
      const res = await t.page.goto(t.url('/some/unknown/page'), { waitUntil: 'domcontentloaded' })
      assert.equal(res.status(), 200)
      await t.page.locator('[data-test=not-found]').waitFor({ timeout: 10000 })
      await t.waitForText(t.page.locator('[data-test=not-found]'), '页面不存在')
      await t.screenshot('not-found')
      assert.deepEqual(t.pageErrors, [], 'no uncaught page errors')
    },
  },
  {
    name: 'register button leads to the register page',
    async fn(t) {
      await t.page.goto(t.url('/'), { waitUntil: 'domcontentloaded' })
      await t.page.getByRole('button', { name: '免费注册' }).click()
      await t.page.waitForURL(t.url('/register'))
      await t.page.locator('.site-main').getByText(/注册/).first().waitFor({ timeout: 10000 })
      assert.equal(await t.page.locator('[data-test=not-found]').count(), 0)
    },
  },
]
