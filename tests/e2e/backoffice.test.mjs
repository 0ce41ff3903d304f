// The back office through its pages: the dashboard; the reviewer rejects one scan with a reason
// (the organisation sees it), the organisation re-uploads and resubmits (API), the reviewer passes;
// the organisation pays on its order page with the WeChat Pay simulator (a phone opens the QR code
// and pays); the organisation registers its SF parcel on the order page; 资料审核员 合格, 制证员 produces onto a software USB key (the production page), 发货员 寄出 with an
// SF number; the organisation sees 证书已寄出 with both tracking numbers and the parcel's route
// (物流跟踪) from the SF simulator, a notice when SF does not answer, and 已完成 once the route shows
// the parcel signed for; the staff's order page shows the same route.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  apiClient,
  chooseSealPictures,
  expectNoPageErrors,
  freshStart,
  idNumber,
  loginViaPage,
  payOnPhone,
  phoneScreenshot,
  produceOnPage,
  staffClient,
  staffLoginViaPage,
  uscc,
} from './helpers.mjs'

const PASSWORD = 'Abcd-1234'
const ORG = { uscc: uscc('91360600MA35Y0301'), name: '鹰潭市后台流程测试有限公司', mobile: '13800003001' }
const REASON = '公章不清晰，请重新扫描'
const IN_SF = 'SF1234567890123'
const IN_SF2 = 'SF123456789012'
const OUT_SF = 'SF9876543210987'

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

function scan(pdf, out, dpi = 100) {
  execFileSync('pdftoppm', ['-r', String(dpi), '-png', '-gray', '-f', '1', '-l', '1', '-singlefile', pdf, out.replace(/\.png$/, '')])
  return out
}

function readQR(png) {
  const text = execFileSync('zbarimg', ['-q', '--raw', png], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  return text.trim().split('\n')[0]
}

async function expectStatus(r, status, what) {
  assert.equal(r.status, status, `${what}: ${JSON.stringify(r.data).slice(0, 300)}`)
  return r.data
}

// Registers the organisation, creates a main-key order, uploads its six scans and has the legal
// person verified (through the simulator's API): the order is ready to submit.
async function readyOrder(t, dir) {
  const api = apiClient(t)
  await api.register({ ...ORG, password: PASSWORD })
  await expectStatus(await api.login(ORG.uscc, PASSWORD), 200, 'login')
  const made = await expectStatus(
    await api.call('POST', '/api/v1/orders', { project_code: 'yingtan', key_type: 'main', form: fullForm(ORG, 5) }),
    201,
    'create order',
  )
  const no = made.order_no
  const scans = {}
  for (const [kind, form] of [
    ['application_form', 'application'],
    ['authorisation_letter', 'authorisation'],
    ['seal_form', 'seal'],
  ]) {
    const pdf = await expectStatus(await api.call('GET', `/api/v1/orders/${no}/forms/${form}`), 200, `download ${form}`)
    fs.writeFileSync(path.join(dir, `${form}.pdf`), Buffer.from(pdf))
    scans[kind] = scan(path.join(dir, `${form}.pdf`), path.join(dir, `${form}.png`))
  }
  // The other papers: any picture of at least 200×200 pixels.
  await t.page.goto(t.url('/'), { waitUntil: 'domcontentloaded' })
  await t.page.waitForLoadState('networkidle')
  for (const [kind, clip] of [
    ['business_licence', { x: 0, y: 0, width: 900, height: 640 }],
    ['handler_id_front', { x: 100, y: 60, width: 640, height: 400 }],
    ['handler_id_back', { x: 200, y: 120, width: 640, height: 400 }],
  ]) {
    scans[kind] = path.join(dir, `${kind}.png`)
    await t.page.screenshot({ path: scans[kind], clip })
  }
  for (const [kind, file] of Object.entries(scans)) {
    await expectStatus(await api.upload('PUT', `/api/v1/orders/${no}/documents/${kind}`, file), 201, `upload ${kind}`)
  }
  // The legal person: the letter's QR code, the provider's page decided through the simulator.
  const verifyURL = readQR(scans.authorisation_letter)
  const token = verifyURL.split('/verify/')[1]
  const phone = apiClient(t)
  await phone.session()
  const started = await expectStatus(await phone.call('POST', `/api/v1/verify/${token}/start`), 200, 'verify start')
  const biz = new URL(started.redirect_url).searchParams.get('token')
  assert.ok(biz, `biz token in ${started.redirect_url}`)
  const decided = await fetch(`${t.simURL}/_sim/faceid/${encodeURIComponent(biz)}/decide`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ pass: true }),
  })
  assert.equal(decided.status, 200, 'sim decide')
  const result = await expectStatus(await phone.call('GET', `/api/v1/verify/${token}/result`), 200, 'verify result')
  assert.equal(result.verification.state, 'passed', JSON.stringify(result.verification))
  return { api, no, scans }
}

// A staff member's turn in the shared browser: log out everyone, log in through the page.
async function asStaff(t, username) {
  await freshStart(t)
  await staffLoginViaPage(t, username)
}

async function asOrg(t) {
  await freshStart(t)
  await loginViaPage(t, ORG.uscc, PASSWORD)
}

// POST to the simulator's control API.
async function simPost(t, p, body) {
  const res = await fetch(`${t.simURL}${p}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  })
  assert.equal(res.status, 200, `${p}: ${await res.text()}`)
}

// Confirms an Element Plus message box.
async function confirmBox(page) {
  const box = page.locator('.el-message-box')
  await box.waitFor()
  await box.locator('.el-button--primary').click()
  await box.waitFor({ state: 'hidden' })
}

export default [
  {
    name: 'backoffice: pre-review reject and pass, paper mailed, paper check, production, shipping',
    timeoutMs: 240000,
    async fn(t) {
      const { page } = t
      await freshStart(t)
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certdesk-e2e-backoffice-'))
      try {
        const admin = await staffClient(t, 'admin')
        const reasons = await expectStatus(await admin.call('GET', '/api/v1/admin/review-reasons'), 200, 'reasons')
        if (!reasons.items.some((r) => r.text === REASON)) {
          await expectStatus(await admin.call('POST', '/api/v1/admin/review-reasons', { text: REASON }), 201, 'add reason')
        }
        const { api, no, scans } = await readyOrder(t, dir)
        await expectStatus(await api.call('POST', `/api/v1/orders/${no}/submit`), 200, 'submit')

        // The reviewer's console: the dashboard, the menu, the queue.
        await asStaff(t, 'reviewer')
        const dash = page.locator('[data-test=dashboard]')
        await t.waitForText(dash.locator('[data-test=queue-review]'), '最早一单已等待')
        assert.ok(Number(await dash.locator('[data-test=queue-review] [data-test=queue-size]').textContent()) >= 1, 'review queue size')
        await t.waitForText(dash.locator('[data-test=promise-paper_to_shipment]'), '2 个工作日内')
        await page.waitForLoadState('networkidle')
        await t.screenshot('backoffice-dashboard')
        await page.locator('[data-test="menu-/admin/review"]').click()
        await page.waitForURL((u) => u.pathname === '/admin/review')
        const queue = page.locator('[data-test=review-queue]')
        await t.waitForText(queue, no)
        await t.waitForText(queue, ORG.name)
        await page.waitForLoadState('networkidle')
        await t.screenshot('backoffice-review-queue')

        // Reject the business licence with a reason.
        await page.locator(`[data-test=review-open-${no}]`).click()
        await page.waitForURL((u) => u.pathname === `/admin/review/${no}`)
        const licence = page.locator('[data-test=review-doc-business_licence]')
        await licence.waitFor()
        await t.waitForText(page.locator('[data-test=review-doc-application_form] [data-test=review-hints]'), '二维码核验通过')
        await t.waitForText(page.locator('[data-test=review-verification]'), '认证成功')
        await t.waitForText(page.locator('[data-test=order-history]'), '提交')
        // Rotation turns the picture with CSS.
        await page.locator('[data-test=rotate-right-business_licence]').click()
        const transform = await licence.locator('[data-test=review-image]').evaluate((el) => el.style.transform)
        assert.equal(transform, 'rotate(90deg)')
        await page.locator('[data-test=rotate-left-business_licence]').click()
        // Zoom.
        await licence.locator('[data-test=review-image] img').click()
        const viewer = page.locator('.el-image-viewer__wrapper')
        await viewer.waitFor()
        await page.keyboard.press('Escape')
        await viewer.waitFor({ state: 'detached' })

        await licence.locator('[data-test=decision-business_licence]').getByText('不通过').click()
        const rejectBox = licence.locator('[data-test=reject-business_licence]')
        await rejectBox.getByText(REASON).click()
        await rejectBox.locator('textarea').fill('营业执照副本请完整扫描')
        await page.waitForLoadState('networkidle')
        await t.screenshot('backoffice-review-page')
        await page.locator('[data-test=review-reject]').click()
        await page.waitForURL((u) => u.pathname === '/admin/review', { timeout: 10000 })
        await t.waitForText(page.locator('.el-message'), '预审不通过')

        // The organisation sees the reason under the scan.
        const orgView = await expectStatus(await api.call('GET', `/api/v1/orders/${no}`), 200, 'order')
        assert.equal(orgView.state, 'rejected')
        await asOrg(t)
        await page.goto(t.url(`/orders/${no}`), { waitUntil: 'domcontentloaded' })
        await t.waitForText(page.locator('[data-test=slot-business_licence] [data-test=slot-review]'), REASON)
        await page.locator('[data-test=slot-business_licence]').scrollIntoViewIfNeeded()
        await t.screenshot('backoffice-org-rejected')

        // Re-upload and resubmit (API).
        const again = path.join(dir, 'licence-2.png')
        await page.screenshot({ path: again, clip: { x: 10, y: 10, width: 880, height: 620 } })
        await expectStatus(await api.upload('PUT', `/api/v1/orders/${no}/documents/business_licence`, again), 201, 're-upload')
        await expectStatus(await api.call('POST', `/api/v1/orders/${no}/submit`), 200, 'resubmit')

        // Someone else's claim: a second reviewer opening the order gets the message and the queue.
        await expectStatus(
          await admin.call('POST', '/api/v1/admin/staff', {
            username: 'boreviewer',
            display_name: '后台测试预审员',
            roles: ['reviewer'],
            password: 'Review-2026',
            password_confirm: 'Review-2026',
          }),
          201,
          'create boreviewer',
        )
        const reviewer = await staffClient(t, 'reviewer')
        await expectStatus(await reviewer.call('POST', `/api/v1/admin/orders/${no}/claim`), 200, 'claim')
        await freshStart(t)
        await staffLoginViaPage(t, 'boreviewer', 'Review-2026')
        await page.goto(t.url(`/admin/review/${no}`), { waitUntil: 'domcontentloaded' })
        await page.waitForURL((u) => u.pathname === '/admin/review', { timeout: 10000 })
        await t.waitForText(page.locator('.el-message--error'), '预审员')
        await t.waitForText(page.locator('[data-test=review-queue] [data-test=queue-claimed-by]'), '预审员')
        assert.ok(await page.locator(`[data-test=review-open-${no}]`).isDisabled(), 'claimed by someone else')
        await page.waitForLoadState('networkidle')
        await t.screenshot('backoffice-review-claimed')

        // The reviewer passes it.
        await asStaff(t, 'reviewer')
        await page.goto(t.url(`/admin/review/${no}`), { waitUntil: 'domcontentloaded' })
        await page.locator('[data-test=review-doc-business_licence]').waitFor()
        for (const kind of Object.keys(scans)) {
          await page.locator(`[data-test=decision-${kind}]`).getByText('通过', { exact: true }).click()
        }
        await page.locator('[data-test=review-pass]').click()
        await page.waitForURL((u) => u.pathname === '/admin/review', { timeout: 10000 })
        const passed = await expectStatus(await api.call('GET', `/api/v1/orders/${no}`), 200, 'order')
        assert.equal(passed.state, 'awaiting_payment')

        // The organisation pays with WeChat Pay: the QR code on its order page, paid on the phone
        // (the simulator's page); the order page moves on by itself.
        await asOrg(t)
        await page.goto(t.url(`/orders/${no}`), { waitUntil: 'domcontentloaded' })
        await page.locator('[data-test=pay-wxpay]').click()
        await page.locator('[data-test=pay-qr]').waitFor()
        const pay = await expectStatus(await api.call('GET', `/api/v1/orders/${no}/payment`), 200, 'payment')
        await payOnPhone(t, pay.attempt.qr_code, '确认支付', 'backoffice-wxpay')
        await t.waitForText(page.locator('[data-test=payment-success]'), '支付成功', 12000)

        // The organisation: what to mail, the courier form.
        const paperCard = page.locator('[data-test=paper-card]')
        await t.waitForText(paperCard.locator('[data-test=paper-list]'), '签章采集表原件')
        await t.waitForText(paperCard.locator('[data-test=paper-list]'), '左上角写明订单编号')
        await t.waitForText(paperCard.locator('[data-test=paper-advice]'), '回形针')
        await page.waitForLoadState('networkidle')
        await t.screenshot('backoffice-org-mail')
        await phoneScreenshot(t, 'backoffice-org-mail-phone')
        const tracking = paperCard.locator('input[name=tracking_no]')
        await tracking.fill('SF123')
        await paperCard.locator('[data-test=courier-submit]').click()
        await t.waitForText(paperCard.locator('.el-form-item__error'), '顺丰运单号')
        await tracking.fill(IN_SF)
        await paperCard.locator('[data-test=courier-submit]').click()
        await t.waitForText(page.locator('[data-test=parcels-inbound]'), IN_SF)
        await t.waitForText(page.locator('[data-test=parcels-inbound]'), '可在顺丰速运公众号查询物流')
        await t.waitForText(page.locator('[data-test=order-state]'), '纸质资料已寄出')

        // 资料审核员: 合格.
        await asStaff(t, 'paper')
        await page.locator('[data-test="menu-/admin/paper"]').click()
        await page.waitForURL((u) => u.pathname === '/admin/paper')
        const paperQueue = page.locator('[data-test=queue-page-paper]')
        await t.waitForText(paperQueue, no)
        await t.waitForText(paperQueue, IN_SF)
        // The 不合格 dialog asks for the phone call.
        await page.locator(`[data-test=paper-bad-${no}]`).click()
        const dialog = page.locator('.el-dialog', { hasText: '纸质资料不合格' })
        await dialog.waitFor()
        await dialog.locator('[data-test=paper-bad-submit]').click()
        await t.waitForText(dialog.locator('.el-form-item__error').first(), '请填写不合格原因')
        await sleep(300)
        await t.screenshot('backoffice-paper-bad-dialog')
        await dialog.locator('textarea[name=reasons]').fill('申请表未加盖公章原章')
        await dialog.locator('input[name=answered_by]').fill('张经办')
        await dialog.locator('textarea[name=asked]').fill('加盖公章原章的申请表')
        await dialog.locator('[data-test=paper-bad-submit]').click()
        await dialog.waitFor({ state: 'hidden' })
        await t.waitForText(page.locator('.el-message'), '纸质资料不合格')
        const bad = await expectStatus(await api.call('GET', `/api/v1/orders/${no}`), 200, 'order')
        assert.equal(bad.state, 'paper_rejected')

        // The organisation mails the missing paper again.
        await asOrg(t)
        await page.goto(t.url(`/orders/${no}`), { waitUntil: 'domcontentloaded' })
        await t.waitForText(page.locator('[data-test=order-state]'), '纸质资料不合格')
        await t.waitForText(page.locator('[data-test=paper-bad]'), '请按要求补寄')
        await t.waitForText(page.locator('[data-test=paper-list]'), '签章采集表原件')
        await page.locator('[data-test=paper-card]').scrollIntoViewIfNeeded()
        await t.screenshot('backoffice-org-paper-rejected')
        await page.locator('[data-test=paper-card] input[name=tracking_no]').fill(IN_SF2)
        await page.locator('[data-test=courier-submit]').click()
        await t.waitForText(page.locator('[data-test=parcels-inbound]'), IN_SF2)
        await t.waitForText(page.locator('[data-test=order-state]'), '纸质资料已寄出')

        await asStaff(t, 'paper')
        await page.goto(t.url('/admin/paper'), { waitUntil: 'domcontentloaded' })
        await t.waitForText(page.locator('[data-test=queue-page-paper]'), no)
        await page.waitForLoadState('networkidle')
        await t.screenshot('backoffice-paper-queue')
        await page.locator(`[data-test=paper-ok-${no}]`).click()
        await confirmBox(page)
        await t.waitForText(page.locator('.el-message'), '纸质资料合格')

        // 制证员: the queue's 制证 opens the order's production page; the order is produced onto a
        // software USB key through certdesk-agent (production.test.mjs shows the page's cases).
        await asStaff(t, 'producer')
        await page.locator('[data-test="menu-/admin/production"]').click()
        await page.waitForURL((u) => u.pathname === '/admin/production')
        await t.waitForText(page.locator('[data-test=production-note]'), 'certdesk-agent')
        await t.waitForText(page.locator('[data-test=queue-page-production]'), no)
        await page.waitForLoadState('networkidle')
        await t.screenshot('backoffice-production-queue')
        await chooseSealPictures(t, await staffClient(t, 'producer'), no)
        await page.locator(`[data-test=produce-${no}]`).click()
        await page.waitForURL((u) => u.pathname === `/admin/production/${no}`)
        await produceOnPage(t, 'BACKOFFICE1', 'E2EBACKOFFICE1')
        await t.waitForText(page.locator('[data-test=production-order-state]'), '待寄出')

        // 发货员: 寄出 with the SF number.
        await asStaff(t, 'shipper')
        await page.locator('[data-test="menu-/admin/shipping"]').click()
        await page.waitForURL((u) => u.pathname === '/admin/shipping')
        await t.waitForText(page.locator('[data-test=queue-page-shipping]'), no)
        const out = page.locator(`input[name=tracking-${no}]`)
        await out.fill('YT123')
        await page.locator(`[data-test=ship-${no}]`).click()
        await t.waitForText(page.locator('[data-test=ship-error]'), 'SF 加 12 或 13 位数字')
        await page.waitForLoadState('networkidle')
        await t.screenshot('backoffice-shipping-queue')
        await out.fill(OUT_SF)
        await page.locator(`[data-test=ship-${no}]`).click()
        await t.waitForText(page.locator('.el-message'), '已寄出')

        // The organisation: 证书已寄出, both parcels.
        await asOrg(t)
        await page.goto(t.url(`/orders/${no}`), { waitUntil: 'domcontentloaded' })
        await t.waitForText(page.locator('[data-test=order-state]'), '证书已寄出')
        await t.waitForText(page.locator('[data-test=parcels-inbound]'), IN_SF)
        await t.waitForText(page.locator('[data-test=parcels-inbound]'), IN_SF2)
        await t.waitForText(page.locator('[data-test=parcels-outbound]'), OUT_SF)
        await t.waitForText(page.locator('[data-test=parcels-outbound]'), '寄回的证书')
        assert.equal(await page.locator('[data-test=courier-form]').count(), 0, 'nothing more to mail')
        // 物流跟踪: the SF simulator's mock route, newest first.
        const routeBox = page.locator('[data-test=paper-card] [data-test=order-route]')
        await routeBox.locator('[data-test=route-timeline]').waitFor()
        assert.ok((await routeBox.locator('[data-test=route-item]').count()) >= 1, 'at least one route entry')
        await t.waitForText(routeBox.locator('[data-test=route-tracking]'), OUT_SF)
        await t.waitForText(routeBox.locator('[data-test=route-item]').first(), '正在派送途中')
        await t.waitForText(routeBox.locator('[data-test=route-item]').first(), '派送中')
        await t.waitForText(routeBox.locator('[data-test=route-item]').last(), '已收取快件')
        await page.waitForLoadState('networkidle')
        await t.screenshot('backoffice-org-shipped')
        await routeBox.scrollIntoViewIfNeeded()
        await phoneScreenshot(t, 'route-org-timeline-phone')

        // SF does not answer: the last route stays, with an info notice (no error).
        await simPost(t, '/_sim/sf/fail-next', { status: 503 })
        await routeBox.locator('[data-test=route-refresh]').click()
        await t.waitForText(routeBox.locator('[data-test=route-notice]'), '暂时无法从顺丰查询')
        assert.ok(await routeBox.locator('[data-test=route-notice].el-alert--info').isVisible(), 'notice is an info alert')
        assert.ok((await routeBox.locator('[data-test=route-item]').count()) >= 1, 'the last known route stays')
        assert.equal(await page.locator('.el-alert--error').count(), 0, 'no error on the page')
        await t.screenshot('route-org-notice')

        // Signed for (opCode 80): the order completes, the page shows 已完成.
        const bj = (hoursAgo) => new Date(Date.now() + 8 * 3600e3 - hoursAgo * 3600e3).toISOString().slice(0, 19).replace('T', ' ')
        await simPost(t, '/_sim/sf/routes', {
          mailNo: OUT_SF,
          routes: [
            { acceptTime: bj(30), acceptAddress: '鹰潭市', remark: '顺丰速运 已收取快件', opCode: '50' },
            { acceptTime: bj(20), acceptAddress: '南昌市', remark: '快件到达 【南昌转运中心】', opCode: '31' },
            { acceptTime: bj(3), acceptAddress: '南昌市', remark: '快件交给王师傅，正在派送途中', opCode: '44' },
            { acceptTime: bj(1), acceptAddress: '南昌市红谷滩区', remark: '您的快件已签收，签收人：本人', opCode: '80' },
          ],
        })
        await page.reload({ waitUntil: 'domcontentloaded' })
        await t.waitForText(routeBox.locator('[data-test=route-item]').first(), '已签收')
        await t.waitForText(page.locator('[data-test=order-state]'), '已完成')
        const done = await expectStatus(await api.call('GET', `/api/v1/orders/${no}`), 200, 'order')
        assert.equal(done.state, 'completed')
        assert.equal(await routeBox.locator('[data-test=route-item]').count(), 4)
        await page.waitForLoadState('networkidle')
        await routeBox.scrollIntoViewIfNeeded()
        await t.screenshot('route-org-completed')

        // The staff's order page: the parcels and the same route (admin endpoint).
        await asStaff(t, 'shipper')
        await page.goto(t.url(`/admin/orders/${no}`), { waitUntil: 'domcontentloaded' })
        const adminRoute = page.locator('[data-test=admin-shipments] [data-test=order-route]')
        await t.waitForText(adminRoute.locator('[data-test=route-item]').first(), '已签收')
        await t.waitForText(page.locator('[data-test=admin-parcel-outbound]'), OUT_SF)
        await t.waitForText(page.locator('[data-test=paper-contacts]'), '张经办')
        await t.waitForText(page.locator('[data-test=order-state]'), '已完成')
        await page.waitForLoadState('networkidle')
        await t.screenshot('route-admin-order')
        await expectNoPageErrors(t)
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    },
  },
]
