// The user manual (/help) and its screenshots.
//
// 'manual: screenshots' drives the real pages the manual shows (register, login, forgotten
// password, the handler's mobile, a new order, the order page, the payment QR code, mailing the
// paper, the renewal's notice and its check without the certificate helper) and writes their
// pictures (1200 px wide, reduced to a 256-colour palette with ImageMagick when `convert` is there)
// into the run's artifacts, and with MANUAL_UPDATE_IMAGES=1 into docs/manual/img/ (the manual's own
// pictures: refresh and commit them with a page change; a test run leaves the tree clean otherwise). The build (web/build/manual.ts) and src/help/manual.test.ts
// check that each picture's page still has the route and title the manual names.
// 'manual: /help' opens the manual from the header and the login page, checks its chapters, the
// pictures (loaded), the search (marks, no result) and a link to a section.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  apiClient,
  expectNoPageErrors,
  fill,
  fillCaptcha,
  freshStart,
  idNumber,
  loginViaPage,
  uscc,
} from './helpers.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const DOCS_IMG_DIR = path.resolve(HERE, '..', '..', 'docs', 'manual', 'img')
const WIDTH = 1200
const PASSWORD = 'Abcd-1234'
const ORG = {
  uscc: uscc('91360600MA35M0181'),
  name: '鹰潭市示例科技有限公司',
  mobile: '13800001801',
}

function orderForm(org) {
  return {
    unit_address: '江西省鹰潭市月湖区胜利西路 18 号',
    legal_name: '张法人',
    legal_id_number: idNumber('36060219800101001'),
    legal_mobile: '13910018001',
    handler_name: '李经办',
    handler_id_number: idNumber('36060219900202002'),
    handler_mobile: '13910018002',
    handler_email: 'jingban@example.com',
    invoice_title: org.name,
    invoice_tax_number: org.uscc,
    invoice_email: 'fapiao@example.com',
    recipient_name: '王收件',
    recipient_mobile: '13910018003',
    recipient_address: '江西省鹰潭市月湖区胜利西路 18 号收发室',
    seal_name: org.name,
  }
}

const hasConvert = (() => {
  try {
    execFileSync('convert', ['-version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

// The page as the user sees it (the viewport, 1200 px wide), `top` scrolled to the top of the
// picture when given, into the pictures directory (see the top).
async function shot(t, name, { top = null, height = 860 } = {}) {
  const { page } = t
  await page.setViewportSize({ width: WIDTH, height })
  await page.waitForLoadState('networkidle')
  if (top) {
    await top.evaluate((el) => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 16))
  }
  await page.evaluate(() => document.activeElement && document.activeElement.blur && document.activeElement.blur())
  await new Promise((r) => setTimeout(r, 300))
  const dir =
    process.env.MANUAL_IMG_DIR ||
    (process.env.MANUAL_UPDATE_IMAGES === '1' ? DOCS_IMG_DIR : path.join(t.artifacts, 'manual-img'))
  fs.mkdirSync(dir, { recursive: true })
  const file = path.join(dir, `${name}.png`)
  await page.screenshot({ path: file, animations: 'disabled', caret: 'hide' })
  if (hasConvert) execFileSync('convert', [file, '-strip', '-colors', '256', `PNG8:${file}`])
  const size = fs.statSync(file).size
  assert.ok(size < 400 * 1024, `${name}.png is ${size} bytes`)
}

function db(t, sql) {
  execFileSync('sqlite3', [t.dbPath, sql])
}

export default [
  {
    name: 'manual: screenshots of the pages the manual shows',
    timeoutMs: 150000,
    async fn(t) {
      const { page } = t
      await freshStart(t)
      await page.setViewportSize({ width: WIDTH, height: 860 })

      // 免费注册, filled in as the manual explains it
      await page.goto(t.url('/register'), { waitUntil: 'domcontentloaded' })
      await fill(page, 'unit_name', ORG.name)
      await fill(page, 'uscc', ORG.uscc)
      await fill(page, 'handler_name', '李经办')
      await fill(page, 'handler_mobile', ORG.mobile)
      await shot(t, 'register')

      // the account itself through the API, then 登录
      const api = apiClient(t)
      await api.register({ ...ORG, password: PASSWORD })
      assert.equal((await api.login(ORG.uscc, PASSWORD)).status, 200, 'login')
      // the order the order pages show (before the browser's login, which ends this session)
      const made = await api.call('POST', '/api/v1/orders', {
        project_code: 'yingtan',
        key_type: 'main',
        form: orderForm(ORG),
      })
      assert.equal(made.status, 201, JSON.stringify(made.data))
      const no = made.data.order_no
      await page.goto(t.url('/login'), { waitUntil: 'domcontentloaded' })
      await fill(page, 'uscc', ORG.uscc)
      await fillCaptcha(page)
      await shot(t, 'login')

      await page.goto(t.url('/forgot-password'), {
        waitUntil: 'domcontentloaded',
      })
      await page.locator('input[name=uscc]').fill(ORG.uscc)
      await shot(t, 'forgot-password')

      // 账户中心 → 变更经办人手机号
      await loginViaPage(t, ORG.uscc, PASSWORD)
      await page.goto(t.url('/account'), { waitUntil: 'domcontentloaded' })
      await page.getByRole('tab', { name: '变更经办人手机号' }).click()
      await t.waitForText(page.locator('[data-test=account-page]'), '变更需要原手机号和新手机号分别接收短信验证码')
      await shot(t, 'account-mobile')

      // 数字证书申请: the project and the key types
      await page.goto(t.url('/orders/new'), { waitUntil: 'domcontentloaded' })
      await page.locator('[data-test=apply-new]').first().click()
      await page.locator('[data-test=key-rule]').waitFor()
      await shot(t, 'order-new')

      // the order page of a saved order: templates, the legal person's verification, uploads
      await page.goto(t.url(`/orders/${no}`), {
        waitUntil: 'domcontentloaded',
      })
      await page.locator('[data-test=downloads]').waitFor()
      await page.locator('[data-test=uploads]').waitFor()
      await shot(t, 'order-draft', {
        top: page.locator('[data-test=downloads]'),
        height: 1000,
      })

      // 缴费 (pre-review passed: set in the database, the review is the back office's test)
      db(t, `UPDATE orders SET state='awaiting_payment' WHERE order_no='${no}'`)
      await page.goto(t.url(`/orders/${no}`), {
        waitUntil: 'domcontentloaded',
      })
      const card = page.locator('[data-test=payment-card]')
      await t.waitForText(card, '缴费')
      await page.locator('[data-test=pay-wxpay]').click()
      await page.waitForFunction(
        () => {
          const el = document.querySelector('[data-test=pay-qr]')
          return !!el && el.complete && el.naturalWidth > 0
        },
        null,
        { timeout: 15000 },
      )
      await shot(t, 'payment', { top: card })

      // paid: mailing the paper and the courier number
      db(t, `UPDATE orders SET state='awaiting_paper' WHERE order_no='${no}'`)
      await page.goto(t.url(`/orders/${no}`), {
        waitUntil: 'domcontentloaded',
      })
      const paper = page.locator('[data-test=paper-card]')
      await t.waitForText(paper, '请将以下纸质资料邮寄给我们')
      await page.locator('[data-test=courier-form]').waitFor()
      await shot(t, 'paper-mail', { top: paper })

      // 证书在线更新 (no login): the notice, then the environment check without the certificate helper:
      // on a port nothing uses (the harness runs an agent, and earlier tests leave its port stored)
      await freshStart(t)
      await page.goto(t.url('/renew'), { waitUntil: 'domcontentloaded' })
      await page.evaluate(() => localStorage.setItem('certdesk.agentPort', '1'))
      await page.reload({ waitUntil: 'domcontentloaded' })
      await page.locator('[data-test=renew-notice]').waitFor()
      await shot(t, 'renew-notice')
      await page.locator('[data-test=renew-notice-ok]').click()
      await page.locator('[data-test=agent-missing]').waitFor({ timeout: 15000 })
      await shot(t, 'renew-agent-missing')
      await page.evaluate(() => localStorage.removeItem('certdesk.agentPort'))
      await expectNoPageErrors(t)
    },
  },
  {
    name: 'manual: /help from the header and the login page, chapters, pictures, search',
    timeoutMs: 60000,
    async fn(t) {
      const { page } = t
      await freshStart(t)
      await page.goto(t.url('/'), { waitUntil: 'domcontentloaded' })
      await page.locator('[data-test=nav-help]').click()
      await page.waitForURL((u) => u.pathname === '/help')
      const help = page.locator('[data-test=help-page]')
      await t.waitForText(help, '用户手册')
      assert.match(await page.title(), /^用户手册 - /)
      const toc = page.locator('[data-test=help-toc]')
      for (const chapter of [
        '注册账户',
        '登录',
        '忘记密码',
        '变更经办人手机号',
        '在线新办证书',
        '在线更新（续费）',
        '安装证书助手',
        '常见问题',
      ]) {
        await t.waitForText(toc, chapter)
      }
      // every picture loads (bundled from docs/manual/img)
      const imgs = page.locator('img.manual-shot')
      assert.ok((await imgs.count()) >= 8, 'the screenshots are in the page')
      for (const img of await imgs.all()) {
        await img.scrollIntoViewIfNeeded()
        await page.waitForFunction((el) => el.complete && el.naturalWidth === 1200, await img.elementHandle(), {
          timeout: 10000,
        })
      }
      await page.evaluate(() => window.scrollTo(0, 0))
      await page.screenshot({ path: path.join(t.artifacts, 'help-page.png'), animations: 'disabled' })

      // search: the seed's FAQ, matches marked, the address keeps the query
      await page.locator('input[name=help-search]').fill('二维码')
      await t.waitForText(page.locator('[data-test=help-count]'), '含“二维码”')
      const marks = page.locator('mark.manual-hit')
      assert.ok((await marks.count()) >= 2, 'matches marked')
      assert.equal((await marks.first().textContent()).trim(), '二维码')
      await t.waitForText(help, '无法弹出支付二维码怎么办？')
      assert.equal(await help.locator('h2', { hasText: '注册账户' }).count(), 0, 'sections without a match are hidden')
      assert.match(page.url(), /[?&]q=/)
      await page.screenshot({ path: path.join(t.artifacts, 'help-search.png'), animations: 'disabled' })
      await page.locator('input[name=help-search]').fill('不存在的词语xyz')
      await page.locator('[data-test=help-empty]').waitFor()
      await page.locator('input[name=help-search]').fill('')
      await t.waitForText(help, '注册账户')

      // from the login page (the seed: 如忘记密码 … 请查阅“用户手册”) to the section
      await page.goto(t.url('/login'), { waitUntil: 'domcontentloaded' })
      await page.locator('[data-test=help-link]').click()
      await page.waitForURL((u) => u.pathname === '/help' && u.hash === '#forgot-password')
      const section = page.locator('#forgot-password')
      await section.waitFor()
      await page.waitForFunction(
        () => {
          const r = document.getElementById('forgot-password').getBoundingClientRect()
          return r.top >= -2 && r.top < 200
        },
        null,
        { timeout: 5000 },
      )
      await page.goto(t.url('/forgot-password'), {
        waitUntil: 'domcontentloaded',
      })
      assert.equal(await page.locator('[data-test=help-link]').getAttribute('href'), '/help#change-handler')

      // served by certdeskd as an SPA route (index.html) also when opened directly
      const res = await t.fetch('/help', { headers: { Accept: 'text/html' } })
      assert.equal(res.status, 200)
      assert.match(await res.text(), /<div id="app">/)
      await expectNoPageErrors(t)
    },
  },
]
