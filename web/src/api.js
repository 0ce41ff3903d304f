// Thin wrapper over fetch for the same-origin JSON API (/api/v1/...).
export async function getJSON(path, { timeoutMs = 10000 } = {}) {
  const ctrl = new AbortController()
  const timer = setTimeout(() => ctrl.abort(), timeoutMs)
  try {
    const res = await fetch(path, {
      headers: { Accept: 'application/json' },
      credentials: 'same-origin',
      signal: ctrl.signal,
    })
    if (!res.ok) throw new Error(`HTTP ${res.status}`)
    return await res.json()
  } finally {
    clearTimeout(timer)
  }
}

export const getMeta = () => getJSON('/api/v1/meta')
