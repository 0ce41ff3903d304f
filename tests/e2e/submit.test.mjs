// 下载模板、法人核验、上传证件、提交申请 through the real pages: the three PDFs printed and
// "scanned" (pdftoppm, grey, 100 dpi), the scans and three other images uploaded into their slots
// (progress, thumbnails, the QR codes of the forms read back), a refused file; the legal person
// scans the letter's QR code (zbarimg) with a phone of its own, goes through the provider's
// face check (certdesk-sim) and sees 认证成功 while the organisation's page follows by itself;
// then 提交. And the failure path: the reason and 重新核验.
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
  phoneScreenshot,
  uscc,
} from './helpers.mjs'

const PASSWORD = 'Abcd-1234'
const ORG_S = { uscc: uscc('91360600MA35Y0101'), name: '鹰潭市资料上传测试有限公司', mobile: '13800002001' }
const ORG_F = { uscc: uscc('91360600MA35Y0102'), name: '鹰潭市核验失败测试有限公司', mobile: '13800002002' }

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function fullForm(org, n) {
  return {
    unit_address: '江西省鹰潭市月湖区胜利西路 8 号',
    legal_name: '李法人',
    legal_id_number: idNumber('36042619800101007'),
    legal_mobile: `139100${n}0001`,
    handler_name: '张经办',
    handler_id_number: idNumber('36060219900202004'),
    handler_mobile: `139100${n}0002`,
    handler_email: 'jingban@example.com',
    invoice_title: org.name,
    invoice_tax_number: org.uscc,
    invoice_email: 'fapiao@example.com',
    recipient_name: '赵收件',
    recipient_mobile: `139100${n}0003`,
    recipient_address: '江西省鹰潭市月湖区胜利西路 8 号收发室',
    seal_name: org.name,
  }
}

// Registers org, logs its API client in and creates an order with every field: the order number.
async function orgWithOrder(t, org, keyType, n) {
  const api = apiClient(t)
  await api.register({ ...org, password: PASSWORD })
  assert.equal((await api.login(org.uscc, PASSWORD)).status, 200)
  const made = await api.call('POST', '/api/v1/orders', { project_code: 'yingtan', key_type: keyType, form: fullForm(org, n) })
  assert.equal(made.status, 201, JSON.stringify(made.data))
  return { api, no: made.data.order_no }
}

// What a scanner delivers from the printed page: page 1 as a grey PNG at 100 dpi.
function scan(pdf, out, dpi = 100) {
  execFileSync('pdftoppm', ['-r', String(dpi), '-png', '-gray', '-f', '1', '-l', '1', '-singlefile', pdf, out.replace(/\.png$/, '')])
  assert.ok(fs.statSync(out).size > 10 * 1024, `${out} written`)
  return out
}

// What the phone's camera reads from the letter.
function readQR(png) {
  const text = execFileSync('zbarimg', ['-q', '--raw', png], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  return text.trim().split('\n')[0]
}

async function downloadVia(page, kind, dir) {
  const [dl] = await Promise.all([
    page.waitForEvent('download', { timeout: 20000 }),
    page.locator(`[data-test=download-${kind}]`).click(),
  ])
  const file = path.join(dir, `${kind}.pdf`)
  await dl.saveAs(file)
  assert.equal(fs.readFileSync(file).subarray(0, 4).toString('latin1'), '%PDF', `${kind}: a PDF`)
  return file
}

const slot = (page, kind) => page.locator(`[data-test=slot-${kind}]`)

// Uploads file into the slot and waits for the thumbnail to show the new picture.
async function upload(t, kind, file) {
  const s = slot(t.page, kind)
  const thumb = s.locator('[data-test=slot-thumb] img')
  const before = (await thumb.count()) > 0 ? await thumb.getAttribute('src') : null
  await s.locator('input[type=file]').setInputFiles(file)
  const deadline = Date.now() + 15000
  for (;;) {
    const err = s.locator('[data-test=slot-error]')
    if ((await err.count()) > 0) throw new Error(`${kind}: refused: ${await err.textContent()}`)
    const img = s.locator('[data-test=slot-thumb] img')
    if ((await img.count()) > 0) {
      const src = await img.getAttribute('src')
      const loaded = await img.evaluate((el) => el.complete && el.naturalWidth > 0).catch(() => false)
      if (src !== before && loaded) return
    }
    if (Date.now() > deadline) throw new Error(`${kind}: no thumbnail after the upload`)
    await sleep(100)
  }
}

export default [
  {
    name: 'submit: forms scanned and uploaded, other images, a refused file; legal person verifies on a phone; submit',
    timeoutMs: 150000,
    async fn(t) {
      const { page } = t
      await freshStart(t)
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certdesk-e2e-scans-'))
      let phone = null
      try {
        const { api, no } = await orgWithOrder(t, ORG_S, 'main', 1)
        await loginViaPage(t, ORG_S.uscc, PASSWORD)
        await page.goto(t.url(`/orders/${no}`), { waitUntil: 'domcontentloaded' })
        const uploads = page.locator('[data-test=uploads]')
        await t.waitForText(uploads, '上传资料')
        await t.waitForText(page.locator('[data-test=upload-rules]'), '1M 以内')
        await t.waitForText(page.locator('[data-test=upload-rules]'), '请勿用手机拍照')
        const kinds = ['application_form', 'business_licence', 'handler_id_front', 'handler_id_back', 'authorisation_letter', 'seal_form']
        for (const k of kinds) await t.waitForText(slot(page, k), '未上传')
        await t.waitForText(page.locator('[data-test=verification-state]'), '法人尚未扫码核验')
        await t.waitForText(page.locator('[data-test=verification-card]'), '请法定代表人用手机扫描授权委托书上的二维码')
        assert.ok(await page.locator('[data-test=submit-order]').isDisabled(), 'nothing to submit yet')
        const missing = page.locator('[data-test=submit-missing]')
        await t.waitForText(missing, '资料未上传齐全：数字证书用户申请表、营业执照')
        await t.waitForText(missing, '法人尚未完成刷脸核验')
        await page.waitForLoadState('networkidle')
        await t.screenshot('submit-order-empty')

        // Print, stamp, scan: the three forms of this order.
        const application = scan(await downloadVia(page, 'application', dir), path.join(dir, 'application.png'))
        const letter = scan(await downloadVia(page, 'authorisation', dir), path.join(dir, 'letter.png'))
        const seal = scan(await downloadVia(page, 'seal', dir), path.join(dir, 'seal.png'))
        // The other papers: any picture of at least 200×200 pixels will do here.
        await page.screenshot({ path: path.join(dir, 'licence.png'), clip: { x: 0, y: 0, width: 900, height: 640 } })
        await page.screenshot({ path: path.join(dir, 'id-front.png'), clip: { x: 100, y: 60, width: 640, height: 400 } })
        await page.screenshot({ path: path.join(dir, 'id-back.png'), clip: { x: 200, y: 120, width: 640, height: 400 } })

        // The first upload on a slow line: the progress bar moves.
        const cdp = await t.context.newCDPSession(page)
        await cdp.send('Network.enable')
        await cdp.send('Network.emulateNetworkConditions', {
          offline: false,
          latency: 20,
          downloadThroughput: -1,
          uploadThroughput: 60 * 1024,
        })
        await slot(page, 'application_form').locator('input[type=file]').setInputFiles(application)
        const progress = slot(page, 'application_form').locator('[data-test=slot-progress]')
        await progress.waitFor({ timeout: 5000 })
        await t.waitForText(slot(page, 'application_form').locator('[data-test=slot-upload]'), '正在上传')
        // The bar moves while the bytes go out.
        const moving = Date.now() + 8000
        let shown = ''
        while (!/^\s*([1-9]\d?)%/.test((shown = (await progress.textContent().catch(() => '')) || '')) && Date.now() < moving) await sleep(50)
        assert.match(shown, /^\s*[1-9]\d?%/, `progress between 1 and 99 %: ${JSON.stringify(shown)}`)
        await slot(page, 'application_form').scrollIntoViewIfNeeded()
        await t.screenshot('submit-upload-progress')
        await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 })
        await cdp.detach()
        await slot(page, 'application_form').locator('[data-test=slot-thumb] img').waitFor({ timeout: 15000 })
        assert.equal(await slot(page, 'application_form').locator('[data-test=slot-error]').count(), 0, 'accepted')

        await upload(t, 'authorisation_letter', letter)
        await upload(t, 'seal_form', seal)
        await upload(t, 'business_licence', path.join(dir, 'licence.png'))
        await upload(t, 'handler_id_back', path.join(dir, 'id-back.png'))

        // A PDF renamed .png: refused by its content, the message under the slot.
        const fake = path.join(dir, 'scan.png')
        fs.copyFileSync(path.join(dir, 'seal.pdf'), fake)
        await slot(page, 'handler_id_front').locator('input[type=file]').setInputFiles(fake)
        await t.waitForText(slot(page, 'handler_id_front').locator('[data-test=slot-error]'), '只接受 jpeg、jpg、png、bmp 格式的图片')
        await t.waitForText(slot(page, 'handler_id_front'), '未上传')
        await slot(page, 'handler_id_front').scrollIntoViewIfNeeded()
        await t.screenshot('submit-upload-refused')
        await upload(t, 'handler_id_front', path.join(dir, 'id-front.png'))
        assert.equal(await slot(page, 'handler_id_front').locator('[data-test=slot-error]').count(), 0, 'message gone')

        // The application form of another order (a secondary key of the same organisation): refused.
        const other = await api.call('POST', '/api/v1/orders', { project_code: 'yingtan', key_type: 'secondary', form: fullForm(ORG_S, 3) })
        assert.equal(other.status, 201, JSON.stringify(other.data))
        const otherPdf = await api.call('GET', `/api/v1/orders/${other.data.order_no}/forms/application`)
        assert.equal(otherPdf.status, 200)
        fs.writeFileSync(path.join(dir, 'other.pdf'), Buffer.from(otherPdf.data))
        const otherScan = scan(path.join(dir, 'other.pdf'), path.join(dir, 'other-application.png'))
        const appSlot = slot(page, 'application_form')
        const thumbBefore = await appSlot.locator('[data-test=slot-thumb] img').getAttribute('src')
        await appSlot.locator('input[type=file]').setInputFiles(otherScan)
        await t.waitForText(appSlot.locator('[data-test=slot-error]'), '不是本订单当前的表格')
        await t.waitForText(appSlot.locator('[data-test=slot-error]'), '请重新下载')
        assert.equal(await appSlot.locator('[data-test=slot-thumb] img').getAttribute('src'), thumbBefore, 'the accepted scan stays')
        // Scanned again (110 dpi) and uploaded: replaces the first scan, the message goes away.
        await upload(t, 'application_form', scan(path.join(dir, 'application.pdf'), path.join(dir, 'application-110.png'), 110))
        assert.equal(await appSlot.locator('[data-test=slot-error]').count(), 0)
        await t.waitForText(appSlot.locator('[data-test=slot-facts]'), '910×1287 像素')

        // Every slot: thumbnail, facts; the forms' QR codes read back and matched.
        for (const k of kinds) {
          await t.waitForText(slot(page, k), '已上传')
          await t.waitForText(slot(page, k).locator('[data-test=slot-facts]'), '像素')
          await t.waitForText(slot(page, k).locator('[data-test=slot-upload]'), '重新上传')
        }
        for (const k of ['application_form', 'authorisation_letter', 'seal_form']) {
          await t.waitForText(slot(page, k).locator('[data-test=slot-qr]'), '二维码核验通过')
        }
        await t.waitForText(slot(page, 'business_licence').locator('[data-test=slot-qr]'), '不检查')
        await t.waitForText(page.locator('[data-test=uploads-count]'), '已上传 6 / 6 项')
        await t.waitForText(missing, '法人尚未完成刷脸核验')
        assert.ok(!(await missing.textContent()).includes('资料未上传齐全'), 'documents complete')
        assert.ok(await page.locator('[data-test=submit-order]').isDisabled(), 'still waiting for the legal person')

        // The thumbnail zooms.
        await slot(page, 'authorisation_letter').locator('[data-test=slot-thumb] img').click()
        const viewer = page.locator('.el-image-viewer__wrapper')
        await viewer.waitFor()
        await viewer.locator('.el-image-viewer__canvas img').waitFor()
        await sleep(300)
        await page.screenshot({ path: path.join(t.artifacts, 'submit-thumbnail-zoom.png') }) // the viewer covers the window
        await page.keyboard.press('Escape')
        await viewer.waitFor({ state: 'detached' })

        await page.locator('[data-test=uploads]').scrollIntoViewIfNeeded()
        await page.waitForLoadState('networkidle')
        await t.screenshot('submit-order-uploaded')
        await phoneScreenshot(t, 'submit-order-uploaded-phone')

        // The legal person's phone reads the QR code on the printed letter.
        const verifyURL = readQR(letter)
        assert.ok(verifyURL.startsWith(`${t.baseURL}/verify/`), `QR code: ${verifyURL}`)
        await page.evaluate(() => (window.__stillHere = true)) // no reload of the organisation's page

        phone = await openPhone()
        const p = phone.page
        await p.goto(verifyURL, { waitUntil: 'domcontentloaded' })
        const summary = p.locator('[data-test=verify-summary]')
        await t.waitForText(summary, ORG_S.name)
        await t.waitForText(p.locator('[data-test=verify-order-no]'), no)
        await t.waitForText(p.locator('[data-test=verify-legal]'), '李*')
        await t.waitForText(summary, '********')
        assert.ok(!(await summary.textContent()).includes(fullForm(ORG_S, 1).legal_id_number), 'ID number masked')
        await t.waitForText(p.locator('[data-test=verify-notice]'), '须由法定代表人本人操作，核验结果将绑定本订单')
        assert.equal(await p.locator('.site-header').count(), 0, 'no portal header')
        await p.waitForLoadState('networkidle')
        await phone.screenshot(t, 'verify-phone')

        await p.locator('[data-test=verify-start]').click()
        await p.waitForURL((u) => u.href.startsWith(`${t.simURL}/faceid/h5`), { timeout: 10000 })
        await t.waitForText(p.locator('body'), '模拟核验通过')
        await phone.screenshot(t, 'verify-provider-phone')

        // Meanwhile the organisation's page: 核验进行中.
        await t.waitForText(page.locator('[data-test=verification-state]'), '核验进行中', 12000)

        await p.getByRole('button', { name: '模拟核验通过' }).click()
        await p.waitForURL((u) => u.pathname.endsWith('/result') && u.searchParams.has('BizToken'), { timeout: 10000 })
        await t.waitForText(p.locator('[data-test=verify-passed]'), '认证成功', 15000)
        await p.waitForLoadState('networkidle')
        await phone.screenshot(t, 'verify-result-phone')

        // The organisation's page follows without a reload.
        await t.waitForText(page.locator('[data-test=verification-state]'), '认证成功', 12000)
        assert.equal(await page.evaluate(() => window.__stillHere), true, 'the page was not reloaded')
        await page.locator('[data-test=verification-card]').scrollIntoViewIfNeeded()
        await t.screenshot('submit-order-verified')

        // Opening the QR code again: 认证成功 directly.
        await p.goto(verifyURL, { waitUntil: 'domcontentloaded' })
        await t.waitForText(p.locator('[data-test=verify-passed]'), '认证成功')
        assert.equal(await p.locator('[data-test=verify-start]').count(), 0, 'nothing to start')
        assert.deepEqual(phone.errors, [], 'no uncaught errors on the phone')

        // 提交.
        const submit = page.locator('[data-test=submit-order]')
        const deadline = Date.now() + 5000
        while ((await submit.isDisabled()) && Date.now() < deadline) await sleep(100)
        assert.ok(!(await submit.isDisabled()), 'submit enabled once everything is there')
        assert.equal(await page.locator('[data-test=submit-missing]').count(), 0, 'nothing missing')
        await submit.click()
        await t.waitForText(page.locator('[data-test=order-state]'), '已提交，待预审')
        await t.waitForText(page.locator('[data-test=submit-done]'), '已提交，待预审')
        assert.equal(await page.locator('[data-test=submit-order]').count(), 0, 'submitted once')
        assert.equal(await page.locator('[data-test=slot-upload]').count(), 0, 'no more uploads')
        // The 提交申请 card is gone; the submitted state (and 删除订单, still allowed) instead.
        assert.equal(await page.locator('[data-test=order-actions]').count(), 0, 'no 提交申请 card after submitting')
        await t.waitForText(page.locator('[data-test=order-submitted] [data-test=submit-done]'), '申请已提交')
        assert.equal(await page.locator('[data-test=order-submitted] [data-test=delete-order]').count(), 1, '删除订单 still offered')
        await page.waitForLoadState('networkidle')
        await t.screenshot('submit-order-submitted')
        // A later visit: still no 提交申请 card, the state without the one-off 申请已提交.
        await page.reload({ waitUntil: 'domcontentloaded' })
        await t.waitForText(page.locator('[data-test=order-submitted] [data-test=submit-done]'), '当前状态：已提交，待预审')
        assert.equal(await page.locator('[data-test=order-actions]').count(), 0, 'no 提交申请 card on a later visit')
        await expectNoPageErrors(t)
      } finally {
        if (phone) await phone.close()
        fs.rmSync(dir, { recursive: true, force: true })
      }
    },
  },
  {
    name: 'submit: face verification fails (reason, 重新核验), then passes; a void QR code',
    timeoutMs: 90000,
    async fn(t) {
      const { page } = t
      await freshStart(t)
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certdesk-e2e-scans-'))
      let phone = null
      try {
        const { api, no } = await orgWithOrder(t, ORG_F, 'secondary', 2)
        const pdf = await api.call('GET', `/api/v1/orders/${no}/forms/authorisation`)
        assert.equal(pdf.status, 200)
        fs.writeFileSync(path.join(dir, 'letter.pdf'), Buffer.from(pdf.data))
        const verifyURL = readQR(scan(path.join(dir, 'letter.pdf'), path.join(dir, 'letter.png')))
        assert.ok(verifyURL.startsWith(`${t.baseURL}/verify/`), `QR code: ${verifyURL}`)

        await loginViaPage(t, ORG_F.uscc, PASSWORD)
        await page.goto(t.url(`/orders/${no}`), { waitUntil: 'domcontentloaded' })
        await t.waitForText(page.locator('[data-test=verification-state]'), '法人尚未扫码核验')
        assert.equal(await page.locator('[data-test=slot-seal_form]').count(), 0, 'no seal form for a secondary key')
        await t.waitForText(page.locator('[data-test=uploads-count]'), '已上传 0 / 5 项')

        phone = await openPhone()
        const p = phone.page
        await p.goto(verifyURL, { waitUntil: 'domcontentloaded' })
        await p.locator('[data-test=verify-start]').click()
        await p.waitForURL((u) => u.href.startsWith(`${t.simURL}/faceid/h5`), { timeout: 10000 })
        await p.locator('select[name=err_code]').selectOption('2006')
        await p.getByRole('button', { name: '模拟核验失败' }).click()
        await p.waitForURL((u) => u.pathname.endsWith('/result'), { timeout: 10000 })
        const failed = p.locator('[data-test=verify-failed]')
        await t.waitForText(failed, '核验未通过', 15000)
        await t.waitForText(p.locator('[data-test=verify-reason]'), '身份信息与公安库不一致')
        await t.waitForText(p.locator('[data-test=verify-start]'), '重新核验')
        await p.waitForLoadState('networkidle')
        await phone.screenshot(t, 'verify-failed-phone')

        // The organisation's page shows the failure and its reason.
        await t.waitForText(page.locator('[data-test=verification-state]'), '核验未通过', 12000)
        await t.waitForText(page.locator('[data-test=verification-reason]'), '身份信息与公安库不一致')
        await t.waitForText(page.locator('[data-test=submit-missing]'), '上次核验未通过')
        await page.locator('[data-test=verification-card]').scrollIntoViewIfNeeded()
        await t.screenshot('submit-order-verification-failed')

        // 重新核验: passes this time.
        await p.locator('[data-test=verify-start]').click()
        await p.waitForURL((u) => u.href.startsWith(`${t.simURL}/faceid/h5`), { timeout: 10000 })
        await p.getByRole('button', { name: '模拟核验通过' }).click()
        await t.waitForText(p.locator('[data-test=verify-passed]'), '认证成功', 15000)
        await t.waitForText(page.locator('[data-test=verification-state]'), '认证成功', 12000)
        assert.deepEqual(phone.errors, [], 'no uncaught errors on the phone')

        // A QR code that belongs to no order (deleted, or the legal person changed).
        await p.goto(t.url('/verify/not-a-real-token-000000000000'), { waitUntil: 'domcontentloaded' })
        await t.waitForText(p.locator('[data-test=verify-invalid]'), '二维码已失效')
        await t.waitForText(p.locator('[data-test=verify-invalid]'), '请重新下载授权委托书')
        await phone.screenshot(t, 'verify-invalid-phone')
        await expectNoPageErrors(t)
      } finally {
        if (phone) await phone.close()
        fs.rmSync(dir, { recursive: true, force: true })
      }
    },
  },
]
