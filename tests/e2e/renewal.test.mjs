// Online renewal /renew (issue 15) in the browser, as the seed's part 2 lists it. A secondary-key order
// (SM2, dual certificates) is first produced onto a software SKF key on the producer's page (the
// harness's certdesk-agent); then, with no account, the holder opens 证书更新 from the header:
// 我知道了 → 环境检测 (agent, driver, one key, its certificate) → 证书确认 (outside the renewal window
// first: the reason; the window opened in the database: renewable) → 更新 with a wrong PIN (the
// retries left) and the right one → 年限与发票 (a bad tax number refused on the page) → 确认订单 →
// 确认并支付, paid on the simulator's phone page → 下载证书到USBKEY → 证书更新成功 with the new
// validity, which `certdesk-agent list --json` shows on the key. Reloaded after paying, the wizard
// resumes at the download; the key pulled out while written stops with 重试, and plugged in again the
// download resumes with one issuance. Screenshots of every step.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import {
  apiClient,
  expectNoPageErrors,
  freshStart,
  idNumber,
  payOnPhone,
  staffLoginViaPage,
  useAgentPort,
  uscc,
} from './helpers.mjs'

const PASSWORD = 'Abcd-1234'
const ORG = {
  uscc: uscc('91360600MA35Y0805'),
  name: '鹰潭市在线更新测试有限公司',
  mobile: '13800008005',
}
const KEY = { name: 'E2ERENEW1', serial: 'E2ERENEW0001' }

function form(org) {
  return {
    unit_address: '江西省鹰潭市月湖区胜利西路 9 号',
    legal_name: '周法人',
    legal_id_number: idNumber('36042619800101009'),
    legal_mobile: '13910080061',
    handler_name: '吴经办',
    handler_id_number: idNumber('36060219900202009'),
    handler_mobile: '13910080062',
    handler_email: 'jingban@example.com',
    invoice_title: org.name,
    invoice_tax_number: org.uscc,
    invoice_email: 'fapiao@example.com',
    recipient_name: '郑收件',
    recipient_mobile: '13910080063',
    recipient_address: '江西省鹰潭市月湖区胜利西路 9 号收发室',
    seal_name: org.name,
  }
}

// An el-input's native input (Element Plus puts data-test on it, or on its wrapper)
const input = (page, name) => page.locator(`input[data-test=${name}], [data-test=${name}] input`).first()

const sql = (t, q) => execFileSync('sqlite3', [t.dbPath, q], { encoding: 'utf8' }).trim()

const settle = async (t) => {
  await t.page.waitForLoadState('networkidle')
  await t.page
    .locator('.el-loading-mask')
    .first()
    .waitFor({ state: 'hidden' })
    .catch(() => {})
}

// The order produced onto the software key on the producer's page; returns the key's user PIN
// (from certdeskd's reply to 开始制证) and the signing certificate as listed on the key.
async function producedKey(t) {
  const { page } = t
  const api = apiClient(t)
  await api.register({ ...ORG, password: PASSWORD })
  assert.equal((await api.login(ORG.uscc, PASSWORD)).status, 200, 'login')
  const made = await api.call('POST', '/api/v1/orders', {
    project_code: 'yingtan',
    key_type: 'secondary',
    form: form(ORG),
  })
  assert.equal(made.status, 201, JSON.stringify(made.data))
  const no = made.data.order_no
  sql(t, `UPDATE orders SET state='producing' WHERE order_no='${no}'`)
  t.agent.tool('create', t.agent.dir, KEY.name, '--serial', KEY.serial, '--label', 'blank')
  await staffLoginViaPage(t, 'producer')
  await page.goto(t.url(`/admin/production/${no}`), {
    waitUntil: 'domcontentloaded',
  })
  await useAgentPort(t)
  await t.waitForText(page.locator('[data-test=key-table]'), KEY.serial)
  const started = page.waitForResponse(
    (r) => r.url().endsWith(`/orders/${no}/production`) && r.request().method() === 'POST' && r.ok(),
  )
  await page.locator('[data-test=production-start]').click()
  const pin = (await (await started).json()).user_pin
  await page.locator('[data-test=production-done]').waitFor({ timeout: 120000 })
  const sign = t.agent
    .list()
    .keys.find((k) => k.serial === KEY.serial)
    .certificates.find((c) => c.usage === 'sign')
  assert.ok(pin && sign, 'a PIN and a signing certificate')
  return { no, pin, sign }
}

export default [
  {
    name: 'renewal: the /renew wizard step by step renews a produced SM2 key (window, wrong PIN, invoice check, QR payment on the phone, download to the key)',
    timeoutMs: 300000,
    async fn(t) {
      assert.ok(t.agent, 'certdesk-agent and the software SKF key are built (the harness starts them)')
      const { page } = t
      await page.setViewportSize({ width: 1366, height: 900 })
      await freshStart(t)
      try {
        const { pin, sign } = await producedKey(t)

        // The holder, no account: the page finds the harness's agent (its port as the page keeps it).
        await freshStart(t)
        await page.addInitScript((port) => localStorage.setItem('certdesk.agentPort', String(port)), t.agent.port)
        await page.goto(t.url('/'), { waitUntil: 'domcontentloaded' })
        await page.locator('[data-test=nav-renew]').click()
        await page.waitForURL((u) => u.pathname === '/renew')

        // 1. 须知
        const notice = page.locator('[data-test=renew-notice]')
        await t.waitForText(notice, '其他省份')
        await t.waitForText(notice, '切勿拔插')
        await settle(t)
        await t.screenshot('renewal-1-notice')
        await page.locator('[data-test=renew-notice-ok]').click()

        // 2. 环境检测
        await page.locator('[data-test=env-table]').waitFor()
        await t.waitForText(page.locator('[data-test=env-keys]'), KEY.serial)
        await page.locator('[data-test=env-cert-ok]').waitFor()
        await settle(t)
        await t.screenshot('renewal-2-environment')
        await page.locator('[data-test=env-next]').click()

        // 3. 证书确认: a fresh certificate is outside the renewal window
        const certStep = page.locator('[data-test=renew-cert]')
        await t.waitForText(page.locator('[data-test=cert-serial]'), sign.serial)
        const refused = page.locator('[data-test=renew-refused]')
        await t.waitForText(refused, '尚未进入更新期')
        await t.waitForText(refused, '重新申请')
        assert.ok(await page.locator('[data-test=renew-update]').isDisabled(), 'no 更新 outside the window')
        await settle(t)
        await t.screenshot('renewal-3-outside-window')
        // the project's window made wide enough for a certificate valid for years
        sql(t, "UPDATE projects SET renewal_window_before_days = 4000 WHERE code = 'yingtan'")
        await refused.getByRole('button', { name: '重新查询' }).click()
        await page.locator('[data-test=renew-ok]').waitFor()
        await t.waitForText(certStep, ORG.name)
        await t.waitForText(page.locator('[data-test=cert-uscc]'), ORG.uscc)
        await settle(t)
        await t.screenshot('renewal-3-certificate')

        // 更新 → a wrong PIN: the retries left; then the right one
        await page.locator('[data-test=renew-update]').click()
        const dialog = page.locator('[data-test=pin-dialog]')
        await input(page, 'pin-input').fill('00000000')
        await page.locator('[data-test=pin-ok]').click()
        await t.waitForText(page.locator('[data-test=pin-error]'), '还可尝试')
        await settle(t)
        await t.screenshot('renewal-3-wrong-pin')
        await input(page, 'pin-input').fill(pin)
        await page.locator('[data-test=pin-ok]').click()
        await dialog.waitFor({ state: 'hidden' })

        // 4. 年限与发票: a bad tax number is refused on the page
        const invoice = page.locator('[data-test=renew-invoice]')
        await invoice.waitFor()
        await page.locator('[data-test=renew-years-2]').click()
        await t.waitForText(page.locator('[data-test=renew-amount]'), '380.00')
        await input(page, 'invoice-handler').fill('吴经办')
        await input(page, 'invoice-tax').fill('91360600MA35Y08051')
        await input(page, 'invoice-phone').fill('13800008006')
        await input(page, 'invoice-email').fill('fapiao@example.com')
        await page.locator('[data-test=renew-submit]').click()
        await t.waitForText(invoice, '纳税识别号不正确')
        await settle(t)
        await t.screenshot('renewal-4-invoice-bad-tax-number')
        await input(page, 'invoice-tax').fill(ORG.uscc)
        await settle(t)
        await t.screenshot('renewal-4-invoice')
        await page.locator('[data-test=renew-submit]').click()

        // 5. 确认订单 → 确认并支付 → 微信支付, paid on the phone
        const order = page.locator('[data-test=renew-order]')
        await order.waitFor()
        await t.waitForText(page.locator('[data-test=order-amount]'), '380.00')
        const renewalNo = (await page.locator('[data-test=order-no]').textContent()).trim()
        await settle(t)
        await t.screenshot('renewal-5-order')
        await page.locator('[data-test=renew-pay]').click()
        const paying = page.waitForResponse(
          (r) => r.url().endsWith(`/renewals/${renewalNo}/payments`) && r.request().method() === 'POST' && r.ok(),
        )
        await page.locator('[data-test=pay-wxpay]').click()
        const qr = (await (await paying).json()).attempt.qr_code
        assert.ok(qr.includes('/wxpay/scan/'), `the simulator's scan page: ${qr}`)
        await page.locator('[data-test=pay-panel]').waitFor()
        await settle(t)
        await t.screenshot('renewal-5-payment')
        await payOnPhone(t, qr, '确认支付', 'renewal-wxpay')

        // 6. 下载证书到USBKEY
        const write = page.locator('[data-test=renew-write]')
        await write.waitFor({ timeout: 30000 })
        await t.waitForText(page.locator('[data-test=renew-unplug-warning]'), '切勿拔插')
        await settle(t)
        await t.screenshot('renewal-6-download')

        // The key pulled out while the new certificate is written: the run stops with 重试, the
        // renewal stays unfinished and the old certificate keeps working.
        t.agent.tool('remove-after', t.agent.dir, KEY.name, '0')
        await page.locator('[data-test=renew-download]').click()
        const failed = page.locator('[data-test=renew-write-error]')
        await t.waitForText(failed, '拔出', 60000)
        await t.waitForText(page.locator('[data-test=renew-download]'), '重试')
        assert.notEqual(sql(t, `SELECT state FROM orders WHERE order_no='${renewalNo}'`), 'completed')
        await settle(t)
        await t.screenshot('renewal-6-key-pulled')

        // Plugged in again and the browser reopened: the same key on a fresh /renew goes straight to
        // the download (the challenge names the paid renewal, the token kept in sessionStorage); the
        // PIN is asked for the writing.
        t.agent.tool('insert', t.agent.dir, KEY.name)
        await page.reload({ waitUntil: 'domcontentloaded' })
        await page.locator('[data-test=renew-notice-ok]').click()
        await page.locator('[data-test=env-cert-ok]').waitFor()
        await page.locator('[data-test=env-next]').click()
        await write.waitFor({ timeout: 30000 })
        await settle(t)
        await t.screenshot('renewal-6-resumed')
        await page.locator('[data-test=renew-download]').click()
        await input(page, 'pin-input').fill(pin)
        await page.locator('[data-test=pin-ok]').click()

        // 7. 证书更新成功 with the new validity read back from the key
        const done = page.locator('[data-test=renew-done]')
        await done.waitFor({ timeout: 120000 })
        await t.waitForText(done, '证书更新成功')
        await settle(t)
        await t.screenshot('renewal-7-done')
        const shown = (await page.locator('[data-test=done-validity-sign]').textContent()).trim()

        // the key, as the seed's user tool shows it: the renewed certificate with the later expiry
        const now = t.agent.list().keys.find((k) => k.serial === KEY.serial)
        const renewed = now.certificates.find((c) => c.usage === 'sign' && c.serial !== sign.serial)
        assert.ok(
          renewed,
          `a new signing certificate on the key: ${JSON.stringify(now.certificates.map((c) => c.serial))}`,
        )
        assert.ok(
          Date.parse(renewed.not_after) > Date.parse(sign.not_after),
          `${renewed.not_after} after ${sign.not_after}`,
        )
        const beijing = new Date(Date.parse(renewed.not_after) + 8 * 3600 * 1000).toISOString().slice(0, 10)
        assert.ok(shown.includes(beijing), `the page shows the key's new expiry ${beijing}: ${shown}`)
        assert.equal(sql(t, `SELECT state FROM orders WHERE order_no='${renewalNo}'`), 'completed')
        const issued = sql(
          t,
          `SELECT COUNT(*) FROM certificates WHERE order_id = (SELECT id FROM orders WHERE order_no='${renewalNo}')`,
        )
        assert.equal(issued, '1', 'one issuance despite the pulled key')
        await expectNoPageErrors(t)
      } finally {
        try {
          t.agent.tool('remove', t.agent.dir, KEY.name)
        } catch {
          /* never created or already out */
        }
      }
    },
  },
]
