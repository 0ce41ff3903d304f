// 环境检测: other CA vendors' USB key drivers the agent found on the PC are shown as a warning in
// Chinese (listing each one) that does not block "下一步"; without any, no warning.
import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import RenewEnvCheck from './RenewEnvCheck.vue'
import type { AgentCert, AgentKey, AgentStatus } from '../../agent'
import type { KeyVerdict } from '../../renewal'

const CERT = { key_ref: 'certdesk-1', usage: 'sign', serial: '0A1B', subject: 'CN=鹰潭测试单位' } as AgentCert
const KEY = { id: 'skf0:SOFTKEY1', model: 'SoftKey', serial: 'SOFTKEY1', certificates: [CERT] } as unknown as AgentKey
const VERDICT: KeyVerdict = { ok: true, key: KEY, cert: CERT }

function envCheck(status: AgentStatus) {
  return mount(RenewEnvCheck, {
    props: { agentState: 'ok', agentError: '', status, keys: [KEY], verdict: VERDICT, port: 21088, loading: false },
  })
}

const MODULES: AgentStatus['modules'] = [{ kind: 'skf', name: 'libcertdesk-softskf.so', path: '/x', ok: true }]

describe('RenewEnvCheck', () => {
  it('warns about other CA drivers without blocking the next step', () => {
    const w = envCheck({
      version: '0.1.0',
      modules: MODULES,
      other_drivers: [
        { path: '/opt/longmai/libgm3000.1.0.so', name: '龙脉 GM3000' },
        { path: '/usr/lib/libes_3000gm.so', name: '飞天 ePass3000GM' },
      ],
    })
    const alert = w.find('[data-test=env-other-drivers]')
    expect(alert.exists()).toBe(true)
    expect(alert.text()).toContain('检测到本机安装了其他CA的USB Key驱动：')
    expect(alert.text()).toContain('龙脉 GM3000（/opt/longmai/libgm3000.1.0.so）')
    expect(alert.text()).toContain('飞天 ePass3000GM（/usr/lib/libes_3000gm.so）')
    expect(alert.text()).toContain('请勿在安装其他省份CA锁驱动的电脑上进行在线更新，以免证书写入失败。')
    expect(w.find('[data-test=env-next]').attributes('disabled')).toBeUndefined()
  })

  it('shows no warning when the agent found none (or is older and does not say)', () => {
    for (const status of [
      { version: '0.1.0', modules: MODULES, other_drivers: [] },
      { version: '0.1.0', modules: MODULES },
    ]) {
      const w = envCheck(status)
      expect(w.find('[data-test=env-other-drivers]').exists()).toBe(false)
      expect(w.find('[data-test=env-next]').attributes('disabled')).toBeUndefined()
    }
  })
})
