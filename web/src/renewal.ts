// Online renewal (在线更新, /renew), the logic of the wizard without Vue: which inserted key and
// certificate is renewed, the proof of possession (PIN → agent login → the key signs certdeskd's
// challenge → a renewal token), the invoice data's checks, and the run of "下载证书到USBKEY" between
// certdeskd and certdesk-agent (fresh challenge, re-key's new key pair and CSR, issue, write,
// seals, read back, complete).
//
// certdeskd is the record (docs: /work/briefs/renewal-contract.md): the renewal's issuance is
// idempotent (a retry gets the same certificates), and the renewal becomes `completed` (the old
// certificate superseded) only when …/complete gets a read-back equal to what was issued. So a
// failed run is retried by running everything again: what is already on the key is found there and
// skipped, and nothing is issued or paid twice.
import { StepFailure, runStep, type StepEvent as AgentStepEvent, type StepStatus } from './agentSteps'
import type { AgentCert, AgentKey, AgentKeyPair, AgentStatus } from './agent'
import { AgentClient, AgentError, pemToBase64 } from './agent'
import type { components, operations } from './api/schema'

// --- what certdeskd says and takes (docs/openapi.yaml: renewalChallenge … completeRenewal) ---------
type Schemas = components['schemas']
type Json<T> = T extends { content: { 'application/json': infer J } } ? J : never
export type RenewalState = Schemas['OrderState']
export type Usage = 'sign' | 'enc'
export type RenewCertificate = Schemas['RenewalCertificate']
export type Challenge = Schemas['RenewalChallenge']
export type ProveReply = Json<operations['renewalProve']['responses'][200]>
export type InvoiceKind = Schemas['RenewalInvoice']['kind']
export type Invoice = Schemas['RenewalInvoice']
export type Renewal = Schemas['Renewal']
export type IssueBody = Json<operations['issueRenewal']['requestBody']>
export type IssueReply = Schemas['RenewalIssued']
export type IssuedSeal = NonNullable<IssueReply['seals']>[number]
export type CompleteBody = Json<operations['completeRenewal']['requestBody']>
/** The key's ULONG width, for a wrapped encryption key (re-key of a dual profile). */
export type Ulong = 32 | 64

/** certdeskd's side (api.ts in the page with the token, a mock in the tests). */
export interface ServerSide {
  challenge(certificateDer: string): Promise<Challenge>
  prove(challengeId: string, signature: string): Promise<ProveReply>
  issue(renewalNo: string, body: IssueBody, ulong: Ulong): Promise<IssueReply>
  complete(renewalNo: string, body: CompleteBody): Promise<Renewal>
}

/** certdesk-agent's side (RenewAgent in the page, a mock in the tests). */
export interface AgentSide {
  keys(): Promise<AgentKey[]>
  login(id: string, pin: string): Promise<{ session: string }>
  logout(id: string, session: string): Promise<unknown>
  sign(id: string, session: string, keyRef: string, data: string): Promise<{ signature: string }>
  keypairs(id: string, session: string): Promise<AgentKeyPair[]>
  generate(id: string, session: string, algorithm: string): Promise<{ key_ref: string; public_key: string }>
  csr(id: string, session: string, keyRef: string): Promise<{ csr: string }>
  putCertificate(id: string, session: string, body: { key_ref: string; usage: Usage; der: string }): Promise<unknown>
  importEncKey(id: string, session: string, keyRef: string, wrapped: unknown): Promise<unknown>
  putData(id: string, session: string, name: string, data: string): Promise<unknown>
  getData(id: string, session: string, name: string): Promise<{ data: string }>
}

/** The wizard's steps (el-steps), in the seed's order. */
export const WIZARD_STEPS = [
  '办理须知',
  '环境检测',
  '证书确认',
  '年限与发票',
  '确认订单',
  '下载证书',
  '更新成功',
] as const
export const STEP_NOTICE = 0
export const STEP_ENV = 1
export const STEP_CERT = 2
export const STEP_INVOICE = 3
export const STEP_ORDER = 4
export const STEP_WRITE = 5
export const STEP_DONE = 6

/** Where a renewal in this state continues (after the proof of possession). */
export function stepForState(state?: RenewalState | null): number {
  switch (state) {
    case 'awaiting_payment':
      return STEP_ORDER
    case 'paid':
    case 'issued':
      return STEP_WRITE
    case 'completed':
      return STEP_DONE
    default:
      return STEP_INVOICE // none yet, or an unpaid one that was cancelled
  }
}

const b64 = (s?: string | null) => (s || '').replace(/\s+/g, '')

// --- a key renewed before -----------------------------------------------------------------------------
/** A certificate as the done screen shows it: read back from the key, or as certdeskd issued it. */
export type DoneCertificate = Pick<AgentCert, 'usage' | 'serial' | 'not_before' | 'not_after'>
/** What the done screen shows of a renewal completed earlier. */
export interface CompletedRenewal {
  renewalNo: string
  certificates: DoneCertificate[]
}

/**
 * The renewal completed earlier for the key's certificate, when certdeskd's challenge names one
 * (`completed`: the key carries the old certificate of a renewal done in certdesk, or the new one it
 * issued, and cannot be renewed now): the wizard shows 证书更新成功 with the new validity again
 * instead of an error. null otherwise.
 */
export function completedRenewal(c: Challenge | null | undefined): CompletedRenewal | null {
  const done = c?.completed
  if (!done || done.state !== 'completed') return null
  return {
    renewalNo: done.renewal_no,
    certificates: done.certificates.map((x) => ({
      usage: x.usage,
      serial: x.serial,
      not_before: x.not_before,
      not_after: x.not_after,
    })),
  }
}

// --- which key and certificate --------------------------------------------------------------------
export type KeyVerdict =
  | { ok: true; key: AgentKey; cert: AgentCert; enc?: AgentCert }
  | {
      ok: false
      code: 'no_key' | 'many_keys' | 'no_certificate' | 'key_changed'
      message: string
      key?: AgentKey
    }

/** The serials a paid renewal accepts on the key: the certificate renewed, then its new signing certificate. */
export function paidSerials(r: Pick<Renewal, 'certificate' | 'new_certificates'>): string[] {
  const renewed = (r.new_certificates || []).flatMap((c) => (c.kind === 'sign' && c.serial ? [c.serial] : []))
  return [r.certificate.serial, ...renewed]
}

/**
 * The one inserted key and the signing certificate to renew. With several signing certificates on
 * the key (a re-keyed one keeps its old pair until the transition ends), the one named by
 * `wantSerial` (a renewal under way), else the one that expires last. `paidSerial`: the certificate
 * a paid renewal is for; any other key is refused (paying for key A, then inserting key B).
 */
export function chooseRenewKey(keys: AgentKey[], paid?: string | string[] | null): KeyVerdict {
  // a paid renewal: its certificate, or (re-certify replaced it in its container, and the key was
  // pulled out before the renewal was confirmed) the renewal's new signing certificate
  const serials = (Array.isArray(paid) ? paid : [paid]).filter((x): x is string => !!x)
  const paidSerial = serials[0]
  if (keys.length === 0) {
    return {
      ok: false,
      code: 'no_key',
      message: paidSerial
        ? '未检测到数字证书（CA锁）：请插入已缴费的那一个证书，然后点击“重新检测”'
        : '未检测到数字证书（CA锁）：请插入要更新的证书，确认驱动已安装，然后点击“重新检测”',
    }
  }
  if (keys.length > 1) {
    return {
      ok: false,
      code: 'many_keys',
      message: `检测到 ${keys.length} 个数字证书（CA锁）：每次只能插入一个要更新的证书，请拔出其余的后点击“重新检测”`,
    }
  }
  const key = keys[0]
  const signs = (key.certificates || []).filter((c) => c.usage === 'sign')
  if (!signs.length) {
    return {
      ok: false,
      code: 'no_certificate',
      key,
      message: '该 CA锁中读不到签名证书：请确认插入的是本 CA 签发的数字证书；空白锁或已损坏的证书无法在线更新',
    }
  }
  if (paidSerial) {
    const cert = serials.map((p) => signs.find((c) => sameSerial(c.serial, p))).find((c) => !!c)
    if (!cert) {
      return {
        ok: false,
        code: 'key_changed',
        key,
        message: `插入的不是已缴费的证书（序列号 ${paidSerial}）：缴费后不能换插其他 CA锁，请插入原来的证书后点击“重新检测”`,
      }
    }
    return { ok: true, key, cert, enc: encOf(key, cert) }
  }
  const cert = [...signs].sort((a, b) => Date.parse(b.not_after) - Date.parse(a.not_after))[0]
  return { ok: true, key, cert, enc: encOf(key, cert) }
}

const encOf = (key: AgentKey, cert: AgentCert) =>
  (key.certificates || []).find((c) => c.usage === 'enc' && c.key_ref === cert.key_ref)

/** Serial numbers compared as hex without leading zeros, case and separators. */
export function sameSerial(a?: string | null, b?: string | null): boolean {
  const norm = (s?: string | null) =>
    (s || '')
      .replace(/[^0-9a-f]/gi, '')
      .toUpperCase()
      .replace(/^0+/, '')
  return !!norm(a) && norm(a) === norm(b)
}

// --- messages ---------------------------------------------------------------------------------------
/** What to say (and do) when certdeskd refuses to renew this certificate (challenge errors). */
export function refusalHelp(code: string): string {
  switch (code) {
    case 'cert_unknown':
      return '该证书不是本 CA 签发的，或未在本系统登记：无法在线更新。请确认插入的证书，或联系客服。'
    case 'cert_revoked':
      return '该证书已吊销，不能更新：请重新申请新证书（首页 → 数字证书申请）。'
    case 'outside_window':
      return '该证书当前不在可在线更新的期限内：未到期限的请届时再来；已超过期限的请重新申请新证书。'
    case 'certificate_invalid':
      return '读到的证书数据无效：请重新插拔证书后点击“重新检测”，仍不行请联系客服。'
    case 'key_changed':
      return '缴费后不能换插其他 CA锁：请插入缴费时使用的证书。'
    default:
      return ''
  }
}

/** The agent's PIN errors in the words of this wizard (the key's password is 证书密码). */
export function pinMessage(e: unknown): string {
  if (e instanceof AgentError) {
    if (e.code === 'pin_incorrect') {
      const n = e.retriesLeft
      if (n === undefined || n < 0) return '证书密码不正确，请核对后重试（多次输错将锁定证书）'
      if (n === 0) return '证书密码不正确，证书已锁定：请联系 CA 客服解锁'
      return `证书密码不正确，还可尝试 ${n} 次；输错次数用完证书将被锁定`
    }
    if (e.code === 'pin_locked') return '证书密码已锁定，无法在线更新：请联系 CA 客服解锁后再办理'
    if (e.code === 'key_blank') return '该 CA锁是空白的，没有可更新的证书'
  }
  return e instanceof Error ? e.message : String(e)
}

// --- invoice data -----------------------------------------------------------------------------------
const USCC_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY'
const USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

/** A unified social credit code (GB 32100-2015) with its check character. */
export function validUscc(s: string): boolean {
  if (!/^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$/.test(s)) return false
  let sum = 0
  for (let i = 0; i < 17; i++) sum += USCC_CHARS.indexOf(s[i]) * USCC_WEIGHTS[i]
  return USCC_CHARS[(31 - (sum % 31)) % 31] === s[17]
}

/** A tax number: a USCC, or a 15/18/20-character taxpayer identification number. */
export function validTaxNumber(s: string): boolean {
  if (s.length === 18 && /^[0-9A-HJ-NPQRTUWXY]{2}\d{6}/.test(s)) return validUscc(s)
  return /^[0-9A-Z]{15}$|^[0-9A-Z]{18}$|^[0-9A-Z]{20}$/.test(s)
}

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
/** A resident ID number (GB 11643-1999): 18 characters, a real birth date, the check digit. */
export function validIdNumber(s: string): boolean {
  if (!/^\d{17}[\dX]$/.test(s)) return false
  const y = Number(s.slice(6, 10))
  const m = Number(s.slice(10, 12))
  const d = Number(s.slice(12, 14))
  const born = new Date(Date.UTC(y, m - 1, d))
  if (y < 1900 || born.getUTCMonth() !== m - 1 || born.getUTCDate() !== d || born.getTime() > Date.now()) return false
  let sum = 0
  for (let i = 0; i < 17; i++) sum += Number(s[i]) * ID_WEIGHTS[i]
  return '10X98765432'[sum % 11] === s[17]
}

export const validMobile = (s: string) => /^1[3-9]\d{9}$/.test(s)
export const validEmail = (s: string) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(s) && s.length <= 254

/** The invoice data trimmed (tax and ID numbers upper case) and only the fields of its kind. */
export function cleanInvoice(inv: Invoice): Invoice {
  const t = (s?: string) => (s || '').trim()
  const base = { kind: inv.kind, phone: t(inv.phone), email: t(inv.email) }
  return inv.kind === 'org'
    ? {
        ...base,
        handler_name: t(inv.handler_name),
        unit_name: t(inv.unit_name),
        tax_number: t(inv.tax_number).toUpperCase(),
      }
    : { ...base, name: t(inv.name), id_number: t(inv.id_number).toUpperCase() }
}

/** Field → Chinese message for every problem of the invoice data (empty when it is fine). */
export function invoiceErrors(raw: Invoice): Record<string, string> {
  const inv = cleanInvoice(raw)
  const e: Record<string, string> = {}
  if (inv.kind === 'org') {
    if (!inv.handler_name) e.handler_name = '请填写办理人'
    if (!inv.unit_name) e.unit_name = '请填写单位名称'
    if (!inv.tax_number) e.tax_number = '请填写纳税识别号'
    else if (!validTaxNumber(inv.tax_number))
      e.tax_number = '纳税识别号不正确：应为 18 位统一社会信用代码，或 15/20 位纳税人识别号'
  } else {
    if (!inv.name) e.name = '请填写姓名'
    if (!inv.id_number) e.id_number = '请填写身份证号'
    else if (!validIdNumber(inv.id_number)) e.id_number = '身份证号不正确（请核对位数、出生日期与最后一位校验码）'
  }
  if (!inv.phone) e.phone = '请填写电话'
  else if (!validMobile(inv.phone)) e.phone = '请填写 11 位手机号码'
  if (!inv.email) e.email = '请填写邮箱'
  else if (!validEmail(inv.email)) e.email = '邮箱格式不正确'
  return e
}

/** The new validity as expected before the server says: from the old expiry (or now) for the years. */
export function previewValidity(oldNotAfter: string, years: number, now = Date.now()): { from: Date; to: Date } {
  const old = Date.parse(oldNotAfter)
  const from = new Date(Number.isNaN(old) ? now : Math.max(old, now))
  const to = new Date(from)
  to.setUTCFullYear(to.getUTCFullYear() + years)
  return { from, to }
}

// --- DER: a certificate's SubjectPublicKeyInfo (to find the key pair of a re-keyed certificate) ----
function fromB64(s: string): Uint8Array {
  const bin = atob(b64(s))
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}
function toB64(u: Uint8Array): string {
  let s = ''
  for (const c of u) s += String.fromCharCode(c)
  return btoa(s)
}
// One TLV at off: [tag, start of content, end]; throws on a malformed length.
function tlv(d: Uint8Array, off: number): [number, number, number] {
  const tag = d[off]
  let len = d[off + 1]
  let p = off + 2
  if (len & 0x80) {
    const n = len & 0x7f
    if (n < 1 || n > 3) throw new Error('bad DER length')
    len = 0
    for (let i = 0; i < n; i++) len = (len << 8) | d[p++]
  }
  if (p + len > d.length) throw new Error('truncated DER')
  return [tag, p, p + len]
}

/** The SubjectPublicKeyInfo DER (base64) of an X.509 certificate (base64 DER), '' when unreadable. */
export function certificateSpki(der: string): string {
  try {
    const d = fromB64(der)
    const [, certStart] = tlv(d, 0)
    const [, tbsStart, tbsEnd] = tlv(d, certStart)
    let p = tbsStart
    if (d[p] === 0xa0) p = tlv(d, p)[2] // [0] version
    for (let i = 0; i < 5; i++) p = tlv(d, p)[2] // serial, signature, issuer, validity, subject
    const [tag, , end] = tlv(d, p)
    if (tag !== 0x30 || end > tbsEnd) return ''
    return toB64(d.subarray(p, end))
  } catch {
    return ''
  }
}

// --- proof of possession ------------------------------------------------------------------------------
export interface Proof {
  session: string // the agent's session on the key (used again by the write run)
  token: string
  renewalNo: string
  state: RenewalState | null
  challenge: Challenge
}

/** A challenge still usable for a few seconds more (they live 5 minutes, one use). */
export const challengeFresh = (c: Challenge | null | undefined, now = Date.now()) =>
  !!c && Date.parse(c.expires_at) - now > 20000

/**
 * Logs in to the key with the PIN the user typed, signs certdeskd's challenge with the
 * certificate's key and proves it. `challenge`: the one shown at 证书确认 (a fresh one is asked
 * for when it has expired). Agent errors (wrong PIN …) are thrown as they are: pinMessage.
 */
export async function proveKey(
  server: ServerSide,
  agent: AgentSide,
  key: AgentKey,
  cert: AgentCert,
  pin: string,
  challenge?: Challenge | null,
): Promise<Proof> {
  const session = (await agent.login(key.id, pin)).session
  const c = challengeFresh(challenge) ? challenge! : await server.challenge(b64(cert.der))
  const { signature } = await agent.sign(key.id, session, cert.key_ref, c.challenge)
  const r = await server.prove(c.challenge_id, signature)
  return {
    session,
    token: r.token,
    renewalNo: r.renewal_no || c.renewal?.renewal_no || '',
    state: r.state || c.renewal?.state || null,
    challenge: c,
  }
}

// --- the token kept for a reload of the page (sessionStorage: this tab only) ----------------------
const TOKEN_STORAGE = 'certdesk.renewal'
export interface StoredRenewal {
  serial: string
  token: string
  renewalNo: string
}
export function saveRenewal(r: StoredRenewal, store: Storage | undefined = globalThis.sessionStorage) {
  try {
    store?.setItem(TOKEN_STORAGE, JSON.stringify(r))
  } catch {
    /* storage blocked: a reload asks for the PIN again */
  }
}
export function loadRenewal(
  serial: string,
  store: Storage | undefined = globalThis.sessionStorage,
): StoredRenewal | null {
  try {
    const r = JSON.parse(store?.getItem(TOKEN_STORAGE) || 'null') as StoredRenewal | null
    return r && r.token && sameSerial(r.serial, serial) ? r : null
  } catch {
    return null
  }
}
export function forgetRenewal(store: Storage | undefined = globalThis.sessionStorage) {
  try {
    store?.removeItem(TOKEN_STORAGE)
  } catch {
    /* nothing kept */
  }
}

// --- 下载证书到USBKEY: the run ------------------------------------------------------------------------
export type WriteStepId =
  'verify' | 'keypair' | 'issue' | 'write_sign' | 'enc_key' | 'write_enc' | 'seals' | 'readback' | 'complete'
export const WRITE_TITLES: Record<WriteStepId, string> = {
  verify: '验证证书',
  keypair: '生成新密钥对',
  issue: '签发新证书',
  write_sign: '写入签名证书',
  enc_key: '写入加密密钥',
  write_enc: '写入加密证书',
  seals: '写入电子印章',
  readback: '读回核对',
  complete: '完成更新',
}

/** The steps of the run for a renewal of this mode / dual / key type. */
export function writeSteps(r: { mode: string; dual: boolean; key_type: string }): WriteStepId[] {
  const s: WriteStepId[] = ['verify']
  if (r.mode === 'rekey') s.push('keypair')
  s.push('issue', 'write_sign')
  if (r.dual && r.mode === 'rekey') s.push('enc_key')
  if (r.dual) s.push('write_enc')
  if (r.key_type === 'main') s.push('seals')
  s.push('readback', 'complete')
  return s
}

export { StepFailure, type StepStatus }
export type StepEvent = AgentStepEvent<WriteStepId>

function problem(code: string, message: string) {
  return Object.assign(new Error(message), { code })
}

export interface WriteResult {
  renewal: Renewal
  certificates: AgentCert[] // read back from the key
  notAfter: string // the renewed signing certificate's, as read back
}

/** The seal files a main key carries (the names production writes them under). */
export const SEAL_FILES = ['CDSEAL_ORG.esl', 'CDSEAL_LEGAL.esl']

export class RenewalWrite {
  private keyRef = '' // where the new certificates go (the old pair on re-certify, the new one on re-key)
  private issued: IssueReply | null = null

  constructor(
    private server: ServerSide,
    private agent: AgentSide,
    private renewal: Renewal,
    private session: string,
    private onStep: (e: StepEvent) => void = () => {},
  ) {}

  /** Runs every step on the key (cert: the certificate renewed); throws StepFailure at the first failure. */
  async run(key: AgentKey, cert: AgentCert): Promise<WriteResult> {
    this.keyRef = this.renewal.mode === 'rekey' ? '' : cert.key_ref
    this.issued = null
    const body = await this.step('verify', () => this.verify(key, cert))
    if (this.renewal.mode === 'rekey') await this.step('keypair', () => this.rekey(key, cert, body))
    const ulong: Ulong = key.ulong_bits === 64 ? 64 : 32
    const r = await this.step('issue', () => this.server.issue(this.renewal.renewal_no, body, ulong))
    this.issued = r
    if (this.renewal.mode === 'rekey') await this.findNewPair(key)
    const onKey = await this.agent.keys().catch(() => [] as AgentKey[])
    const now = onKey.find((k) => k.id === key.id || k.serial === key.serial)
    const has = (u: Usage) =>
      !!now?.certificates.find((c) => c.key_ref === this.keyRef && c.usage === u && b64(c.der) === this.der(u))
    await this.write('write_sign', key, 'sign', has('sign'))
    if (this.renewal.dual) {
      if (this.renewal.mode === 'rekey') {
        if (has('enc')) this.onStep({ step: 'enc_key', status: 'skip', note: '已写入' })
        else {
          await this.step('enc_key', async () => {
            if (!r.enc_key) throw problem('no_enc_key', '服务器未返回加密密钥')
            await this.agent.importEncKey(key.id, this.session, this.keyRef, r.enc_key)
          })
        }
      }
      await this.write('write_enc', key, 'enc', has('enc'))
    }
    if (this.renewal.key_type === 'main') await this.step('seals', () => this.writeSeals(key))
    const certs = await this.step('readback', () => this.readBack(key))
    const done = await this.step('complete', () =>
      this.server.complete(this.renewal.renewal_no, {
        certificates: certs.map((c) => ({ usage: c.usage, der: b64(c.der) })),
        ...(r.seals && r.seals.length ? { seals: r.seals.map((s) => ({ type: s.type, esl: b64(s.esl) })) } : {}),
      }),
    )
    const sign = certs.find((c) => c.usage === 'sign')
    return { renewal: done, certificates: certs, notAfter: sign?.not_after || r.not_after }
  }

  private der(u: Usage): string {
    return b64(this.issued?.certificates.find((c) => c.usage === u)?.der)
  }

  private step<T>(step: WriteStepId, fn: () => Promise<T>): Promise<T> {
    return runStep(this.onStep, step, fn)
  }

  // A fresh challenge signed by the key plugged in now (certdeskd refuses another key: key_changed).
  // A main key also sends the seals on it (certdeskd makes them anew from these for a certificate
  // imported from before certdesk, whose seals it does not have; it ignores them otherwise).
  private async verify(key: AgentKey, cert: AgentCert): Promise<IssueBody> {
    const c = await this.server.challenge(b64(cert.der))
    const { signature } = await this.agent.sign(key.id, this.session, cert.key_ref, c.challenge)
    const body: IssueBody = { challenge_id: c.challenge_id, signature }
    if (this.renewal.key_type === 'main') {
      const old: string[] = []
      for (const name of SEAL_FILES) {
        const got = await this.agent.getData(key.id, this.session, name).catch((e) => {
          if (e instanceof AgentError && e.code === 'object_not_found') return null
          throw e
        })
        if (got && got.data) old.push(b64(got.data))
      }
      if (old.length) body.old_seals = old
    }
    return body
  }

  // Re-key: a new key pair of the old one's algorithm (a spare one left by an earlier try is used
  // again), its CSR signed on the key, and the old key's signature over the CSR.
  private async rekey(key: AgentKey, cert: AgentCert, body: IssueBody) {
    const pairs = await this.agent.keypairs(key.id, this.session)
    const old = pairs.find((p) => p.key_ref === cert.key_ref)
    const algorithm = old?.algorithm || key.algorithms[0] || 'sm2'
    const spare = pairs.find(
      (p) => p.algorithm === algorithm && p.certificates.length === 0 && p.key_ref !== cert.key_ref,
    )
    const ref = spare ? spare.key_ref : (await this.agent.generate(key.id, this.session, algorithm)).key_ref
    const csr = (await this.agent.csr(key.id, this.session, ref)).csr
    const oldSig = await this.agent.sign(key.id, this.session, cert.key_ref, pemToBase64(csr))
    body.csr = csr
    body.csr_old_signature = oldSig.signature
    this.keyRef = ref
  }

  // The pair whose public key the (possibly earlier) issued certificate carries.
  private async findNewPair(key: AgentKey) {
    const spki = certificateSpki(this.der('sign'))
    const pairs = await this.agent.keypairs(key.id, this.session)
    const pair = pairs.find((p) => b64(p.public_key) === spki)
    if (!pair) {
      const f = new StepFailure(
        'write_sign',
        problem('keypair_missing', '该 CA锁上找不到新证书对应的密钥对（锁可能已被擦除）：请联系客服'),
      )
      this.onStep({ step: 'write_sign', status: 'error', note: f.message })
      throw f
    }
    this.keyRef = pair.key_ref
  }

  private async write(step: WriteStepId, key: AgentKey, usage: Usage, already: boolean) {
    if (already) {
      this.onStep({ step, status: 'skip', note: '已写入' })
      return
    }
    await this.step(step, async () => {
      const der = this.der(usage)
      if (!der) throw problem('no_certificate', `服务器未返回${usage === 'sign' ? '签名' : '加密'}证书`)
      await this.agent.putCertificate(key.id, this.session, { key_ref: this.keyRef, usage, der })
    })
  }

  // The seals as data objects under the names certdeskd gives (an equal one already there is kept).
  private async writeSeals(key: AgentKey) {
    for (const s of this.issued?.seals || []) {
      const have = await this.agent.getData(key.id, this.session, s.file).catch(() => null)
      if (have && b64(have.data) === b64(s.esl)) continue
      await this.agent.putData(key.id, this.session, s.file, b64(s.esl))
    }
  }

  // The key's certificates (and seals) as the agent reads them now; they must be what was issued.
  private async readBack(key: AgentKey): Promise<AgentCert[]> {
    const now = (await this.agent.keys()).find((k) => k.id === key.id || k.serial === key.serial)
    if (!now) throw problem('key_removed', 'CA锁已被拔出，无法读回核对：请重新插入该证书后点击“重试”')
    const want: Usage[] = this.renewal.dual ? ['sign', 'enc'] : ['sign']
    const out: AgentCert[] = []
    for (const u of want) {
      const name = u === 'sign' ? '签名证书' : '加密证书'
      const c = now.certificates.find((x) => x.key_ref === this.keyRef && x.usage === u)
      if (!c) throw problem('readback_missing', `读回核对失败：CA锁上没有新的${name}`)
      if (b64(c.der) !== this.der(u)) throw problem('readback_mismatch', `读回核对失败：CA锁上的${name}与签发的不一致`)
      out.push(c)
    }
    for (const s of this.issued?.seals || []) {
      const got = await this.agent.getData(key.id, this.session, s.file)
      if (b64(got.data) !== b64(s.esl))
        throw problem('readback_mismatch', '读回核对失败：CA锁上的电子印章与签发的不一致')
    }
    return out
  }
}

// --- the agent calls renewal needs beyond the production page's (same client, same errors) --------
export class RenewAgent extends AgentClient {
  sign = (id: string, session: string, keyRef: string, data: string) =>
    this.call<{ signature: string }>(
      'POST',
      `/v1/keys/${encodeURIComponent(id)}/sign`,
      { key_ref: keyRef, data },
      session,
    )
  putData = (id: string, session: string, name: string, data: string) =>
    this.call<unknown>('PUT', `/v1/keys/${encodeURIComponent(id)}/data/${encodeURIComponent(name)}`, { data }, session)
  getData = (id: string, session: string, name: string) =>
    this.call<{ data: string }>(
      'GET',
      `/v1/keys/${encodeURIComponent(id)}/data/${encodeURIComponent(name)}`,
      undefined,
      session,
    )
}

// --- the environment check --------------------------------------------------------------------------
/** The oldest certdesk-agent that has everything renewal uses (sign, data objects). */
export const MIN_AGENT_VERSION = '0.1.0'

/**
 * The seed's warning for a PC with other CA vendors' USB key drivers (another province's CA lock
 * middleware is where writing the renewed certificate fails), or null when the agent found none.
 * A warning only: the user may still go on.
 */
export function otherDriversWarning(status: AgentStatus | null | undefined): string | null {
  const found = status?.other_drivers || []
  if (found.length === 0) return null
  const list = found.map((d) => `${d.name}（${d.path}）`).join('、')
  return `检测到本机安装了其他CA的USB Key驱动：${list}。请勿在安装其他省份CA锁驱动的电脑上进行在线更新，以免证书写入失败。`
}

/** Dotted version a ≥ b (numbers compared part by part; missing parts are 0). */
export function versionAtLeast(a: string, b: string): boolean {
  const pa = (a.match(/\d+/g) || []).map(Number)
  const pb = (b.match(/\d+/g) || []).map(Number)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] || 0
    const y = pb[i] || 0
    if (x !== y) return x > y
  }
  return true
}

/** One attribute of a certificate subject as the agent prints it ("serialNumber=…,CN=…,O=…"). */
export function subjectField(subject: string, name: string): string {
  for (const part of (subject || '').split(/,(?=\s*[A-Za-z.0-9]+=)/)) {
    const i = part.indexOf('=')
    if (i > 0 && part.slice(0, i).trim().toLowerCase() === name.toLowerCase()) return part.slice(i + 1).trim()
  }
  return ''
}
