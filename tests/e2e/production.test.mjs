// Production onto a USB key from the staff console (issue 13): the harness runs certdesk-agent with
// the software SKF key (t.agent); this test makes blank keys with certdesk-softskf-tool. An order in
// `producing`: the producer opens it from the production queue, the page first finds no agent (how
// to install/start it, 访问本地网络), then the harness's; it shows the blank key; 开始制证 runs the
// steps (SM2, dual certificates, the two electronic seals of a main key) until the key is pulled out while being written (the message,
// 重试); plugged in again, 重试 resumes to 完成 with one issuance. The order is `produced` (API),
// `certdesk-agent list --json` shows the signing and encryption certificates on the key, the PIN
// slip downloads. A second order: no key → 请插入; the written key → not blank; two keys → 请只插入一个;
// a key pulled out and replaced by another blank one: production restarts on the new key, the first
// one's certificates are revoked, and the first key, inserted again, is wiped with the SO PIN
// certdeskd returned (擦除).
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {
  apiClient,
  chooseSealPictures,
  expectNoPageErrors,
  freshStart,
  idNumber,
  staffClient,
  staffLoginViaPage,
  useAgentPort,
  uscc,
} from './helpers.mjs'

const PASSWORD = 'Abcd-1234'
const ORG = { uscc: uscc('91360600MA35Y0803'), name: '鹰潭市制证测试有限公司', mobile: '13800008003' }
const ORG2 = { uscc: uscc('91360600MA35Y0804'), name: '鹰潭市待制证测试有限公司', mobile: '13800008004' }
const KEY1 = { name: 'E2EKEY1', serial: 'E2EPROD0001' }
const KEY2 = { name: 'E2EKEY2', serial: 'E2EPROD0002' }
const KEY3 = { name: 'E2EKEY3', serial: 'E2EPROD0003' }
// The software key is pulled out during its (N+1)-th state-changing call: after the application,
// the container and the key pair, while the certificates and the encryption key are written.
const PULL_AFTER = 5

function form(org) {
  return {
    unit_address: '江西省鹰潭市月湖区胜利西路 8 号',
    legal_name: '钱法人',
    legal_id_number: idNumber('36042619800101008'),
    legal_mobile: '13910080001',
    handler_name: '孙经办',
    handler_id_number: idNumber('36060219900202008'),
    handler_mobile: '13910080002',
    handler_email: 'jingban@example.com',
    invoice_title: org.name,
    invoice_tax_number: org.uscc,
    invoice_email: 'fapiao@example.com',
    recipient_name: '李收件',
    recipient_mobile: '13910080003',
    recipient_address: '江西省鹰潭市月湖区胜利西路 8 号收发室',
    seal_name: org.name,
  }
}

// An organisation with a main-key order (SM2, dual certificates) put in 'producing' in the database.
async function producingOrder(t, org) {
  const api = apiClient(t)
  await api.register({ ...org, password: PASSWORD })
  assert.equal((await api.login(org.uscc, PASSWORD)).status, 200, 'login')
  const made = await api.call('POST', '/api/v1/orders', { project_code: 'yingtan', key_type: 'main', form: form(org) })
  assert.equal(made.status, 201, JSON.stringify(made.data))
  execFileSync('sqlite3', [t.dbPath, `UPDATE orders SET state='producing' WHERE order_no='${made.data.order_no}'`])
  // a main key carries the two electronic seals: their pictures are chosen before production
  await chooseSealPictures(t, await staffClient(t, 'producer'), made.data.order_no)
  return made.data.order_no
}

const settle = async (t) => {
  await t.page.waitForLoadState('networkidle')
  await t.page.locator('.el-loading-mask').first().waitFor({ state: 'hidden' }).catch(() => {})
}

export default [
  {
    name: 'production: the producer writes an SM2 dual-certificate key through certdesk-agent (pulled out, resumed); no key, a used key, two keys refused; a replaced key is wiped',
    timeoutMs: 300000,
    async fn(t) {
      assert.ok(t.agent, 'certdesk-agent and the software SKF key are built (the harness starts them)')
      const { page } = t
      const keys = t.agent
      await page.setViewportSize({ width: 1366, height: 800 })
      await freshStart(t)
      const no = await producingOrder(t, ORG)
      keys.tool('create', keys.dir, KEY1.name, '--serial', KEY1.serial, '--label', 'blank')
      try {
        await staffLoginViaPage(t, 'producer')
        // the queue's 制证 leads to the order's production page
        await page.locator('[data-test="menu-/admin/production"]').click()
        await page.waitForURL((u) => u.pathname === '/admin/production')
        await page.locator(`[data-test=produce-${no}]`).click()
        await page.waitForURL((u) => u.pathname === `/admin/production/${no}`)

        // Nothing on the default port (or not an agent for this site): how to get it going.
        await page.locator('[data-test=agent-port] input').fill('1')
        await page.getByRole('button', { name: '保存并检测' }).click()
        const missing = page.locator('[data-test=agent-missing]')
        await t.waitForText(missing, 'certdesk-agent serve')
        await t.waitForText(missing, '访问本地网络')
        await t.waitForText(missing, '允许')
        await settle(t)
        await t.screenshot('production-no-agent')

        await useAgentPort(t) // the harness's agent instead of the default 21088
        const table = page.locator('[data-test=key-table]')
        await t.waitForText(table, KEY1.serial)
        await t.waitForText(table, '空白')
        assert.equal(await page.locator('[data-test=key-problem]').count(), 0, 'the blank key is fine')
        await settle(t)
        await t.screenshot('production-key-blank')

        // Pulled out while being written (after issuance): the run stops with the message and 重试;
        // plugged in again, 重试 resumes on it.
        keys.tool('remove-after', keys.dir, KEY1.name, String(PULL_AFTER))
        await page.locator('[data-test=production-start]').click()
        const failed = page.locator('[data-test=production-error]')
        await t.waitForText(failed, '拔出', 60000)
        const stopped = await page.locator('[data-test=production-steps] [data-status=error]').getAttribute('data-test')
        assert.ok(['step-write_sign', 'step-enc_key', 'step-write_enc'].includes(stopped), `stopped at ${stopped}`)
        await settle(t)
        await t.screenshot('production-key-pulled')
        keys.tool('insert', keys.dir, KEY1.name)
        await page.locator('[data-test=keys-refresh]').click()
        await t.waitForText(page.locator('[data-test=key-resume]'), '不会重复签发')
        await t.waitForText(page.locator('[data-test=production-start]'), '继续制证')
        await settle(t)
        await t.screenshot('production-key-resume')
        await page.locator('[data-test=production-retry]').click()
        const done = page.locator('[data-test=production-done]')
        await done.waitFor({ timeout: 120000 })
        await t.waitForText(done, '制证完成')
        const signSerial = (await done.locator('[data-test=done-serial-sign]').textContent()).trim()
        const encSerial = (await done.locator('[data-test=done-serial-enc]').textContent()).trim()
        assert.match(signSerial, /^[0-9A-F]+$/)
        assert.match(encSerial, /^[0-9A-F]+$/)
        await t.waitForText(page.locator('[data-test=production-ship-hint]'), '待寄出')
        await t.waitForText(page.locator('[data-test=production-order-state]'), '待寄出')
        await settle(t)
        await t.screenshot('production-done')

        // the PIN slip for the parcel
        const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-test=pin-slip]').click()])
        assert.match(download.suggestedFilename(), /\.pdf$/)
        const pdf = path.join(t.artifacts, 'production-pin-slip.pdf')
        await download.saveAs(pdf)
        assert.equal(fs.readFileSync(pdf).subarray(0, 5).toString(), '%PDF-')

        // certdeskd: produced, the key written with the certificates the page showed, issued once.
        const staff = await staffClient(t, 'producer')
        const issued = await staff.call('GET', `/api/v1/admin/orders/${no}/certificates`)
        assert.deepEqual(
          issued.data.items.map((c) => [c.kind, c.serial]).sort(),
          [
            ['enc', encSerial],
            ['sign', signSerial],
          ],
          `one issuance: ${JSON.stringify(issued.data.items.map((c) => [c.kind, c.serial, c.status]))} vs ${signSerial} ${encSerial}`,
        )
        const order = await staff.call('GET', `/api/v1/admin/orders/${no}`)
        assert.equal(order.data.state, 'produced', JSON.stringify(order.data).slice(0, 300))
        assert.deepEqual(order.data.usb_key && [order.data.usb_key.serial, order.data.usb_key.state], [KEY1.serial, 'written'])
        // The key itself, as the seed's "user tool" lists it.
        const listed = keys.list().keys.find((k) => k.serial === KEY1.serial)
        assert.ok(listed, JSON.stringify(keys.list()))
        const bySerial = Object.fromEntries(listed.certificates.map((c) => [c.usage, c]))
        // (the agent prints the serial's bytes: a leading zero certdesk does not write)
        const hex = (c) => c && c.serial.toUpperCase().replace(/^0+(?=.)/, '')
        assert.equal(hex(bySerial.sign), signSerial)
        assert.equal(hex(bySerial.enc), encSerial)
        for (const c of [bySerial.sign, bySerial.enc]) {
          const der = Buffer.from(c.der, 'base64')
          const x = new crypto.X509Certificate(der)
          assert.ok(x.subject.includes(ORG.name), x.subject)
          const text = execFileSync('openssl', ['x509', '-inform', 'DER', '-noout', '-text'], { input: der, encoding: 'utf8' })
          assert.match(text, /SM2/, 'an SM2 key')
        }
        assert.ok(listed.certificates.every((c) => c.not_after && c.not_before), 'validity listed')
        // the main key's two electronic seals are on the key and recorded as written
        const onKey = keys.tool('show', keys.dir, KEY1.name)
        assert.ok(onKey.includes('CDSEAL_ORG.esl') && onKey.includes('CDSEAL_LEGAL.esl'), onKey.slice(0, 500))
        const seals = await staff.call('GET', `/api/v1/admin/orders/${no}/seals`)
        assert.deepEqual(seals.data.seals.map((x) => [x.type, x.state]).sort(), [
          ['legal', 'written'],
          ['org', 'written'],
        ])

        // A second order: the written key pulled out, nothing inserted → 请插入.
        const no2 = await producingOrder(t, ORG2)
        keys.tool('remove', keys.dir, KEY1.name)
        await page.goto(t.url(`/admin/production/${no2}`), { waitUntil: 'domcontentloaded' })
        await page.locator('[data-test=agent-ok]').waitFor()
        const problem = page.locator('[data-test=key-problem]')
        await t.waitForText(problem, '请插入空白 USB Key')
        assert.ok(await page.locator('[data-test=production-start]').isDisabled(), 'nothing to start without a key')
        await settle(t)
        await t.screenshot('production-no-key')

        // The first order's key again: it is not blank.
        keys.tool('insert', keys.dir, KEY1.name)
        await page.locator('[data-test=keys-refresh]').click()
        await t.waitForText(problem, '不是空白')
        assert.ok(await page.locator('[data-test=production-start]').isDisabled(), 'a used key is not produced onto')
        await settle(t)
        await t.screenshot('production-not-blank')

        // Two keys: only one, please.
        keys.tool('create', keys.dir, KEY2.name, '--serial', KEY2.serial)
        await page.locator('[data-test=keys-refresh]').click()
        await t.waitForText(problem, '请只插入一个')
        await settle(t)
        await t.screenshot('production-two-keys')
        assert.equal((await staff.call('GET', `/api/v1/admin/orders/${no2}`)).data.state, 'producing', 'nothing happened')

        // The blank one alone, pulled out while being written; another blank key instead: production
        // starts over on it (the first key abandoned, its certificates revoked).
        keys.tool('remove', keys.dir, KEY1.name)
        keys.tool('remove-after', keys.dir, KEY2.name, String(PULL_AFTER))
        await page.locator('[data-test=keys-refresh]').click()
        await t.waitForText(table, KEY2.serial)
        await page.locator('[data-test=key-problem]').waitFor({ state: 'detached' })
        await page.locator('[data-test=production-start]').click()
        await t.waitForText(page.locator('[data-test=production-error]'), '拔出', 60000)
        await t.waitForText(problem, `请插入本订单制证中的 Key（序列号 ${KEY2.serial}）`)
        const abandoned = (await staff.call('GET', `/api/v1/admin/orders/${no2}/certificates`)).data.items
        assert.equal(abandoned.length, 2, 'issued for the first key')
        keys.tool('create', keys.dir, KEY3.name, '--serial', KEY3.serial)
        await page.locator('[data-test=production-retry]').click()
        await done.waitFor({ timeout: 120000 })
        await t.waitForText(done, KEY3.serial)
        await t.waitForText(page.locator('[data-test=previous-key]'), KEY2.serial)
        const after = (await staff.call('GET', `/api/v1/admin/orders/${no2}/certificates`)).data.items
        for (const c of abandoned) {
          const now = after.find((x) => x.serial === c.serial)
          assert.equal(now && now.status, 'revoked', `${c.kind} of the first key revoked`)
        }
        assert.equal(after.filter((c) => c.status === 'good').length, 2, 'a new pair for the new key')
        const o2 = await staff.call('GET', `/api/v1/admin/orders/${no2}`)
        assert.equal(o2.data.state, 'produced')
        assert.equal(o2.data.usb_key.serial, KEY3.serial)

        // The first key back alone: 擦除 with its SO PIN makes it blank again.
        keys.tool('remove', keys.dir, KEY3.name)
        keys.tool('insert', keys.dir, KEY2.name)
        await page.locator('[data-test=keys-refresh]').click()
        await t.waitForText(problem, '此前作废的 Key')
        await settle(t)
        await t.screenshot('production-wipe-offered')
        await page.locator('[data-test=key-wipe]').click()
        const box = page.locator('.el-message-box')
        await box.waitFor()
        await box.locator('.el-button--primary').click()
        await t.waitForText(page.locator('.el-message'), '已擦除')
        await page.locator('[data-test=key-blank]').waitFor()
        assert.equal(keys.list().keys.find((k) => k.serial === KEY2.serial).blank, true, 'blank again')
        await expectNoPageErrors(t)
      } finally {
        // later tests find no key inserted
        for (const k of [KEY1, KEY2, KEY3]) {
          try {
            keys.tool('remove', keys.dir, k.name)
          } catch {
            /* never created or already out */
          }
        }
      }
    },
  },
]
