// Production onto a USB key (制证), the logic of the producer's page without Vue: which inserted key
// may be used, and the steps from "开始制证" to "完成" between certdeskd and certdesk-agent.
//
// The server is the record: POST …/production registers the key (or resumes the production on the
// same key: same PINs, the certificates already issued), issuance is idempotent per order and key,
// and the order becomes `produced` only when …/production/complete gets a read-back equal to the
// issued certificates. So a failed run is retried by running everything again: the steps already
// done are found done (the key is not blank any more, the key pair of the issued certificate is on
// the key, the certificate is issued) and skipped, and nothing is issued twice.
import { StepFailure, runStep, type StepEvent as AgentStepEvent, type StepStatus } from './agentSteps'
import type { AgentCert, AgentKey, AgentKeyPair } from './agent'
import { pemToBase64 } from './agent'
import type { components } from './api/schema'

export type Usage = 'sign' | 'enc'
export type StepId =
  | 'start'
  | 'init'
  | 'login'
  | 'keypair'
  | 'csr'
  | 'issue'
  | 'write_sign'
  | 'enc_key'
  | 'write_enc'
  | 'seals'
  | 'readback'
  | 'complete'

export const STEP_TITLES: Record<StepId, string> = {
  start: '登记 Key',
  init: '初始化 Key',
  login: '登录 Key',
  keypair: '生成密钥对',
  csr: '生成证书请求',
  issue: '签发证书',
  write_sign: '写入签名证书',
  enc_key: '写入加密密钥',
  write_enc: '写入加密证书',
  seals: '写入电子签章',
  readback: '读回核对',
  complete: '完成',
}
const DUAL_ONLY: StepId[] = ['enc_key', 'write_enc']

/** The steps shown for a single or dual certificate production. */
export function stepsFor(dual: boolean): StepId[] {
  return (Object.keys(STEP_TITLES) as StepId[]).filter((s) => dual || !DUAL_ONLY.includes(s))
}

// --- what certdeskd says and takes (docs/openapi.yaml: startProduction, completeProduction) ---------
type Schemas = components['schemas']
export type IssuedCert = Schemas['ProductionCertificate']
export type Production = Schemas['Production']
export type StartBody = Schemas['ProductionStart']
export type CompleteBody = Schemas['ProductionComplete']
export type SealFile = { type: 'org' | 'legal'; file: string; esl: string }
interface PemCert {
  serial?: string
  pem?: string
  not_before?: string
  not_after?: string
}
export interface IssueReply extends PemCert {
  enc_certificate?: PemCert | null
}

/** certdeskd's side of the steps (api.ts in the page, a mock in the tests). */
export interface ServerSide {
  start(no: string, body: StartBody): Promise<Production>
  issue(no: string, csr: string): Promise<IssueReply>
  encKey(no: string, ulong: 32 | 64): Promise<unknown>
  complete(no: string, body: CompleteBody): Promise<unknown>
  /** A main key's seals (POST …/production/seals); null for a key without seals (副锁). */
  seals(no: string): Promise<SealFile[] | null>
}

/** certdesk-agent's side (AgentClient in the page, a mock in the tests). */
export interface AgentSide {
  keys(): Promise<AgentKey[]>
  init(id: string, body: { so_pin: string; user_pin: string; label: string }): Promise<unknown>
  login(id: string, pin: string): Promise<{ session: string }>
  keypairs(id: string, session: string): Promise<AgentKeyPair[]>
  generate(id: string, session: string, algorithm: string): Promise<{ key_ref: string; public_key: string }>
  csr(id: string, session: string, keyRef: string): Promise<{ csr: string }>
  putCertificate(id: string, session: string, body: { key_ref: string; usage: Usage; der: string }): Promise<unknown>
  importEncKey(id: string, session: string, keyRef: string, wrapped: unknown): Promise<unknown>
  logout(id: string, session: string): Promise<unknown>
  putData(id: string, session: string, name: string, data: string): Promise<unknown>
  getData(id: string, session: string, name: string): Promise<{ data: string }>
}

// --- which key ------------------------------------------------------------------------------------
/** What the order already knows of its key (the order JSON's usb_key). */
export type OrderKey = Schemas['UsbKey']

export type KeyVerdict =
  | { ok: true; key: AgentKey; resume: boolean }
  | { ok: false; code: 'no_key' | 'many_keys' | 'not_blank' | 'already_written'; message: string; key?: AgentKey }

/**
 * The one inserted key production may use: exactly one key, blank, or the key this order's
 * production started on (resume).
 */
export function chooseKey(keys: AgentKey[], orderKey?: OrderKey | null): KeyVerdict {
  if (keys.length === 0) {
    const half = orderKey && orderKey.state === 'producing'
    return {
      ok: false,
      code: 'no_key',
      message: half
        ? `请插入本订单制证中的 Key（序列号 ${orderKey.serial}）以继续，或插入空白 USB Key 重新制证，然后点击“刷新”`
        : '请插入空白 USB Key，然后点击“刷新”',
    }
  }
  if (keys.length > 1) {
    return {
      ok: false,
      code: 'many_keys',
      message: `检测到 ${keys.length} 个 Key：请只插入一个要制证的 Key，拔出其余的后点击“刷新”`,
    }
  }
  const key = keys[0]
  const ours = !!orderKey && orderKey.serial === key.serial
  if (ours && orderKey.state === 'written') {
    return { ok: false, code: 'already_written', key, message: '本订单的证书已写入该 Key，无需再次制证' }
  }
  if (ours && orderKey.state === 'producing') return { ok: true, key, resume: !key.blank }
  if (!key.blank) {
    return {
      ok: false,
      code: 'not_blank',
      key,
      message:
        '该 Key 不是空白 Key（已有应用或证书），不能用于本订单。请换一个空白 Key；' +
        '已有内容只能用该 Key 的管理员 PIN 擦除（本订单此前作废的 Key，其管理员 PIN 由系统提供）',
    }
  }
  return { ok: true, key, resume: false }
}

// --- the run -----------------------------------------------------------------------------------------
export { StepFailure, type StepStatus }
export type StepEvent = AgentStepEvent<StepId>

export interface ProductionResult {
  production: Production
  key: AgentKey
  certificates: AgentCert[] // read back from the key
}

const b64 = (s?: string | null) => (s || '').replace(/\s+/g, '')

/** A failure of our own (no agent or server error behind it). */
function problem(code: string, message: string) {
  return Object.assign(new Error(message), { code })
}

export class ProductionRun {
  private session = ''
  private keyRef = ''
  private issued: Partial<Record<Usage, string>> = {} // usage → DER base64

  constructor(
    private server: ServerSide,
    private agent: AgentSide,
    private orderNo: string,
    private onStep: (e: StepEvent) => void = () => {},
  ) {}

  /** Runs every step on the key; throws StepFailure at the first failure (the run may be retried). */
  async run(key: AgentKey): Promise<ProductionResult> {
    this.issued = {}
    this.keyRef = ''
    this.session = ''
    const p = await this.step('start', () => this.start(key))
    await this.step('init', () => this.init(key, p))
    await this.step('login', async () => {
      this.session = (await this.agent.login(key.id, p.user_pin)).session
    })
    try {
      return await this.onKey(key, p)
    } finally {
      // best effort: the session also expires on its own
      if (this.session) await this.agent.logout(key.id, this.session).catch(() => {})
    }
  }

  private async onKey(key: AgentKey, p: Production): Promise<ProductionResult> {
    const sign = (p.certificates || []).find((c) => c.usage === 'sign')
    const pairs = await this.step('keypair', () => this.keypair(key, p, sign))
    if (sign) {
      this.issued.sign = b64(sign.der)
      const enc = (p.certificates || []).find((c) => c.usage === 'enc')
      if (enc) this.issued.enc = b64(enc.der)
      this.onStep({ step: 'csr', status: 'skip', note: '证书已签发' })
      this.onStep({ step: 'issue', status: 'skip', note: '沿用已签发的证书' })
    } else {
      const csr = await this.step('csr', async () => (await this.agent.csr(key.id, this.session, this.keyRef)).csr)
      await this.step('issue', () => this.issue(csr, p))
    }
    const has = (u: Usage) => !!pairs.find((k) => k.key_ref === this.keyRef)?.certificates.includes(u)
    await this.write('write_sign', key, 'sign', has('sign'))
    if (p.dual) {
      if (has('enc')) this.onStep({ step: 'enc_key', status: 'skip', note: '已写入' })
      else {
        await this.step('enc_key', async () => {
          const wrapped = await this.server.encKey(this.orderNo, key.ulong_bits === 64 ? 64 : 32)
          await this.agent.importEncKey(key.id, this.session, this.keyRef, wrapped)
        })
      }
      await this.write('write_enc', key, 'enc', has('enc'))
    }
    const seals = await this.step('seals', () => this.writeSeals(key))
    if (!seals) this.onStep({ step: 'seals', status: 'skip', note: '副锁无电子签章' })
    const certs = await this.step('readback', () => this.readBack(key, p))
    const sealsBack = seals ? await this.step('readback', () => this.readSeals(key, seals)) : undefined
    await this.step('complete', () =>
      this.server.complete(this.orderNo, {
        serial: key.serial,
        certificates: certs.map((c) => ({ usage: c.usage, der: b64(c.der) })),
        ...(sealsBack ? { seals: sealsBack } : {}),
      }),
    )
    return { production: p, key, certificates: certs }
  }

  private step<T>(step: StepId, fn: () => Promise<T>): Promise<T> {
    return runStep(this.onStep, step, fn)
  }

  private start(key: AgentKey): Promise<Production> {
    const body: StartBody = { kind: key.kind, serial: key.serial, model: key.model, manufacturer: key.manufacturer }
    if (key.kind === 'skf' && key.ulong_bits) body.ulong_bits = key.ulong_bits === 64 ? 64 : 32
    return this.server.start(this.orderNo, body)
  }

  // A blank key is initialised with the production's PINs; a resumed key already was.
  private async init(key: AgentKey, p: Production) {
    if (!key.blank) {
      if (!p.resumed) throw problem('not_blank', '该 Key 不是空白 Key，且不是本订单此前制证所用的 Key')
      return
    }
    await this.agent.init(key.id, { so_pin: p.so_pin, user_pin: p.user_pin, label: p.label })
  }

  // The key pair: the one of the certificate already issued (resume), else one without a
  // certificate left by an earlier try, else a new one.
  private async keypair(key: AgentKey, p: Production, sign?: IssuedCert): Promise<AgentKeyPair[]> {
    const pairs = p.resumed ? await this.agent.keypairs(key.id, this.session) : []
    if (sign) {
      const pub = b64(sign.public_key)
      const pair = pairs.find((k) => b64(k.public_key) === pub)
      if (!pair) {
        throw problem(
          'keypair_missing',
          '该 Key 上找不到本订单已签发证书对应的密钥对（Key 可能已被擦除）：请换一个空白 Key 重新制证，原证书将被作废',
        )
      }
      this.keyRef = pair.key_ref
      return pairs
    }
    const spare = pairs.find((k) => k.algorithm === p.algorithm && k.certificates.length === 0)
    if (spare) {
      this.keyRef = spare.key_ref
      return pairs
    }
    this.keyRef = (await this.agent.generate(key.id, this.session, p.algorithm)).key_ref
    return pairs
  }

  private async issue(csr: string, p: Production) {
    const r = await this.server.issue(this.orderNo, csr)
    if (!r.pem) throw problem('no_certificate', '服务器未返回证书')
    this.issued.sign = pemToBase64(r.pem)
    if (p.dual) {
      if (!r.enc_certificate || !r.enc_certificate.pem) throw problem('no_enc_certificate', '服务器未返回加密证书')
      this.issued.enc = pemToBase64(r.enc_certificate.pem)
    }
  }

  private async write(step: StepId, key: AgentKey, usage: Usage, already: boolean) {
    if (already) {
      this.onStep({ step, status: 'skip', note: '已写入' })
      return
    }
    const der = this.issued[usage]
    await this.step(step, async () => {
      if (!der) throw problem('no_certificate', `缺少要写入的${usage === 'sign' ? '签名' : '加密'}证书`)
      await this.agent.putCertificate(key.id, this.session, { key_ref: this.keyRef, usage, der })
    })
  }

  // A main key's seals (made by certdeskd for the signing certificate): each written to the key as a
  // data object under its file name (replacing what an earlier try wrote).
  private async writeSeals(key: AgentKey): Promise<SealFile[] | null> {
    const seals = await this.server.seals(this.orderNo)
    for (const s of seals || []) await this.agent.putData(key.id, this.session, s.file, s.esl)
    return seals
  }

  // The seals read back from the key; they must be what certdeskd made.
  private async readSeals(key: AgentKey, seals: SealFile[]): Promise<{ type: 'org' | 'legal'; esl: string }[]> {
    const back: { type: 'org' | 'legal'; esl: string }[] = []
    for (const s of seals) {
      const data = b64((await this.agent.getData(key.id, this.session, s.file)).data)
      if (data !== b64(s.esl))
        throw problem('readback_mismatch', `读回核对失败：Key 上的电子签章 ${s.file} 与制作的不一致`)
      back.push({ type: s.type, esl: data })
    }
    return back
  }

  // The key's certificates as the agent reads them now; they must be what was issued.
  private async readBack(key: AgentKey, p: Production): Promise<AgentCert[]> {
    const now = (await this.agent.keys()).find((k) => k.id === key.id || k.serial === key.serial)
    if (!now) throw problem('key_removed', 'Key 已被拔出，无法读回核对：请重新插入该 Key 后点击“重试”')
    const certs = (now.certificates || []).filter((c) => c.key_ref === this.keyRef)
    const want: Usage[] = p.dual ? ['sign', 'enc'] : ['sign']
    for (const u of want) {
      const c = certs.find((x) => x.usage === u)
      const name = u === 'sign' ? '签名证书' : '加密证书'
      if (!c) throw problem('readback_missing', `读回核对失败：Key 上没有${name}`)
      if (b64(c.der) !== this.issued[u])
        throw problem('readback_mismatch', `读回核对失败：Key 上的${name}与签发的不一致`)
    }
    return certs.filter((c) => want.includes(c.usage))
  }
}
