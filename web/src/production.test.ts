// production.ts: which key may be used, and the run with a mocked agent and certdeskd — a fresh
// dual production, a resume (no second issuance), a wrong PIN, a key pulled out, a bad read-back.
import { describe, expect, it, vi } from 'vitest'
import { AgentError, type AgentCert, type AgentKey, type AgentKeyPair } from './agent'
import {
  chooseKey,
  ProductionRun,
  StepFailure,
  stepsFor,
  type AgentSide,
  type Production,
  type ServerSide,
  type StepEvent,
} from './production'

const pem = (b64: string) => `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`

function key(over: Partial<AgentKey> = {}): AgentKey {
  return {
    id: 'skf0:SOFT1',
    kind: 'skf',
    module: 'softskf',
    label: '',
    serial: 'SOFT1',
    model: 'SoftKey',
    manufacturer: 'certdesk',
    ulong_bits: 32,
    blank: true,
    algorithms: ['sm2'],
    certificates: [],
    ...over,
  }
}

function production(over: Partial<Production> = {}): Production {
  return {
    order_no: 'YT1',
    key: { kind: 'skf', serial: 'SOFT1', model: 'SoftKey', state: 'producing' },
    resumed: false,
    so_pin: 'SOPIN0123456789A',
    user_pin: '12345678',
    user_pin_is_default: false,
    label: 'YT1',
    algorithm: 'sm2',
    dual: true,
    certificates: [],
    ...over,
  }
}

// A software key as the agent would drive it: key pairs, certificates written, read back.
function fakeAgent(k: AgentKey, pairs: AgentKeyPair[] = []) {
  const written: AgentCert[] = []
  const files: Record<string, string> = {}
  let n = 0
  const agent = {
    keys: vi.fn(async () => [{ ...k, blank: false, certificates: written }]),
    init: vi.fn(async () => ({ ok: true })),
    login: vi.fn(async () => ({ session: 'S' })),
    logout: vi.fn(async () => ({})),
    keypairs: vi.fn(async () => pairs),
    generate: vi.fn(async () => {
      const p = { key_ref: `certdesk-${++n}`, algorithm: 'sm2', public_key: `PUB${n}`, certificates: [] }
      pairs.push(p)
      return p
    }),
    csr: vi.fn(async (_id: string, _s: string, ref: string) => ({ csr: `CSR for ${ref}` })),
    putCertificate: vi.fn(
      async (_id: string, _s: string, b: { key_ref: string; usage: 'sign' | 'enc'; der: string }) => {
        written.push({ ...b, serial: `S-${b.usage}`, subject: '', issuer: '', not_before: '', not_after: '' })
      },
    ),
    importEncKey: vi.fn(async () => ({})),
    putData: vi.fn(async (_id: string, _s: string, name: string, data: string) => {
      files[name] = data
    }),
    getData: vi.fn(async (_id: string, _s: string, name: string) => ({ data: files[name] || '' })),
  } satisfies AgentSide
  return { agent, written, files }
}

function fakeServer(p: Production) {
  return {
    start: vi.fn<ServerSide['start']>(async () => p),
    issue: vi.fn<ServerSide['issue']>(async () => ({
      serial: 'S1',
      pem: pem('SIGNDER'),
      enc_certificate: { serial: 'S2', pem: pem('ENCDER') },
    })),
    encKey: vi.fn<ServerSide['encKey']>(async () => ({ format: 'skf-envelopedkeyblob', blob: 'BLOB' })),
    complete: vi.fn<ServerSide['complete']>(async () => ({})),
    seals: vi.fn<ServerSide['seals']>(async () => null),
  } satisfies ServerSide
}

describe('chooseKey', () => {
  it('no key, two keys: the Chinese request', () => {
    const none = chooseKey([])
    expect(none.ok).toBe(false)
    expect(!none.ok && none.message).toContain('请插入空白 USB Key')
    const two = chooseKey([key(), key({ id: 'skf0:SOFT2', serial: 'SOFT2' })])
    expect(!two.ok && two.code).toBe('many_keys')
    expect(!two.ok && two.message).toContain('请只插入一个')
    const back = chooseKey([], { serial: 'SOFT1', model: 'SoftKey', state: 'producing' })
    expect(!back.ok && back.message).toContain('请插入本订单制证中的 Key（序列号 SOFT1）')
  })

  it('a blank key is fine; a key with content is refused unless it is this order’s', () => {
    expect(chooseKey([key()])).toMatchObject({ ok: true, resume: false })
    const used = chooseKey([key({ blank: false })])
    expect(!used.ok && used.code).toBe('not_blank')
    expect(!used.ok && used.message).toContain('不是空白')
    expect(!used.ok && used.message).toContain('管理员 PIN')
    expect(chooseKey([key({ blank: false })], { serial: 'SOFT1', model: 'SoftKey', state: 'producing' })).toMatchObject(
      {
        ok: true,
        resume: true,
      },
    )
    expect(chooseKey([key({ blank: false })], { serial: 'OTHER', model: 'SoftKey', state: 'producing' }).ok).toBe(false)
    expect(chooseKey([key({ blank: false })], { serial: 'SOFT1', model: 'SoftKey', state: 'written' })).toMatchObject({
      ok: false,
      code: 'already_written',
    })
  })
})

describe('ProductionRun', () => {
  it('a dual production: every step in order, the read-back completes the order', async () => {
    const k = key()
    const { agent } = fakeAgent(k)
    const server = fakeServer(production())
    const events: StepEvent[] = []
    const r = await new ProductionRun(server, agent, 'YT1', (e) => events.push(e)).run(k)

    expect(server.start).toHaveBeenCalledWith('YT1', {
      kind: 'skf',
      serial: 'SOFT1',
      model: 'SoftKey',
      manufacturer: 'certdesk',
      ulong_bits: 32,
    })
    expect(agent.init).toHaveBeenCalledWith('skf0:SOFT1', {
      so_pin: 'SOPIN0123456789A',
      user_pin: '12345678',
      label: 'YT1',
    })
    expect(agent.login).toHaveBeenCalledWith('skf0:SOFT1', '12345678')
    expect(agent.generate).toHaveBeenCalledWith('skf0:SOFT1', 'S', 'sm2')
    expect(server.issue).toHaveBeenCalledWith('YT1', 'CSR for certdesk-1')
    expect(agent.putCertificate).toHaveBeenNthCalledWith(1, 'skf0:SOFT1', 'S', {
      key_ref: 'certdesk-1',
      usage: 'sign',
      der: 'SIGNDER',
    })
    expect(server.encKey).toHaveBeenCalledWith('YT1', 32)
    expect(agent.importEncKey).toHaveBeenCalledWith('skf0:SOFT1', 'S', 'certdesk-1', {
      format: 'skf-envelopedkeyblob',
      blob: 'BLOB',
    })
    expect(agent.putCertificate).toHaveBeenNthCalledWith(2, 'skf0:SOFT1', 'S', {
      key_ref: 'certdesk-1',
      usage: 'enc',
      der: 'ENCDER',
    })
    expect(server.complete).toHaveBeenCalledWith('YT1', {
      serial: 'SOFT1',
      certificates: [
        { usage: 'sign', der: 'SIGNDER' },
        { usage: 'enc', der: 'ENCDER' },
      ],
    })
    expect(agent.logout).toHaveBeenCalled()
    expect(r.certificates.map((c) => c.usage)).toEqual(['sign', 'enc'])
    const finished = events.filter((e) => e.status === 'finish').map((e) => e.step)
    expect(finished).toEqual(stepsFor(true))
  })

  it('a main key: the seals certdeskd made are written as data objects, read back and sent with complete', async () => {
    const k = key()
    const { agent, files } = fakeAgent(k)
    const server = fakeServer(production())
    server.seals.mockResolvedValue([
      { type: 'org', file: 'CDSEAL_ORG.esl', esl: 'T1JH' },
      { type: 'legal', file: 'CDSEAL_LEGAL.esl', esl: 'TEVH' },
    ])
    await new ProductionRun(server, agent, 'YT1').run(k)
    expect(files).toEqual({ 'CDSEAL_ORG.esl': 'T1JH', 'CDSEAL_LEGAL.esl': 'TEVH' })
    expect(server.complete.mock.calls[0][1].seals).toEqual([
      { type: 'org', esl: 'T1JH' },
      { type: 'legal', esl: 'TEVH' },
    ])
  })

  it('a seal read back differently is not sent as complete', async () => {
    const k = key()
    const { agent } = fakeAgent(k)
    agent.getData.mockResolvedValue({ data: 'OTHER' })
    const server = fakeServer(production())
    server.seals.mockResolvedValue([{ type: 'org', file: 'CDSEAL_ORG.esl', esl: 'T1JH' }])
    const err = await new ProductionRun(server, agent, 'YT1').run(k).catch((e) => e)
    expect(err.step).toBe('readback')
    expect(err.message).toContain('电子签章')
    expect(server.complete).not.toHaveBeenCalled()
  })

  it('a single certificate profile skips the encryption key (64-bit ULONG is irrelevant then)', async () => {
    const k = key({ kind: 'pkcs11', ulong_bits: undefined, algorithms: ['rsa-2048'] })
    const { agent } = fakeAgent(k)
    const server = fakeServer(production({ dual: false, algorithm: 'rsa-2048' }))
    await new ProductionRun(server, agent, 'YT1').run(k)
    expect(server.start.mock.calls[0]).toEqual([
      'YT1',
      { kind: 'pkcs11', serial: 'SOFT1', model: 'SoftKey', manufacturer: 'certdesk' },
    ])
    expect(agent.generate).toHaveBeenCalledWith('skf0:SOFT1', 'S', 'rsa-2048')
    expect(server.encKey).not.toHaveBeenCalled()
    expect(agent.importEncKey).not.toHaveBeenCalled()
    expect(server.complete.mock.calls[0][1].certificates).toEqual([{ usage: 'sign', der: 'SIGNDER' }])
    expect(server.complete.mock.calls[0][1]).not.toHaveProperty('seals')
  })

  it('resume: no init, the issued certificate goes to the key pair with its public key, never issued again', async () => {
    const k = key({ blank: false })
    const pairs: AgentKeyPair[] = [
      { key_ref: 'certdesk-old', algorithm: 'sm2', public_key: 'OTHERPUB', certificates: [] },
      { key_ref: 'certdesk-aa', algorithm: 'sm2', public_key: 'PUBA\n', certificates: [] },
    ]
    const { agent } = fakeAgent(k, pairs)
    const server = fakeServer(
      production({
        resumed: true,
        certificates: [
          { usage: 'sign', serial: 'S1', public_key: 'PUBA', der: 'SIGNDER' },
          { usage: 'enc', serial: 'S2', public_key: 'ENCPUB', der: 'ENCDER' },
        ],
      }),
    )
    const events: StepEvent[] = []
    await new ProductionRun(server, agent, 'YT1', (e) => events.push(e)).run(k)
    expect(agent.init).not.toHaveBeenCalled()
    expect(agent.generate).not.toHaveBeenCalled()
    expect(agent.csr).not.toHaveBeenCalled()
    expect(server.issue).not.toHaveBeenCalled()
    expect(agent.putCertificate.mock.calls.map((c) => c[2])).toEqual([
      { key_ref: 'certdesk-aa', usage: 'sign', der: 'SIGNDER' },
      { key_ref: 'certdesk-aa', usage: 'enc', der: 'ENCDER' },
    ])
    expect(server.complete).toHaveBeenCalledTimes(1)
    expect(events).toContainEqual({ step: 'issue', status: 'skip', note: '沿用已签发的证书' })
  })

  it('resume after the certificates were written: straight to the read-back', async () => {
    const k = key({ blank: false })
    const pairs: AgentKeyPair[] = [
      { key_ref: 'c1', algorithm: 'sm2', public_key: 'PUBA', certificates: ['sign', 'enc'] },
    ]
    const { agent, written } = fakeAgent(k, pairs)
    written.push(
      {
        key_ref: 'c1',
        usage: 'sign',
        der: 'SIGNDER',
        serial: 'S1',
        subject: '',
        issuer: '',
        not_before: '',
        not_after: '',
      },
      {
        key_ref: 'c1',
        usage: 'enc',
        der: 'ENCDER',
        serial: 'S2',
        subject: '',
        issuer: '',
        not_before: '',
        not_after: '',
      },
    )
    const server = fakeServer(
      production({
        resumed: true,
        certificates: [
          { usage: 'sign', serial: 'S1', public_key: 'PUBA', der: 'SIGNDER' },
          { usage: 'enc', serial: 'S2', public_key: 'ENCPUB', der: 'ENCDER' },
        ],
      }),
    )
    await new ProductionRun(server, agent, 'YT1').run(k)
    expect(agent.putCertificate).not.toHaveBeenCalled()
    expect(agent.importEncKey).not.toHaveBeenCalled()
    expect(server.complete).toHaveBeenCalledTimes(1)
  })

  it('resume without an issued certificate reuses a spare key pair instead of making another', async () => {
    const k = key({ blank: false })
    const { agent } = fakeAgent(k, [{ key_ref: 'spare', algorithm: 'sm2', public_key: 'P', certificates: [] }])
    const server = fakeServer(production({ resumed: true, certificates: [] }))
    await new ProductionRun(server, agent, 'YT1').run(k)
    expect(agent.generate).not.toHaveBeenCalled()
    expect(agent.csr).toHaveBeenCalledWith('skf0:SOFT1', 'S', 'spare')
  })

  it('resume on a key whose key pair is gone: a clear stop, nothing issued or written', async () => {
    const k = key({ blank: false })
    const { agent } = fakeAgent(k, [])
    const server = fakeServer(
      production({ resumed: true, certificates: [{ usage: 'sign', serial: 'S1', public_key: 'PUBA', der: 'X' }] }),
    )
    const err = await new ProductionRun(server, agent, 'YT1').run(k).catch((e) => e)
    expect(err).toBeInstanceOf(StepFailure)
    expect(err.step).toBe('keypair')
    expect(err.message).toContain('找不到')
    expect(agent.putCertificate).not.toHaveBeenCalled()
    expect(server.complete).not.toHaveBeenCalled()
  })

  it('a key that is not blank and not resumed is never initialised', async () => {
    const k = key({ blank: false })
    const { agent } = fakeAgent(k)
    const server = fakeServer(production({ resumed: false }))
    const err = await new ProductionRun(server, agent, 'YT1').run(k).catch((e) => e)
    expect(err.step).toBe('init')
    expect(err.message).toContain('不是空白')
    expect(agent.init).not.toHaveBeenCalled()
  })

  it('a wrong PIN stops at 登录 with the retries left; nothing more happens', async () => {
    const k = key()
    const { agent } = fakeAgent(k)
    agent.login.mockRejectedValueOnce(new AgentError(401, 'pin_incorrect', 'Key 的用户 PIN 不正确，还可尝试 5 次', 5))
    const server = fakeServer(production())
    const events: StepEvent[] = []
    const err = await new ProductionRun(server, agent, 'YT1', (e) => events.push(e)).run(k).catch((e) => e)
    expect(err).toBeInstanceOf(StepFailure)
    expect(err.step).toBe('login')
    expect(err.code).toBe('pin_incorrect')
    expect(err.message).toContain('还可尝试 5 次')
    expect(events.at(-1)).toMatchObject({ step: 'login', status: 'error' })
    expect(agent.generate).not.toHaveBeenCalled()
    expect(server.issue).not.toHaveBeenCalled()
  })

  it('the key pulled out while writing: stops at that step, the order is not completed', async () => {
    const k = key()
    const { agent } = fakeAgent(k)
    agent.putCertificate.mockRejectedValueOnce(new AgentError(410, 'key_removed', 'Key 已被拔出'))
    const server = fakeServer(production())
    const err = await new ProductionRun(server, agent, 'YT1').run(k).catch((e) => e)
    expect(err.step).toBe('write_sign')
    expect(err.status).toBe(410)
    expect(server.complete).not.toHaveBeenCalled()
  })

  it('a read-back that differs from what was issued is not sent as complete', async () => {
    const k = key()
    const { agent } = fakeAgent(k)
    agent.keys.mockResolvedValueOnce([
      { ...k, certificates: [{ key_ref: 'certdesk-1', usage: 'sign', der: 'OTHER' } as AgentCert] },
    ])
    const server = fakeServer(production({ dual: false }))
    const err = await new ProductionRun(server, agent, 'YT1').run(k).catch((e) => e)
    expect(err.step).toBe('readback')
    expect(err.message).toContain('不一致')
    expect(server.complete).not.toHaveBeenCalled()
  })

  it('certdeskd refuses: its message stops the run at that step', async () => {
    const k = key()
    const { agent } = fakeAgent(k)
    const server = fakeServer(production())
    server.start.mockRejectedValueOnce(
      Object.assign(new Error('该 Key 正用于另一订单的制证'), { status: 409, code: 'key_in_use' }),
    )
    const err = await new ProductionRun(server, agent, 'YT1').run(k).catch((e) => e)
    expect(err.step).toBe('start')
    expect(err.code).toBe('key_in_use')
    expect(agent.init).not.toHaveBeenCalled()
  })
})
