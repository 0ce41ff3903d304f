import { describe, expect, it } from 'vitest'
import { usePaging, type PageRequest } from './usePaging'

// A server with 45 items, 20 a page, cursors "c20", "c40".
function server() {
  const asked: PageRequest[] = []
  const all = Array.from({ length: 45 }, (_, i) => i)
  async function fetchPage(req: PageRequest) {
    asked.push(req)
    const from = req.next ? Number(req.next.slice(1)) : 0
    const items = all.slice(from, from + req.limit)
    return { items, next: from + req.limit < all.length ? `c${from + req.limit}` : null }
  }
  return { asked, fetchPage }
}

describe('usePaging', () => {
  it('goes forward with the cursors and back without asking for them again', async () => {
    const s = server()
    const p = usePaging(s.fetchPage)
    await p.load(0)
    expect(p.items.value).toHaveLength(20)
    expect(p.hasNext.value).toBe(true)
    await p.load(1)
    await p.load(2)
    expect(p.page.value).toBe(2)
    expect(p.items.value).toEqual([40, 41, 42, 43, 44])
    expect(p.hasNext.value).toBe(false)
    await p.load(1)
    expect(p.items.value[0]).toBe(20)
    expect(s.asked.map((r) => r.next)).toEqual([null, 'c20', 'c40', 'c20'])
    expect(s.asked.every((r) => r.limit === 20)).toBe(true)
  })

  it('reload shows the current page again; restart goes back to the first', async () => {
    const s = server()
    const p = usePaging(s.fetchPage, 10)
    await p.load(0)
    await p.load(1)
    await p.reload()
    expect(s.asked.at(-1)).toEqual({ limit: 10, next: 'c10' })
    await p.restart()
    expect(p.page.value).toBe(0)
    expect(s.asked.at(-1)).toEqual({ limit: 10, next: null })
  })

  it('an error keeps the page and says the message; a handled one says nothing', async () => {
    let refuse: Record<string, unknown> | null = null
    const p = usePaging(async () => {
      if (refuse) throw Object.assign(new Error(String(refuse.message)), refuse)
      return { items: ['a'], next: null }
    })
    await p.load(0)
    refuse = { message: '数据库暂不可用' }
    await p.reload()
    expect(p.error.value).toBe('数据库暂不可用')
    expect(p.items.value).toEqual(['a'])
    expect(p.loading.value).toBe(false)
    refuse = { message: '请先登录', handled: true }
    await p.reload()
    expect(p.error.value).toBe('')
  })
})
