// 年限与发票: the invoice data is checked in the page (a bad tax number and a bad ID number are
// refused under their fields, nothing is submitted), the price follows the years, and a correct
// form is handed up cleaned (trimmed, upper case, only the fields of its kind).
import { describe, expect, it } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import RenewInvoiceForm from './RenewInvoiceForm.vue'
import type { Challenge } from '../../renewal'

const CHALLENGE: Challenge = {
  challenge_id: 'C1',
  challenge: 'AAAA',
  expires_at: '2099-01-01T00:00:00Z',
  certificate: {
    serial: '0A1B',
    subject: 'CN=鹰潭测试单位',
    issuer: 'CN=Demo CA',
    not_before: '2025-01-01T00:00:00Z',
    not_after: '2026-01-01T00:00:00Z',
    unit_name: '鹰潭测试单位',
    uscc: '91350100M000100Y43',
  },
  project: { code: 'yingtan', name: '鹰潭市阳光采购服务平台' },
  key_type: 'secondary',
  mode: 'recertify',
  dual: true,
  years_options: [1, 2, 3],
  price_per_year_fen: 19000,
  window: { opens_at: '2025-10-03T00:00:00Z', closes_at: '2026-01-31T00:00:00Z' },
}

// The messages under the form items (Element Plus draws them after a transition).
const errors = (w: ReturnType<typeof mount>) =>
  w
    .findAllComponents({ name: 'ElFormItem' })
    .map((f) => String(f.props('error') || ''))
    .filter(Boolean)

const input = (w: ReturnType<typeof mount>, name: string) => w.find(`input[data-test=${name}]`)

describe('RenewInvoiceForm', () => {
  it('refuses a bad tax number in the page and follows the years with the price', async () => {
    const w = mount(RenewInvoiceForm, { props: { challenge: CHALLENGE, busy: false, serverErrors: {} } })
    expect(w.find('[data-test=renew-amount]').text()).toBe('¥190.00')
    await w.find('[data-test=renew-years-3] input').setValue(true)
    await flushPromises()
    expect(w.find('[data-test=renew-amount]').text()).toBe('¥570.00')
    await input(w, 'invoice-handler').setValue('张三')
    await input(w, 'invoice-tax').setValue('91350100M000100Y44')
    await input(w, 'invoice-phone').setValue('13800000000')
    await input(w, 'invoice-email').setValue('a@b.cn')
    await w.find('[data-test=renew-submit]').trigger('click')
    await flushPromises()
    expect(w.emitted('submit')).toBeUndefined()
    expect(errors(w)).toEqual(['纳税识别号不正确：应为 18 位统一社会信用代码，或 15/20 位纳税人识别号'])
    w.unmount()
  })

  it('hands up a correct form of a person, cleaned', async () => {
    const w = mount(RenewInvoiceForm, { props: { challenge: CHALLENGE, busy: false, serverErrors: {} } })
    await w.find('[data-test=invoice-kind-person] input').setValue(true)
    await flushPromises()
    await input(w, 'invoice-name').setValue(' 李四 ')
    await input(w, 'invoice-id').setValue('110105194912310021')
    await input(w, 'invoice-phone').setValue('13800000000')
    await input(w, 'invoice-email').setValue('a@b.cn')
    await w.find('[data-test=renew-submit]').trigger('click')
    await flushPromises()
    expect(errors(w)).toEqual(['身份证号不正确（请核对位数、出生日期与最后一位校验码）'])
    await input(w, 'invoice-id').setValue('11010519491231002x')
    await w.find('[data-test=renew-submit]').trigger('click')
    await flushPromises()
    expect(w.emitted('submit')).toEqual([
      [
        {
          years: 1,
          invoice: {
            kind: 'person',
            name: '李四',
            id_number: '11010519491231002X',
            phone: '13800000000',
            email: 'a@b.cn',
          },
        },
      ],
    ])
    w.unmount()
  })
})
