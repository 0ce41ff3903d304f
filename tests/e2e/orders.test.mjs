// Orders through the real pages: 新制申请 of a main and a secondary key, the one-main-key rule,
// field errors, the generated PDFs, edit and delete; the staff console (order search, prices,
// held main keys) and changing the handler's mobile with an authorisation letter.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import {
  apiClient,
  expectNoPageErrors,
  fieldError,
  fill,
  freshStart,
  idNumber,
  loginViaPage,
  phoneScreenshot,
  staffClient,
  staffLoginViaPage,
  uscc,
} from './helpers.mjs'

const PASSWORD = 'Abcd-1234'

// Organisations of this file (USCCs and mobiles no other test file uses).
const ORG_A = { uscc: uscc('91360600MA35Y0001'), name: '鹰潭市订单测试科技有限公司', mobile: '13800001001' }
const ORG_B = { uscc: uscc('91360600MA35Y0002'), name: '鹰潭市修改删除测试有限公司', mobile: '13800001002' }
const ORG_C = { uscc: uscc('91360600MA35Y0003'), name: '鹰潭市已有主锁测试有限公司', mobile: '13800001003' }
const ORG_D = { uscc: uscc('91360600MA35Y0004'), name: '鹰潭市经办人变更测试有限公司', mobile: '13800001004' }
const ORG_E = { uscc: uscc('91360600MA35Y0005'), name: '鹰潭市后台查询测试有限公司', mobile: '13800001005' }

// Every field of the order form (seal_name only for a main key).
function fullForm(n) {
  return {
    unit_address: '江西省鹰潭市月湖区胜利西路 8 号',
    legal_name: '王法人',
    legal_id_number: idNumber('36060219800101003'),
    legal_mobile: `139000${n}0001`,
    handler_name: '李经办',
    handler_id_number: idNumber('36060219900202004'),
    handler_mobile: `139000${n}0002`,
    handler_email: 'jingban@example.com',
    invoice_title: '鹰潭市订单测试科技有限公司',
    invoice_tax_number: ORG_A.uscc,
    invoice_email: 'fapiao@example.com',
    recipient_name: '赵收件',
    recipient_mobile: `139000${n}0003`,
    recipient_address: '江西省鹰潭市月湖区胜利西路 8 号收发室',
    seal_name: '鹰潭市订单测试科技有限公司',
  }
}

async function fillOrderForm(page, values) {
  for (const [name, value] of Object.entries(values)) {
    if ((await page.locator(`input[name="${name}"]`).count()) === 0) continue
    await fill(page, name, value)
  }
}

// /orders → 新办证书 → the project → 新制申请 → the key type: the order form.
async function openNewOrderForm(t, keyType) {
  const { page } = t
  await page.goto(t.url('/orders'), { waitUntil: 'domcontentloaded' })
  await page.locator('[data-test=new-order]').click()
  await page.waitForURL((u) => u.pathname === '/orders/new')
  await page.locator('[data-test=project-yingtan] [data-test=apply-new]').click()
  await t.waitForText(page.locator('[data-test=key-rule]'), '每个单位只能办理一个含签章的主锁')
  await page.locator(`[data-test=key-type-${keyType}]`).click()
  await page.locator('[data-test=order-form]').waitFor()
}

async function saveDraft(page) {
  await page.locator('[data-test=save-draft]').click()
  await page.waitForURL((u) => /^\/orders\/YT\d{8}-\d{6}$/.test(u.pathname), { timeout: 10000 })
  await page.locator('[data-test=order-no]').waitFor()
  return (await page.locator('[data-test=order-no]').textContent()).trim()
}

async function downloadPdf(t, kind) {
  const { page } = t
  const [dl] = await Promise.all([
    page.waitForEvent('download', { timeout: 20000 }),
    page.locator(`[data-test=download-${kind}]`).click(),
  ])
  const buf = fs.readFileSync(await dl.path())
  assert.equal(buf.subarray(0, 4).toString('latin1'), '%PDF', `${kind}: a PDF`)
  assert.ok(buf.length > 10 * 1024, `${kind}: ${buf.length} bytes`)
  assert.match(dl.suggestedFilename(), /\.pdf$/, `${kind}: file name ${dl.suggestedFilename()}`)
  return dl.suggestedFilename()
}

const ordersRow = (page, no) => page.locator('[data-test=orders-table] .el-table__body-wrapper tr', { hasText: no })

export default [
  {
    name: 'orders: main and secondary key orders through the pages, the three PDFs, one main key only',
    timeoutMs: 90000,
    async fn(t) {
      const { page } = t
      await freshStart(t)
      await apiClient(t).register({ ...ORG_A, password: PASSWORD })
      await loginViaPage(t, ORG_A.uscc, PASSWORD)
      await page.locator('[data-test=orders-page]').waitFor()
      await page.waitForLoadState('networkidle')
      await t.screenshot('orders-empty')

      // 新制申请 of a main key, every field filled in.
      await page.locator('[data-test=new-order]').click()
      await page.locator('[data-test=project-yingtan]').waitFor()
      await t.screenshot('order-new-project')
      await page.locator('[data-test=project-yingtan] [data-test=apply-new]').click()
      await t.waitForText(page.locator('[data-test=key-type-main]'), '¥220.00')
      await t.waitForText(page.locator('[data-test=key-type-secondary]'), '¥190.00')
      await t.waitForText(page.locator('[data-test=key-rule]'), '请申请无章副锁')
      await t.screenshot('order-new-key-type')
      await phoneScreenshot(t, 'order-new-key-type-phone')
      await page.locator('[data-test=key-type-main]').click()
      const form = page.locator('[data-test=order-form]')
      await form.waitFor()
      await t.waitForText(page.locator('[data-test=phone-warning]'), '收件人信息错误将导致快递员无法派送数字证书')
      await t.waitForText(page.locator('[data-test=unit-uscc-ro]'), ORG_A.uscc)
      // Filled in from the account.
      assert.equal(await page.locator('input[name=invoice_tax_number]').inputValue(), ORG_A.uscc)
      assert.equal(await page.locator('input[name=seal_name]').inputValue(), ORG_A.name)
      assert.equal(await page.locator('input[name=handler_mobile]').inputValue(), ORG_A.mobile)
      await fillOrderForm(page, fullForm(1))
      await t.screenshot('order-new-form')
      await phoneScreenshot(t, 'order-new-form-phone')
      const mainNo = await saveDraft(page)
      await t.waitForText(page.locator('[data-test=order-state]'), '草稿（待提交）')
      await t.waitForText(page.locator('[data-test=order-price]'), '¥220.00')
      assert.equal(await page.locator('[data-test=missing-fields]').count(), 0, 'nothing missing')

      // The list.
      await page.locator('[data-test=nav-orders]').click()
      await page.waitForURL((u) => u.pathname === '/orders')
      const row = ordersRow(page, mainNo)
      await t.waitForText(row, '¥220.00')
      await t.waitForText(row, '草稿（待提交）')
      await t.waitForText(row, '主锁（含电子签章）')
      await t.waitForText(row, '鹰潭市阳光采购服务平台')

      // The order's page: the three PDFs.
      await row.locator('[data-test=view]').click()
      await page.waitForURL(t.url(`/orders/${mainNo}`))
      await t.waitForText(page.locator('[data-test=next-step]'), '下一步')
      await t.waitForText(page.locator('[data-test=uploads]'), '上传资料')
      await t.waitForText(page.locator('[data-test=verification-state]'), '法人尚未扫码核验')
      await page.waitForLoadState('networkidle')
      await t.screenshot('order-detail')
      await phoneScreenshot(t, 'order-detail-phone')
      await downloadPdf(t, 'application')
      await downloadPdf(t, 'authorisation')
      await downloadPdf(t, 'seal')

      // Submit waits: the reasons in Chinese.
      assert.ok(await page.locator('[data-test=submit-order]').isDisabled(), 'submit waits for the scans and the legal person')
      const why = page.locator('[data-test=submit-missing]')
      await t.waitForText(why, '资料未上传齐全')
      await t.waitForText(why, '法人尚未完成刷脸核验')
      await t.screenshot('order-submit-refused')

      // A secondary key order: no electronic seal, no seal form.
      await openNewOrderForm(t, 'secondary')
      await t.waitForText(page.locator('[data-test=order-summary]'), '¥190.00')
      assert.equal(await page.locator('input[name=seal_name]').count(), 0, 'no seal name for a secondary key')
      assert.equal(await page.locator('[data-test=section-seal]').count(), 0, 'no seal section')
      await fillOrderForm(page, fullForm(2))
      const secondaryNo = await saveDraft(page)
      await t.waitForText(page.locator('[data-test=order-price]'), '¥190.00')
      await page.locator('[data-test=download-application]').waitFor()
      assert.equal(await page.locator('[data-test=download-seal]').count(), 0, 'no seal form for a secondary key')
      assert.equal(await page.locator('[data-test=form-seal]').count(), 0)
      await downloadPdf(t, 'authorisation')

      // A second main key: refused with the rule, and the page offers the secondary key.
      await openNewOrderForm(t, 'main')
      await fill(page, 'unit_address', '江西省鹰潭市月湖区胜利西路 8 号')
      await page.locator('[data-test=save-draft]').click()
      const exists = page.locator('[data-test=main-key-exists]')
      await t.waitForText(exists, '只能办理一个含电子签章的主锁')
      await t.screenshot('order-main-key-exists')
      await exists.locator('[data-test=switch-secondary]').click()
      await page.waitForURL((u) => u.searchParams.get('key_type') === 'secondary')
      await t.waitForText(page.locator('[data-test=order-summary]'), '副锁')
      assert.equal(await page.locator('input[name=unit_address]').inputValue(), '江西省鹰潭市月湖区胜利西路 8 号', 'kept')

      // Both orders in the list, the newest first.
      await page.goto(t.url('/orders'), { waitUntil: 'domcontentloaded' })
      await t.waitForText(ordersRow(page, secondaryNo), '¥190.00')
      await page.waitForLoadState('networkidle')
      await t.screenshot('orders')
      await phoneScreenshot(t, 'orders-phone')
      const first = await page.locator('[data-test=orders-table] .el-table__body-wrapper tr').first().textContent()
      assert.ok(first.includes(secondaryNo), 'newest first')
      await expectNoPageErrors(t)
    },
  },
  {
    name: 'orders: field errors under their fields (ID check digit, landline for the recipient)',
    async fn(t) {
      const { page } = t
      await freshStart(t)
      await loginViaPage(t, ORG_A.uscc, PASSWORD)
      await openNewOrderForm(t, 'secondary')
      const good = idNumber('36060219800101003')
      const bad = good.slice(0, 17) + (good[17] === '1' ? '2' : '1')
      await fill(page, 'legal_id_number', bad)
      await fill(page, 'recipient_mobile', '0701-6221234')
      await fill(page, 'handler_email', 'not-an-email')
      await page.locator('[data-test=save-draft]').click()
      await t.waitForText(fieldError(page, 'legal_id_number'), '校验位不正确')
      await t.waitForText(fieldError(page, 'recipient_mobile'), '11 位手机号码')
      await t.waitForText(fieldError(page, 'recipient_mobile'), '不支持座机')
      await t.waitForText(fieldError(page, 'handler_email'), '格式不正确')
      assert.equal(new URL(page.url()).pathname, '/orders/new', 'not saved')
      await t.screenshot('order-field-errors')
      await phoneScreenshot(t, 'order-field-errors-phone')

      // Correcting a field clears its message.
      await fill(page, 'legal_id_number', good)
      await fieldError(page, 'legal_id_number').waitFor({ state: 'detached' })
      await expectNoPageErrors(t)
    },
  },
  {
    name: 'orders: edit (legal person warning), save, history; delete with confirmation',
    async fn(t) {
      const { page } = t
      await freshStart(t)
      const api = apiClient(t)
      await api.register({ ...ORG_B, password: PASSWORD })
      const login = await api.login(ORG_B.uscc, PASSWORD)
      assert.equal(login.status, 200)
      const form = fullForm(3)
      delete form.invoice_title
      delete form.invoice_tax_number
      delete form.recipient_address // one field left to fill in on the page
      const created = await api.call('POST', '/api/v1/orders', { project_code: 'yingtan', key_type: 'main', form })
      assert.equal(created.status, 201, JSON.stringify(created.data))
      const no = created.data.order_no

      await loginViaPage(t, ORG_B.uscc, PASSWORD)
      await page.goto(t.url(`/orders/${no}`), { waitUntil: 'domcontentloaded' })
      await t.waitForText(page.locator('[data-test=missing-fields]'), '证书收件地址')
      await t.waitForText(page.locator('[data-test=download-blocked]'), '请先完善订单信息')
      assert.ok(await page.locator('[data-test=download-application]').isDisabled(), 'downloads wait for the form')
      const historyItems = page.locator('[data-test=order-history] .el-timeline-item')
      await t.waitForText(page.locator('[data-test=order-history]'), '创建订单')
      const before = await historyItems.count()

      // Edit: the address, and the legal person (which voids the printed letter).
      await fill(page, 'recipient_address', '江西省鹰潭市余江区中童镇工业园 1 号')
      await fill(page, 'unit_address', '江西省鹰潭市余江区中童镇工业园 1 号')
      await fill(page, 'legal_name', '王新法人')
      await t.waitForText(page.locator('[data-test=legal-warning]'), '修改法人信息后需重新下载并打印授权委托书、重新进行法人核验')
      await t.screenshot('order-edit')
      await page.locator('[data-test=save-order]').click()
      await t.waitForText(page.locator('[data-test=legal-changed]'), '重新进行法人核验')
      await page.locator('[data-test=missing-fields]').waitFor({ state: 'detached' })
      assert.ok(!(await page.locator('[data-test=download-application]').isDisabled()), 'downloads enabled')
      assert.ok(await page.locator('[data-test=save-order]').isDisabled(), 'nothing left to save')

      // Stored on the server.
      await page.reload({ waitUntil: 'domcontentloaded' })
      await page.locator('input[name=unit_address]').waitFor()
      assert.equal(await page.locator('input[name=unit_address]').inputValue(), '江西省鹰潭市余江区中童镇工业园 1 号')
      assert.equal(await page.locator('input[name=legal_name]').inputValue(), '王新法人')
      await t.waitForText(page.locator('[data-test=order-history]'), '创建订单')
      const after = await historyItems.count()
      assert.ok(after >= before, `history kept (${before} → ${after})`)
      const stored = await api.call('GET', `/api/v1/orders/${no}`)
      assert.equal(stored.data.form.unit_address, '江西省鹰潭市余江区中童镇工业园 1 号')
      assert.ok(stored.data.form_version > created.data.form_version, 'form version grew')

      // Delete, confirmed.
      await page.locator('[data-test=delete-order]').click()
      const box = page.locator('.el-message-box')
      await t.waitForText(box, '删除后该订单的申请表和法人核验将作废')
      await t.screenshot('order-delete-confirm')
      await box.getByRole('button', { name: '删除' }).click()
      await page.waitForURL((u) => u.pathname === '/orders')
      await t.waitForText(ordersRow(page, no), '已删除')
      assert.equal(await ordersRow(page, no).locator('[data-test=view]').count(), 0, 'no link to a deleted order')
      await page.waitForLoadState('networkidle')
      await t.screenshot('orders-deleted')
      const gone = await api.call('GET', `/api/v1/orders/${no}`)
      assert.equal(gone.status, 404)
      await expectNoPageErrors(t)
    },
  },
  {
    name: 'staff: order search by USCC, order detail, secondary price in yuan, held main key',
    timeoutMs: 60000,
    async fn(t) {
      const { page } = t
      await freshStart(t)
      const admin = await staffClient(t)
      // An organisation with a main-key order (through the API).
      const owner = apiClient(t)
      await owner.register({ ...ORG_E, password: PASSWORD })
      assert.equal((await owner.login(ORG_E.uscc, PASSWORD)).status, 200)
      const form = { ...fullForm(5), invoice_title: ORG_E.name, invoice_tax_number: ORG_E.uscc, seal_name: ORG_E.name }
      const made = await owner.call('POST', '/api/v1/orders', { project_code: 'yingtan', key_type: 'main', form })
      assert.equal(made.status, 201, JSON.stringify(made.data))
      try {
        await staffLoginViaPage(t, 'admin')
        const menu = page.locator('[data-test=admin-menu]')
        await menu.getByText('订单查询').click()
        await page.waitForURL(t.url('/admin/orders'))
        await page.locator('input[data-test=order-search]').fill(ORG_E.uscc)
        await page.locator('[data-test=order-search-button]').click()
        const table = page.locator('[data-test=admin-orders-table]')
        const rows = table.locator('.el-table__body-wrapper tr')
        await t.waitForText(table, made.data.order_no)
        await t.waitForText(table, ORG_E.name)
        await t.waitForText(table, '¥220.00')
        await t.waitForText(table, '草稿（待提交）')
        for (const text of await rows.allTextContents()) assert.ok(text.includes(ORG_E.uscc), `only ${ORG_E.uscc}: ${text}`)
        await page.waitForLoadState('networkidle')
        await t.screenshot('admin-orders')

        // State filter (Chinese labels).
        await page.locator('[data-test=order-state-filter]').click()
        await page.locator('.el-select-dropdown__item', { hasText: '已删除' }).click()
        await t.waitForText(table, '没有找到匹配的订单')
        await page.locator('[data-test=order-state-filter]').click()
        await page.locator('.el-select-dropdown__item', { hasText: '草稿（待提交）' }).click()
        await t.waitForText(table, ORG_E.name)

        // The main-key order's detail.
        await table.locator('.el-table__body-wrapper tr', { hasText: '主锁' }).first().getByRole('link').click()
        await page.waitForURL((u) => u.pathname.startsWith('/admin/orders/YT'))
        await t.waitForText(page.locator('[data-test=order-no]'), made.data.order_no)
        await t.waitForText(page.locator('[data-test=order-organisation]'), ORG_E.name)
        await t.waitForText(page.locator('[data-test=order-form-readonly]'), '王法人')
        await t.waitForText(page.locator('[data-test=order-form-readonly]'), '电子印章名称')
        await page.waitForLoadState('networkidle')
        await t.screenshot('admin-order-detail')

        // Prices: shown in yuan, sent as integer fen.
        await menu.getByText('项目与价格').click()
        await page.waitForURL(t.url('/admin/projects'))
        const kt = page.locator('[data-test=key-types-table] .el-table__body-wrapper tr', { hasText: '副锁' })
        await t.waitForText(kt, '¥190.00')
        await page.waitForLoadState('networkidle')
        await t.screenshot('admin-projects')
        await kt.locator('[data-test=edit-secondary]').click()
        const dialog = page.locator('.el-dialog', { hasText: '修改证书类型与价格' })
        await dialog.waitFor()
        assert.equal(await dialog.locator('input[name=price]').inputValue(), '190.00')
        await dialog.locator('input[name=price]').fill('200.5x')
        await dialog.locator('[data-test=key-type-save]').click()
        await t.waitForText(dialog.locator('.el-form-item__error'), '最多两位小数')
        await dialog.locator('input[name=price]').fill('200.00')
        await t.screenshot('admin-projects-edit')
        await dialog.locator('[data-test=key-type-save]').click()
        await dialog.waitFor({ state: 'hidden' })
        await t.waitForText(kt, '¥200.00')
        const catalogue = await t.getJSON('/api/v1/projects')
        const secondary = catalogue.items[0].key_types.find((k) => k.key_type === 'secondary')
        assert.strictEqual(secondary.price_fen, 20000, 'sent as integer fen')

        // Back to 190.00.
        await kt.locator('[data-test=edit-secondary]').click()
        await dialog.waitFor()
        await dialog.locator('input[name=price]').fill('190')
        await dialog.locator('[data-test=key-type-save]').click()
        await dialog.waitFor({ state: 'hidden' })
        await t.waitForText(kt, '¥190.00')

        // A main key held from before (registered by an admin): main-key orders are refused.
        const org = apiClient(t)
        await org.register({ ...ORG_C, password: PASSWORD })
        await menu.getByText('单位管理').click()
        await page.waitForURL(t.url('/admin/organisations'))
        await page.locator('input[data-test=org-search]').fill(ORG_C.uscc)
        await page.getByRole('button', { name: '查询' }).click()
        const orgRow = page.locator('[data-test=org-table] .el-table__body-wrapper tr', { hasText: ORG_C.uscc })
        await orgRow.first().locator('[data-test=held-keys]').click()
        const held = page.locator('.el-dialog', { hasText: '已有主锁' })
        await t.waitForText(held.locator('[data-test=held-table]'), '未登记已有主锁')
        await held.locator('[data-test=held-save]').click()
        await t.waitForText(held.locator('.el-form-item__error'), '请填写说明')
        await held.locator('input[data-test=held-note]').fill('2025 年在窗口办理，证书序列号 4A3F0001')
        await held.locator('[data-test=held-save]').click()
        await t.waitForText(held.locator('[data-test=held-table]'), '证书序列号 4A3F0001')
        await t.screenshot('admin-held-keys')
        await held.getByRole('button', { name: '关闭', exact: true }).click()

        const login = await org.login(ORG_C.uscc, PASSWORD)
        assert.equal(login.status, 200)
        const refused = await org.call('POST', '/api/v1/orders', { project_code: 'yingtan', key_type: 'main', form: {} })
        assert.equal(refused.status, 409, JSON.stringify(refused.data))
        assert.equal(refused.data.error.code, 'main_key_exists')
        await expectNoPageErrors(t)
      } finally {
        // Whatever happened, the catalogue is left as it was.
        await admin.call('PATCH', '/api/v1/admin/projects/yingtan/key-types/secondary', {
          name: '副锁（无电子签章）',
          price_fen: 19000,
          renewal_fen_per_year: 19000,
          years_offered: '1,2,3',
        })
      }
    },
  },
  {
    name: 'mobile change with a stamped authorisation letter: upload, admin approves, new mobile shown',
    timeoutMs: 60000,
    async fn(t) {
      const { page } = t
      await freshStart(t)
      await apiClient(t).register({ ...ORG_D, password: PASSWORD })

      // The "letter": a picture made in the browser.
      const painter = await t.context.newPage()
      await painter.setViewportSize({ width: 620, height: 820 })
      await painter.setContent(`<body style="margin:0;font:16px sans-serif;background:#fff">
        <div style="padding:40px 50px;line-height:2">
          <h2 style="text-align:center;letter-spacing:8px">法人授权委托书</h2>
          <p>兹授权 <u>周新经办</u>（身份证号 360602199003030036）为我单位经办人，办理数字证书相关业务。</p>
          <p>委托单位：${ORG_D.name}</p><p>法定代表人：王法人</p><p>有效期：2026 年 11 月至 2028 年 11 月</p>
          <div style="width:160px;height:160px;border:5px solid #d00;border-radius:50%;margin:30px 0 0 300px;
            color:#d00;display:flex;align-items:center;justify-content:center;font-weight:bold">单位公章</div>
        </div></body>`)
      const letter = await painter.screenshot({ type: 'png' })
      await painter.close()
      assert.ok(letter.length < 1024 * 1024, `letter ${letter.length} bytes`)

      await loginViaPage(t, ORG_D.uscc, PASSWORD)
      await page.goto(t.url('/account'), { waitUntil: 'domcontentloaded' })
      await page.getByRole('tab', { name: '变更经办人手机号' }).click()
      await page.locator('[data-test=mobile-letter-mode]').click()
      const form = page.locator('[data-test=mobile-request-form]')
      await form.waitFor()
      await fill(page, 'handler_name', '周新经办')
      await fill(page, 'new_mobile', '13800001044')
      // A file of the wrong type is refused on the page.
      const input = form.locator('input[type=file]')
      await input.setInputFiles({ name: 'letter.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4') })
      await t.waitForText(form.locator('[data-test=letter-item] .el-form-item__error'), 'jpeg、jpg、png 或 bmp')
      await input.setInputFiles({ name: 'letter.png', mimeType: 'image/png', buffer: letter })
      await form.locator('[data-test=letter-item] .el-form-item__error').waitFor({ state: 'detached' })
      await t.screenshot('account-mobile-request')
      await phoneScreenshot(t, 'account-mobile-request-phone')
      await page.locator('[data-test=mobile-request-submit]').click()
      const list = page.locator('[data-test=mobile-requests]')
      await t.waitForText(list, '审核中')
      await t.waitForText(list, '13800001044')
      await page.waitForLoadState('networkidle')
      await t.screenshot('account-mobile-request-pending')

      // The admin looks at the letter and approves.
      await freshStart(t)
      await staffLoginViaPage(t, 'admin')
      await page.locator('[data-test=admin-menu]').getByText('经办人变更审核').click()
      await page.waitForURL(t.url('/admin/mobile-requests'))
      const row = page.locator('[data-test=mobile-requests-table] .el-table__body-wrapper tr', { hasText: ORG_D.uscc })
      await t.waitForText(row, '周新经办')
      const img = row.first().locator('[data-test=letter-image] img')
      await img.waitFor()
      await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await img.elementHandle())
      await page.waitForLoadState('networkidle')
      await t.screenshot('admin-mobile-requests')
      await img.click()
      const viewer = page.locator('.el-image-viewer__wrapper')
      await viewer.waitFor()
      await t.screenshot('admin-mobile-request-letter')
      await page.keyboard.press('Escape')
      await viewer.waitFor({ state: 'detached' })
      await row.first().locator('[data-test=approve]').click()
      await page.locator('.el-message-box').getByRole('button', { name: '通过' }).click()
      await row.first().waitFor({ state: 'detached' })

      // The organisation sees the new handler.
      await freshStart(t)
      await loginViaPage(t, ORG_D.uscc, PASSWORD)
      await page.goto(t.url('/account'), { waitUntil: 'domcontentloaded' })
      await t.waitForText(page.locator('.head-side'), '周新经办（138****1044）')
      await page.getByRole('tab', { name: '变更经办人手机号' }).click()
      await t.waitForText(page.locator('[data-test=mobile-requests]'), '已通过')
      await expectNoPageErrors(t)
    },
  },
]
