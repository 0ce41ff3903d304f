// 缴费对账 and 重新退款 (finance). An order is put in 'awaiting_payment' in the database and paid
// through the API and the WeChat Pay simulator (no phone page); finance opens 缴费对账 from the menu,
// sees the order with its amount and the day's totals, downloads the CSV (UTF-8 BOM, the order, the
// amount) and sees the empty state of a day without payments. Then the simulator refuses refunds
// (ABNORMAL): finance cancels the order, sees 退款失败 with the provider's error, the simulator is
// set back to success, 重新退款 (confirmed) and the order reaches 已退款; the ledger shows the
// refund. A reviewer has no 缴费对账 in the menu and is sent back from the address.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {
  apiClient,
  expectNoPageErrors,
  freshStart,
  idNumber,
  phoneScreenshot,
  staffClient,
  staffLoginViaPage,
  uscc,
} from './helpers.mjs'

const PASSWORD = 'Abcd-1234'
const ORG = { uscc: uscc('91360600MA35Y0701'), name: '鹰潭市缴费对账测试有限公司', mobile: '13800007001' }
const CANCEL_REASON = '申请单位重复申请，来电要求取消'
const EMPTY_DAY = '2020-01-02'

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function form(org) {
  return {
    unit_address: '江西省鹰潭市月湖区胜利西路 11 号',
    legal_name: '冯法人',
    legal_id_number: idNumber('36042619800101007'),
    legal_mobile: '13910070001',
    handler_name: '陈经办',
    handler_id_number: idNumber('36060219900202004'),
    handler_mobile: '13910070002',
    handler_email: 'jingban@example.com',
    invoice_title: org.name,
    invoice_tax_number: org.uscc,
    invoice_email: 'fapiao@example.com',
    recipient_name: '褚收件',
    recipient_mobile: '13910070003',
    recipient_address: '江西省鹰潭市月湖区胜利西路 11 号收发室',
    seal_name: org.name,
  }
}

// The Beijing calendar date of a moment.
const beijingDate = (d = new Date()) => new Date(d.getTime() + 8 * 3600 * 1000).toISOString().slice(0, 10)

async function sim(t, p, body) {
  const res = await fetch(`${t.simURL}${p}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  })
  assert.ok(res.ok, `simulator ${p}: HTTP ${res.status} ${await res.text().catch(() => '')}`)
}

// Registers ORG, creates a main-key order (¥220.00), marks it pre-reviewed in the database, starts
// a WeChat Pay attempt through the API and has the simulator pay it and notify the server.
// Returns { no, outTradeNo }.
async function paidOrder(t) {
  const api = apiClient(t)
  await api.register({ ...ORG, password: PASSWORD })
  assert.equal((await api.login(ORG.uscc, PASSWORD)).status, 200, 'login')
  const made = await api.call('POST', '/api/v1/orders', { project_code: 'yingtan', key_type: 'main', form: form(ORG) })
  assert.equal(made.status, 201, JSON.stringify(made.data))
  const no = made.data.order_no
  execFileSync('sqlite3', [t.dbPath, `UPDATE orders SET state='awaiting_payment' WHERE order_no='${no}'`])
  const started = await api.call('POST', `/api/v1/orders/${no}/payment`, { provider: 'wxpay' })
  assert.equal(started.status, 200, `start payment: ${JSON.stringify(started.data)}`)
  const outTradeNo = started.data.attempt.out_trade_no
  await sim(t, `/_sim/wxpay/orders/${encodeURIComponent(outTradeNo)}/pay`, { notify: true })
  for (let i = 0; ; i++) {
    const o = await api.call('GET', `/api/v1/orders/${no}`)
    if (o.data && o.data.state === 'awaiting_paper') break
    assert.ok(i < 100, `the order is paid (state ${o.data && o.data.state})`)
    await sleep(100)
  }
  return { no, outTradeNo }
}

function ledgerRow(page, no) {
  return page.locator('[data-test=ledger-table] .el-table__body tr.el-table__row', {
    has: page.locator('[data-test=ledger-order-no]', { hasText: no }),
  })
}

const yuan = (fen) => `¥${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`

export default [
  {
    name: 'ledger: finance matches the day in 缴费对账, exports CSV; a failed refund is sent again',
    timeoutMs: 120000,
    async fn(t) {
      const { page } = t
      await freshStart(t)
      const { no, outTradeNo } = await paidOrder(t)
      const today = beijingDate()

      try {
        // --- 缴费对账 ------------------------------------------------------------------------
        await staffLoginViaPage(t, 'finance')
        const entry = page.locator('[data-test="menu-/admin/payments"]')
        await t.waitForText(entry, '缴费对账')
        await entry.click()
        await page.waitForURL((u) => u.pathname === '/admin/payments')
        await t.waitForText(page.locator('[data-test=ledger-note]'), '对账单')
        assert.equal(await page.locator('[data-test=ledger-date] input').inputValue(), today, 'today (Beijing) by default')
        const row = ledgerRow(page, no)
        await row.waitFor()
        await t.waitForText(row, ORG.name)
        await t.waitForText(row.locator('[data-test=ledger-provider]'), '微信支付')
        await t.waitForText(row.locator('[data-test=ledger-out-trade-no]'), outTradeNo)
        assert.notEqual((await row.locator('[data-test=ledger-trade-no]').textContent()).trim(), '-', 'the platform trade number')
        assert.equal((await row.locator('[data-test=ledger-amount]').textContent()).trim(), '¥220.00')
        assert.equal((await row.locator('[data-test=ledger-credited]').textContent()).trim(), '入账')
        // the time of day; the whole date (Beijing time) in its title
        const paidAt = row.locator('[data-test=ledger-paid-at]')
        assert.match((await paidAt.textContent()).trim(), /^\d\d:\d\d$/)
        assert.match(await paidAt.getAttribute('title'), new RegExp(`^${today} \\d\\d:\\d\\d（北京时间）$`))
        // the totals are the server's (other tests may have paid today too)
        const fin = await staffClient(t, 'finance')
        const api = await fin.call('GET', `/api/v1/admin/payments?date=${today}`)
        assert.equal(api.status, 200, JSON.stringify(api.data))
        const wx = api.data.totals.wxpay
        assert.ok(wx.count >= 1 && wx.amount_fen >= 22000, `wxpay totals ${JSON.stringify(wx)}`)
        const box = page.locator('[data-test=ledger-total-wxpay]')
        assert.equal((await box.locator('[data-test=total-count]').textContent()).trim(), String(wx.count))
        assert.equal((await box.locator('[data-test=total-amount]').textContent()).trim(), yuan(wx.amount_fen))
        assert.equal((await box.locator('[data-test=total-refunded]').textContent()).trim(), yuan(wx.refunded_fen))
        assert.equal((await box.locator('[data-test=total-net]').textContent()).trim(), yuan(wx.amount_fen - wx.refunded_fen))
        const al = api.data.totals.alipay
        const all = page.locator('[data-test=ledger-total-all]')
        assert.equal((await all.locator('[data-test=total-count]').textContent()).trim(), String(wx.count + al.count))
        assert.equal((await all.locator('[data-test=total-amount]').textContent()).trim(), yuan(wx.amount_fen + al.amount_fen))
        assert.equal(await page.locator('[data-test=ledger-table] .el-table__body tr.el-table__row').count(), api.data.items.length)
        await page.waitForLoadState('networkidle')
        await t.screenshot('ledger-day')
        await phoneScreenshot(t, 'ledger-day-phone-width')

        // the CSV
        const [download] = await Promise.all([
          page.waitForEvent('download'),
          page.locator('[data-test=ledger-export]').click(),
        ])
        assert.equal(download.suggestedFilename(), `payments-${today}.csv`)
        const file = path.join(t.artifacts, `ledger-payments-${today}.csv`)
        await download.saveAs(file)
        const bytes = fs.readFileSync(file)
        assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 BOM')
        const csv = bytes.toString('utf8')
        const line = csv.split('\r\n').find((l) => l.includes(no))
        assert.ok(line, `the order in the CSV:\n${csv}`)
        assert.ok(line.includes('"220.00"'), `the amount in yuan: ${line}`)
        assert.ok(line.includes(outTradeNo) && line.includes('微信支付'), line)

        // a day without payments (from the address), then back to today with 回到今天
        await page.goto(t.url(`/admin/payments?date=${EMPTY_DAY}`), { waitUntil: 'domcontentloaded' })
        await t.waitForText(page.locator('[data-test=ledger-empty]'), `${EMPTY_DAY} 没有付款成功的缴费`)
        assert.equal(await page.locator('[data-test=ledger-date] input').inputValue(), EMPTY_DAY)
        assert.equal((await page.locator('[data-test=ledger-total-all] [data-test=total-count]').textContent()).trim(), '0')
        await page.waitForLoadState('networkidle')
        await t.screenshot('ledger-empty')
        await page.locator('[data-test=ledger-today]').click()
        await page.waitForURL((u) => u.searchParams.get('date') === today)
        await ledgerRow(page, no).waitFor()
        await expectNoPageErrors(t)

        // --- a refund the provider refuses, sent again -----------------------------------------
        await sim(t, '/_sim/wxpay/refund-mode', { mode: 'abnormal' })
        await ledgerRow(page, no).locator('[data-test=ledger-order-no]').click()
        await page.waitForURL((u) => u.pathname === `/admin/orders/${no}`)
        await page.locator('[data-test=cancel-order]').click()
        const dialog = page.locator('[data-test=cancel-dialog]')
        await dialog.locator('textarea[name=reason]').fill(CANCEL_REASON)
        await dialog.locator('[data-test=cancel-submit]').click()
        await dialog.waitFor({ state: 'hidden' })
        const failed = page.locator('[data-test=refund-failed]')
        await t.waitForText(failed, '退款失败', 15000)
        await t.waitForText(failed.locator('[data-test=refund-failed-error]'), 'ABNORMAL')
        await t.waitForText(page.locator('[data-test=payment-refund]'), '退款失败')
        await t.waitForText(failed, '付款人的银行卡可能已注销或冻结')
        await t.waitForText(page.locator('[data-test=order-state]'), '退款中')
        await page.waitForLoadState('networkidle')
        await t.screenshot('ledger-refund-failed')
        await failed.screenshot({ path: path.join(t.artifacts, 'ledger-refund-failed-part.png'), animations: 'disabled' })

        // the ledger says so too
        const again = await fin.call('GET', `/api/v1/admin/payments?date=${today}`)
        const mine = again.data.items.find((i) => i.order_no === no)
        assert.equal(mine.refund && mine.refund.state, 'failed', JSON.stringify(mine))

        // and the dashboard points at it
        await page.goto(t.url('/admin'), { waitUntil: 'domcontentloaded' })
        await t.waitForText(page.locator('[data-test=alert-refunds]'), '1 笔退款被支付平台拒绝')
        await t.screenshot('ledger-dashboard-alert')
        await page.goto(t.url(`/admin/orders/${no}`), { waitUntil: 'domcontentloaded' })
        await page.locator('[data-test=refund-retry]').waitFor()

        await sim(t, '/_sim/wxpay/refund-mode', { mode: 'success' })
        await page.locator('[data-test=refund-retry]').click()
        const confirm = page.locator('.el-message-box')
        await t.waitForText(confirm, '重新提交退款')
        await t.waitForText(confirm, '¥220.00')
        await t.screenshot('ledger-refund-retry-confirm')
        await confirm.getByRole('button', { name: '重新退款' }).click()
        await t.waitForText(page.locator('[data-test=order-state]'), '已退款', 15000)
        await t.waitForText(page.locator('[data-test=payment-refund]'), '已退款')
        assert.equal(await page.locator('[data-test=refund-failed]').count(), 0, 'no failed refund any more')
        assert.equal(await page.locator('[data-test=refund-retry]').count(), 0, 'no 重新退款 any more')
        await page.waitForLoadState('networkidle')
        await t.screenshot('ledger-refund-retried')

        // back in 缴费对账: the refund and the totals
        await page.goto(t.url('/admin/payments'), { waitUntil: 'domcontentloaded' })
        const r2 = ledgerRow(page, no)
        await t.waitForText(r2.locator('[data-test=ledger-refund]'), '已退款')
        const after = (await fin.call('GET', `/api/v1/admin/payments?date=${today}`)).data.totals.wxpay
        assert.ok(after.refunded_fen >= 22000, JSON.stringify(after))
        await t.waitForText(page.locator('[data-test=ledger-total-wxpay] [data-test=total-refunded]'), yuan(after.refunded_fen))
        await page.waitForLoadState('networkidle')
        await t.screenshot('ledger-day-refunded')
        await expectNoPageErrors(t)
      } finally {
        await sim(t, '/_sim/wxpay/refund-mode', { mode: 'success' }).catch(() => {})
      }

      // --- a reviewer: no 缴费对账 ----------------------------------------------------------------
      await freshStart(t)
      await staffLoginViaPage(t, 'reviewer')
      await page.locator('[data-test="menu-/admin/orders"]').waitFor()
      assert.equal(await page.locator('[data-test="menu-/admin/payments"]').count(), 0, 'no 缴费对账 for a reviewer')
      await page.goto(t.url('/admin/payments'), { waitUntil: 'domcontentloaded' })
      await page.waitForURL((u) => u.pathname === '/admin')
      const denied = await (await staffClient(t, 'reviewer')).call('GET', `/api/v1/admin/payments?date=${today}`)
      assert.equal(denied.status, 403, 'the API refuses a reviewer')
      await expectNoPageErrors(t)
    },
  },
]
