// Accounts through the real pages: registration, login, logout, password reset, the USCC check
// character confirmation, the staff console and login errors.
import assert from 'node:assert/strict'
import {
  CAPTCHA,
  DEMO_PASSWORD,
  apiClient,
  expectNoPageErrors,
  fieldError,
  fill,
  fillCaptcha,
  freshStart,
  lastSmsId,
  smsCode,
} from './helpers.mjs'

const PASSWORD = 'Abcd-1234'
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// The password reset test needs an organisation whose handler got no SMS in the last minute
// (the server sends one code per mobile per minute): it is registered when the first test of
// this file starts, and the reset test runs last.
const RESET_ORG = { uscc: '91110000600037341L', mobile: '13800000002', name: '北京重置密码测试有限公司' }
let resetOrg = null
function resetOrgRegistered(t) {
  if (!resetOrg) {
    const sentAt = Date.now()
    resetOrg = apiClient(t)
      .register({ ...RESET_ORG, password: PASSWORD })
      .then(() => ({ sentAt }))
  }
  return resetOrg
}

// Registers through /register; returns after landing on /login.
async function registerViaPage(t, { uscc, name, mobile, screenshot, expectCheckChar = false }) {
  const { page } = t
  await page.goto(t.url('/register'), { waitUntil: 'domcontentloaded' })
  await page.locator('[data-test=register-page]').waitFor()
  await fill(page, 'unit_name', name)
  // Typed in lower case: the page upper-cases it.
  await page.locator('input[name=uscc]').pressSequentially(uscc.toLowerCase())
  assert.equal(await page.locator('input[name=uscc]').inputValue(), uscc, 'USCC upper-cased while typing')
  await fill(page, 'handler_name', '李经办')
  await fill(page, 'handler_mobile', mobile)
  await fill(page, 'password', PASSWORD)
  await fill(page, 'password_confirm', PASSWORD)
  await fillCaptcha(page)
  const before = await lastSmsId(t, mobile)
  await page.getByRole('button', { name: '获取验证码' }).click()
  const masked = `${mobile.slice(0, 3)}****${mobile.slice(7)}`
  await t.waitForText(page.locator('[data-test=sms-sent]'), `验证码已发送至 ${masked}`)
  await t.waitForText(page.locator('[data-test=sms-send]'), '秒后重新获取')
  assert.equal(await page.locator('input[name=captcha]').inputValue(), '', 'used captcha cleared')
  await fill(page, 'sms_code', await smsCode(t, mobile, { after: before }))
  if (screenshot) await t.screenshot(screenshot)
  await page.getByRole('button', { name: '注册', exact: true }).click()

  if (expectCheckChar) {
    const err = fieldError(page, 'uscc')
    await t.waitForText(err, '校验位')
    await t.waitForText(err, '代码与营业执照一致')
    const box = page.locator('[data-test=uscc-as-printed]')
    await box.waitFor()
    await t.screenshot('register-check-char')
    assert.equal(page.url(), t.url('/register'), 'still on the register page')
    await box.click()
    await page.getByRole('button', { name: '注册', exact: true }).click()
  }

  await page.waitForURL((u) => u.pathname === '/login', { timeout: 10000 })
  assert.equal(new URL(page.url()).searchParams.get('uscc'), uscc)
  await page.getByText('注册成功，请登录').waitFor({ timeout: 5000 })
  assert.equal(await page.locator('input[name=uscc]').inputValue(), uscc, 'login form prefilled with the USCC')
}

// Logs in and ends on the account page: the login lands on the order list (or on the page the
// user came from: redirected = true).
async function loginViaPage(t, { uscc, password, prefilled = false, redirected = false }) {
  const { page } = t
  if (!prefilled) {
    await page.goto(t.url('/login'), { waitUntil: 'domcontentloaded' })
    await fill(page, 'uscc', uscc)
  }
  await fill(page, 'password', password)
  await fillCaptcha(page)
  await page.getByRole('button', { name: '登录', exact: true }).click()
  if (redirected) {
    await page.waitForURL((u) => u.pathname === '/account', { timeout: 10000 })
    return
  }
  await page.waitForURL((u) => u.pathname === '/orders', { timeout: 10000 })
  await page.locator('[data-test=orders-page]').waitFor()
  await page.locator('[data-test=header-user]').click()
  await page.waitForURL((u) => u.pathname === '/account')
}

async function staffLogin(t, username) {
  const { page } = t
  await page.goto(t.url('/admin/login'), { waitUntil: 'domcontentloaded' })
  await page.locator('[data-test=admin-login-page]').waitFor()
  await fill(page, 'username', username)
  await fill(page, 'password', DEMO_PASSWORD)
  await fillCaptcha(page)
  await page.getByRole('button', { name: '登录', exact: true }).click()
  await page.waitForURL((u) => u.pathname === '/admin', { timeout: 10000 })
  await page.locator('[data-test=admin-home]').waitFor()
}

export default [
  {
    name: 'register, log in and log out through the pages',
    async fn(t) {
      const { page } = t
      await freshStart(t)
      await resetOrgRegistered(t)
      const uscc = '91310115MA1K3BTP2B'
      const name = '上海浦东测试科技有限公司'

      // The home page buttons lead to the forms.
      await page.goto(t.url('/'), { waitUntil: 'domcontentloaded' })
      await page.getByRole('button', { name: '登录' }).click()
      await page.waitForURL(t.url('/login'))
      await page.locator('[data-test=login-page]').waitFor()

      // The register page carries the rules from the business process.
      await page.goto(t.url('/register'), { waitUntil: 'domcontentloaded' })
      const reg = page.locator('[data-test=register-page]')
      await t.waitForText(reg, '登录名')
      await t.waitForText(reg, '重新注册')
      await t.waitForText(reg, '工作人员修改')

      await registerViaPage(t, { uscc, name, mobile: '13800000001', screenshot: 'register' })
      await t.screenshot('login')
      await loginViaPage(t, { uscc, password: PASSWORD, prefilled: true })

      await t.waitForText(page.locator('[data-test=unit-name]'), name)
      await t.waitForText(page.locator('[data-test=uscc]'), uscc)
      await t.waitForText(page.locator('[data-test=header-user]'), name)
      await t.waitForText(page.locator('[data-test=orders-card]'), '数字证书申请')
      await page.locator('[data-test=account-new-order]').waitFor()
      await t.waitForText(page.locator('[data-test=uscc-status]'), '校验通过')
      assert.equal(await page.locator('[data-test=pending-review]').count(), 0)
      await page.waitForLoadState('networkidle')
      await t.screenshot('account')

      // The other tabs render.
      await page.getByRole('tab', { name: '修改密码' }).click()
      await page.locator('input[name=old_password]').waitFor()
      await page.getByRole('tab', { name: '变更经办人手机号' }).click()
      await page.locator('input[name=new_mobile]').waitFor()
      assert.equal(await page.locator('input[name=handler_name]').inputValue(), '李经办')
      await t.screenshot('account-mobile')

      // The session disappears (e.g. expired): the next request leads to the login page, and
      // logging in again returns to the account page.
      await t.context.clearCookies()
      await page.getByRole('tab', { name: '修改密码' }).click()
      await fill(page, 'old_password', PASSWORD)
      await fill(page, 'new_password', 'Another-2026')
      await fill(page, 'new_password_confirm', 'Another-2026')
      await page.getByRole('button', { name: '修改密码' }).click()
      await page.waitForURL((u) => u.pathname === '/login', { timeout: 10000 })
      assert.equal(new URL(page.url()).searchParams.get('redirect'), '/account')
      await t.waitForText(page.locator('[data-test=login-notice]'), '请先登录')
      await fill(page, 'uscc', uscc)
      await loginViaPage(t, { uscc, password: PASSWORD, prefilled: true, redirected: true })
      await t.waitForText(page.locator('[data-test=unit-name]'), name)

      await page.locator('[data-test=logout]').click()
      await page.waitForURL(t.url('/'))
      await page.locator('.header-nav').getByRole('link', { name: '登录' }).waitFor()
      assert.equal(await page.locator('[data-test=header-user]').count(), 0)
      const s = await page.evaluate(() => fetch('/api/v1/session').then((r) => r.json()))
      assert.equal(s.kind, 'anon', 'logged out on the server')

      // Org pages need a login.
      await page.goto(t.url('/account'), { waitUntil: 'domcontentloaded' })
      await page.waitForURL((u) => u.pathname === '/login')
      await t.waitForText(page.locator('[data-test=login-notice]'), '请先登录')
      await expectNoPageErrors(t)
    },
  },
  {
    name: 'wrong USCC check character: confirm as printed, account pending review',
    async fn(t) {
      const { page } = t
      await freshStart(t)
      const uscc = '91350211M0000XUF46'
      const name = '厦门校验位试点有限公司'
      await registerViaPage(t, { uscc, name, mobile: '13800000003', expectCheckChar: true })
      await loginViaPage(t, { uscc, password: PASSWORD, prefilled: true })
      await t.waitForText(page.locator('[data-test=unit-name]'), name)
      await t.waitForText(page.locator('[data-test=pending-review]'), '代码校验位未通过，待工作人员核实')
      await t.waitForText(page.locator('[data-test=uscc-status]'), '待工作人员核实')
      await t.screenshot('account-pending-review')
      await expectNoPageErrors(t)
    },
  },
  {
    name: 'staff: admin renames an organisation; reviewer has no admin menu',
    async fn(t) {
      const { page } = t
      await freshStart(t)
      const uscc = '9144030071526726XG'
      const name = '深圳改名前测试有限公司'
      const renamed = '深圳改名后测试股份有限公司'
      const api = apiClient(t)
      await api.register({ uscc, name, mobile: '13800000004', password: PASSWORD })
      // Locked by five wrong passwords.
      for (let i = 1; i <= 5; i++) {
        const r = await api.login(uscc, 'Wrong-pass-1')
        assert.equal(r.status, i < 5 ? 401 : 429, `wrong password #${i}: ${JSON.stringify(r.data)}`)
      }
      // A check character that fails, registered as printed: pending review.
      const pending = { uscc: '91620105L015101281', name: '兰州待核实测试有限公司' }
      await apiClient(t).register({ ...pending, mobile: '13800000005', password: PASSWORD, asPrinted: true })

      // Console pages need a staff login.
      await page.goto(t.url('/admin/organisations'), { waitUntil: 'domcontentloaded' })
      await page.waitForURL((u) => u.pathname === '/admin/login')

      await staffLogin(t, 'admin')
      await t.waitForText(page.locator('[data-test=staff-roles]'), '管理员')
      const menu = page.locator('[data-test=admin-menu]')
      await menu.getByText('工作人员管理').waitFor()
      await t.screenshot('admin-home')

      await menu.getByText('单位管理').click()
      await page.waitForURL(t.url('/admin/organisations'))
      const table = page.locator('[data-test=org-table]')
      await t.waitForText(table, name)
      await t.waitForText(table, pending.name)
      await page.waitForLoadState('networkidle')
      await t.screenshot('admin-organisations')

      // Confirm the pending USCC.
      const pendingRow = table.locator('.el-table__body-wrapper tr', { hasText: pending.uscc })
      await t.waitForText(pendingRow, '待核实')
      await pendingRow.locator('[data-test=confirm-uscc]').click()
      await page.locator('.el-message-box').getByRole('button', { name: '确定' }).click()
      await t.waitForText(pendingRow, '已人工核实')
      assert.equal(await pendingRow.locator('[data-test=confirm-uscc]').count(), 0)

      // Search, unlock.
      await page.locator('input[data-test=org-search]').fill(uscc)
      await page.getByRole('button', { name: '查询' }).click()
      await pendingRow.waitFor({ state: 'detached' }) // filtered out
      const row = table.locator('.el-table__body-wrapper tr', { hasText: uscc })
      await t.waitForText(row, '锁定至')
      await row.first().locator('[data-test=unlock]').click()
      await page.locator('.el-message-box').getByRole('button', { name: '确定' }).click()
      await t.waitForText(row, '正常')
      const relogin = await api.login(uscc, PASSWORD)
      assert.equal(relogin.status, 200, `login after unlock: ${JSON.stringify(relogin.data)}`)

      // Fixed column: Element Plus renders the action cells in the main body too.
      await row.first().locator('[data-test=rename]').click()
      const dialog = page.locator('.el-dialog', { hasText: '修改单位名称' })
      await dialog.waitFor()
      await dialog.locator('input[data-test=rename-input]').fill('')
      await dialog.locator('[data-test=rename-save]').click()
      await t.waitForText(dialog.locator('.el-form-item__error'), '请填写单位名称')
      await dialog.locator('input[data-test=rename-input]').fill(renamed)
      await t.screenshot('admin-rename')
      await dialog.locator('[data-test=rename-save]').click()
      await dialog.waitFor({ state: 'hidden' })
      await t.waitForText(table.locator('.el-table__body-wrapper tr', { hasText: uscc }), renamed)

      // Reloading shows what the server stored.
      await page.reload({ waitUntil: 'domcontentloaded' })
      await t.waitForText(page.locator('[data-test=org-table]'), renamed)

      // Staff list and its create dialog.
      await menu.getByText('工作人员管理').click()
      await page.waitForURL(t.url('/admin/staff'))
      await t.waitForText(page.locator('[data-test=staff-table]'), 'reviewer')
      await page.locator('[data-test=staff-create]').click()
      const sd = page.locator('.el-dialog', { hasText: '新增工作人员' })
      await sd.waitFor()
      await sd.locator('[data-test=staff-save]').click()
      await t.waitForText(sd.locator('.el-form-item', { hasText: '岗位' }).locator('.el-form-item__error'), '请选择岗位')
      await sd.locator('input[name=username]').fill('reviewer2')
      await sd.locator('input[name=display_name]').fill('第二预审员')
      await sd.getByText('预审员', { exact: true }).click()
      await sd.getByText('财务', { exact: true }).click()
      await sd.locator('input[name=password]').fill('Review-2026')
      await sd.locator('input[name=password_confirm]').fill('Review-2026')
      await t.screenshot('admin-staff-create')
      await sd.locator('[data-test=staff-save]').click()
      await sd.waitFor({ state: 'hidden' })
      const newRow = page.locator('[data-test=staff-table] tr', { hasText: 'reviewer2' })
      await t.waitForText(newRow, '第二预审员')
      await t.waitForText(newRow, '财务')
      await t.screenshot('admin-staff')

      await page.locator('[data-test=logout]').click()
      await page.waitForURL((u) => u.pathname === '/admin/login')

      // A reviewer sees the organisations but no admin menu or actions.
      await staffLogin(t, 'reviewer')
      await t.waitForText(page.locator('[data-test=staff-roles]'), '预审员')
      await menu.getByText('单位管理').waitFor()
      assert.equal(await menu.getByText('工作人员管理').count(), 0, 'no staff menu for a reviewer')
      await menu.getByText('单位管理').click()
      await t.waitForText(page.locator('[data-test=org-table]'), renamed)
      assert.equal(await page.locator('[data-test=rename]').count(), 0, 'no rename action for a reviewer')
      await page.goto(t.url('/admin/staff'), { waitUntil: 'domcontentloaded' })
      await page.waitForURL((u) => u.pathname === '/admin')
      await expectNoPageErrors(t)
    },
  },
  {
    name: 'login errors: wrong captcha shows its message under the captcha field',
    async fn(t) {
      const { page } = t
      await freshStart(t)
      await page.goto(t.url('/login'), { waitUntil: 'domcontentloaded' })
      await fill(page, 'uscc', '91310115MA1K3BTP2B')
      await fill(page, 'password', 'whatever-1')
      await fillCaptcha(page, 'WRONG')
      const img = page.locator('[data-test=captcha-img]')
      const src = await img.getAttribute('src')
      await page.getByRole('button', { name: '登录', exact: true }).click()
      await t.waitForText(fieldError(page, 'captcha'), '图片验证码错误')
      assert.equal(await page.locator('input[name=captcha]').inputValue(), '', 'captcha input cleared')
      assert.notEqual(await img.getAttribute('src'), src, 'captcha picture refreshed')
      await t.screenshot('login-captcha-error')

      // Empty fields: every message under its field at once.
      await page.locator('input[name=uscc]').fill('')
      await fill(page, 'password', '')
      await fillCaptcha(page, CAPTCHA)
      await page.getByRole('button', { name: '登录', exact: true }).click()
      await t.waitForText(fieldError(page, 'uscc'), '统一社会信用代码')
      await t.waitForText(fieldError(page, 'password'), '请填写密码')

      // Staff login: same for the console.
      await page.goto(t.url('/admin/login'), { waitUntil: 'domcontentloaded' })
      await fill(page, 'username', 'admin')
      await fill(page, 'password', DEMO_PASSWORD)
      await fillCaptcha(page, 'WRONG')
      await page.getByRole('button', { name: '登录', exact: true }).click()
      await t.waitForText(fieldError(page, 'captcha'), '图片验证码错误')
      await t.screenshot('admin-login')
      await expectNoPageErrors(t)
    },
  },
  {
    name: 'forgot password: reset with an SMS code, log in with the new password',
    timeoutMs: 120000,
    async fn(t) {
      const { page } = t
      await freshStart(t)
      const { uscc, mobile, name } = RESET_ORG
      // One SMS code per mobile per minute: wait until the registration code is a minute old.
      const { sentAt } = await resetOrgRegistered(t)
      await sleep(Math.max(0, sentAt + 61000 - Date.now()))

      await page.goto(t.url('/login'), { waitUntil: 'domcontentloaded' })
      await page.getByRole('link', { name: '忘记密码？' }).click()
      await page.waitForURL(t.url('/forgot-password'))
      const help = page.locator('[data-test=forgot-page]')
      await t.waitForText(help, '用户手册')

      await fill(page, 'uscc', uscc)
      await fillCaptcha(page)
      const before = await lastSmsId(t, mobile)
      await page.getByRole('button', { name: '获取短信验证码' }).click()
      await t.waitForText(page.locator('[data-test=sms-sent]'), '如该统一社会信用代码已注册，验证码已发送至登记的经办人手机')
      await t.screenshot('forgot-password')

      const newPassword = 'New-pass-2026'
      await fill(page, 'sms_code', '000000')
      await fill(page, 'new_password', newPassword)
      await fill(page, 'new_password_confirm', 'mismatch-2026')
      await page.getByRole('button', { name: '重置密码' }).click()
      await t.waitForText(fieldError(page, 'new_password_confirm'), '两次输入的密码不一致')

      await fill(page, 'sms_code', await smsCode(t, mobile, { after: before }))
      await fill(page, 'new_password_confirm', newPassword)
      await page.getByRole('button', { name: '重置密码' }).click()
      await page.waitForURL((u) => u.pathname === '/login', { timeout: 10000 })
      assert.equal(await page.locator('input[name=uscc]').inputValue(), uscc)

      // The old password no longer works; the new one does.
      await fill(page, 'password', PASSWORD)
      await fillCaptcha(page)
      await page.getByRole('button', { name: '登录', exact: true }).click()
      await t.waitForText(fieldError(page, 'password'), '统一社会信用代码或密码错误')
      await t.waitForText(fieldError(page, 'password'), '再错 4 次')
      await loginViaPage(t, { uscc, password: newPassword, prefilled: true })
      await t.waitForText(page.locator('[data-test=unit-name]'), name)
      await expectNoPageErrors(t)
    },
  },
]
