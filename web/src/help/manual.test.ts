// The manual as built (virtual:manual, build/manual.ts over docs/manual): every chapter the seed
// asks for is there, and every screenshot shows a page that still exists under the same title —
// a page renamed in the router fails here (and in `vite build`), so its screenshot and the text
// around it are looked at again.
import { describe, expect, it } from 'vitest'
import { sections, shots } from 'virtual:manual'
import router from '../router'

describe('user manual', () => {
  it('has the chapters users are sent to', () => {
    const ids = sections.filter((s) => s.level === 2).map((s) => s.id)
    for (const id of [
      'register',
      'login',
      'forgot-password',
      'change-handler',
      'new-application',
      'renewal',
      'agent',
      'faq',
    ]) {
      expect(ids).toContain(id)
    }
    expect(new Set(sections.map((s) => s.id)).size).toBe(sections.length)
  })

  it("answers the seed's troubleshooting questions in the FAQ", () => {
    const faq = sections
      .filter((s) => s.id.startsWith('faq'))
      .map((s) => s.text)
      .join(' ')
    expect(faq).toContain('无法弹出支付二维码')
    expect(faq).toContain('360 浏览器')
    expect(faq).toContain('一个')
  })

  it('has screenshots whose pictures are bundled (no placeholder left)', () => {
    expect(shots.length).toBeGreaterThanOrEqual(5)
    for (const s of sections) expect(s.html).not.toMatch(/__CDIMG_/)
    expect(sections.some((s) => /<img src="[^"]+\.png"[^>]*class="manual-shot"/.test(s.html))).toBe(true)
  })

  it('shows only pages that the router still has under the title the manual names', () => {
    const wrong = shots
      .map((s) => ({ ...s, now: router.resolve(s.route) }))
      .filter((s) => s.now.name === 'not-found' || s.now.meta.title !== s.title)
      .map((s) => `${s.where}: ${s.src} 所示页面 ${s.route} 现标题“${String(s.now.meta.title)}”，手册写“${s.title}”`)
    expect(wrong).toEqual([])
  })

  it('is a public page titled 用户手册', () => {
    const r = router.resolve('/help')
    expect(r.name).toBe('help')
    expect(r.meta.title).toBe('用户手册')
    expect(r.meta.auth).toBeUndefined()
  })
})
