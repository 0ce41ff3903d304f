import { describe, expect, it } from 'vitest'
import { safeRedirect } from './redirect'

describe('safeRedirect', () => {
  it('keeps a same-site path', () => {
    expect(safeRedirect('/orders/CD1?x=1', '/')).toBe('/orders/CD1?x=1')
    expect(safeRedirect(['/account', '/other'], '/')).toBe('/account')
  })
  it('refuses another site, a scheme or nothing', () => {
    expect(safeRedirect('//evil.example/x', '/')).toBe('/')
    expect(safeRedirect('/\\evil.example', '/')).toBe('/')
    expect(safeRedirect('https://evil.example/', '/orders')).toBe('/orders')
    expect(safeRedirect('javascript:alert(1)', '/')).toBe('/')
    expect(safeRedirect('orders', '/')).toBe('/')
    expect(safeRedirect(undefined, '/admin')).toBe('/admin')
    expect(safeRedirect(null, '/admin')).toBe('/admin')
    expect(safeRedirect([], '/admin')).toBe('/admin')
  })
})
