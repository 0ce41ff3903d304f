import { describe, expect, it } from 'vitest'
import {
  ORDER_FIELD_NAMES,
  displayValue,
  emptyOrderForm,
  fillOrderForm,
  formChanges,
  formForCreate,
  sectionsFor,
} from './orderFields'

describe('sections', () => {
  it('the seal section is for a main key only', () => {
    expect(sectionsFor('main').map((s) => s.key)).toContain('seal')
    expect(sectionsFor('secondary').map((s) => s.key)).not.toContain('seal')
  })
  it('every field name is unique', () => {
    expect(new Set(ORDER_FIELD_NAMES).size).toBe(ORDER_FIELD_NAMES.length)
  })
})

describe('form models', () => {
  it('emptyOrderForm has every field as an empty string', () => {
    const m = emptyOrderForm()
    expect(Object.keys(m).sort()).toEqual([...ORDER_FIELD_NAMES].sort())
    expect(Object.values(m).every((v) => v === '')).toBe(true)
  })
  it('fillOrderForm takes the server’s values as strings, absent and null as empty', () => {
    const m = fillOrderForm(emptyOrderForm(), { legal_name: '张三', handler_mobile: 13800138000, unit_address: null })
    expect(m.legal_name).toBe('张三')
    expect(m.handler_mobile).toBe('13800138000')
    expect(m.unit_address).toBe('')
    expect(m.seal_name).toBe('')
  })
  it('formForCreate sends trimmed, non-empty fields, and the seal only for a main key', () => {
    const m = { ...emptyOrderForm(), legal_name: '  张三 ', handler_name: '   ', seal_name: '某公司' }
    expect(formForCreate(m, 'main')).toEqual({ legal_name: '张三', seal_name: '某公司' })
    expect(formForCreate(m, 'secondary')).toEqual({ legal_name: '张三' })
  })
  it('formChanges sends changed fields, a cleared one as null, and nothing unchanged', () => {
    const saved = { legal_name: '张三', handler_name: '李四', invoice_email: 'a@b.cn' }
    const m = fillOrderForm(emptyOrderForm(), saved)
    m.legal_name = '张三 '
    m.handler_name = '王五'
    m.invoice_email = ''
    m.seal_name = '某公司'
    expect(formChanges(m, saved, 'secondary')).toEqual({ handler_name: '王五', invoice_email: null })
    expect(formChanges(m, saved, 'main')).toEqual({ handler_name: '王五', invoice_email: null, seal_name: '某公司' })
  })
})

describe('displayValue', () => {
  it('names the ID type and shows other values as text', () => {
    expect(displayValue({ kind: 'id_type' }, 'resident_id')).toBe('居民身份证')
    expect(displayValue({ kind: 'id_type' }, 'passport')).toBe('passport')
    expect(displayValue({}, 42)).toBe('42')
    expect(displayValue({}, '')).toBe('')
    expect(displayValue({}, null)).toBe('')
  })
})
