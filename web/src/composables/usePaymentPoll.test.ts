// usePaymentPoll, the payment step's behaviour shared by OrderPayment and RenewPayment: a reply that
// has left awaiting_payment settles once; choosing a provider asks for a QR code and follows it; a
// refused request shows its error and tells the page; polling waits for an open attempt unless
// pollAlways (the renewal) says otherwise.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, h } from 'vue'
import { mount } from '@vue/test-utils'
import { ApiError } from '../api'
import { usePaymentPoll, type Payment, type PaymentPollOptions } from './usePaymentPoll'

function reply(over: Partial<Payment> = {}): Payment {
  return {
    order_no: 'YT20261206-000001',
    order_state: 'awaiting_payment',
    amount_fen: 22000,
    providers: ['wxpay', 'alipay'],
    ...over,
  } as Payment
}
const open = (provider: 'wxpay' | 'alipay' = 'wxpay') =>
  reply({
    attempt: {
      provider,
      out_trade_no: `T-${provider}`,
      state: 'open',
      qr_code: 'weixin://wxpay/x',
      expires_at: new Date(Date.now() + 600000).toISOString(),
      paid_at: '',
    },
  } as Partial<Payment>)

function withPoll(opts: PaymentPollOptions) {
  let api!: ReturnType<typeof usePaymentPoll>
  const w = mount(
    defineComponent({
      setup() {
        api = usePaymentPoll(opts)
        return () => h('div')
      },
    }),
  )
  return { api, w }
}

afterEach(() => vi.restoreAllMocks())

describe('usePaymentPoll', () => {
  it('settles once when the order has left awaiting_payment', () => {
    const onSettled = vi.fn()
    const { api, w } = withPoll({ load: vi.fn(), start: vi.fn(), onSettled })
    api.take(reply({ order_state: 'paid' }))
    api.take(reply({ order_state: 'paid' }))
    expect(onSettled).toHaveBeenCalledOnce()
    w.unmount()
  })

  it('asks for a QR code of the chosen provider and counts down to its expiry', async () => {
    const start = vi.fn(async () => open('alipay'))
    const { api, w } = withPoll({ load: vi.fn(), start, onSettled: vi.fn() })
    await api.choose('alipay')
    expect(start).toHaveBeenCalledWith('alipay')
    expect(api.selected.value).toBe('alipay')
    expect(api.live.value).toBe(true)
    expect(api.countdown.value).toMatch(/^(09|10):\d\d$/)
    await api.choose('alipay') // the live one: not asked again
    expect(start).toHaveBeenCalledOnce()
    w.unmount()
  })

  it('shows a refused request and tells the page', async () => {
    const onStartError = vi.fn()
    const { api, w } = withPoll({
      load: vi.fn(),
      start: vi.fn(async () => {
        throw new ApiError(409, 'state_conflict', '订单当前不在待缴费状态，请刷新')
      }),
      onSettled: vi.fn(),
      onStartError,
    })
    await api.choose('wxpay')
    expect(api.error.value).toMatchObject({ provider: 'wxpay', status: 409 })
    expect(onStartError).toHaveBeenCalledWith(expect.objectContaining({ code: 'state_conflict' }))
    w.unmount()
  })

  it('polls only with an open attempt, unless pollAlways', async () => {
    const load = vi.fn(async () => reply())
    const a = withPoll({ load, start: vi.fn(), onSettled: vi.fn() })
    await a.api.poll()
    expect(load).not.toHaveBeenCalled()
    a.api.take(open())
    await a.api.poll()
    expect(load).toHaveBeenCalledOnce()
    a.w.unmount()
    const load2 = vi.fn(async () => reply({ order_state: 'paid' }))
    const onSettled = vi.fn()
    const b = withPoll({ load: load2, start: vi.fn(), onSettled, pollAlways: true })
    await b.api.poll()
    expect(onSettled).toHaveBeenCalledOnce()
    b.w.unmount()
  })
})
