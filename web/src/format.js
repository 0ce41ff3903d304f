// Display helpers: Chinese names for codes, Beijing time.

export const ROLE_NAMES = {
  reviewer: '预审员',
  finance: '财务',
  paper: '资料审核员',
  producer: '制证员',
  shipper: '发货员',
  admin: '管理员',
}
export const ROLES = Object.keys(ROLE_NAMES)
export const roleName = (r) => ROLE_NAMES[r] || r

export const USCC_STATUS = {
  valid: { label: '校验通过', short: '校验通过', type: 'success' },
  pending_review: { label: '待工作人员核实', short: '待核实', type: 'warning' },
  confirmed: { label: '已人工核实', short: '已人工核实', type: 'success' },
}
export const usccStatus = (s) => USCC_STATUS[s] || { label: s || '-', short: s || '-', type: 'info' }

const fmt = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
})

// RFC 3339 UTC → "2026-11-25 07:15" (Beijing time).
export function formatTime(s) {
  if (!s) return '-'
  const d = new Date(s)
  if (Number.isNaN(d.getTime())) return s
  const p = Object.fromEntries(fmt.formatToParts(d).map((x) => [x.type, x.value]))
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`
}

export const isFuture = (s) => !!s && new Date(s).getTime() > Date.now()

// "13800138000" → "138****8000"
export const maskMobile = (m) => (m && m.length === 11 ? `${m.slice(0, 3)}****${m.slice(7)}` : m || '')
