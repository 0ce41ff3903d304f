// Payment (缴费): an order is put in 'awaiting_payment' in the database (pre-review passed); the
// organisation's order page shows the amount and 微信支付 / 支付宝, a QR code with its countdown;
// the QR code's text (the simulator's scan page, as a phone would open it) is opened in a phone
// browser and paid there; the order page notices (polling), shows 支付成功 and the next step
// (mailing the paper documents). Finance sees the payment as 入账 on the staff order page.
//   wxpay: a provider failure first (502, the server's message, 重试), the QR code matches the
//          decoded PNG, paid on the simulated WeChat Pay page.
//   alipay: a WeChat Pay QR code runs out (二维码已过期), the organisation switches to 支付宝 and
//          pays; finance sees both attempts and cancels the order with a refund.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  apiClient,
  expectNoPageErrors,
  freshStart,
  idNumber,
  loginViaPage,
  openPhone,
  payOnPhone,
  phoneScreenshot,
  staffLoginViaPage,
  uscc,
} from './helpers.mjs'

const PASSWORD = 'Abcd-1234'
const ORG_W = { uscc: uscc('91360600MA35Y0501'), name: '鹰潭市微信缴费测试有限公司', mobile: '13800005001' }
const ORG_A = { uscc: uscc('91360600MA35Y0502'), name: '鹰潭市支付宝缴费测试有限公司', mobile: '13800005002' }
const CANCEL_REASON = '申请单位来电要求取消办理'

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function form(org, n) {
  return {
    unit_address: '江西省鹰潭市月湖区胜利西路 10 号',
    legal_name: '周法人',
    legal_id_number: idNumber('36042619800101007'),
    legal_mobile: `139100${n}0001`,
    handler_name: '吴经办',
    handler_id_number: idNumber('36060219900202004'),
    handler_mobile: `139100${n}0002`,
    handler_email: 'jingban@example.com',
    invoice_title: org.name,
    invoice_tax_number: org.uscc,
    invoice_email: 'fapiao@example.com',
    recipient_name: '郑收件',
    recipient_mobile: `139100${n}0003`,
    recipient_address: '江西省鹰潭市月湖区胜利西路 10 号收发室',
    seal_name: org.name,
  }
}

// Registers org, creates an order of keyType and moves it to awaiting_payment in the database
// (the pre-review is the back-office test's business). Returns the order number.
async function orderAwaitingPayment(t, org, keyType, n) {
  const api = apiClient(t)
  await api.register({ ...org, password: PASSWORD })
  assert.equal((await api.login(org.uscc, PASSWORD)).status, 200, 'login')
  const made = await api.call('POST', '/api/v1/orders', { project_code: 'yingtan', key_type: keyType, form: form(org, n) })
  assert.equal(made.status, 201, JSON.stringify(made.data))
  const no = made.data.order_no
  execFileSync('sqlite3', [t.dbPath, `UPDATE orders SET state='awaiting_payment' WHERE order_no='${no}'`])
  return no
}

// GET .../payment with the page's session (what the page itself polls).
async function paymentOf(page, no) {
  return page.evaluate(async (p) => {
    const r = await fetch(p, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    return { status: r.status, data: await r.json() }
  }, `/api/v1/orders/${encodeURIComponent(no)}/payment`)
}

// Waits for the QR image to have loaded (a real PNG, not a broken image).
async function waitQRLoaded(page) {
  const img = page.locator('[data-test=pay-qr]')
  await img.waitFor()
  await page.waitForFunction(() => {
    const el = document.querySelector('[data-test=pay-qr]')
    return !!el && el.complete && el.naturalWidth > 0
  }, null, { timeout: 10000 })
  return img.getAttribute('src')
}

async function countdownSeconds(page) {
  const text = (await page.locator('[data-test=pay-countdown]').textContent()).trim()
  const m = /^(\d\d):(\d\d)$/.exec(text)
  assert.ok(m, `countdown mm:ss, got ${JSON.stringify(text)}`)
  return Number(m[1]) * 60 + Number(m[2])
}

// After the phone paid: 支付成功 and the next step (mailing the paper documents) within ~10 s.
async function expectPaid(t, amountText) {
  const { page } = t
  await t.waitForText(page.locator('[data-test=payment-success]'), '支付成功', 12000)
  await t.waitForText(page.locator('[data-test=payment-success]'), amountText)
  await t.waitForText(page.locator('[data-test=order-state]'), '已付款，请邮寄纸质资料')
  await t.waitForText(page.locator('[data-test=paper-card]'), '请将以下纸质资料邮寄给我们')
  await page.locator('[data-test=courier-form]').waitFor()
  assert.equal(await page.locator('[data-test=payment-card]').count(), 0, 'the payment card is gone')
}

// A picture of one part of the page (the payment card, the payments table) for a closer look.
async function partShot(t, locator, name) {
  await locator.screenshot({ path: path.join(t.artifacts, `${name}.png`), animations: 'disabled' })
}

// The staff order page's row of the attempt out_trade_no.
function paymentRow(page, outTradeNo) {
  return page.locator('[data-test=payments-table] .el-table__body tr.el-table__row', {
    has: page.locator('[data-test=payment-out-trade-no]', { hasText: outTradeNo }),
  })
}

export default [
  {
    name: 'payments: WeChat Pay QR code (after a provider failure), paid on the phone; finance sees 入账',
    timeoutMs: 120000,
    async fn(t) {
      const { page } = t
      await freshStart(t)
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certdesk-e2e-payments-'))
      try {
        const no = await orderAwaitingPayment(t, ORG_W, 'main', 6)

        await loginViaPage(t, ORG_W.uscc, PASSWORD)
        await page.goto(t.url(`/orders/${no}`), { waitUntil: 'domcontentloaded' })
        const card = page.locator('[data-test=payment-card]')
        await t.waitForText(card, '缴费')
        await t.waitForText(page.locator('[data-test=pay-amount]'), '¥220.00')
        await page.locator('[data-test=pay-wxpay]').waitFor()
        await t.waitForText(page.locator('[data-test=pay-alipay]'), '支付宝')
        // the troubleshooting advice, folded
        const help = page.locator('[data-test=pay-help]')
        assert.equal(await help.getAttribute('open'), null, 'advice folded at first')
        await help.locator('summary', { hasText: '无法显示二维码？' }).click()
        await t.waitForText(help, '360 浏览器极速模式')
        await t.waitForText(help, '刷新页面')
        await page.waitForLoadState('networkidle')
        await card.scrollIntoViewIfNeeded()
        await t.screenshot('payments-choose')
        await partShot(t, card, 'payments-choose-card')
        await help.locator('summary').click()

        // WeChat Pay fails once: the server's message and 重试
        const armed = await fetch(`${t.simURL}/_sim/wxpay/fail-next`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ status: 500, code: 'SYSTEM_ERROR' }),
        })
        assert.ok(armed.ok, `arm the WeChat Pay failure: HTTP ${armed.status}`)
        await page.locator('[data-test=pay-wxpay]').click()
        await t.waitForText(page.locator('[data-test=pay-error]'), '支付平台暂时无法生成付款二维码')
        assert.equal(await page.locator('[data-test=pay-wxpay]').getAttribute('aria-pressed'), 'true')
        await t.screenshot('payments-wxpay-error')
        await partShot(t, card, 'payments-wxpay-error-card')
        await page.locator('[data-test=pay-retry]').click()

        // the QR code, its instruction and countdown
        const src = await waitQRLoaded(page)
        await t.waitForText(page.locator('[data-test=pay-instruction]'), '请使用微信扫描二维码付款')
        const left = await countdownSeconds(page)
        assert.ok(left > 25 * 60 && left <= 30 * 60, `about 30 minutes left, got ${left} s`)
        const pay = await paymentOf(page, no)
        assert.equal(pay.status, 200, JSON.stringify(pay.data))
        const a = pay.data.attempt
        assert.equal(pay.data.order_state, 'awaiting_payment')
        assert.equal(pay.data.amount_fen, 22000)
        assert.equal(a.provider, 'wxpay')
        assert.equal(a.state, 'open')
        assert.ok(src.includes(encodeURIComponent(a.out_trade_no)), `the image URL names the attempt: ${src}`)
        assert.ok(a.qr_code.includes('/wxpay/scan/'), `the simulator's scan page: ${a.qr_code}`)
        // the PNG the page shows holds that text
        const b64 = await page.evaluate(async (s) => {
          const r = await fetch(s, { credentials: 'same-origin' })
          const bytes = new Uint8Array(await r.arrayBuffer())
          let bin = ''
          for (const x of bytes) bin += String.fromCharCode(x)
          return btoa(bin)
        }, src)
        const png = path.join(dir, 'qr.png')
        fs.writeFileSync(png, Buffer.from(b64, 'base64'))
        const decoded = execFileSync('zbarimg', ['-q', '--raw', png], { encoding: 'utf8' }).trim()
        assert.equal(decoded, a.qr_code, 'the QR image decodes to qr_code')
        await page.waitForLoadState('networkidle')
        await t.screenshot('payments-wxpay-qr')
        await partShot(t, card, 'payments-wxpay-qr-card')
        await phoneScreenshot(t, 'payments-wxpay-qr-phone-width')
        for (let i = 0; (await countdownSeconds(page)) >= left; i++) {
          assert.ok(i < 30, 'the countdown runs')
          await sleep(100)
        }

        // the phone scans and pays; the page notices
        await payOnPhone(t, a.qr_code, '确认支付', 'payments-wxpay')
        await expectPaid(t, '¥220.00')
        await t.waitForText(page.locator('[data-test=payment-success]'), '微信支付')
        await page.waitForLoadState('networkidle')
        await t.screenshot('payments-wxpay-paid')
        await expectNoPageErrors(t)

        // finance: the payment, credited
        await freshStart(t)
        await staffLoginViaPage(t, 'finance')
        await page.goto(t.url(`/admin/orders/${no}`), { waitUntil: 'domcontentloaded' })
        const table = page.locator('[data-test=admin-payments]')
        await t.waitForText(table, '缴费记录')
        const row = paymentRow(page, a.out_trade_no)
        await row.waitFor()
        await t.waitForText(row, '微信支付')
        await t.waitForText(row.locator('[data-test=payment-credited]'), '入账')
        assert.equal((await row.locator('[data-test=payment-credited]').textContent()).trim(), '入账')
        await t.waitForText(row.locator('[data-test=payment-state]'), '已支付')
        await t.waitForText(row, '¥220.00')
        assert.notEqual((await row.locator('[data-test=payment-trade-no]').textContent()).trim(), '-', 'the provider trade number')
        assert.notEqual((await row.locator('[data-test=payment-paid-at]').textContent()).trim(), '-', 'paid at')
        assert.ok(Number(await row.locator('[data-test=payment-events-count]').textContent()) >= 1, 'at least one report')
        await page.locator('[data-test=cancel-order]').waitFor()
        // the reports, unfolded
        await row.locator('.el-table__expand-icon').click()
        await t.waitForText(page.locator(`[data-test="payment-events-${a.out_trade_no}"]`), '已入账')
        await page.waitForLoadState('networkidle')
        await t.screenshot('payments-admin-wxpay')
        await partShot(t, table, 'payments-admin-wxpay-table')
        await expectNoPageErrors(t)
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    },
  },
  {
    name: 'payments: an expired QR code, switch to Alipay and pay; finance cancels and refunds',
    timeoutMs: 120000,
    async fn(t) {
      const { page } = t
      await freshStart(t)
      const no = await orderAwaitingPayment(t, ORG_A, 'secondary', 7)

      await loginViaPage(t, ORG_A.uscc, PASSWORD)
      await page.goto(t.url(`/orders/${no}`), { waitUntil: 'domcontentloaded' })
      await t.waitForText(page.locator('[data-test=pay-amount]'), '¥190.00')

      // a WeChat Pay QR code that runs out: its expiry brought forward in the database
      await page.locator('[data-test=pay-wxpay]').click()
      await waitQRLoaded(page)
      const first = (await paymentOf(page, no)).data.attempt
      assert.equal(first.provider, 'wxpay')
      const soon = new Date(Date.now() + 8000).toISOString().replace(/\.\d+Z$/, 'Z')
      execFileSync('sqlite3', [t.dbPath, `UPDATE payments SET expires_at='${soon}' WHERE out_trade_no='${first.out_trade_no}'`])
      await page.reload({ waitUntil: 'domcontentloaded' })
      await waitQRLoaded(page)
      assert.ok((await countdownSeconds(page)) <= 9, 'a few seconds left')
      await t.waitForText(page.locator('[data-test=pay-expired]'), '二维码已过期', 12000)
      await page.locator('[data-test=pay-renew]').waitFor()
      assert.equal(await page.locator('[data-test=pay-qr]').count(), 0, 'no QR code once expired')
      await t.screenshot('payments-expired')
      await partShot(t, page.locator('[data-test=payment-card]'), 'payments-expired-card')

      // switch to Alipay: a new attempt, the other one closed
      await page.locator('[data-test=pay-alipay]').click()
      const src = await waitQRLoaded(page)
      await t.waitForText(page.locator('[data-test=pay-instruction]'), '请使用支付宝扫描二维码付款')
      assert.equal(await page.locator('[data-test=pay-alipay]').getAttribute('aria-pressed'), 'true')
      assert.equal(await page.locator('[data-test=pay-wxpay]').getAttribute('aria-pressed'), 'false')
      const a = (await paymentOf(page, no)).data.attempt
      assert.equal(a.provider, 'alipay')
      assert.notEqual(a.out_trade_no, first.out_trade_no)
      assert.ok(src.includes(encodeURIComponent(a.out_trade_no)), `a new image URL: ${src}`)
      assert.ok(a.qr_code.includes('/alipay/scan/'), `the simulator's scan page: ${a.qr_code}`)
      await page.waitForLoadState('networkidle')
      await t.screenshot('payments-alipay-qr')
      await partShot(t, page.locator('[data-test=payment-card]'), 'payments-alipay-qr-card')

      await payOnPhone(t, a.qr_code, '确认付款', 'payments-alipay')
      await expectPaid(t, '¥190.00')
      await t.waitForText(page.locator('[data-test=payment-success]'), '支付宝')
      await t.screenshot('payments-alipay-paid')
      await expectNoPageErrors(t)

      // finance: both attempts; cancel with a refund
      await freshStart(t)
      await staffLoginViaPage(t, 'finance')
      await page.goto(t.url(`/admin/orders/${no}`), { waitUntil: 'domcontentloaded' })
      const ali = paymentRow(page, a.out_trade_no)
      await ali.waitFor()
      await t.waitForText(ali, '支付宝')
      assert.equal((await ali.locator('[data-test=payment-credited]').textContent()).trim(), '入账')
      await t.waitForText(ali, '¥190.00')
      const wx = paymentRow(page, first.out_trade_no)
      await t.waitForText(wx, '微信支付')
      await t.waitForText(wx.locator('[data-test=payment-state]'), '已关闭')

      await page.locator('[data-test=cancel-order]').click()
      const dialog = page.locator('[data-test=cancel-dialog]')
      await t.waitForText(dialog, '原路退回')
      await dialog.locator('[data-test=cancel-submit]').click()
      await t.waitForText(dialog.locator('.el-form-item__error'), '请填写取消原因')
      await dialog.locator('textarea[name=reason]').fill(CANCEL_REASON)
      await dialog.locator('.el-form-item__error').waitFor({ state: 'detached' })
      await t.screenshot('payments-cancel-dialog')
      await dialog.locator('[data-test=cancel-submit]').click()
      await dialog.waitFor({ state: 'hidden' })
      await t.waitForText(page.locator('[data-test=order-state]'), '退款')
      await t.waitForText(ali.locator('[data-test=payment-refund]'), '已退款', 20000)
      await t.waitForText(page.locator('[data-test=order-state]'), '已退款', 10000)
      assert.equal(await page.locator('[data-test=cancel-order]').count(), 0, 'nothing more to cancel')
      await ali.locator('.el-table__expand-icon').click()
      await t.waitForText(page.locator(`[data-test="payment-events-${a.out_trade_no}"]`), CANCEL_REASON)
      await page.waitForLoadState('networkidle')
      await t.screenshot('payments-admin-refunded')
      await partShot(t, page.locator('[data-test=admin-payments]'), 'payments-admin-refunded-table')
      await expectNoPageErrors(t)
    },
  },
]
