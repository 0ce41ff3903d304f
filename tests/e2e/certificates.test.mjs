// Certificates (issue 12) through the pages: an order is put in 'producing' in the database; the
// 制证员 pastes a CSR that is not PEM (refused in the page), one the server cannot read (its Chinese
// error), then picks the CSR file made here (P-256 key from node's crypto, the PKCS#10 request by
// `openssl req`): the staff order page shows the certificate (签名证书, serial, subject, validity,
// 有效) and downloads its PEM (the test's public key, the organisation in the subject). The
// organisation sees the serial and validity on its order page. The admin revokes it (密钥泄露,
// confirmed) and sees 已吊销 on the order page and in 证书查询; 证书模板 lists the profiles and the
// CA certificates; the organisation's page says 已吊销.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  apiClient,
  expectNoPageErrors,
  freshStart,
  idNumber,
  loginViaPage,
  staffClient,
  staffLoginViaPage,
  uscc,
} from './helpers.mjs'

const PASSWORD = 'Abcd-1234'
const ORG = { uscc: uscc('91360600MA35Y0801'), name: '鹰潭市证书测试有限公司', mobile: '13800008001' }
const ORG_SM2 = { uscc: uscc('91360600MA35Y0802'), name: '鹰潭市双证书测试有限公司', mobile: '13800008002' }

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

// An organisation with a main-key order in 'producing' (straight in the database): its order number.
async function producingOrder(t, org) {
  const api = apiClient(t)
  await api.register({ ...org, password: PASSWORD })
  assert.equal((await api.login(org.uscc, PASSWORD)).status, 200, 'login')
  const made = await api.call('POST', '/api/v1/orders', { project_code: 'yingtan', key_type: 'main', form: form(org) })
  assert.equal(made.status, 201, JSON.stringify(made.data))
  // Paid, paper checked, in production.
  execFileSync('sqlite3', [t.dbPath, `UPDATE orders SET state='producing' WHERE order_no='${made.data.order_no}'`])
  // Issuance needs a USB key being produced (POST …/production, issue 13): one recorded here.
  execFileSync('sqlite3', [
    t.dbPath,
    `INSERT INTO usb_keys (order_id, serial, kind, state, so_pin, user_pin, kek_id, created_at) SELECT id, 'E2E-' || order_no, 'skf', 'producing', 'x', 'x', 'x', created_at FROM orders WHERE order_no='${made.data.order_no}'`,
  ])
  return made.data.order_no
}

// A P-256 key pair (node's crypto) and its PKCS#10 request (node has no CSR maker: openssl req).
function makeCsr(dir) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const keyFile = path.join(dir, 'usbkey.key')
  fs.writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 })
  const csrFile = path.join(dir, 'usbkey.csr')
  execFileSync('openssl', ['req', '-new', '-key', keyFile, '-subj', '/CN=x', '-sha256', '-out', csrFile])
  return { csrFile, spki: publicKey.export({ type: 'spki', format: 'der' }) }
}

export default [
  {
    name: 'certificates: the producer issues from a CSR, downloads the PEM; the admin revokes; every page says so',
    timeoutMs: 120000,
    async fn(t) {
      const { page } = t
      await page.setViewportSize({ width: 1366, height: 800 }) // the console's usual screen
      await freshStart(t)
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certdesk-e2e-certs-'))
      try {
        const no = await producingOrder(t, ORG)
        const { csrFile, spki } = makeCsr(dir)

        // 制证员: the order page's certificate card offers 签发证书.
        await staffLoginViaPage(t, 'producer')
        await page.goto(t.url(`/admin/orders/${no}`), { waitUntil: 'domcontentloaded' })
        const card = page.locator('[data-test=staff-certificates]')
        await card.locator('[data-test=cert-issue]').waitFor()
        // not a CSR at all: the page says so without asking the server
        await card.locator('textarea[data-test=cert-csr]').fill('hello')
        await card.locator('[data-test=cert-issue-submit]').click()
        await t.waitForText(card.locator('.el-form-item__error'), '不是 PEM 格式的证书请求')
        // PEM armour around garbage: the server's Chinese error under the field
        await card
          .locator('textarea[data-test=cert-csr]')
          .fill('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n')
        await card.locator('[data-test=cert-issue-submit]').click()
        await card.locator('.el-form-item__error').waitFor()
        const refused = (await card.locator('.el-form-item__error').textContent()).trim()
        assert.ok(/[\u4e00-\u9fff]/.test(refused) && !refused.includes('不是 PEM 格式'), `server error: ${refused}`)
        await page.waitForLoadState('networkidle')
        await t.screenshot('certs-issue-refused')
        // the CSR file
        await card.locator('[data-test=cert-csr-input]').setInputFiles(csrFile)
        assert.ok((await card.locator('textarea[data-test=cert-csr]').inputValue()).includes('BEGIN CERTIFICATE REQUEST'))
        await card.locator('[data-test=cert-issue-submit]').click()
        await card.locator('[data-test=cert-table]').waitFor()
        await t.waitForText(card.locator('[data-test=cert-status-sign]'), '有效')
        const serial = (await card.locator('[data-test=cert-serial-sign]').textContent()).trim()
        assert.match(serial, /^[0-9A-F]+$/, 'serial in upper-case hex')
        await t.waitForText(card.locator('[data-test=cert-table]'), '签名证书')
        await t.waitForText(card.locator('[data-test=cert-table]'), ORG.name)
        assert.equal(await card.locator('[data-test=cert-issue]').count(), 0, 'no second issuance offered')
        assert.equal(await card.locator('[data-test=cert-revoke-sign]').count(), 0, 'only admins revoke')
        await page.waitForLoadState('networkidle')
        await card.scrollIntoViewIfNeeded()
        await t.screenshot('certs-staff-issued')

        // 下载 PEM: the certificate of the test's key, for the organisation.
        const [download] = await Promise.all([
          page.waitForEvent('download'),
          card.locator(`[data-test=cert-pem-${serial}]`).click(),
        ])
        assert.equal(download.suggestedFilename(), `${serial}.pem`)
        const pemFile = path.join(dir, 'cert.pem')
        await download.saveAs(pemFile)
        const pem = fs.readFileSync(pemFile, 'utf8')
        assert.ok(pem.startsWith('-----BEGIN CERTIFICATE-----'), pem.slice(0, 80))
        const x509 = new crypto.X509Certificate(pem)
        assert.equal(x509.serialNumber.replace(/^0+/, ''), serial)
        assert.ok(x509.publicKey.export({ type: 'spki', format: 'der' }).equals(spki), 'the CSR key is certified')
        assert.ok(x509.subject.includes(ORG.name), x509.subject)

        // The organisation: serial, validity, 有效.
        await freshStart(t)
        await loginViaPage(t, ORG.uscc, PASSWORD)
        await page.goto(t.url(`/orders/${no}`), { waitUntil: 'domcontentloaded' })
        const orgCard = page.locator('[data-test=order-certificates]')
        await t.waitForText(orgCard, serial)
        await t.waitForText(orgCard.locator('[data-test=order-cert-status-sign]'), '有效')
        await t.waitForText(orgCard, ' 至 ')

        // The admin revokes it on the order page.
        await freshStart(t)
        await staffLoginViaPage(t, 'admin')
        await page.goto(t.url(`/admin/orders/${no}`), { waitUntil: 'domcontentloaded' })
        await card.locator('[data-test=cert-revoke-sign]').click()
        const dialog = page.locator('[data-test=revoke-dialog]')
        await t.waitForText(dialog.locator('[data-test=revoke-serial]'), serial)
        await t.waitForText(dialog, '不可撤销')
        assert.ok(await dialog.locator('[data-test=revoke-submit]').isDisabled(), 'nothing without a reason')
        await dialog.locator('[data-test=revoke-reason]').click()
        await page.locator('.el-select-dropdown__item', { hasText: '密钥泄露' }).click()
        assert.ok(await dialog.locator('[data-test=revoke-submit]').isDisabled(), 'nothing without the confirmation')
        await dialog.locator('[data-test=revoke-confirm]').click()
        await page.waitForLoadState('networkidle')
        await t.screenshot('certs-revoke-dialog')
        await dialog.locator('[data-test=revoke-submit]').click()
        await t.waitForText(card.locator('[data-test=cert-status-sign]'), '已吊销')
        await t.waitForText(card.locator('[data-test=cert-revoked-sign]'), '密钥泄露')
        assert.equal(await card.locator('[data-test=cert-revoke-sign]').count(), 0, 'no second revocation offered')
        await page.waitForLoadState('networkidle')
        await card.scrollIntoViewIfNeeded()
        await t.screenshot('certs-staff-revoked')

        // 证书查询 (menu): by order number, then the 已吊销 filter.
        await page.locator('[data-test="menu-/admin/certificates"]').click()
        await page.waitForURL((u) => u.pathname === '/admin/certificates')
        const table = page.locator('[data-test=cert-search-table]')
        await page.locator('input[data-test=cert-search]').fill(no)
        await page.locator('[data-test=cert-search-button]').click()
        await t.waitForText(table, serial)
        await t.waitForText(table, ORG.uscc)
        await t.waitForText(table.locator(`[data-test=cert-row-status-${serial}]`), '已吊销')
        await page.locator('[data-test=cert-status-filter]').click()
        await page.locator('.el-select-dropdown__item', { hasText: '有效' }).click()
        await t.waitForText(table, '没有找到匹配的证书')
        await page.locator('[data-test=cert-status-filter]').click()
        await page.locator('.el-select-dropdown__item', { hasText: '已吊销' }).click()
        await t.waitForText(table, serial)
        await page.waitForLoadState('networkidle')
        await table.locator('.el-loading-mask').waitFor({ state: 'hidden' })
        await t.screenshot('certs-search')
        // the order number leads to the staff order page
        await table.getByRole('link', { name: no }).click()
        await page.waitForURL((u) => u.pathname === `/admin/orders/${no}`)

        // 证书模板 (admin menu): the profiles and the CA certificates.
        await page.locator('[data-test="menu-/admin/cert-profiles"]').click()
        await page.waitForURL((u) => u.pathname === '/admin/cert-profiles')
        await t.waitForText(page.locator('[data-test=cert-profiles-table]'), 'ECC P-256')
        await t.waitForText(page.locator('[data-test=cert-profiles-table]'), '双证书')
        await t.waitForText(page.locator('[data-test=ca-table]'), '签发 CA')
        await page.waitForLoadState('networkidle')
        await t.screenshot('certs-profiles')

        // The organisation: 已吊销 and what it means.
        await freshStart(t)
        await loginViaPage(t, ORG.uscc, PASSWORD)
        await page.goto(t.url(`/orders/${no}`), { waitUntil: 'domcontentloaded' })
        await t.waitForText(orgCard.locator('[data-test=order-cert-status-sign]'), '已吊销')
        await t.waitForText(orgCard.locator('[data-test=order-cert-revoked]'), '证书已吊销')
        await t.waitForText(orgCard, '密钥泄露')
        await page.waitForLoadState('networkidle')
        await orgCard.scrollIntoViewIfNeeded()
        await t.screenshot('certs-org-revoked')
        await expectNoPageErrors(t)
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    },
  },
  {
    name: 'certificates: a dual SM2 main key shows its signing and encryption certificates, never the key',
    timeoutMs: 60000,
    async fn(t) {
      const { page } = t
      await page.setViewportSize({ width: 1366, height: 800 })
      await freshStart(t)
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certdesk-e2e-certs-sm2-'))
      try {
        const no = await producingOrder(t, ORG_SM2)
        // The USB key's SM2 request, signed with the standard ID (openssl req), issued through the API.
        const key = path.join(dir, 'sm2.key')
        const csr = path.join(dir, 'sm2.csr')
        execFileSync('openssl', ['genpkey', '-algorithm', 'SM2', '-out', key])
        execFileSync('openssl', ['req', '-new', '-key', key, '-subj', '/CN=x', '-sm3', '-sigopt', 'distid:1234567812345678', '-out', csr])
        const producer = await staffClient(t, 'producer')
        const issued = await producer.call('POST', `/api/v1/admin/orders/${no}/certificates`, { csr: fs.readFileSync(csr, 'utf8') })
        assert.equal(issued.status, 201, JSON.stringify(issued.data).slice(0, 300))
        const sign = issued.data.serial
        const enc = issued.data.enc_certificate && issued.data.enc_certificate.serial
        assert.ok(sign && enc, 'a pair')

        await staffLoginViaPage(t, 'admin')
        await page.goto(t.url(`/admin/orders/${no}`), { waitUntil: 'domcontentloaded' })
        const card = page.locator('[data-test=staff-certificates]')
        await t.waitForText(card.locator('[data-test=cert-serial-sign]'), sign)
        await t.waitForText(card.locator('[data-test=cert-serial-enc]'), enc)
        await t.waitForText(card.locator('[data-test=cert-table]'), '加密证书')
        await t.waitForText(card.locator('[data-test=cert-status-enc]'), '有效')
        await t.waitForText(card.locator('[data-test=cert-enc-note]'), '此处不显示')
        assert.equal(await card.locator('[data-test=cert-revoke-enc]').count(), 1, 'admins may revoke either')
        assert.ok(!(await card.textContent()).includes('PRIVATE KEY'), 'no key on the page')
        await page.waitForLoadState('networkidle')
        await card.scrollIntoViewIfNeeded()
        await t.screenshot('certs-staff-dual')

        await freshStart(t)
        await loginViaPage(t, ORG_SM2.uscc, PASSWORD)
        await page.goto(t.url(`/orders/${no}`), { waitUntil: 'domcontentloaded' })
        const orgCard = page.locator('[data-test=order-certificates]')
        await t.waitForText(orgCard.locator('[data-test=order-cert-sign]'), sign)
        await t.waitForText(orgCard.locator('[data-test=order-cert-sign]'), '签名证书')
        await t.waitForText(orgCard.locator('[data-test=order-cert-enc]'), enc)
        await t.waitForText(orgCard.locator('[data-test=order-cert-enc]'), '加密证书')
        await page.waitForLoadState('networkidle')
        await orgCard.scrollIntoViewIfNeeded()
        await t.screenshot('certs-org-dual')
        await expectNoPageErrors(t)
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    },
  },
]
