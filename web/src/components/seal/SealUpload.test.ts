// SealUpload: a picked PNG is checked at once (slot and default width of the seal chosen), a
// refused one cannot be chosen, an accepted one is recorded as the seal's picture (base64, width).
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import SealUpload from './SealUpload.vue'

const api = vi.hoisted(() => ({
  checkSealPng: vi.fn(),
  putSealPicture: vi.fn(),
}))
vi.mock('../../api', () => ({
  ...api,
  asApiError: (e: unknown) => e as Error,
}))

const ok = { slot: 'legal_1', verdict: 'ok', accepted: true, reason: '', png_base64: 'iVBORw==', measurements: {} }

async function pick(w: ReturnType<typeof mount>, bytes: number[]) {
  const input = w.find('[data-test=seal-upload-file]')
  const file = new File([new Uint8Array(bytes)], 'seal.png', { type: 'image/png' })
  Object.defineProperty(input.element, 'files', { value: [file], configurable: true })
  await input.trigger('change')
  await flushPromises()
  return file
}

describe('SealUpload', () => {
  beforeEach(() => {
    api.checkSealPng.mockReset()
    api.putSealPicture.mockReset()
  })

  it('checks the picked PNG for the seal chosen and records an accepted one', async () => {
    api.checkSealPng.mockResolvedValue(ok)
    api.putSealPicture.mockResolvedValue({})
    const w = mount(SealUpload, { props: { orderNo: 'YT1', allowSignature: false, canChoose: true } })
    await w.findAll('.el-radio-button')[1].find('input').setValue(true) // 法人章: 20 mm
    const file = await pick(w, [137, 80, 78, 71])
    expect(api.checkSealPng).toHaveBeenCalledWith('YT1', 'legal_1', file, 20, false)
    expect(w.find('[data-test=seal-upload-verdict]').text()).toBe('合格')
    await w.find('[data-test=seal-upload-choose]').trigger('click')
    await flushPromises()
    expect(api.putSealPicture).toHaveBeenCalledWith('YT1', 'legal', {
      png: 'iVBORw==',
      width_mm: 20,
      allow_signature: undefined,
    })
    expect(w.emitted('chosen')).toEqual([['legal']])
  })

  it('shows why a picture is refused and does not offer it', async () => {
    api.checkSealPng.mockResolvedValue({ ...ok, slot: 'unit_1', verdict: 'faint', accepted: false, reason: '印模过淡' })
    const w = mount(SealUpload, { props: { orderNo: 'YT1', allowSignature: true, canChoose: true } })
    const file = await pick(w, [1, 2, 3])
    expect(api.checkSealPng).toHaveBeenCalledWith('YT1', 'unit_1', file, 42, true)
    expect(w.text()).toContain('印模过淡')
    expect(w.find('[data-test=seal-upload-choose]').attributes('disabled')).toBeDefined()
  })
})
