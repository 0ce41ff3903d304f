import { describe, expect, it } from 'vitest'
import { nextTick, reactive } from 'vue'
import { ApiError } from './api'
import { looksLikeMobile, useFormErrors } from './form'

const apiError = (errors: { code: string; message: string; field?: string }[]) =>
  new ApiError(422, errors[0].code, errors[0].message, errors[0].field, errors)

describe('useFormErrors', () => {
  it('puts a field’s message under the field and the others in the general list', () => {
    const model = reactive({ mobile: '', password: '' })
    const errs = useFormErrors(model)
    errs.apply(
      apiError([
        { code: 'mobile_invalid', message: '手机号格式不正确', field: 'mobile' },
        { code: 'captcha_wrong', message: '验证码错误', field: 'captcha' },
        { code: 'busy', message: '请稍后再试' },
      ]),
    )
    expect(errs.state.fields).toEqual({ mobile: '手机号格式不正确' })
    expect(errs.state.general).toEqual(['验证码错误', '请稍后再试'])
  })
  it('joins two messages for one field and lists a general message once', () => {
    const errs = useFormErrors(reactive({ a: '' }))
    errs.apply(
      apiError([
        { code: 'x', message: '太短', field: 'a' },
        { code: 'y', message: '含非法字符', field: 'a' },
        { code: 'z', message: '失败' },
        { code: 'z', message: '失败' },
      ]),
    )
    expect(errs.state.fields.a).toBe('太短；含非法字符')
    expect(errs.state.general).toEqual(['失败'])
  })
  it('maps server field names through alias', () => {
    const errs = useFormErrors(reactive({ handler_mobile: '' }), { alias: { mobile: 'handler_mobile' } })
    errs.apply(apiError([{ code: 'm', message: '手机号不正确', field: 'mobile' }]))
    expect(errs.state.fields).toEqual({ handler_mobile: '手机号不正确' })
  })
  it('only: replaces the errors of some fields and keeps the others', () => {
    const errs = useFormErrors(reactive({ a: '', b: '' }))
    errs.set('a', 'A 错')
    errs.set('b', 'B 错')
    errs.apply(apiError([{ code: 'x', message: 'B 新错', field: 'b' }]), { only: ['b'] })
    expect(errs.state.fields).toEqual({ a: 'A 错', b: 'B 新错' })
  })
  it('shows a plain Error as a general message and nothing for a handled 401', () => {
    const errs = useFormErrors(reactive({}))
    errs.apply(new Error('出错了'))
    expect(errs.state.general).toEqual(['出错了'])
    const handled = new ApiError(401, 'not_logged_in', '请先登录')
    handled.handled = true
    errs.apply(handled)
    expect(errs.state.general).toEqual([])
  })
  it('has() finds a code in the error list', () => {
    const errs = useFormErrors(null)
    const e = apiError([
      { code: 'a', message: 'x' },
      { code: 'b', message: 'y' },
    ])
    expect(errs.has(e, 'b')).toBe(true)
    expect(errs.has(e, 'c')).toBe(false)
    expect(errs.has(null, 'a')).toBe(false)
  })
  it('editing a field clears its error; a value set before apply() does not', async () => {
    const model = reactive({ mobile: '1', captcha: 'ABCDE' })
    const errs = useFormErrors(model)
    model.captcha = '' // the page resets the used-up captcha, then shows the errors
    errs.apply(
      apiError([
        { code: 'm', message: '手机号不正确', field: 'mobile' },
        { code: 'c', message: '验证码错误', field: 'captcha' },
      ]),
    )
    await nextTick()
    expect(errs.state.fields).toEqual({ mobile: '手机号不正确', captcha: '验证码错误' })
    model.mobile = '13800138000'
    await nextTick()
    expect(errs.state.fields).toEqual({ captcha: '验证码错误' })
    errs.clear()
    expect(errs.state).toEqual({ fields: {}, general: [] })
  })
})

describe('looksLikeMobile', () => {
  it('accepts 11 digits starting with 1, with spaces, dashes or +86', () => {
    expect(looksLikeMobile('13800138000')).toBe(true)
    expect(looksLikeMobile('138 0013 8000')).toBe(true)
    expect(looksLikeMobile('+86 138-0013-8000')).toBe(true)
  })
  it('refuses landlines, short numbers and nothing', () => {
    expect(looksLikeMobile('010-12345678')).toBe(false)
    expect(looksLikeMobile('1380013800')).toBe(false)
    expect(looksLikeMobile('')).toBe(false)
    expect(looksLikeMobile(null)).toBe(false)
  })
})
