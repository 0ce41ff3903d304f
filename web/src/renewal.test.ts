// renewal.ts: which key is renewed, the proof of possession (wrong / locked PIN), the invoice
// checks, and the write run with a mocked agent and certdeskd — re-certify happy path, a resume
// after payment (nothing issued twice, what is on the key kept), re-key (new pair, CSR signed by
// the old key too), the key changed after paying, a key pulled out; outside the renewal window.
import { describe, expect, it, vi } from 'vitest'
import { AgentError, type AgentCert, type AgentKey, type AgentKeyPair } from './agent'
import {
  certificateSpki,
  chooseRenewKey,
  paidSerials,
  completedRenewal,
  invoiceErrors,
  loadRenewal,
  pinMessage,
  previewValidity,
  proveKey,
  refusalHelp,
  RenewalWrite,
  saveRenewal,
  sameSerial,
  subjectField,
  StepFailure,
  stepForState,
  STEP_DONE,
  STEP_INVOICE,
  STEP_ORDER,
  STEP_WRITE,
  validIdNumber,
  validTaxNumber,
  validUscc,
  writeSteps,
  type AgentSide,
  type Challenge,
  type IssueBody,
  type IssueReply,
  type ProveReply,
  type Renewal,
  type ServerSide,
  type StepEvent,
} from './renewal'

// A minimal X.509 shape: SEQ{ SEQ tbs{ [0]{INT 2}, INT serial, SEQ alg, SEQ issuer, SEQ validity, SEQ subject, SEQ spki }, … }
function der(bytes: number[]): string {
  return btoa(String.fromCharCode(...bytes))
}
const seq = (tag: number, body: number[]) => [tag, body.length, ...body]
function fakeCert(spki: number[]): string {
  const tbs = seq(0x30, [
    ...seq(0xa0, seq(0x02, [2])),
    ...seq(0x02, [0x11]),
    ...seq(0x30, [0x06, 0x01, 0x2a]),
    ...seq(0x30, []),
    ...seq(0x30, []),
    ...seq(0x30, []),
    ...seq(0x30, spki),
  ])
  return der(seq(0x30, [...tbs, ...seq(0x30, [0x06, 0x01, 0x2a]), ...seq(0x03, [0, 1])]))
}
const SPKI_NEW = [0x30, 0x02, 0x05, 0x00]
const spkiB64 = der(seq(0x30, SPKI_NEW))

function cert(over: Partial<AgentCert> = {}): AgentCert {
  return {
    key_ref: 'certdesk-aaaa0001',
    usage: 'sign',
    serial: '0A1B',
    subject: 'CN=鹰潭测试单位',
    issuer: 'CN=Demo CA',
    not_before: '2025-01-01T00:00:00Z',
    not_after: '2026-01-01T00:00:00Z',
    der: 'T0xEU0lHTg==',
    ...over,
  }
}
function key(over: Partial<AgentKey> = {}): AgentKey {
  return {
    id: 'skf0:SOFT1',
    kind: 'skf',
    module: 'softskf',
    label: 'YT1',
    serial: 'SOFT1',
    model: 'SoftKey',
    manufacturer: 'certdesk',
    ulong_bits: 32,
    blank: false,
    algorithms: ['sm2'],
    certificates: [cert(), cert({ usage: 'enc', serial: '0A1C', der: 'T0xERU5D' })],
    ...over,
  }
}
function challenge(over: Partial<Challenge> = {}): Challenge {
  return {
    challenge_id: 'C1',
    challenge: 'Q0hBTExFTkdF',
    expires_at: new Date(Date.now() + 300000).toISOString(),
    certificate: {
      serial: '0A1B',
      subject: 'CN=鹰潭测试单位',
      issuer: 'CN=Demo CA',
      not_before: '2025-01-01T00:00:00Z',
      not_after: '2026-01-01T00:00:00Z',
      unit_name: '鹰潭测试单位',
      uscc: '91360600MA35Y08050',
    },
    project: { code: 'YT', name: '鹰潭市阳光采购服务平台' },
    key_type: 'main',
    mode: 'recertify',
    dual: true,
    years_options: [1, 2, 3],
    price_per_year_fen: 20000,
    window: { opens_at: '2025-10-03T00:00:00Z', closes_at: '2026-03-01T00:00:00Z' },
    ...over,
  }
}
function renewal(over: Partial<Renewal> = {}): Renewal {
  return {
    renewal_no: 'YT20260101-000001',
    state: 'paid',
    state_label: '已付款',
    years: 1,
    amount_fen: 20000,
    invoice: {
      kind: 'org',
      handler_name: '张三',
      phone: '13800000000',
      unit_name: 'U',
      tax_number: 'T',
      email: 'a@b.cn',
    },
    certificate: challenge().certificate,
    new_not_before: '2026-01-01T00:00:00Z',
    new_not_after: '2027-01-01T00:00:00Z',
    mode: 'recertify',
    dual: true,
    key_type: 'main',
    ...over,
  }
}
const ISSUED: IssueReply = {
  renewal_no: 'YT20260101-000001',
  state: 'issued',
  certificates: [
    { usage: 'sign', serial: 'NEW1', der: 'TkVXU0lHTg==' },
    { usage: 'enc', serial: 'NEW2', der: 'TkVXRU5D' },
  ],
  seals: [{ type: 'org', file: 'seal_1', esl: 'RVNM' }],
  not_before: '2026-01-01T00:00:00Z',
  not_after: '2027-01-01T00:00:00Z',
}

// A wrapped encryption key as certdeskd answers it (only passed through to the agent)
const WRAPPED = {
  format: 'skf-envelopedkeyblob',
  algorithm: 'sm2',
  enc_serial: 'NEW2',
  sign_serial: 'NEW1',
} as NonNullable<IssueReply['enc_key']>

// A software key as the agent drives it: certificates by key pair, data objects, read back.
function fakeAgent(
  k: AgentKey,
  pairs: AgentKeyPair[] = [
    { key_ref: k.certificates[0].key_ref, algorithm: 'sm2', public_key: 'T0xE', certificates: ['sign', 'enc'] },
  ],
) {
  let certs = [...k.certificates]
  const data: Record<string, string> = {}
  const agent = {
    keys: vi.fn(async () => [{ ...k, certificates: certs }]),
    login: vi.fn(async () => ({ session: 'S' })),
    logout: vi.fn(async () => ({})),
    sign: vi.fn(async (_id: string, _s: string, ref: string, d: string) => ({ signature: `sig(${ref},${d})` })),
    keypairs: vi.fn(async () => pairs),
    generate: vi.fn(async () => {
      pairs.push({ key_ref: 'certdesk-bbbb0002', algorithm: 'sm2', public_key: spkiB64, certificates: [] })
      return { key_ref: 'certdesk-bbbb0002', public_key: spkiB64 }
    }),
    csr: vi.fn(async () => ({ csr: '-----BEGIN CERTIFICATE REQUEST-----\nQ1NS\n-----END CERTIFICATE REQUEST-----\n' })),
    putCertificate: vi.fn(
      async (_id: string, _s: string, b: { key_ref: string; usage: 'sign' | 'enc'; der: string }) => {
        certs = certs.filter((c) => !(c.key_ref === b.key_ref && c.usage === b.usage))
        certs.push(
          cert({ key_ref: b.key_ref, usage: b.usage, der: b.der, serial: 'NEW', not_after: '2027-01-01T00:00:00Z' }),
        )
        return {}
      },
    ),
    importEncKey: vi.fn(async () => ({})),
    putData: vi.fn(async (_id: string, _s: string, name: string, d: string) => {
      data[name] = d
      return {}
    }),
    getData: vi.fn(async (_id: string, _s: string, name: string) => {
      if (!(name in data)) throw new AgentError(404, 'object_not_found', 'no')
      return { data: data[name] }
    }),
  } satisfies AgentSide
  return agent
}
function fakeServer(issued: IssueReply = ISSUED) {
  let n = 0
  const server = {
    challenge: vi.fn(async (): Promise<Challenge> => challenge({ challenge_id: `C${++n}` })),
    prove: vi.fn(async (): Promise<ProveReply> => ({
      token: 'TOKEN',
      expires_at: '2027-01-01T00:00:00Z',
      certificate_serial: '0A1B',
    })),
    issue: vi.fn(async (_no: string, _body: IssueBody, _ulong: 32 | 64) => issued),
    complete: vi.fn(async () => renewal({ state: 'completed' })),
  } satisfies ServerSide
  return server
}

describe('chooseRenewKey', () => {
  it('wants exactly one key with a signing certificate', () => {
    expect(chooseRenewKey([])).toMatchObject({ ok: false, code: 'no_key' })
    expect(chooseRenewKey([key(), key({ id: 'skf0:B', serial: 'B' })])).toMatchObject({
      ok: false,
      code: 'many_keys',
      message: expect.stringContaining('2 个'),
    })
    expect(chooseRenewKey([key({ blank: true, certificates: [] })])).toMatchObject({
      ok: false,
      code: 'no_certificate',
    })
    const v = chooseRenewKey([key()])
    expect(v.ok && v.cert.serial).toBe('0A1B')
    expect(v.ok && v.enc?.serial).toBe('0A1C')
  })

  it('takes the signing certificate that expires last, or the one a paid renewal is for', () => {
    const k = key({
      certificates: [cert(), cert({ key_ref: 'certdesk-new', serial: '0C', not_after: '2028-01-01T00:00:00Z' })],
    })
    const v = chooseRenewKey([k])
    expect(v.ok && v.cert.serial).toBe('0C')
    const paid = chooseRenewKey([k], '0a1b')
    expect(paid.ok && paid.cert.serial).toBe('0A1B')
  })

  it("after a pull mid-write, takes the renewal's new signing certificate (re-certify replaced the old one)", () => {
    const pulled = key({ certificates: [cert({ serial: '7E57', not_after: '2029-01-01T00:00:00Z' })] })
    const r = renewal({
      state: 'issued',
      new_certificates: [
        { kind: 'sign', serial: '7e57' },
        { kind: 'enc', serial: '7e58' },
      ],
    })
    expect(paidSerials(r)).toEqual(['0A1B', '7e57'])
    const v = chooseRenewKey([pulled], paidSerials(r))
    expect(v.ok && v.cert.serial).toBe('7E57')
    // another key still is refused
    const other = key({ certificates: [cert({ serial: '0BAD' })] })
    expect(chooseRenewKey([other], paidSerials(r))).toMatchObject({ ok: false, code: 'key_changed' })
    // the old certificate first when both are on the key (re-key keeps the old container)
    const both = key({ certificates: [cert(), cert({ key_ref: 'certdesk-new', serial: '7E57' })] })
    const b = chooseRenewKey([both], paidSerials(r))
    expect(b.ok && b.cert.serial).toBe('0A1B')
  })

  it('refuses another key after paying (key changed)', () => {
    const v = chooseRenewKey([key({ certificates: [cert({ serial: 'FFFF' })] })], '0A1B')
    expect(v).toMatchObject({ ok: false, code: 'key_changed', message: expect.stringContaining('0A1B') })
  })

  it('reads the unit name and USCC from the subject', () => {
    const s = 'serialNumber=91360600MA35Y08057,CN=鹰潭市测试有限公司,O=鹰潭市测试有限公司,L=鹰潭市,C=CN'
    expect(subjectField(s, 'CN')).toBe('鹰潭市测试有限公司')
    expect(subjectField(s, 'serialnumber')).toBe('91360600MA35Y08057')
    expect(subjectField(s, 'OU')).toBe('')
  })

  it('compares serials as hex numbers', () => {
    expect(sameSerial('0a:1b', '0A1B')).toBe(true)
    expect(sameSerial('00A1B', 'A1B')).toBe(true)
    expect(sameSerial('', '')).toBe(false)
    expect(sameSerial('0A1B', '0A1C')).toBe(false)
  })
})

describe('where a renewal continues', () => {
  it('maps the state to the step', () => {
    expect(stepForState(null)).toBe(STEP_INVOICE)
    expect(stepForState('cancelled')).toBe(STEP_INVOICE)
    expect(stepForState('awaiting_payment')).toBe(STEP_ORDER)
    expect(stepForState('paid')).toBe(STEP_WRITE)
    expect(stepForState('issued')).toBe(STEP_WRITE)
    expect(stepForState('completed')).toBe(STEP_DONE)
  })

  it('shows a key renewed earlier as done again (the challenge names its completed renewal)', () => {
    expect(completedRenewal(challenge())).toBeNull()
    expect(completedRenewal(null)).toBeNull()
    const done = completedRenewal(
      challenge({
        completed: {
          renewal_no: 'YT20261206-000009',
          state: 'completed',
          state_label: '已完成',
          not_before: '2026-12-06T00:00:00Z',
          not_after: '2028-12-06T00:00:00Z',
          certificates: [
            { usage: 'sign', serial: '0A1B', not_before: '2026-12-06T00:00:00Z', not_after: '2028-12-06T00:00:00Z' },
            { usage: 'enc', serial: '0A1C', not_before: '2026-12-06T00:00:00Z', not_after: '2028-12-06T00:00:00Z' },
          ],
        },
      }),
    )
    expect(done?.renewalNo).toBe('YT20261206-000009')
    expect(done?.certificates.map((c) => c.usage)).toEqual(['sign', 'enc'])
    expect(done?.certificates[0].not_after).toBe('2028-12-06T00:00:00Z')
  })

  it('explains a certificate outside the renewal window and the other refusals', () => {
    expect(refusalHelp('outside_window')).toContain('重新申请')
    expect(refusalHelp('cert_revoked')).toContain('已吊销')
    expect(refusalHelp('cert_unknown')).toContain('不是本 CA')
    expect(refusalHelp('other')).toBe('')
  })

  it('keeps the token per certificate in sessionStorage', () => {
    const m = new Map<string, string>()
    const store = {
      getItem: (k: string) => m.get(k) ?? null,
      setItem: (k: string, v: string) => void m.set(k, v),
      removeItem: (k: string) => void m.delete(k),
    } as unknown as Storage
    saveRenewal({ serial: '0A1B', token: 'T', renewalNo: 'R1' }, store)
    expect(loadRenewal('0a1b', store)).toEqual({ serial: '0A1B', token: 'T', renewalNo: 'R1' })
    expect(loadRenewal('0C', store)).toBeNull()
  })
})

describe('proveKey', () => {
  it('logs in, signs the challenge with the certificate key and gets the token', async () => {
    const server = fakeServer()
    const agent = fakeAgent(key())
    const c = challenge()
    const p = await proveKey(server, agent, key(), cert(), '12345678', c)
    expect(agent.login).toHaveBeenCalledWith('skf0:SOFT1', '12345678')
    expect(agent.sign).toHaveBeenCalledWith('skf0:SOFT1', 'S', 'certdesk-aaaa0001', c.challenge)
    expect(server.challenge).not.toHaveBeenCalled() // the shown one is still fresh
    expect(server.prove).toHaveBeenCalledWith('C1', `sig(certdesk-aaaa0001,${c.challenge})`)
    expect(p).toMatchObject({ token: 'TOKEN', session: 'S', renewalNo: '', state: null })
  })

  it('asks for a fresh challenge when the shown one expired, and names a live renewal (resume)', async () => {
    const server = fakeServer()
    server.prove.mockResolvedValueOnce({
      token: 'T2',
      expires_at: '2027-01-01T00:00:00Z',
      certificate_serial: '0A1B',
      renewal_no: 'YT1',
    })
    const old = challenge({ expires_at: new Date(Date.now() - 1000).toISOString() })
    const p = await proveKey(server, fakeAgent(key()), key(), cert(), '12345678', old)
    expect(server.challenge).toHaveBeenCalledWith('T0xEU0lHTg==')
    expect(p.renewalNo).toBe('YT1')
  })

  it('a wrong PIN says the retries left; a locked one says to contact the CA; nothing proved', async () => {
    const server = fakeServer()
    const agent = fakeAgent(key())
    agent.login.mockRejectedValueOnce(new AgentError(401, 'pin_incorrect', 'x', 4))
    const e = await proveKey(server, agent, key(), cert(), '0000', challenge()).catch((x) => x)
    expect(pinMessage(e)).toBe('证书密码不正确，还可尝试 4 次；输错次数用完证书将被锁定')
    expect(server.prove).not.toHaveBeenCalled()
    expect(pinMessage(new AgentError(401, 'pin_incorrect', 'x', -1))).toContain('请核对后重试')
    expect(pinMessage(new AgentError(423, 'pin_locked', 'x'))).toContain('联系 CA 客服')
  })
})

describe('invoice data', () => {
  it('checks USCC, taxpayer id, ID number, mobile and e-mail', () => {
    expect(validUscc('91350100M000100Y43')).toBe(true)
    expect(validUscc('91350100M000100Y44')).toBe(false)
    expect(validTaxNumber('91350100M000100Y43')).toBe(true)
    expect(validTaxNumber('91350100M000100Y44')).toBe(false)
    expect(validTaxNumber('360602123456789')).toBe(true)
    expect(validTaxNumber('36060212345678901234')).toBe(true)
    expect(validTaxNumber('3606021234')).toBe(false)
    expect(validIdNumber('11010519491231002X')).toBe(true)
    expect(validIdNumber('110105194912310021')).toBe(false)
    expect(validIdNumber('110105194913310029')).toBe(false) // month 13
  })

  it('reports every field of its kind', () => {
    const org = invoiceErrors({ kind: 'org', phone: '123', email: 'x', tax_number: '91350100M000100Y44' })
    expect(Object.keys(org).sort()).toEqual(['email', 'handler_name', 'phone', 'tax_number', 'unit_name'])
    expect(
      invoiceErrors({
        kind: 'org',
        handler_name: '张三',
        unit_name: '鹰潭测试单位',
        tax_number: ' 91350100m000100y43 ',
        phone: '13800000000',
        email: 'a@b.cn',
      }),
    ).toEqual({})
    const person = invoiceErrors({
      kind: 'person',
      name: '李四',
      id_number: '110105194912310021',
      phone: '13800000000',
      email: 'a@b.cn',
    })
    expect(person).toEqual({ id_number: expect.stringContaining('身份证号不正确') })
  })

  it('previews the new validity from the old expiry when renewed early', () => {
    const p = previewValidity('2026-03-01T00:00:00Z', 2, Date.parse('2026-01-01T00:00:00Z'))
    expect(p.to.toISOString()).toBe('2028-03-01T00:00:00.000Z')
    const late = previewValidity('2025-12-01T00:00:00Z', 1, Date.parse('2026-01-01T00:00:00Z'))
    expect(late.from.toISOString()).toBe('2026-01-01T00:00:00.000Z')
  })
})

describe('RenewalWrite', () => {
  it('lists the steps per mode, dual and key type', () => {
    expect(writeSteps({ mode: 'recertify', dual: true, key_type: 'main' })).toEqual([
      'verify',
      'issue',
      'write_sign',
      'write_enc',
      'seals',
      'readback',
      'complete',
    ])
    expect(writeSteps({ mode: 'rekey', dual: false, key_type: 'secondary' })).toEqual([
      'verify',
      'keypair',
      'issue',
      'write_sign',
      'readback',
      'complete',
    ])
  })

  it('re-certifies: fresh challenge, issue, both certificates on the old pair, seals, read back, complete', async () => {
    const server = fakeServer()
    const agent = fakeAgent(key())
    const events: StepEvent[] = []
    const r = await new RenewalWrite(server, agent, renewal(), 'S', (e) => events.push(e)).run(key(), cert())
    expect(server.challenge).toHaveBeenCalledWith('T0xEU0lHTg==')
    expect(server.issue).toHaveBeenCalledWith(
      'YT20260101-000001',
      {
        challenge_id: 'C1',
        signature: 'sig(certdesk-aaaa0001,Q0hBTExFTkdF)',
      },
      32,
    )
    expect(agent.putCertificate.mock.calls.map((c) => [c[2].key_ref, c[2].usage, c[2].der])).toEqual([
      ['certdesk-aaaa0001', 'sign', 'TkVXU0lHTg=='],
      ['certdesk-aaaa0001', 'enc', 'TkVXRU5D'],
    ])
    expect(agent.putData).toHaveBeenCalledWith('skf0:SOFT1', 'S', 'seal_1', 'RVNM')
    expect(server.complete).toHaveBeenCalledWith('YT20260101-000001', {
      certificates: [
        { usage: 'sign', der: 'TkVXU0lHTg==' },
        { usage: 'enc', der: 'TkVXRU5D' },
      ],
      seals: [{ type: 'org', esl: 'RVNM' }],
    })
    expect(r.notAfter).toBe('2027-01-01T00:00:00Z')
    expect(events.filter((e) => e.status === 'finish').map((e) => e.step)).toEqual(
      writeSteps({ mode: 'recertify', dual: true, key_type: 'main' }),
    )
  })

  it('resumes after payment and a pulled key: what is on the key is kept, issue answers the same', async () => {
    const server = fakeServer()
    const agent = fakeAgent(key())
    agent.putCertificate.mockImplementationOnce(async () => {
      throw new AgentError(410, 'key_removed', 'removed')
    })
    const run = new RenewalWrite(server, agent, renewal({ state: 'issued' }), 'S')
    const e = await run.run(key(), cert()).catch((x) => x)
    expect(e).toBeInstanceOf(StepFailure)
    expect(e.step).toBe('write_sign')
    expect(server.complete).not.toHaveBeenCalled()

    // 重试: the sign certificate written by hand meanwhile (as if the first write had landed)
    await agent.putCertificate('skf0:SOFT1', 'S', { key_ref: 'certdesk-aaaa0001', usage: 'sign', der: 'TkVXU0lHTg==' })
    agent.putCertificate.mockClear()
    const events: StepEvent[] = []
    await new RenewalWrite(server, agent, renewal({ state: 'issued' }), 'S', (x) => events.push(x)).run(key(), cert())
    expect(server.issue).toHaveBeenCalledTimes(2) // idempotent on the server: the same certificates
    expect(agent.putCertificate.mock.calls.map((c) => c[2].usage)).toEqual(['enc'])
    expect(events.find((x) => x.step === 'write_sign')).toMatchObject({ status: 'skip' })
    expect(server.complete).toHaveBeenCalledTimes(1)
  })

  it('sends the seals on a main key (old_seals: an imported certificate renews its seals from them)', async () => {
    const server = fakeServer()
    const agent = fakeAgent(key())
    await agent.putData('skf0:SOFT1', 'S', 'CDSEAL_ORG.esl', 'T0xEU0VBTA==')
    await new RenewalWrite(server, agent, renewal(), 'S').run(key(), cert())
    expect(server.issue.mock.calls[0][1]).toMatchObject({ old_seals: ['T0xEU0VBTA=='] })
    await new RenewalWrite(server, agent, renewal({ key_type: 'secondary' }), 'S').run(key(), cert())
    expect(server.issue.mock.calls[1][1]).not.toHaveProperty('old_seals')
  })

  it('stops when the server refuses another key (key changed)', async () => {
    const server = fakeServer()
    server.issue.mockRejectedValueOnce(
      Object.assign(new Error('插入的证书与缴费的不一致'), { code: 'key_changed', status: 409 }),
    )
    const agent = fakeAgent(key())
    const e = await new RenewalWrite(server, agent, renewal(), 'S').run(key(), cert()).catch((x) => x)
    expect(e).toMatchObject({ step: 'issue', code: 'key_changed', status: 409 })
    expect(agent.putCertificate).not.toHaveBeenCalled()
  })

  it('re-keys: a new pair, its CSR also signed by the old key, the wrapped enc key, the new pair written', async () => {
    const server = fakeServer({
      ...ISSUED,
      certificates: [{ usage: 'sign', serial: 'NEW1', der: fakeCert(SPKI_NEW) }, ISSUED.certificates[1]],
      enc_key: WRAPPED,
    })
    const agent = fakeAgent(key())
    const r = renewal({ mode: 'rekey' })
    await new RenewalWrite(server, agent, r, 'S').run(key(), cert())
    expect(agent.generate).toHaveBeenCalledWith('skf0:SOFT1', 'S', 'sm2')
    expect(agent.sign).toHaveBeenCalledWith('skf0:SOFT1', 'S', 'certdesk-aaaa0001', 'Q1NS') // the CSR's DER
    expect(server.issue.mock.calls[0][1]).toMatchObject({
      csr: expect.stringContaining('CERTIFICATE REQUEST'),
      csr_old_signature: 'sig(certdesk-aaaa0001,Q1NS)',
    })
    expect(agent.importEncKey).toHaveBeenCalledWith('skf0:SOFT1', 'S', 'certdesk-bbbb0002', WRAPPED)
    expect(server.issue.mock.calls[0][2]).toBe(32) // the key's ULONG width, for the wrapped key
    expect(agent.putCertificate.mock.calls.map((c) => c[2].key_ref)).toEqual(['certdesk-bbbb0002', 'certdesk-bbbb0002'])
  })

  it('reads a certificate’s public key (to find a re-keyed pair)', () => {
    expect(certificateSpki(fakeCert(SPKI_NEW))).toBe(spkiB64)
    expect(certificateSpki('AAAA')).toBe('')
  })

  it('refuses a read-back that differs', async () => {
    const server = fakeServer()
    const agent = fakeAgent(key())
    agent.keys.mockResolvedValue([key()]) // the old certificates still there
    const e = await new RenewalWrite(server, agent, renewal({ key_type: 'secondary' }), 'S')
      .run(key(), cert())
      .catch((x) => x)
    expect(e).toMatchObject({ step: 'readback', code: 'readback_mismatch' })
    expect(server.complete).not.toHaveBeenCalled()
  })
})
