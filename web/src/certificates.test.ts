import { describe, expect, it } from 'vitest'
import {
  REVOKE_REASONS,
  certKind,
  certStatus,
  csrProblem,
  formatValidity,
  keyAlgorithm,
  reasonLabel,
  revokedText,
  usageLabels,
} from './certificates'

const CSR = '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n'

describe('certificates', () => {
  it('offers the six RFC 5280 reasons the server takes, each with a Chinese label', () => {
    expect(REVOKE_REASONS.map((r) => r.value)).toEqual([
      'keyCompromise',
      'affiliationChanged',
      'superseded',
      'cessationOfOperation',
      'privilegeWithdrawn',
      'unspecified',
    ])
    expect(reasonLabel('keyCompromise')).toBe('密钥泄露')
    expect(reasonLabel('affiliationChanged')).toBe('单位信息变更')
    expect(reasonLabel('superseded')).toBe('证书已更换')
    expect(reasonLabel('cessationOfOperation')).toBe('停止使用')
    expect(reasonLabel('privilegeWithdrawn')).toBe('权限撤销')
    expect(reasonLabel('unspecified')).toBe('未说明')
    expect(reasonLabel(undefined)).toBe('未说明')
    expect(reasonLabel('somethingNew')).toBe('somethingNew')
  })

  it('names the kinds and algorithms', () => {
    expect(certKind('sign')).toBe('签名证书')
    expect(certKind('enc')).toBe('加密证书')
    expect(keyAlgorithm('p256')).toBe('ECC P-256')
    expect(keyAlgorithm('sm2')).toBe('SM2')
  })

  it('tags a certificate 有效, 已吊销 or 已过期', () => {
    const now = Date.parse('2026-12-06T10:00:00Z')
    expect(certStatus({ status: 'good', not_after: '2027-12-06T10:00:00Z' }, now)).toEqual({
      label: '有效',
      type: 'success',
    })
    expect(certStatus({ status: 'revoked', not_after: '2027-12-06T10:00:00Z' }, now)).toEqual({
      label: '已吊销',
      type: 'danger',
    })
    expect(certStatus({ status: 'good', not_after: '2026-12-06T09:59:59Z' }, now).label).toBe('已过期')
    // revoked stays revoked after it expired
    expect(certStatus({ status: 'revoked', not_after: '2020-01-01T00:00:00Z' }, now).label).toBe('已吊销')
  })

  it('shows validity and revocation in Beijing time', () => {
    // 16:30 UTC is 00:30 the next day in Beijing
    expect(formatValidity('2026-12-06T16:30:00Z', '2027-12-06T16:30:00Z')).toBe('2026-12-07 至 2027-12-07')
    expect(formatValidity('2026-12-06T16:30:00Z', '2027-12-06T16:30:00Z', { time: true })).toBe(
      '2026-12-07 00:30 至 2027-12-07 00:30',
    )
    expect(formatValidity(undefined, null)).toBe('- 至 -')
    expect(revokedText({ reason: 'keyCompromise', revoked_at: '2026-12-06T09:40:00Z' })).toBe(
      '已吊销（密钥泄露，2026-12-06 17:40）',
    )
  })

  it('names key usages in Chinese', () => {
    expect(usageLabels('digitalSignature,nonRepudiation')).toBe('数字签名、不可否认')
    expect(usageLabels(' clientAuth , 1.2.3.4')).toBe('客户端身份验证、1.2.3.4')
    expect(usageLabels('')).toBe('')
    expect(usageLabels(null)).toBe('')
  })

  it('checks a pasted CSR before sending it', () => {
    expect(csrProblem(CSR)).toBe('')
    expect(csrProblem(`  ${CSR.replace(/CERTIFICATE REQUEST/g, 'NEW CERTIFICATE REQUEST')}  `)).toBe('')
    expect(csrProblem('   ')).toContain('请粘贴')
    expect(csrProblem('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----')).toContain('不是 PEM 格式')
    expect(csrProblem(CSR + 'A'.repeat(65536))).toContain('64 KB')
  })
})
