import { describe, expect, it } from 'vitest'
import {
  addDays,
  beijingDate,
  beijingToUTC,
  beijingWallClock,
  carrier,
  formatBeijingText,
  formatFen,
  formatTime,
  isFuture,
  maskMobile,
  orderState,
  roleName,
  usccStatus,
  yuanToFen,
} from './format'

describe('formatTime', () => {
  it('shows an RFC 3339 UTC time as the Beijing wall clock', () => {
    expect(formatTime('2026-11-24T23:15:00Z')).toBe('2026-11-25 07:15')
    expect(formatTime('2026-01-01T00:00:00+08:00')).toBe('2026-01-01 00:00')
  })
  it('shows "-" for nothing and the text itself when it is no time', () => {
    expect(formatTime('')).toBe('-')
    expect(formatTime(null)).toBe('-')
    expect(formatTime('soon')).toBe('soon')
  })
})

describe('Beijing dates', () => {
  it('beijingWallClock and beijingDate use UTC+8 whatever the moment', () => {
    const d = new Date('2026-12-31T16:30:00Z')
    expect(beijingWallClock(d)).toBe('2027-01-01 00:30')
    expect(beijingDate(d)).toBe('2027-01-01')
  })
  it('addDays is calendar arithmetic across months and years', () => {
    expect(addDays('2026-02-28', 1)).toBe('2026-03-01')
    expect(addDays('2026-01-01', -1)).toBe('2025-12-31')
    expect(addDays('not a date', 1)).toBe('not a date')
  })
  it('beijingToUTC converts a picked wall-clock time, with or without seconds', () => {
    expect(beijingToUTC('2026-11-25 07:15')).toBe('2026-11-24T23:15:00Z')
    expect(beijingToUTC('2026-11-25T07:15:30')).toBe('2026-11-24T23:15:30Z')
    expect(beijingToUTC(' 2026-11-25 07:15 ')).toBe('2026-11-24T23:15:00Z')
  })
  it('beijingToUTC refuses what is not such a time', () => {
    expect(beijingToUTC('')).toBeNull()
    expect(beijingToUTC(null)).toBeNull()
    expect(beijingToUTC('2026-11-25')).toBeNull()
    expect(beijingToUTC('2026-13-45 07:15')).toBeNull()
  })
  it('formatBeijingText keeps the courier’s Beijing time to the minute', () => {
    expect(formatBeijingText('2026-11-25 07:15:32')).toBe('2026-11-25 07:15')
    expect(formatBeijingText('')).toBe('-')
    expect(formatBeijingText('yesterday')).toBe('yesterday')
  })
  it('isFuture', () => {
    expect(isFuture(new Date(Date.now() + 60000).toISOString())).toBe(true)
    expect(isFuture(new Date(Date.now() - 60000).toISOString())).toBe(false)
    expect(isFuture(null)).toBe(false)
  })
})

describe('money', () => {
  it('formatFen shows integer fen as yuan with two decimals', () => {
    expect(formatFen(22000)).toBe('¥220.00')
    expect(formatFen(5)).toBe('¥0.05')
    expect(formatFen(-150)).toBe('-¥1.50')
    expect(formatFen(22050, { sign: false })).toBe('220.50')
    expect(formatFen('300')).toBe('¥3.00')
  })
  it('formatFen shows "-" for no amount', () => {
    expect(formatFen(null)).toBe('-')
    expect(formatFen(undefined)).toBe('-')
    expect(formatFen('')).toBe('-')
    expect(formatFen('abc')).toBe('-')
  })
  it('yuanToFen parses text without float rounding', () => {
    expect(yuanToFen('200')).toBe(20000)
    expect(yuanToFen('200.5')).toBe(20050)
    expect(yuanToFen(' 0.07 ')).toBe(7)
    expect(yuanToFen('19.99')).toBe(1999)
    expect(yuanToFen('200.')).toBe(20000)
  })
  it('yuanToFen refuses more than two decimals, signs and words', () => {
    expect(yuanToFen('1.234')).toBeNull()
    expect(yuanToFen('-1')).toBeNull()
    expect(yuanToFen('')).toBeNull()
    expect(yuanToFen('元')).toBeNull()
    expect(yuanToFen(null)).toBeNull()
  })
})

describe('labels', () => {
  it('orderState prefers the server’s label, then ours, then the code', () => {
    expect(orderState('draft')).toEqual({ label: '草稿（待提交）', type: 'info' })
    expect(orderState('draft', '草稿')).toEqual({ label: '草稿', type: 'info' })
    expect(orderState('new_state')).toEqual({ label: 'new_state', type: 'info' })
    expect(orderState(null)).toEqual({ label: '-', type: 'info' })
  })
  it('usccStatus, roleName and carrier fall back to the code', () => {
    expect(usccStatus('pending_review').short).toBe('待核实')
    expect(usccStatus('odd')).toEqual({ label: 'odd', short: 'odd', type: 'info' })
    expect(roleName('finance')).toBe('财务')
    expect(roleName('janitor')).toBe('janitor')
    expect(carrier('sf').label).toBe('顺丰速运')
    expect(carrier('dhl').label).toBe('dhl')
  })
  it('maskMobile hides the middle four digits of an 11-digit number only', () => {
    expect(maskMobile('13800138000')).toBe('138****8000')
    expect(maskMobile('010-1234')).toBe('010-1234')
    expect(maskMobile(null)).toBe('')
  })
})
