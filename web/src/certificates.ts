// Certificates (issue 12) as the pages show them: Chinese names of kinds, revocation reasons,
// key algorithms and usages, the status tag, the validity in Beijing dates, and a first check of a
// pasted CSR (the server checks it for real and answers in Chinese).
import type { Labelled } from './format'
import { formatTime } from './format'

/** The RFC 5280 reasons POST /admin/certificates/{serial}/revoke takes, in the order offered. */
export const REVOKE_REASONS = [
  { value: 'keyCompromise', label: '密钥泄露' },
  { value: 'affiliationChanged', label: '单位信息变更' },
  { value: 'superseded', label: '证书已更换' },
  { value: 'cessationOfOperation', label: '停止使用' },
  { value: 'privilegeWithdrawn', label: '权限撤销' },
  { value: 'unspecified', label: '未说明' },
] as const
export type RevokeReason = (typeof REVOKE_REASONS)[number]['value']

// A certificate to revoke as the revoke dialog shows it (unit: the organisation's name).
export interface RevokeTarget {
  serial: string
  kind?: string
  subject?: string
  not_before?: string
  not_after?: string
  unit?: string
}

export const reasonLabel = (r?: string | null): string =>
  (r && REVOKE_REASONS.find((x) => x.value === r)?.label) || r || '未说明'

export const CERT_KINDS: Record<string, string> = { sign: '签名证书', enc: '加密证书' }
export const certKind = (k?: string | null): string => (k && CERT_KINDS[k]) || k || '-'

/** What the status tag of a certificate says: 有效, 已吊销 or (past its notAfter) 已过期. */
export function certStatus(
  c: { status?: string | null; not_after?: string | null },
  now: number = Date.now(),
): Labelled {
  if (c.status === 'revoked') return { label: '已吊销', type: 'danger' }
  if (c.not_after && new Date(c.not_after).getTime() <= now) return { label: '已过期', type: 'info' }
  if (c.status === 'good') return { label: '有效', type: 'success' }
  return { label: c.status || '-', type: 'info' }
}

/** 已吊销 with the reason and the Beijing time, e.g. "已吊销（密钥泄露，2026-12-06 17:40）". */
export function revokedText(c: { reason?: string | null; revoked_at?: string | null }): string {
  return `已吊销（${reasonLabel(c.reason)}，${formatTime(c.revoked_at)}）`
}

/** An RFC 3339 moment as its Beijing calendar date "2027-12-06" ('-' when none). */
export const beijingDay = (s?: string | null): string => (s ? formatTime(s).slice(0, 10) : '-')

/** "2026-12-06 至 2027-12-06" (Beijing dates); with time: the minutes too. */
export function formatValidity(notBefore?: string | null, notAfter?: string | null, { time = false } = {}): string {
  const f = time ? formatTime : beijingDay
  return `${f(notBefore)} 至 ${f(notAfter)}`
}

export const KEY_ALGORITHMS: Record<string, string> = {
  rsa2048: 'RSA 2048',
  rsa3072: 'RSA 3072',
  p256: 'ECC P-256',
  sm2: 'SM2',
}
export const keyAlgorithm = (a?: string | null): string => (a && KEY_ALGORITHMS[a]) || a || '-'

export const KEY_TYPES: Record<string, string> = { main: '主锁', secondary: '副锁' }
export const keyTypeName = (k?: string | null): string => (k && KEY_TYPES[k]) || k || '-'

export const CA_ROLES: Record<string, string> = {
  root: '根 CA',
  issuing: '签发 CA',
  ocsp: 'OCSP 响应者',
  sealmaker: '制章人',
}
export const caRole = (r?: string | null): string => (r && CA_ROLES[r]) || r || '-'

const USAGES: Record<string, string> = {
  digitalSignature: '数字签名',
  nonRepudiation: '不可否认',
  contentCommitment: '不可否认',
  keyEncipherment: '密钥加密',
  dataEncipherment: '数据加密',
  keyAgreement: '密钥协商',
  keyCertSign: '签发证书',
  cRLSign: '签发吊销列表',
  serverAuth: '服务器身份验证',
  clientAuth: '客户端身份验证',
  emailProtection: '安全电子邮件',
  codeSigning: '代码签名',
  timeStamping: '时间戳',
  OCSPSigning: 'OCSP 签名',
}

/** A profile's comma-separated key usages as Chinese names: "数字签名、不可否认"; "" when none. */
export function usageLabels(list?: string | null): string {
  return String(list || '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((u) => USAGES[u] || u)
    .join('、')
}

/** The largest CSR the server takes (bytes of PEM). */
export const CSR_MAX = 65536
const CSR_BEGIN = /-----BEGIN (NEW )?CERTIFICATE REQUEST-----/
const CSR_END = /-----END (NEW )?CERTIFICATE REQUEST-----/

/** '' when text looks like one PEM certificate request, else what is wrong with it (Chinese). */
export function csrProblem(text: string): string {
  const t = text.trim()
  if (!t) return '请粘贴证书请求（CSR）或选择 CSR 文件'
  if (new TextEncoder().encode(t).length > CSR_MAX) return '证书请求不能超过 64 KB'
  if (!CSR_BEGIN.test(t) || !CSR_END.test(t))
    return '不是 PEM 格式的证书请求：应以 -----BEGIN CERTIFICATE REQUEST----- 开头，以 -----END CERTIFICATE REQUEST----- 结尾'
  return ''
}

// States from which an order can have certificates: the staff card is shown from producing on.
export const CERT_STATES = ['producing', 'produced', 'shipped', 'completed']
