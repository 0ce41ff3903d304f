// Times are Beijing time whatever the browser's time zone: a browser in New York shows an order's
// created_at (a known server time) in Beijing time on the organisation's pages, and the paper
// check's 致电时间 is picked and sent as Beijing time (default: now in Beijing), then shown so on
// the staff's order page.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { apiClient, idNumber, openBrowser, staffClient, staffLoginViaPage, loginViaPage, uscc } from './helpers.mjs'

const PASSWORD = 'Abcd-1234'
const ORG = { uscc: uscc('91360600MA35Y0601'), name: '鹰潭市时区测试有限公司', mobile: '13800006001' }
const TZ = 'America/New_York'

function form(org) {
  return {
    unit_address: '江西省鹰潭市月湖区胜利西路 6 号',
    legal_name: '周法人',
    legal_id_number: idNumber('36042619800101007'),
    legal_mobile: '13910060001',
    handler_name: '吴经办',
    handler_id_number: idNumber('36060219900202004'),
    handler_mobile: '13910060002',
    handler_email: 'jingban@example.com',
    invoice_title: org.name,
    invoice_tax_number: org.uscc,
    invoice_email: 'fapiao@example.com',
    recipient_name: '郑收件',
    recipient_mobile: '13910060003',
    recipient_address: '江西省鹰潭市月湖区胜利西路 6 号收发室',
    seal_name: org.name,
  }
}

// RFC 3339 → "YYYY-MM-DD HH:mm" on the Beijing wall clock (UTC+8, no daylight saving).
const beijing = (iso) => new Date(Date.parse(iso) + 8 * 3600e3).toISOString().slice(0, 16).replace('T', ' ')
// The same moment on New York's wall clock, which the page must not show.
function newYork(iso) {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone: TZ,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(new Date(iso))
      .map((x) => [x.type, x.value]),
  )
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`
}

export default [
  {
    name: 'timezone: a browser in New York shows Beijing time; 致电时间 is picked in Beijing time',
    timeoutMs: 90000,
    async fn(t) {
      const api = apiClient(t)
      await api.register({ ...ORG, password: PASSWORD })
      assert.equal((await api.login(ORG.uscc, PASSWORD)).status, 200, 'login')
      const made = await api.call('POST', '/api/v1/orders', { project_code: 'yingtan', key_type: 'main', form: form(ORG) })
      assert.equal(made.status, 201, JSON.stringify(made.data))
      const { order_no: no, created_at: createdAt } = made.data
      assert.ok(createdAt, 'created_at in the reply')
      const expected = beijing(createdAt)
      assert.notEqual(expected, newYork(createdAt))

      const ny = await openBrowser({ timezoneId: TZ })
      try {
        const { page } = ny
        assert.equal(await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone), TZ)
        const nt = { ...t, page }

        // The organisation's pages.
        await loginViaPage(nt, ORG.uscc, PASSWORD)
        const row = page.locator('.el-table__row', { hasText: no }).first()
        await t.waitForText(row, expected)
        await page.goto(t.url(`/orders/${no}`), { waitUntil: 'domcontentloaded' })
        await t.waitForText(page.locator('[data-test=order-page] .head-meta'), `创建于 ${expected}`)
        assert.ok(!(await page.locator('[data-test=order-page] .head-meta').textContent()).includes(newYork(createdAt)), 'not New York time')
        await t.waitForText(page.locator('[data-test=order-history]'), expected)
        await page.waitForLoadState('networkidle')
        await ny.screenshot(t, 'timezone-order-new-york')

        // 资料审核员 in New York: 致电时间 defaults to now in Beijing; a picked time means Beijing time.
        execFileSync('sqlite3', [t.dbPath, `UPDATE orders SET state='paper_sent' WHERE order_no='${no}'`])
        await ny.context.clearCookies()
        await staffLoginViaPage(nt, 'paper')
        await page.goto(t.url('/admin/paper'), { waitUntil: 'domcontentloaded' })
        await t.waitForText(page.locator('[data-test=queue-page-paper]'), no)
        await page.locator(`[data-test=paper-bad-${no}]`).click()
        const dialog = page.locator('.el-dialog', { hasText: '纸质资料不合格' })
        await dialog.waitFor()
        const picker = dialog.locator('input[name=called_at]')
        const shown = await picker.inputValue()
        const nowBJ = Date.now() + 8 * 3600e3
        const near = [-60e3, 0, 60e3].map((d) => new Date(nowBJ + d).toISOString().slice(0, 16).replace('T', ' '))
        assert.ok(near.includes(shown), `致电时间 defaults to Beijing now (${near[1]}), got ${shown}`)
        await t.waitForText(dialog, '北京时间')
        await new Promise((r) => setTimeout(r, 300))
        await ny.screenshot(t, 'timezone-paper-bad-dialog')

        await picker.fill('2026-03-01 09:30')
        await picker.press('Enter')
        await dialog.locator('textarea[name=reasons]').fill('授权委托书缺少法人章')
        await dialog.locator('input[name=answered_by]').fill('吴经办')
        await dialog.locator('textarea[name=asked]').fill('加盖法人章的授权委托书')
        await dialog.locator('[data-test=paper-bad-submit]').click()
        await dialog.waitFor({ state: 'hidden' })

        const staff = await staffClient(t, 'paper')
        const order = await staff.call('GET', `/api/v1/admin/orders/${no}`)
        assert.equal(order.status, 200)
        assert.equal(order.data.state, 'paper_rejected')
        assert.equal(order.data.paper_contacts.at(-1).called_at, '2026-03-01T01:30:00Z', 'sent as Beijing 09:30')

        await page.goto(t.url(`/admin/orders/${no}`), { waitUntil: 'domcontentloaded' })
        await t.waitForText(page.locator('[data-test=paper-contact-called-at]'), '2026-03-01 09:30')
        await t.waitForText(page.locator('[data-test=admin-order] .meta'), `创建于 ${expected}`)
        await page.waitForLoadState('networkidle')
        await ny.screenshot(t, 'timezone-admin-order-new-york')
        assert.deepEqual(ny.errors, [], 'no uncaught errors in the New York browser')
      } finally {
        await ny.close()
      }
    },
  },
]
