// The password rule must say what the server says (src/auth/password.c, password_policy_problem;
// tests/unit has the server's own cases).
import { describe, expect, it } from 'vitest'
import { PASSWORD_HINT, PASSWORD_MAX, PASSWORD_MIN, passwordProblem, passwordRule } from './passwordPolicy'

describe('passwordProblem', () => {
  it('accepts 8 bytes of two classes', () => {
    expect(passwordProblem('abcd1234')).toBeNull()
    expect(passwordProblem('Abcd-1234')).toBeNull()
    expect(passwordProblem('Demo-2026')).toBeNull()
  })

  it('counts lower- and upper-case letters as two classes, like the server', () => {
    expect(passwordProblem('abcdEFGH')).toBeNull()
  })

  it('counts symbols, spaces and non-ASCII bytes as the fourth class', () => {
    expect(passwordProblem('abcdefg!')).toBeNull()
    expect(passwordProblem('abcdefg ')).toBeNull()
    expect(passwordProblem('abcdef密')).toBeNull()
  })

  it('refuses one class only', () => {
    const msg = '密码须包含字母、数字、符号中的至少两类'
    expect(passwordProblem('abcdefgh')).toBe(msg)
    expect(passwordProblem('ABCDEFGH')).toBe(msg)
    expect(passwordProblem('12345678')).toBe(msg)
    expect(passwordProblem('!@#$%^&*')).toBe(msg)
  })

  it('refuses fewer than 8 bytes, counting UTF-8 bytes as the server does', () => {
    expect(passwordProblem('')).toBe('密码至少 8 位')
    expect(passwordProblem('Ab-1234')).toBe('密码至少 8 位')
    // three CJK characters are 9 bytes: long enough, but one class only
    expect(passwordProblem('密码密')).toBe('密码须包含字母、数字、符号中的至少两类')
    expect(passwordProblem('密a')).toBe('密码至少 8 位')
  })

  it('refuses more than 128 bytes', () => {
    expect(passwordProblem('a1'.repeat(64))).toBeNull()
    expect(passwordProblem('a1'.repeat(64) + 'x')).toBe('密码不能超过 128 位')
  })

  it('says the rule the way the pages show it', () => {
    expect(PASSWORD_MIN).toBe(8)
    expect(PASSWORD_MAX).toBe(128)
    expect(PASSWORD_HINT).toBe('至少 8 位，含字母、数字、符号中的至少两类')
  })

  it('works as an Element Plus form rule', () => {
    const seen: Array<Error | undefined> = []
    passwordRule.validator(null, 'abcdefgh', (e) => seen.push(e))
    passwordRule.validator(null, 'abcd1234', (e) => seen.push(e))
    expect(seen[0]?.message).toBe('密码须包含字母、数字、符号中的至少两类')
    expect(seen[1]).toBeUndefined()
  })
})
