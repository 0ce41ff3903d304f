// 证书更新成功: after the write run, the validity read back from the key; for a key renewed earlier
// (certdeskd's challenge named its completed renewal) the same screen says it is already done and
// hands the renewal's certificates with the new validity to its table.
import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import RenewDone from './RenewDone.vue'

const CERTS = [
  { usage: 'sign' as const, serial: '0A1B', not_before: '2026-12-06T00:00:00Z', not_after: '2028-12-06T00:00:00Z' },
  { usage: 'enc' as const, serial: '0A1C', not_before: '2026-12-06T00:00:00Z', not_after: '2028-12-06T00:00:00Z' },
]

describe('RenewDone', () => {
  it('shows a renewal completed earlier as done, with the new validity', () => {
    const w = mount(RenewDone, {
      props: { certificates: CERTS, renewalNo: 'YT20261206-000009', keySerial: 'SOFTKEY1', again: true },
    })
    expect(w.text()).toContain('证书更新成功')
    expect(w.get('[data-test="renew-done-again"]').text()).toContain('YT20261206-000009')
    expect(w.text()).toContain('无需再次办理')
    expect(w.props('certificates')[0].not_after).toBe('2028-12-06T00:00:00Z') // the table's rows (el-table)
  })

  it('after a write run says the validity was read from the key', () => {
    const w = mount(RenewDone, { props: { certificates: CERTS, renewalNo: 'YT20261206-000010', keySerial: 'K' } })
    expect(w.find('[data-test="renew-done-again"]').exists()).toBe(false)
    expect(w.text()).toContain('读自 CA锁')
  })
})
