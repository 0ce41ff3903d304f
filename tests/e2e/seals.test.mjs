// A main key's seal pictures from the organisation's scan (issue 14): the organisation prints
// certdesk's 签章采集表 (the PDF rendered with pdftoppm), stamps it (red round 单位公章 and red square
// 法人章 drawn into the four boxes in the browser's canvas) and uploads the scan; the order is put
// in `producing`. The producer's production page first says the pictures are missing and links to
// the order page; there 电子签章印模 shows the four proposed boxes with their verdicts, a box dragged
// a few pixels is cut out again (the after picture changes), 单位公章 and 法人章 are chosen, and the
// key is produced on the software SKF key to 完成. certdeskd: the order is produced, GET …/seals
// lists the two seals, and `certdesk seal verify` accepts the downloaded .esl files.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  apiClient,
  expectNoPageErrors,
  freshStart,
  idNumber,
  produceOnPage,
  staffClient,
  staffLoginViaPage,
  uscc,
} from './helpers.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const REPO = path.resolve(HERE, '..', '..')
// the admin CLI next to the server binary, as run.mjs finds it
const SERVER_BIN = path.resolve(REPO, process.env.CERTDESKD || 'build/certdeskd')
const CLI_BIN = process.env.CERTDESK_CLI
  ? path.resolve(REPO, process.env.CERTDESK_CLI)
  : path.join(path.dirname(SERVER_BIN), 'certdesk')

const PASSWORD = 'Abcd-1234'
const ORG = { uscc: uscc('91360600MA35Y0807'), name: '鹰潭市印模测试有限公司', mobile: '13800008007' }
const KEY = { name: 'E2ESEAL1', serial: 'E2ESEAL0001' }
const DPI = 150

// The four impression boxes of the form, mm from the page's top left (src/docs/forms_seal_layout.h:
// 2 × 50 mm for 单位公章, 2 × 25 mm for 法人章).
const BOXES_MM = [
  { slot: 'unit_1', x: 36.5, y: 113.5, side: 50 },
  { slot: 'unit_2', x: 123.5, y: 113.5, side: 50 },
  { slot: 'legal_1', x: 49, y: 187, side: 25 },
  { slot: 'legal_2', x: 136, y: 187, side: 25 },
]

function form(org) {
  return {
    unit_address: '江西省鹰潭市月湖区胜利西路 8 号',
    legal_name: '周法人',
    legal_id_number: idNumber('36042619800101009'),
    legal_mobile: '13910080071',
    handler_name: '吴经办',
    handler_id_number: idNumber('36060219900202009'),
    handler_mobile: '13910080072',
    handler_email: 'jingban@example.com',
    invoice_title: org.name,
    invoice_tax_number: org.uscc,
    invoice_email: 'fapiao@example.com',
    recipient_name: '郑收件',
    recipient_mobile: '13910080073',
    recipient_address: '江西省鹰潭市月湖区胜利西路 8 号收发室',
    seal_name: org.name,
  }
}

// The printed form "stamped": the page rendered at DPI, a red round seal with a star in each
// 单位公章 box and a red square seal in each 法人章 box, drawn in the browser's canvas; a PNG.
async function stampedScan(t, pdfPath, dir) {
  const base = path.join(dir, 'seal-form')
  execFileSync('pdftoppm', ['-r', String(DPI), '-png', '-f', '1', '-l', '1', '-singlefile', pdfPath, base])
  const page = await t.context.newPage()
  try {
    await page.goto(t.url('/'), { waitUntil: 'domcontentloaded' })
    const png = fs.readFileSync(`${base}.png`).toString('base64')
    const jpeg = await page.evaluate(
      async ({ png, boxes, pxPerMm }) => {
        const img = new Image()
        img.src = `data:image/png;base64,${png}`
        await img.decode()
        const cv = document.createElement('canvas')
        cv.width = img.width
        cv.height = img.height
        const g = cv.getContext('2d')
        g.drawImage(img, 0, 0)
        g.fillStyle = g.strokeStyle = 'rgba(214, 30, 36, 0.9)'
        for (const b of boxes) {
          const side = b.side * pxPerMm
          const cx = (b.x + b.side / 2) * pxPerMm
          const cy = (b.y + b.side / 2) * pxPerMm
          if (b.slot.startsWith('unit')) {
            const r = 21 * pxPerMm // a 42 mm seal in its 50 mm box
            g.lineWidth = 1.2 * pxPerMm
            g.beginPath()
            g.arc(cx, cy, r, 0, 2 * Math.PI)
            g.stroke()
            g.beginPath()
            for (let i = 0; i < 10; i++) {
              const a = -Math.PI / 2 + (i * Math.PI) / 5
              const rr = i % 2 ? r * 0.14 : r * 0.36
              g.lineTo(cx + rr * Math.cos(a), cy + rr * Math.sin(a))
            }
            g.closePath()
            g.fill()
            g.font = `bold ${Math.round(4 * pxPerMm)}px sans-serif`
            g.textAlign = 'center'
            for (let i = 0; i < 9; i++) {
              const a = Math.PI * (0.8 + (i * 1.4) / 8)
              g.save()
              g.translate(cx + r * 0.72 * Math.cos(a), cy + r * 0.72 * Math.sin(a))
              g.rotate(a + Math.PI / 2)
              g.fillText('印模测试公司'[i % 6], 0, 0)
              g.restore()
            }
            g.fillRect(cx - r * 0.4, cy + r * 0.45, r * 0.8, 1.2 * pxPerMm)
          } else {
            const s = side * 0.8 // a 20 mm seal in its 25 mm box
            g.lineWidth = 1 * pxPerMm
            g.strokeRect(cx - s / 2, cy - s / 2, s, s)
            g.font = `bold ${Math.round(7 * pxPerMm)}px serif`
            g.textAlign = 'center'
            g.textBaseline = 'middle'
            g.fillText('周', cx - s / 4.5, cy - s / 4.5)
            g.fillText('法', cx + s / 4.5, cy - s / 4.5)
            g.fillText('印', cx - s / 4.5, cy + s / 4.5)
            g.fillText('人', cx + s / 4.5, cy + s / 4.5)
          }
        }
        return cv.toDataURL('image/png').split(',')[1]
      },
      { png, boxes: BOXES_MM, pxPerMm: DPI / 25.4 },
    )
    const out = path.join(dir, 'seal-form-stamped.png')
    fs.writeFileSync(out, Buffer.from(jpeg, 'base64'))
    return out
  } finally {
    await page.close()
  }
}

const settle = async (t) => {
  await t.page.waitForLoadState('networkidle')
  await t.page.locator('.el-loading-mask').first().waitFor({ state: 'hidden' }).catch(() => {})
}

export default [
  {
    name: 'seals: the producer sees the four proposed crops of the stamped seal form, drags one, chooses 单位公章 and 法人章 and produces; the key carries two verified seals',
    timeoutMs: 300000,
    async fn(t) {
      assert.ok(t.agent, 'certdesk-agent and the software SKF key are built (the harness starts them)')
      const { page } = t
      await page.setViewportSize({ width: 1366, height: 900 })
      await freshStart(t)

      // The organisation: a main-key order, its seal form printed, stamped, scanned and uploaded.
      const api = apiClient(t)
      await api.register({ ...ORG, password: PASSWORD })
      assert.equal((await api.login(ORG.uscc, PASSWORD)).status, 200, 'login')
      const made = await api.call('POST', '/api/v1/orders', { project_code: 'yingtan', key_type: 'main', form: form(ORG) })
      assert.equal(made.status, 201, JSON.stringify(made.data))
      const no = made.data.order_no
      const pdf = await api.call('GET', `/api/v1/orders/${no}/forms/seal`)
      assert.equal(pdf.status, 200, 'the seal form PDF')
      const pdfPath = path.join(t.artifacts, 'seals-form.pdf')
      fs.writeFileSync(pdfPath, Buffer.from(pdf.data))
      const scan = await stampedScan(t, pdfPath, t.artifacts)
      const up = await api.upload('PUT', `/api/v1/orders/${no}/documents/seal_form`, scan, 'image/png')
      assert.equal(up.status, 201, `upload: ${JSON.stringify(up.data)}`)
      execFileSync('sqlite3', [t.dbPath, `UPDATE orders SET state='producing' WHERE order_no='${no}'`])

      // The production page: the pictures are missing, a link to the order page.
      await staffLoginViaPage(t, 'producer')
      await page.goto(t.url(`/admin/production/${no}`), { waitUntil: 'domcontentloaded' })
      const missing = page.locator('[data-test=production-seal-pictures-missing]')
      await t.waitForText(missing, '单位公章、法人章')
      await settle(t)
      await t.screenshot('seals-production-missing')
      await page.locator('[data-test=production-seal-pictures-link]').click()
      await page.waitForURL((u) => u.pathname === `/admin/orders/${no}`)

      // 电子签章印模: located from the QR code, four boxes, each with its verdict and after picture.
      const card = page.locator('[data-test=seal-pictures]')
      await card.scrollIntoViewIfNeeded()
      await card.locator('[data-test=seal-located]').waitFor({ timeout: 30000 })
      for (const b of BOXES_MM) {
        await card.locator(`[data-test=seal-box-${b.slot}]`).waitFor()
        await t.waitForText(card.locator(`[data-test=seal-verdict-${b.slot}]`), '合格', 30000)
        await card.locator(`[data-test=seal-after-${b.slot}]`).waitFor()
      }
      await settle(t)
      await card.screenshot({ path: path.join(t.artifacts, 'seals-proposed.png') })
      await t.screenshot('seals-order-page')

      // Drag 单位公章 (第一枚) a few pixels: its box moves and that box alone is cut out again (the
      // after picture comes anew: the same impression, trimmed, so it may look the same).
      const pxBefore = await card.locator('[data-test=seal-box-px-unit_1]').textContent()
      const recut = page.waitForResponse(
        (r) => r.url().includes(`/api/v1/admin/orders/${no}/seal-crops/extract`) && r.request().method() === 'POST',
        { timeout: 30000 },
      )
      const bb = await card.locator('[data-test=seal-box-unit_1]').boundingBox()
      await page.mouse.move(bb.x + bb.width / 2, bb.y + bb.height / 2)
      await page.mouse.down()
      await page.mouse.move(bb.x + bb.width / 2 + 2, bb.y + bb.height / 2 + 1, { steps: 3 })
      await page.mouse.move(bb.x + bb.width / 2 + 4, bb.y + bb.height / 2 + 3, { steps: 3 })
      await page.mouse.up()
      const res = await recut
      assert.equal(res.status(), 200)
      const sent = JSON.parse(res.request().postData())
      const reply = await res.json()
      const pxAfter = await card.locator('[data-test=seal-box-px-unit_1]').textContent()
      assert.notEqual(pxAfter, pxBefore, 'the box moved')
      const m = /(\d+), (\d+)，(\d+) × (\d+)/.exec(pxAfter)
      assert.deepEqual(
        sent.boxes.map((x) => [x.slot, x.x, x.y, x.w, x.h]),
        [['unit_1', ...m.slice(1).map(Number)]],
        'the moved box alone is cut out again',
      )
      assert.equal(reply.results[0].verdict, 'ok')
      await page.waitForFunction(
        ([sel, png]) => (document.querySelector(sel)?.getAttribute('src') || '').endsWith(png),
        ['[data-test=seal-after-unit_1]', reply.results[0].png_base64.slice(-40)],
      )
      await t.waitForText(card.locator('[data-test=seal-verdict-unit_1]'), '合格', 30000)

      // Choose 单位公章 from the adjusted box and 法人章 from the first legal box.
      await card.locator('[data-test=seal-choose-unit_1]').click()
      await t.waitForText(card.locator('[data-test=seal-chosen-org]'), '已选用：单位公章（第一枚）')
      await card.locator('[data-test=seal-choose-legal_1]').click()
      await t.waitForText(card.locator('[data-test=seal-chosen-legal]'), '已选用：法人章（第一枚）')
      await settle(t)
      await card.screenshot({ path: path.join(t.artifacts, 'seals-chosen.png') })
      const staff = await staffClient(t, 'producer')
      const pics = await staff.call('GET', `/api/v1/admin/orders/${no}/seal-pictures`)
      assert.equal(pics.data.org.slot, 'unit_1')
      assert.deepEqual(
        [pics.data.org.box.x, pics.data.org.box.y, pics.data.org.box.w, pics.data.org.box.h],
        m.slice(1).map(Number),
        'the adjusted box was recorded',
      )
      assert.equal(pics.data.legal.slot, 'legal_1')

      // Production on the software key: no notice any more, 完成.
      await page.goto(t.url(`/admin/production/${no}`), { waitUntil: 'domcontentloaded' })
      await page.locator('[data-test=production-order-state]').waitFor()
      await settle(t)
      assert.equal(await missing.count(), 0, 'both pictures chosen')
      await produceOnPage(t, KEY.name, KEY.serial)
      await t.waitForText(page.locator('[data-test=production-done]'), '制证完成')
      await settle(t)
      await t.screenshot('seals-produced')

      // certdeskd: produced; two seals; each .esl verifies with certdesk seal verify.
      const order = await staff.call('GET', `/api/v1/admin/orders/${no}`)
      assert.equal(order.data.state, 'produced')
      const seals = await staff.call('GET', `/api/v1/admin/orders/${no}/seals`)
      assert.deepEqual(seals.data.seals.map((x) => [x.type, x.state]).sort(), [
        ['legal', 'written'],
        ['org', 'written'],
      ])
      for (const type of ['org', 'legal']) {
        const esl = await staff.call('GET', `/api/v1/admin/orders/${no}/seals/${type}.esl`)
        assert.equal(esl.status, 200, `${type}.esl`)
        const file = path.join(t.artifacts, `${no}-${type}.esl`)
        fs.writeFileSync(file, Buffer.from(esl.data))
        const out = JSON.parse(execFileSync(CLI_BIN, ['seal', 'verify', file, '--json'], { encoding: 'utf8' }))
        assert.equal(out.valid, true, JSON.stringify(out).slice(0, 300))
        assert.equal(out.type, type === 'org' ? 1 : 2)
        assert.equal(out.name, type === 'org' ? ORG.name : '周法人')
      }
      await expectNoPageErrors(t)
    },
  },
]
