// "已等待" in a queue: calendar time since a moment, in 分钟 / 小时 / 天 (the dashboard has the
// working-day figures from the server).
export function ageText(since?: string | null, now: number = Date.now()): string {
  if (!since) return '-'
  const ms = now - new Date(since).getTime()
  if (!Number.isFinite(ms)) return '-'
  const min = Math.max(0, Math.floor(ms / 60000))
  if (min < 60) return `${min} 分钟`
  const h = Math.floor(min / 60)
  if (h < 24) return `${h} 小时`
  return `${Math.floor(h / 24)} 天`
}
