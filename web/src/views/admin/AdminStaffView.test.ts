// 工作人员管理: a staff account locked after failed logins shows 锁定至 HH:MM and an admin unlocks it.
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { ElMessageBox } from 'element-plus'
import AdminStaffView from './AdminStaffView.vue'
import { listStaff, unlockStaff } from '../../api'

vi.mock('../../api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../api')>()),
  listStaff: vi.fn(),
  unlockStaff: vi.fn(),
}))

const inAnHour = new Date(Date.now() + 3600_000).toISOString()
const member = (id: number, extra: object = {}) => ({
  id,
  username: `u${id}`,
  display_name: `员工${id}`,
  disabled: false,
  created_at: '2026-01-01T00:00:00Z',
  roles: ['reviewer'],
  ...extra,
})

beforeEach(() => {
  vi.mocked(listStaff).mockReset()
  vi.mocked(unlockStaff).mockReset()
})

describe('AdminStaffView', () => {
  it('marks a locked account and unlocks it, then reloads the list', async () => {
    vi.mocked(listStaff)
      .mockResolvedValueOnce({ items: [member(1), member(2, { locked_until: inAnHour })] } as never)
      .mockResolvedValueOnce({ items: [member(1), member(2)] } as never)
    vi.mocked(unlockStaff).mockResolvedValue({ id: 2, unlocked: true })
    const confirm = vi.spyOn(ElMessageBox, 'confirm').mockResolvedValue('confirm' as never)

    const w = mount(AdminStaffView, { attachTo: document.body })
    await flushPromises()
    expect(w.findAll('[data-test=staff-locked]')).toHaveLength(1)
    expect(w.find('[data-test=staff-locked]').text()).toMatch(/^锁定至 \d{2}:\d{2}$/)
    const buttons = w.findAll('[data-test=staff-unlock]')
    expect(buttons).toHaveLength(1)

    await buttons[0].trigger('click')
    await flushPromises()
    expect(confirm).toHaveBeenCalledOnce()
    expect(unlockStaff).toHaveBeenCalledWith(2)
    expect(listStaff).toHaveBeenCalledTimes(2)
    expect(w.findAll('[data-test=staff-locked]')).toHaveLength(0)
    w.unmount()
  })

  it('a cancelled confirmation unlocks nothing; a past lock shows no tag', async () => {
    vi.mocked(listStaff).mockResolvedValue({
      items: [member(3, { locked_until: inAnHour }), member(4, { locked_until: '2020-01-01T00:00:00Z' })],
    } as never)
    vi.spyOn(ElMessageBox, 'confirm').mockRejectedValue('cancel')

    const w = mount(AdminStaffView, { attachTo: document.body })
    await flushPromises()
    expect(w.findAll('[data-test=staff-locked]')).toHaveLength(1)
    await w.find('[data-test=staff-unlock]').trigger('click')
    await flushPromises()
    expect(unlockStaff).not.toHaveBeenCalled()
    w.unmount()
  })
})
