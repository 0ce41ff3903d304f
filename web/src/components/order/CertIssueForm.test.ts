// 签发证书: a pasted text that is not a PEM CSR is refused without asking the server; the server's
// Chinese error lands under the field; a certificate issued is handed up.
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import CertIssueForm from './CertIssueForm.vue'
import { ApiError, issueCertificate } from '../../api'

vi.mock('../../api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../api')>()),
  issueCertificate: vi.fn(),
}))

const CSR = '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----'

beforeEach(() => vi.mocked(issueCertificate).mockReset())

// The message under the CSR field (the form item's error; Element Plus draws it after a transition).
const fieldError = (w: ReturnType<typeof mount>) => String(w.findComponent({ name: 'ElFormItem' }).props('error') || '')

async function paste(w: ReturnType<typeof mount>, text: string) {
  await w.find('textarea[data-test=cert-csr]').setValue(text)
  await w.find('[data-test=cert-issue-submit]').trigger('click')
  await flushPromises()
}

describe('CertIssueForm', () => {
  it('refuses a text that is not a CSR in the page', async () => {
    const w = mount(CertIssueForm, { props: { orderNo: 'YT1' } })
    await paste(w, 'hello')
    expect(issueCertificate).not.toHaveBeenCalled()
    expect(fieldError(w)).toContain('不是 PEM 格式的证书请求')
    w.unmount()
  })

  it('shows the server error under the field, others above it', async () => {
    vi.mocked(issueCertificate)
      .mockRejectedValueOnce(new ApiError(422, 'key_weak', '密钥强度不足：RSA 密钥至少 2048 位', 'csr'))
      .mockRejectedValueOnce(new ApiError(503, 'signer_unavailable', '签名服务暂不可用，请稍后重试'))
    const w = mount(CertIssueForm, { props: { orderNo: 'YT1' } })
    await paste(w, CSR)
    expect(issueCertificate).toHaveBeenCalledWith('YT1', `${CSR}\n`)
    expect(fieldError(w)).toBe('密钥强度不足：RSA 密钥至少 2048 位')
    await w.find('[data-test=cert-issue-submit]').trigger('click')
    await flushPromises()
    expect(w.find('[data-test=cert-issue-general]').text()).toContain('签名服务暂不可用')
    expect(w.emitted('issued')).toBeUndefined()
    w.unmount()
  })

  it('hands the issued certificate up', async () => {
    const cert = { serial: '7F01', kind: 'sign', status: 'good' }
    vi.mocked(issueCertificate).mockResolvedValue(cert as never)
    const w = mount(CertIssueForm, { props: { orderNo: 'YT1' } })
    await paste(w, CSR)
    expect(w.emitted('issued')).toEqual([[cert]])
    w.unmount()
  })
})
