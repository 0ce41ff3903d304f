// 吊销证书: nothing is sent without a reason and the confirmation; the chosen reason is sent; a
// certificate someone revoked meanwhile closes the dialog and reloads like a success.
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import CertRevokeDialog from './CertRevokeDialog.vue'
import { ApiError, revokeCertificate } from '../../api'

vi.mock('../../api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../api')>()),
  revokeCertificate: vi.fn(),
}))

const cert = { serial: '7F01', kind: 'sign', unit: '鹰潭市测试有限公司' }
const q = <T extends Element = HTMLElement>(sel: string) => document.body.querySelector(sel) as T | null

beforeEach(() => {
  vi.mocked(revokeCertificate).mockReset()
  document.body.innerHTML = ''
})

async function open(modelValue = true) {
  const w = mount(CertRevokeDialog, {
    props: { cert, modelValue, 'onUpdate:modelValue': (v: boolean) => w.setProps({ modelValue: v }) },
    attachTo: document.body,
  })
  await flushPromises()
  return w
}

// The dialog's own component instance, to set what the select and checkbox would.
async function choose(w: Awaited<ReturnType<typeof open>>, reason: string, confirmed: boolean) {
  const s = (w.vm as unknown as { s: { reason: string; confirmed: boolean } }).s
  s.reason = reason
  s.confirmed = confirmed
  await flushPromises()
}

describe('CertRevokeDialog', () => {
  it('shows the certificate and says revocation is final; sends nothing without reason and confirmation', async () => {
    const w = await open()
    expect(q('[data-test=revoke-serial]')!.textContent).toBe('7F01')
    expect(q('[data-test=revoke-dialog]')!.textContent).toContain('不可撤销')
    expect(q<HTMLButtonElement>('[data-test=revoke-submit]')!.disabled).toBe(true)
    await choose(w, 'keyCompromise', false)
    expect(q<HTMLButtonElement>('[data-test=revoke-submit]')!.disabled).toBe(true)
    await choose(w, 'keyCompromise', true)
    expect(q<HTMLButtonElement>('[data-test=revoke-submit]')!.disabled).toBe(false)
    expect(revokeCertificate).not.toHaveBeenCalled()
    w.unmount()
  })

  it('revokes with the chosen reason, closes and reports done', async () => {
    vi.mocked(revokeCertificate).mockResolvedValue({ serial: '7F01', status: 'revoked', published: true } as never)
    const w = await open()
    await choose(w, 'superseded', true)
    q<HTMLButtonElement>('[data-test=revoke-submit]')!.click()
    await flushPromises()
    expect(revokeCertificate).toHaveBeenCalledWith('7F01', 'superseded')
    expect(w.emitted('done')).toHaveLength(1)
    expect(w.props('modelValue')).toBe(false)
    w.unmount()
  })

  it('already revoked: closes and reports done; another error stays in the dialog', async () => {
    vi.mocked(revokeCertificate)
      .mockRejectedValueOnce(new ApiError(500, 'internal', '服务器内部错误'))
      .mockRejectedValueOnce(new ApiError(409, 'cert_already_revoked', '该证书已被吊销'))
    const w = await open()
    await choose(w, 'unspecified', true)
    q<HTMLButtonElement>('[data-test=revoke-submit]')!.click()
    await flushPromises()
    expect(q('[data-test=revoke-dialog]')!.textContent).toContain('服务器内部错误')
    expect(w.emitted('done')).toBeUndefined()
    q<HTMLButtonElement>('[data-test=revoke-submit]')!.click()
    await flushPromises()
    expect(w.emitted('done')).toHaveLength(1)
    expect(w.props('modelValue')).toBe(false)
    w.unmount()
  })
})
