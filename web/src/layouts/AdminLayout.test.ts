// AdminLayout: the staff console's top bar links the manual's staff chapter (/help#staff), which
// the manual really has, in a new tab.
import { describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createMemoryHistory, createRouter } from 'vue-router'
import { sections } from 'virtual:manual'
import AdminLayout from './AdminLayout.vue'

vi.mock('../api', () => ({
  session: { kind: 'staff', user: { display_name: '王审核', roles: ['reviewer'] } },
  logout: vi.fn(() => Promise.resolve()),
  asApiError: (e: unknown) => e,
}))

describe('AdminLayout', () => {
  it('links the staff chapter of the manual from the top bar', async () => {
    const router = createRouter({
      history: createMemoryHistory(),
      routes: [{ path: '/admin', component: { template: '<div />' }, meta: { title: '工作台' } }],
    })
    router.push('/admin')
    await router.isReady()
    const w = mount(AdminLayout, { global: { plugins: [router] } })
    await flushPromises()
    const a = w.find('[data-test=admin-help]')
    expect(a.exists()).toBe(true)
    expect(a.attributes('href')).toBe('/help#staff')
    expect(a.attributes('target')).toBe('_blank')
    expect(a.attributes('rel')).toContain('noopener')
    expect(a.text()).toContain('帮助')
    const staff = sections.find((s) => s.id === 'staff')
    expect(staff?.level).toBe(2)
  })
})
