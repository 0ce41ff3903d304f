// The password policy, as the server checks it (src/auth/password.c, password_policy_problem):
// 8 to 128 bytes, and at least two of four classes: lower-case letters, upper-case letters,
// digits, anything else (symbols, spaces, non-ASCII bytes). The server has the last word; the UI
// uses this to say the rule (PASSWORD_HINT) and may check before sending.

export const PASSWORD_MIN = 8
export const PASSWORD_MAX = 128
export const PASSWORD_HINT = '至少 8 位，含字母、数字、符号中的至少两类'

// The UTF-8 bytes of s: the server counts bytes, not characters.
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

// The server's message for a password it refuses, or null for one it accepts.
export function passwordProblem(pw: string): string | null {
  const bytes = utf8(pw)
  if (bytes.length < PASSWORD_MIN) return '密码至少 8 位'
  if (bytes.length > PASSWORD_MAX) return '密码不能超过 128 位'
  let lower = 0
  let upper = 0
  let digit = 0
  let other = 0
  for (const b of bytes) {
    if (b >= 0x61 && b <= 0x7a) lower = 1
    else if (b >= 0x41 && b <= 0x5a) upper = 1
    else if (b >= 0x30 && b <= 0x39) digit = 1
    else other = 1
  }
  if (lower + upper + digit + other < 2) return '密码须包含字母、数字、符号中的至少两类'
  return null
}

// The same as an Element Plus form rule, for a form that checks on the client.
export const passwordRule = {
  trigger: 'blur',
  validator(_rule: unknown, value: string, callback: (e?: Error) => void) {
    const problem = passwordProblem(value || '')
    callback(problem ? new Error(problem) : undefined)
  },
}
