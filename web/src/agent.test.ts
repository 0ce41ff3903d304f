// agent.ts: the loopback fetch options, the port setting and the Chinese errors the page shows.
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  AgentClient,
  AgentError,
  agentErrorFromReply,
  agentFetchInit,
  agentPort,
  DEFAULT_AGENT_PORT,
  certdeskSerial,
  pemToBase64,
  setAgentPort,
} from './agent'

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json; charset=utf-8' } })

afterEach(() => {
  vi.unstubAllGlobals()
  localStorage.clear()
})

describe('agentFetchInit', () => {
  it('asks for the loopback address space, sends no cookies, caches nothing', () => {
    const init = agentFetchInit('GET') as RequestInit & { targetAddressSpace?: string }
    expect(init.targetAddressSpace).toBe('loopback')
    expect(init.mode).toBe('cors')
    expect(init.credentials).toBe('omit')
    expect(init.cache).toBe('no-store')
    expect(init.body).toBeUndefined()
    expect((init.headers as Record<string, string>)['Content-Type']).toBeUndefined()
  })

  it('a body is JSON; the session goes in X-Agent-Session', () => {
    const init = agentFetchInit('POST', { pin: '123456' }, 'abc')
    const h = init.headers as Record<string, string>
    expect(h['Content-Type']).toBe('application/json')
    expect(h['X-Agent-Session']).toBe('abc')
    expect(init.body).toBe('{"pin":"123456"}')
  })
})

describe('port setting', () => {
  it('defaults to 21088 and keeps a valid choice in localStorage', () => {
    expect(agentPort()).toBe(DEFAULT_AGENT_PORT)
    expect(setAgentPort(31000)).toBe(true)
    expect(agentPort()).toBe(31000)
    expect(new AgentClient().base).toBe('http://127.0.0.1:31000')
  })

  it('refuses what is not a port', () => {
    expect(setAgentPort(0)).toBe(false)
    expect(setAgentPort(70000)).toBe(false)
    expect(setAgentPort(12.5)).toBe(false)
    localStorage.setItem('certdesk.agentPort', 'nonsense')
    expect(agentPort()).toBe(DEFAULT_AGENT_PORT)
  })
})

describe('error mapping', () => {
  it('a wrong PIN says how many tries are left', () => {
    const e = agentErrorFromReply(401, { error: { code: 'pin_incorrect', message: 'PIN 错误', retries_left: 4 } })
    expect(e.code).toBe('pin_incorrect')
    expect(e.retriesLeft).toBe(4)
    expect(e.message).toContain('还可尝试 4 次')
  })

  it('locked, removed, foreign origin: our explanations', () => {
    expect(agentErrorFromReply(423, { error: { code: 'pin_locked', message: 'x' } }).message).toContain('已锁定')
    expect(agentErrorFromReply(410, { error: { code: 'key_removed', message: 'x' } }).message).toContain('已被拔出')
    expect(agentErrorFromReply(403, { error: { code: 'origin_forbidden', message: 'x' } }).message).toContain(
      '[agent] origins',
    )
  })

  it('a token error names the vendor code; an unknown code keeps the agent message', () => {
    const t = agentErrorFromReply(502, {
      error: { code: 'token_error', message: '生成密钥失败', detail: '0x0A000023' },
    })
    expect(t.message).toContain('生成密钥失败')
    expect(t.message).toContain('0x0A000023')
    expect(agentErrorFromReply(422, { error: { code: 'bad_request', message: '请求格式不正确' } }).message).toBe(
      '请求格式不正确',
    )
    expect(agentErrorFromReply(500, null).message).toContain('HTTP 500')
  })
})

describe('AgentClient', () => {
  it('calls 127.0.0.1:<port> with the loopback options and returns the JSON', async () => {
    const fetchMock = vi.fn(async () => json(200, { keys: [{ id: 'skf0:K1', serial: 'K1' }] }))
    vi.stubGlobal('fetch', fetchMock)
    const keys = await new AgentClient(21088).keys()
    expect(keys[0].serial).toBe('K1')
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit & { targetAddressSpace?: string }]
    expect(url).toBe('http://127.0.0.1:21088/v1/keys')
    expect(init.targetAddressSpace).toBe('loopback')
  })

  it('key ids are encoded in the path; errors become AgentError', async () => {
    const fetchMock = vi.fn(async () => json(401, { error: { code: 'pin_incorrect', message: 'x', retries_left: 2 } }))
    vi.stubGlobal('fetch', fetchMock)
    const err = await new AgentClient(21088).login('skf0:K/1', '000000').catch((e) => e)
    expect(err).toBeInstanceOf(AgentError)
    expect(err.status).toBe(401)
    expect((fetchMock.mock.calls[0] as unknown as [string])[0]).toBe(
      'http://127.0.0.1:21088/v1/keys/skf0%3AK%2F1/login',
    )
  })

  it('no agent: explains that certdesk-agent must run and the browser must allow local network access', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => {
        throw new TypeError('Failed to fetch')
      }),
    )
    const err = await new AgentClient(21088).status().catch((e) => e)
    expect(err.code).toBe('agent_unreachable')
    expect(err.message).toContain('certdesk-agent')
    expect(err.message).toContain('访问本地网络')
  })
})

describe('pemToBase64', () => {
  it('drops the armour and the line breaks', () => {
    expect(pemToBase64('-----BEGIN CERTIFICATE-----\nAAAA\nBBBB\n-----END CERTIFICATE-----\n')).toBe('AAAABBBB')
  })
})

describe('certdeskSerial', () => {
  it('drops the leading zeros of the byte-wise hex, upper case', () => {
    expect(certdeskSerial('09d8f8')).toBe('9D8F8')
    expect(certdeskSerial('1D67')).toBe('1D67')
    expect(certdeskSerial('00')).toBe('0')
  })
})
