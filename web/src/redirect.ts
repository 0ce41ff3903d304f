// The page to return to after logging in: only same-site paths, never "//host" or a URL.
export function safeRedirect(value: unknown, fallback: string): string {
  const v = Array.isArray(value) ? value[0] : value
  return typeof v === 'string' && v.startsWith('/') && !v.startsWith('//') && !v.startsWith('/\\') ? v : fallback
}
