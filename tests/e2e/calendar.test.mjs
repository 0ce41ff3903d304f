// 工作日历 (/admin/calendar): the admin sees which years are covered, uploads a valid year (2031,
// two entries) and sees it listed with the counts and the uploader; a file breaking the rules shows
// the server's message and the entry it names; a reviewer sees the coverage but no upload form.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { expectNoPageErrors, freshStart, staffLoginViaPage } from './helpers.mjs'

const VALID = {
  $schema: 'https://raw.githubusercontent.com/NateScarlet/holiday-cn/master/schema.json',
  year: 2031,
  papers: [],
  days: [
    { name: '元旦', date: '2031-01-01', isOffDay: true },
    { name: '春节', date: '2031-01-19', isOffDay: false },
  ],
}
const INVALID = { year: 2032, days: [{ name: '元旦', date: '2032-02-30', isOffDay: true }] }

export default [
  {
    name: 'calendar: admin uploads a year, a bad file is refused with its reason; a reviewer only reads',
    timeoutMs: 60000,
    async fn(t) {
      const { page } = t
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certdesk-e2e-calendar-'))
      try {
        const good = path.join(dir, '2031.json')
        fs.writeFileSync(good, JSON.stringify(VALID, null, 2))
        const bad = path.join(dir, '2032.json')
        fs.writeFileSync(bad, JSON.stringify(INVALID))

        await freshStart(t)
        await staffLoginViaPage(t, 'admin')
        const who = (await page.locator('[data-test=staff-name]').textContent()).trim()
        await page.locator('[data-test="menu-/admin/calendar"]').click()
        await page.waitForURL((u) => u.pathname === '/admin/calendar')
        const cal = page.locator('[data-test=admin-calendar]')
        await t.waitForText(cal.locator('[data-test=calendar-intro]'), '调休')
        await t.waitForText(cal.locator('[data-test=calendar-intro]'), 'https://github.com/NateScarlet/holiday-cn')
        await t.waitForText(cal.locator('[data-test=calendar-intro]'), '国务院')
        await cal.locator('[data-test=published-2025]').waitFor()
        assert.equal(await cal.locator('[data-test=published-2031]').count(), 0, '2031 not covered yet')
        await t.waitForText(cal.locator('[data-test=calendar-data-dir]'), 'holidays-cn')
        await page.waitForLoadState('networkidle')
        await t.screenshot('calendar-admin')

        // A valid year: the file's year fills in the year.
        await cal.locator('input[name=calendar-file]').setInputFiles(good)
        await t.waitForText(cal.locator('[data-test=calendar-file-name]'), '2031.json')
        assert.equal(await cal.locator('[data-test=calendar-year] input').inputValue(), '2031')
        await cal.locator('[data-test=calendar-submit]').click()
        await t.waitForText(cal.locator('[data-test=calendar-done]'), '2031 年工作日历已更新：放假日 1 天，调休上班日 1 天')
        await cal.locator('[data-test=published-2031]').waitFor()
        const row = cal.locator('[data-test=calendar-uploads] tbody tr', { hasText: '2031' })
        await t.waitForText(row, who)
        await t.waitForText(row, '1 天')
        await page.waitForLoadState('networkidle')
        await t.screenshot('calendar-uploaded')

        // A file breaking the rules: the server's message and the entry it names.
        await cal.locator('input[name=calendar-file]').setInputFiles(bad)
        await t.waitForText(cal.locator('[data-test=calendar-file-name]'), '2032.json')
        assert.equal(await cal.locator('[data-test=calendar-year] input').inputValue(), '2032')
        await cal.locator('[data-test=calendar-submit]').click()
        await t.waitForText(cal.locator('[data-test=calendar-error]'), '日历文件不符合格式')
        await t.waitForText(cal.locator('[data-test=calendar-error-detail]'), '2032-02-30')
        assert.equal(await cal.locator('[data-test=calendar-done]').count(), 0, 'no success message')
        assert.equal(await cal.locator('[data-test=published-2032]').count(), 0, '2032 not covered')
        await page.waitForLoadState('networkidle')
        await t.screenshot('calendar-invalid')
        await expectNoPageErrors(t)

        // A reviewer: the coverage (with the admin's 2031), no upload form.
        await freshStart(t)
        await staffLoginViaPage(t, 'reviewer')
        await page.locator('[data-test="menu-/admin/calendar"]').click()
        await page.waitForURL((u) => u.pathname === '/admin/calendar')
        await cal.locator('[data-test=published-2031]').waitFor()
        await t.waitForText(cal.locator('[data-test=calendar-uploads] tbody tr', { hasText: '2031' }), '工作人员')
        assert.equal(await cal.locator('[data-test=calendar-upload]').count(), 0, 'no upload form for a reviewer')
        assert.equal(await cal.locator('input[name=calendar-file]').count(), 0, 'no file input for a reviewer')
        await t.waitForText(cal.locator('[data-test=calendar-admin-only]'), '管理员')
        await page.waitForLoadState('networkidle')
        await t.screenshot('calendar-reviewer')
        await expectNoPageErrors(t)
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    },
  },
]
