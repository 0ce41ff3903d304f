// Client for certdesk-agent, the local program on the producer's PC that drives the USB key
// (its HTTP API: /work/briefs/agent-contract.md, README "certdesk-agent").
//
// - The agent listens on 127.0.0.1:<port> (default 21088; the page keeps the producer's choice in
//   localStorage). Every request is a CORS request to the loopback address with
//   `targetAddressSpace: 'loopback'`: Chrome's Local Network Access then asks the producer once
//   ("访问本地网络") instead of blocking a public page's request to this computer.
// - PINs go in request bodies to the agent only; nothing here logs or keeps them.
// - Errors are thrown as AgentError with a Chinese message for the page: the agent's own message
//   where it has one, ours for the codes the page must explain (wrong PIN with the retries left,
//   locked PIN, key removed, the agent not running, this site not allowed by the agent).

export const DEFAULT_AGENT_PORT = 21088
const PORT_STORAGE = 'certdesk.agentPort'
const TIMEOUT_MS = 60000 // key generation on a slow token takes seconds

export interface AgentModule {
  kind: 'skf' | 'pkcs11'
  name: string
  path: string
  ulong_bits?: number
  ok: boolean
  error?: string
}
/** A token library on the PC that the agent does not use: another CA vendor's USB key driver. */
export interface AgentOtherDriver {
  path: string
  name: string // the vendor / product, e.g. "龙脉 GM3000", "SKF 驱动"
}
export interface AgentStatus {
  version: string
  modules: AgentModule[]
  other_drivers?: AgentOtherDriver[] // agents before issue 15 do not send it
}
export interface AgentCert {
  key_ref: string
  usage: 'sign' | 'enc'
  serial: string
  subject: string
  issuer: string
  not_before: string
  not_after: string
  der: string
}
export interface AgentKey {
  id: string
  kind: 'skf' | 'pkcs11'
  module: string
  label: string
  serial: string
  model: string
  manufacturer: string
  ulong_bits?: number
  blank: boolean
  pin?: { max_retries: number; retries_left: number; locked: boolean; default: boolean }
  algorithms: string[]
  certificates: AgentCert[]
}
export interface AgentKeyPair {
  key_ref: string
  algorithm: string
  public_key: string
  certificates: ('sign' | 'enc')[]
}

export class AgentError extends Error {
  status: number
  code: string
  retriesLeft?: number
  detail?: unknown
  constructor(status: number, code: string, message: string, retriesLeft?: number, detail?: unknown) {
    super(message)
    this.name = 'AgentError'
    this.status = status
    this.code = code
    this.retriesLeft = retriesLeft
    this.detail = detail
  }
}

/** The agent's port: the producer's setting (localStorage) or the default. */
export function agentPort(): number {
  try {
    const n = Number(globalThis.localStorage?.getItem(PORT_STORAGE))
    if (Number.isInteger(n) && n > 0 && n < 65536) return n
  } catch {
    /* storage blocked: the default */
  }
  return DEFAULT_AGENT_PORT
}

/** Stores the port (false when it is not a TCP port number). */
export function setAgentPort(port: number): boolean {
  if (!Number.isInteger(port) || port <= 0 || port >= 65536) return false
  try {
    globalThis.localStorage?.setItem(PORT_STORAGE, String(port))
  } catch {
    /* storage blocked: only this page uses it */
  }
  return true
}

/** The options of every fetch to the agent (exported for the tests). */
export function agentFetchInit(method: string, body?: unknown, session?: string): RequestInit {
  const headers: Record<string, string> = { Accept: 'application/json' }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  if (session) headers['X-Agent-Session'] = session
  const init: RequestInit & { targetAddressSpace: 'loopback' } = {
    method,
    headers,
    mode: 'cors',
    credentials: 'omit', // the agent uses no cookies; certdeskd's never go to it
    cache: 'no-store',
    referrerPolicy: 'no-referrer',
    targetAddressSpace: 'loopback',
    signal: AbortSignal.timeout(TIMEOUT_MS),
  }
  if (body !== undefined) init.body = JSON.stringify(body)
  return init
}

// The texts the page shows for the agent's error codes; {n} is the PIN retries left.
const MESSAGES: Record<string, string> = {
  origin_forbidden:
    'certdesk-agent 拒绝了本网站的请求：请在其配置文件 [agent] origins 中加入本网站的地址后重启 certdesk-agent',
  host_forbidden: 'certdesk-agent 拒绝了请求（地址不是本机回环地址）',
  pin_incorrect: 'Key 的用户 PIN 不正确，还可尝试 {n} 次；为免锁定，请先核对后再重试',
  pin_locked: 'Key 的用户 PIN 已锁定，无法继续制证：需用该 Key 的管理员 PIN 解锁，或换一个空白 Key',
  key_removed: 'Key 已被拔出，操作未完成：请重新插入该 Key 后点击“重试”',
  key_not_found: '找不到该 Key（可能已被拔出）：请插入后刷新再试',
  key_not_blank: '该 Key 不是空白 Key，不能初始化',
  session_required: 'Key 的登录已失效，请点击“重试”',
  cert_key_mismatch: '证书与 Key 上的密钥对不匹配，未写入',
  ulong_mismatch: '加密密钥的格式与该 Key 的驱动不符（ULONG 宽度），未写入',
  so_pin_incorrect: 'Key 的管理员 PIN 不正确，未擦除',
}

function message(code: string, fallback: string, retriesLeft?: number): string {
  const m = MESSAGES[code]
  if (!m) return fallback
  return m.replace('{n}', retriesLeft === undefined ? '若干' : String(retriesLeft))
}

/** The AgentError for a reply that is not 2xx (exported for the tests). */
export function agentErrorFromReply(status: number, data: unknown): AgentError {
  const err = ((data && typeof data === 'object' && (data as { error?: unknown }).error) || {}) as {
    code?: string
    message?: string
    retries_left?: number
    detail?: unknown
  }
  const code = err.code || `http_${status}`
  let fallback = err.message || `certdesk-agent 返回错误（HTTP ${status}）`
  if (code === 'token_error') {
    fallback = `Key 拒绝了该操作${err.message ? `：${err.message}` : ''}${err.detail !== undefined ? `（错误码 ${String(err.detail)}）` : ''}`
  }
  return new AgentError(status, code, message(code, fallback, err.retries_left), err.retries_left, err.detail)
}

/** A fetch that did not reach the agent (not running, wrong port, blocked by the browser). */
export function agentUnreachable(e: unknown): AgentError {
  const timeout = e instanceof DOMException && (e.name === 'TimeoutError' || e.name === 'AbortError')
  return timeout
    ? new AgentError(
        0,
        'agent_timeout',
        'certdesk-agent 长时间无响应：请确认 Key 已插好、certdesk-agent 仍在运行后重试',
      )
    : new AgentError(
        0,
        'agent_unreachable',
        '无法连接本机的 certdesk-agent：请确认它已安装并正在运行，端口设置正确，并已允许浏览器“访问本地网络”',
      )
}

const enc = encodeURIComponent

export class AgentClient {
  readonly base: string
  constructor(port: number = agentPort()) {
    this.base = `http://127.0.0.1:${port}`
  }

  async call<T>(method: string, path: string, body?: unknown, session?: string): Promise<T> {
    let res: Response
    try {
      res = await fetch(this.base + path, agentFetchInit(method, body, session))
    } catch (e) {
      throw agentUnreachable(e)
    }
    let data: unknown = null
    if ((res.headers.get('content-type') || '').includes('json')) data = await res.json().catch(() => null)
    if (res.ok) return data as T
    throw agentErrorFromReply(res.status, data)
  }

  status = () => this.call<AgentStatus>('GET', '/v1/status')
  keys = async () => (await this.call<{ keys: AgentKey[] }>('GET', '/v1/keys')).keys || []
  init = (id: string, body: { so_pin: string; user_pin: string; label: string }) =>
    this.call<{ ok: boolean }>('POST', `/v1/keys/${enc(id)}/init`, body)
  login = (id: string, pin: string) =>
    this.call<{ session: string; retries_left: number }>('POST', `/v1/keys/${enc(id)}/login`, { pin })
  logout = (id: string, session: string) => this.call<unknown>('POST', `/v1/keys/${enc(id)}/logout`, {}, session)
  keypairs = async (id: string, session: string) =>
    (await this.call<{ keypairs: AgentKeyPair[] }>('GET', `/v1/keys/${enc(id)}/keypairs`, undefined, session))
      .keypairs || []
  generate = (id: string, session: string, algorithm: string) =>
    this.call<{ key_ref: string; public_key: string }>('POST', `/v1/keys/${enc(id)}/keypairs`, { algorithm }, session)
  csr = (id: string, session: string, keyRef: string) =>
    this.call<{ csr: string }>('POST', `/v1/keys/${enc(id)}/csr`, { key_ref: keyRef }, session)
  putCertificate = (id: string, session: string, body: { key_ref: string; usage: 'sign' | 'enc'; der: string }) =>
    this.call<unknown>('PUT', `/v1/keys/${enc(id)}/certificates`, body, session)
  importEncKey = (id: string, session: string, keyRef: string, wrapped: unknown) =>
    this.call<unknown>('POST', `/v1/keys/${enc(id)}/enc-key`, { key_ref: keyRef, wrapped }, session)
  putData = (id: string, session: string, name: string, data: string) =>
    this.call<unknown>('PUT', `/v1/keys/${enc(id)}/data/${enc(name)}`, { data }, session)
  getData = (id: string, session: string, name: string) =>
    this.call<{ data: string }>('GET', `/v1/keys/${enc(id)}/data/${enc(name)}`, undefined, session)
  wipe = (id: string, soPin: string) => this.call<unknown>('POST', `/v1/keys/${enc(id)}/wipe`, { so_pin: soPin })
}

/** A PEM certificate's DER in base64 (what the agent takes). */
export function pemToBase64(pem: string): string {
  return pem.replace(/-----(BEGIN|END) [A-Z0-9 ]+-----/g, '').replace(/\s+/g, '')
}

/** A certificate serial read from the key as certdesk shows serials: upper-case hex, no leading
 * zeros (the agent prints the serial's bytes, so 0x09… comes as "09…"). */
export const certdeskSerial = (serial: string): string => serial.toUpperCase().replace(/^0+(?=.)/, '')
