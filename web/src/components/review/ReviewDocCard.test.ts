// ReviewDocCard: the reviewer's marks go up as new objects (v-model:mark), never by changing the
// page's copy; the automatic hints and the previous rejection are shown.
import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import ReviewDocCard from './ReviewDocCard.vue'
import type { ReviewMark, ReviewSlot } from './types'

const entry = {
  kind: 'business_licence',
  label: '营业执照',
  rule: '',
  qr_checked: false,
  document: {
    sha256: 'ab'.repeat(32),
    width: 900,
    height: 640,
    dpi_x: 200,
    dpi_y: 200,
    qr_status: 'none',
    checks: { blurry: '图片可能不清晰' },
    review: 'rejected',
    review_reason: '公章不清晰',
  },
} as unknown as ReviewSlot

function card(mark: ReviewMark) {
  return mount(ReviewDocCard, {
    props: { orderNo: 'YT20261207-000001', entry, reasons: [{ id: 1, text: '公章不清晰', active: true }], mark },
  })
}

const blank = (): ReviewMark => ({ decision: '', reasons: [], note: '', rotate: 0 })

describe('ReviewDocCard', () => {
  it('shows the scan facts, the hints and the previous rejection', () => {
    const text = card(blank()).text()
    expect(text).toContain('900×640 像素')
    expect(text).toContain('200 DPI')
    expect(text).toContain('无二维码')
    expect(text).toContain('图片可能不清晰')
    expect(text).toContain('上次预审不通过：公章不清晰')
  })

  it('rotating sends a new mark with the angle', async () => {
    const mark = blank()
    const w = card(mark)
    await w.find('[data-test=rotate-right-business_licence]').trigger('click')
    const sent = w.emitted('update:mark') as ReviewMark[][]
    expect(sent[0]![0]).toEqual({ ...blank(), rotate: 90 })
    expect(mark.rotate).toBe(0) // the page's object is not changed behind its back
    await w.setProps({ mark: { ...blank(), rotate: 90 } })
    expect(w.find('[data-test=review-image]').attributes('style')).toContain('rotate(90deg)')
  })

  it('不通过 sends the decision; the reasons show once it is rejected', async () => {
    const w = card(blank())
    expect(w.find('[data-test=reject-business_licence]').exists()).toBe(false)
    await w.findAll('[data-test=decision-business_licence] input')[1]!.setValue(true)
    const sent = w.emitted('update:mark') as ReviewMark[][]
    expect(sent.at(-1)![0]!.decision).toBe('reject')
    await w.setProps({ mark: { ...blank(), decision: 'reject' } })
    expect(w.find('[data-test=reject-business_licence]').text()).toContain('公章不清晰')
  })
})
