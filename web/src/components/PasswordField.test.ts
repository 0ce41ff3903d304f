// PasswordField: a masked input with the eye, the server's length limit, the autocomplete hint of
// its kind and, for a new password, the rule as its placeholder.
import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import PasswordField from './PasswordField.vue'

function field(props: { name: string; kind?: 'current' | 'new' | 'confirm'; placeholder?: string }) {
  return mount(PasswordField, { props: { modelValue: '', ...props } })
}

describe('PasswordField', () => {
  it('shows the rule as the placeholder of a new password', () => {
    const input = field({ name: 'new_password', kind: 'new' }).find('input')
    expect(input.attributes('type')).toBe('password')
    expect(input.attributes('name')).toBe('new_password')
    expect(input.attributes('maxlength')).toBe('128')
    expect(input.attributes('autocomplete')).toBe('new-password')
    expect(input.attributes('placeholder')).toBe('至少 8 位，含字母、数字、符号中的至少两类')
  })

  it('a current password: the browser may fill it in, no rule shown', () => {
    const input = field({ name: 'password' }).find('input')
    expect(input.attributes('autocomplete')).toBe('current-password')
    expect(input.attributes('placeholder')).toBeUndefined()
  })

  it('a page may say its own placeholder', () => {
    const input = field({ name: 'password_confirm', kind: 'confirm', placeholder: '再次输入登录密码' }).find('input')
    expect(input.attributes('autocomplete')).toBe('new-password')
    expect(input.attributes('placeholder')).toBe('再次输入登录密码')
  })

  it('updates its v-model as the user types', async () => {
    const w = field({ name: 'password' })
    await w.find('input').setValue('Abcd-1234')
    expect(w.emitted('update:modelValue')?.[0]).toEqual(['Abcd-1234'])
  })
})
