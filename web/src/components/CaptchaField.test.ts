// CaptchaField: the input bound with v-model, and a new picture on mount and on each refresh().
import { describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import CaptchaField from './CaptchaField.vue'

let n = 0
vi.mock('../api', () => ({
  loadSession: vi.fn(() => Promise.resolve({})),
  captchaURL: vi.fn(() => `/api/v1/captcha?t=${++n}`),
}))

describe('CaptchaField', () => {
  it('shows the input and a picture once the session is there', async () => {
    const w = mount(CaptchaField, { props: { modelValue: '' } })
    await flushPromises()
    expect(w.find('input[name=captcha]').exists()).toBe(true)
    expect(w.find('img.captcha-img').attributes('src')).toMatch(/^\/api\/v1\/captcha\?t=\d+$/)
  })

  it('typing updates v-model', async () => {
    const w = mount(CaptchaField, {
      props: { modelValue: '', 'onUpdate:modelValue': (v: string) => w.setProps({ modelValue: v }) },
    })
    await w.find('input').setValue('AB12')
    expect(w.props('modelValue')).toBe('AB12')
  })

  it('refresh() loads a new picture', async () => {
    const w = mount(CaptchaField, { props: { modelValue: '' } })
    await flushPromises()
    const first = w.find('img.captcha-img').attributes('src')
    await (w.vm as unknown as { refresh: () => Promise<void> }).refresh()
    await flushPromises()
    expect(w.find('img.captcha-img').attributes('src')).not.toBe(first)
  })
})
