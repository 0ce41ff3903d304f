// The renewal's payment QR picture: certdeskd wants the renewal token in a header, which an <img src>
// cannot send, so the page fetches the PNG with X-Renewal-Token and shows it as an object (blob) URL;
// a refused fetch is an error the page turns into the payment link.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { renewalPaymentQr } from '../../api'

afterEach(() => {
  vi.unstubAllGlobals()
  vi.restoreAllMocks()
})

describe('renewalPaymentQr', () => {
  it('fetches the PNG with the token header and answers a blob URL', async () => {
    const fetchMock = vi.fn(async () => new Response(new Blob(['\x89PNG'], { type: 'image/png' }), { status: 200 }))
    vi.stubGlobal('fetch', fetchMock)
    const created = vi.spyOn(URL, 'createObjectURL').mockReturnValue('blob:qr-1')
    const url = await renewalPaymentQr('ab'.repeat(32), 'YT20261206-000001', 'YT20261206000001A')
    expect(url).toBe('blob:qr-1')
    expect(created).toHaveBeenCalledOnce()
    const [path, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit]
    expect(path).toBe('/api/v1/renewals/YT20261206-000001/payments/current/qr.png?v=YT20261206000001A')
    expect((init.headers as Record<string, string>)['X-Renewal-Token']).toBe('ab'.repeat(32))
  })

  it('throws when certdeskd refuses it (token expired: 401)', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response('{}', { status: 401 })),
    )
    const created = vi.spyOn(URL, 'createObjectURL')
    await expect(renewalPaymentQr('ab'.repeat(32), 'YT20261206-000001')).rejects.toMatchObject({ status: 401 })
    expect(created).not.toHaveBeenCalled()
  })
})
