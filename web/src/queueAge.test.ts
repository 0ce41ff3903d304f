import { describe, expect, it } from 'vitest'
import { ageText } from './queueAge'

const now = Date.parse('2026-11-25T12:00:00Z')
const ago = (ms: number) => new Date(now - ms).toISOString()
const MIN = 60000

describe('ageText', () => {
  it('counts minutes below an hour, hours below a day, then days', () => {
    expect(ageText(ago(0), now)).toBe('0 分钟')
    expect(ageText(ago(59 * MIN), now)).toBe('59 分钟')
    expect(ageText(ago(60 * MIN), now)).toBe('1 小时')
    expect(ageText(ago(23 * 60 * MIN + 59 * MIN), now)).toBe('23 小时')
    expect(ageText(ago(24 * 60 * MIN), now)).toBe('1 天')
    expect(ageText(ago(10 * 24 * 60 * MIN), now)).toBe('10 天')
  })
  it('a moment in the future (clock skew) is 0 minutes', () => {
    expect(ageText(ago(-5 * MIN), now)).toBe('0 分钟')
  })
  it('shows "-" for no moment or one that is no time', () => {
    expect(ageText(null, now)).toBe('-')
    expect(ageText('', now)).toBe('-')
    expect(ageText('whenever', now)).toBe('-')
  })
})
