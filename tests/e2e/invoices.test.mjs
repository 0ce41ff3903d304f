// Invoices (发票): an order is put in 'producing' in the database (paid); the organisation's page
// promises the invoice; finance (demo user) sees it in 发票开具, a wrong file is refused, a small
// PDF is uploaded and the row leaves the queue; the organisation sees 已开具, then 已发送 once the
// outbox worker mailed it, and the simulator's SMTP server received it.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { apiClient, expectNoPageErrors, freshStart, idNumber, loginViaPage, staffLoginViaPage, uscc } from './helpers.mjs'

const PASSWORD = 'Abcd-1234'
const ORG = { uscc: uscc('91360600MA35Y0401'), name: '鹰潭市发票测试有限公司', mobile: '13800004001' }
const EMAIL = 'fapiao-e2e@example.com'
const PDF = '%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n'

function form(org) {
  return {
    unit_address: '江西省鹰潭市月湖区胜利西路 9 号',
    legal_name: '王法人',
    legal_id_number: idNumber('36042619800101007'),
    legal_mobile: '13910040001',
    handler_name: '钱经办',
    handler_id_number: idNumber('36060219900202004'),
    handler_mobile: '13910040002',
    handler_email: 'jingban@example.com',
    invoice_title: org.name,
    invoice_tax_number: org.uscc,
    invoice_email: EMAIL,
    recipient_name: '孙收件',
    recipient_mobile: '13910040003',
    recipient_address: '江西省鹰潭市月湖区胜利西路 9 号收发室',
    seal_name: org.name,
  }
}

export default [
  {
    name: 'invoices: finance uploads a PDF, it is mailed, the organisation sees and downloads it',
    timeoutMs: 90000,
    async fn(t) {
      const { page } = t
      await freshStart(t)
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certdesk-e2e-invoices-'))
      try {
        const api = apiClient(t)
        await api.register({ ...ORG, password: PASSWORD })
        assert.equal((await api.login(ORG.uscc, PASSWORD)).status, 200, 'login')
        const made = await api.call('POST', '/api/v1/orders', { project_code: 'yingtan', key_type: 'main', form: form(ORG) })
        assert.equal(made.status, 201, JSON.stringify(made.data))
        const no = made.data.order_no
        // Paid and in production (no payment yet): straight to 'producing' in the database.
        execFileSync('sqlite3', [t.dbPath, `UPDATE orders SET state='producing' WHERE order_no='${no}'`])

        // The organisation: the promise before the upload.
        await loginViaPage(t, ORG.uscc, PASSWORD)
        await page.goto(t.url(`/orders/${no}`), { waitUntil: 'domcontentloaded' })
        await t.waitForText(page.locator('[data-test=invoice-pending]'), '发票将在证书制作后 3 个工作日内发送至发票接收邮箱')

        // Finance: the menu, the queue, a refused file, the upload.
        await freshStart(t)
        await staffLoginViaPage(t, 'finance')
        await page.locator('[data-test="menu-/admin/invoices"]').click()
        await page.waitForURL((u) => u.pathname === '/admin/invoices')
        const queue = page.locator('[data-test=invoice-queue]')
        await t.waitForText(queue, no)
        await t.waitForText(queue, ORG.name)
        await t.waitForText(queue, EMAIL)
        await page.waitForLoadState('networkidle')
        await t.screenshot('invoices-queue')
        const input = page.locator(`[data-test=invoice-upload-${no}] input[type=file]`)
        const fake = path.join(dir, 'fake.pdf')
        fs.writeFileSync(fake, 'not a pdf at all, just text\n')
        await input.setInputFiles(fake)
        await t.waitForText(page.locator('[data-test=invoice-error]'), 'PDF')
        await t.screenshot('invoices-refused')
        const file = path.join(dir, 'invoice.pdf')
        fs.writeFileSync(file, PDF)
        await input.setInputFiles(file)
        await t.waitForText(page.locator(`[data-test=invoice-done-${no}]`), `已发送至 ${EMAIL}`)
        await page.locator(`[data-test=invoice-upload-${no}]`).waitFor({ state: 'detached' })
        assert.ok(!(await queue.textContent()).includes(no), 'row left the queue')
        await page.waitForLoadState('networkidle')
        await t.screenshot('invoices-uploaded')

        // The organisation: 已开具, then 已发送 (the outbox worker polls every 2 s; the page every 5 s).
        await freshStart(t)
        await loginViaPage(t, ORG.uscc, PASSWORD)
        await page.goto(t.url(`/orders/${no}`), { waitUntil: 'domcontentloaded' })
        await t.waitForText(page.locator('[data-test=invoice-issued]'), '已开具')
        await t.waitForText(page.locator('[data-test=invoice-sent]'), `已发送至 ${EMAIL}`, 25000)
        const href = await page.locator('[data-test=invoice-download]').getAttribute('href')
        assert.equal(href, `/api/v1/orders/${no}/invoice`)
        const got = await page.evaluate(async (h) => {
          const r = await fetch(h, { credentials: 'same-origin' })
          return { status: r.status, type: r.headers.get('content-type'), text: await r.text() }
        }, href)
        assert.equal(got.status, 200, JSON.stringify(got).slice(0, 300))
        assert.ok(got.text.startsWith('%PDF-1.4'), 'the invoice file')
        await page.locator('[data-test=invoice-card]').scrollIntoViewIfNeeded()
        await t.screenshot('invoices-org-sent')

        // The simulator's SMTP server received it.
        const mail = await (await fetch(`${t.simURL}/_sim/mail?to=${encodeURIComponent(EMAIL)}`)).json()
        assert.ok((mail.items || []).length >= 1, `mail to ${EMAIL}: ${JSON.stringify(mail).slice(0, 300)}`)
        await expectNoPageErrors(t)
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    },
  },
]
