// 制证 page: no agent → how to start and allow it; two keys → 请只插入一个; one blank key →
// 开始制证 runs the steps (agent and certdeskd mocked) to 制证完成.
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import AdminProductionView from './AdminProductionView.vue'
import {
  adminGetOrder,
  ApiError,
  completeProduction,
  issueCertificate,
  makeProductionSeals,
  startProduction,
} from '../../api'
import { AgentError, type AgentKey } from '../../agent'

const agent = {
  status: vi.fn(),
  keys: vi.fn(),
  init: vi.fn(),
  login: vi.fn(),
  logout: vi.fn(),
  keypairs: vi.fn(),
  generate: vi.fn(),
  csr: vi.fn(),
  putCertificate: vi.fn(),
  importEncKey: vi.fn(),
  putData: vi.fn(),
  getData: vi.fn(),
  wipe: vi.fn(),
}

vi.mock('vue-router', () => ({ useRoute: () => ({ params: { no: 'YT1' } }) }))
vi.mock('../../agent', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../agent')>()),
  AgentClient: vi.fn(function () {
    return agent
  }),
}))
vi.mock('../../api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../api')>()),
  adminGetOrder: vi.fn(),
  startProduction: vi.fn(),
  issueCertificate: vi.fn(),
  getWrappedEncKey: vi.fn(),
  completeProduction: vi.fn(),
  makeProductionSeals: vi.fn(),
}))

const key = (serial: string, blank = true): AgentKey => ({
  id: `skf0:${serial}`,
  kind: 'skf',
  module: 'soft',
  label: '',
  serial,
  model: 'SoftKey',
  manufacturer: 'certdesk',
  ulong_bits: 32,
  blank,
  algorithms: ['sm2'],
  certificates: [],
})
const order = { order_no: 'YT1', state: 'producing', key_type: 'secondary', project_name: '测试项目' }
const mountPage = () =>
  mount(AdminProductionView, {
    attachTo: document.body,
    global: { stubs: { RouterLink: { template: '<a><slot /></a>' } } },
  })

beforeEach(() => {
  for (const f of Object.values(agent)) f.mockReset()
  vi.mocked(adminGetOrder).mockResolvedValue(order as never)
  agent.status.mockResolvedValue({ version: '0.1.0', modules: [] })
})

describe('AdminProductionView', () => {
  it('no agent: says how to start certdesk-agent and allow local network access', async () => {
    agent.status.mockRejectedValue(new AgentError(0, 'agent_unreachable', '无法连接本机的 certdesk-agent'))
    const w = mountPage()
    await flushPromises()
    const help = w.find('[data-test=agent-missing]')
    expect(help.exists()).toBe(true)
    expect(help.text()).toContain('certdesk-agent serve')
    expect(help.text()).toContain('访问本地网络')
    expect(help.text()).toContain('本地网络访问')
    w.unmount()
  })

  it('two keys: asks for one, nothing can start', async () => {
    agent.keys.mockResolvedValue([key('K1'), key('K2')])
    const w = mountPage()
    await flushPromises()
    expect(w.find('[data-test=key-problem]').text()).toContain('请只插入一个')
    expect(w.find('[data-test=production-start]').attributes('disabled')).toBeDefined()
    w.unmount()
  })

  it('one blank key: 开始制证 runs to 制证完成', async () => {
    const k = key('K1')
    agent.keys
      .mockResolvedValueOnce([k])
      .mockResolvedValue([
        { ...k, blank: false, certificates: [{ key_ref: 'c1', usage: 'sign', der: 'SIGN', serial: 'S1' }] },
      ])
    agent.login.mockResolvedValue({ session: 'S' })
    agent.generate.mockResolvedValue({ key_ref: 'c1', public_key: 'P' })
    agent.csr.mockResolvedValue({ csr: 'CSR' })
    agent.logout.mockResolvedValue({})
    vi.mocked(startProduction).mockResolvedValue({
      order_no: 'YT1',
      key: { kind: 'skf', serial: 'K1', model: 'SoftKey', state: 'producing' },
      resumed: false,
      so_pin: 'SO',
      user_pin: '12345678',
      user_pin_is_default: false,
      label: 'YT1',
      algorithm: 'ec-p256',
      dual: false,
      certificates: [],
    })
    vi.mocked(issueCertificate).mockResolvedValue({
      serial: 'S1',
      pem: '-----BEGIN CERTIFICATE-----\nSIGN\n-----END CERTIFICATE-----\n',
    } as never)
    vi.mocked(makeProductionSeals).mockRejectedValue(new ApiError(409, 'no_seal_for_secondary', '副锁不含电子签章'))
    vi.mocked(completeProduction).mockResolvedValue({ ...order, state: 'produced' } as never)
    const w = mountPage()
    await flushPromises()
    await w.find('[data-test=production-start]').trigger('click')
    await flushPromises()
    expect(completeProduction).toHaveBeenCalledWith('YT1', {
      serial: 'K1',
      certificates: [{ usage: 'sign', der: 'SIGN' }],
    })
    expect(w.find('[data-test=production-done]').text()).toContain('制证完成')
    expect(w.find('[data-test=done-serial-sign]').text()).toBe('S1')
    w.unmount()
  })
})
