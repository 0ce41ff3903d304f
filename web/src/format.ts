// Display helpers: Chinese names for codes, Beijing time.

/** An Element Plus tag's colour. */
export type TagType = 'primary' | 'success' | 'info' | 'warning' | 'danger'
/** A code's Chinese label and the colour of its tag. */
export interface Labelled {
  label: string
  type: TagType
}

export const ROLE_NAMES: Record<string, string> = {
  reviewer: '预审员',
  finance: '财务',
  paper: '资料审核员',
  producer: '制证员',
  shipper: '发货员',
  admin: '管理员',
}
export const ROLES = Object.keys(ROLE_NAMES)
export const roleName = (r: string) => ROLE_NAMES[r] || r

export const USCC_STATUS: Record<string, Labelled & { short: string }> = {
  valid: { label: '校验通过', short: '校验通过', type: 'success' },
  pending_review: { label: '待工作人员核实', short: '待核实', type: 'warning' },
  confirmed: { label: '已人工核实', short: '已人工核实', type: 'success' },
}
export const usccStatus = (s?: string | null): Labelled & { short: string } =>
  (s && USCC_STATUS[s]) || { label: s || '-', short: s || '-', type: 'info' }

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
export function formatTime(s?: string | null): string {
  if (!s) return '-'
  const d = new Date(s)
  if (Number.isNaN(d.getTime())) return s
  const p = Object.fromEntries(fmt.formatToParts(d).map((x) => [x.type, x.value]))
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`
}

export const isFuture = (s?: string | null): boolean => !!s && new Date(s).getTime() > Date.now()

// Every time the UI shows is Beijing time (Asia/Shanghai, UTC+8 all year: no daylight saving),
// whatever the browser's time zone. Picked times are Beijing wall-clock strings, converted here.
const BEIJING_OFFSET = '+08:00'

// A moment (Date, default now) as the Beijing wall clock "2026-11-25 07:15".
export function beijingWallClock(d = new Date()) {
  return formatTime(d.toISOString())
}

// Today's Beijing calendar date "2026-11-25" (d: another moment).
export const beijingDate = (d = new Date()) => beijingWallClock(d).slice(0, 10)

// A calendar date "2026-11-25" moved by days (pure date arithmetic, no time zone involved).
export function addDays(date: string, days: number): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(date || ''))
  if (!m) return date
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + days))
  return d.toISOString().slice(0, 10)
}

// A Beijing wall-clock string "2026-11-25 07:15" (or with ":ss") → RFC 3339 UTC
// "2026-11-24T23:15:00Z"; null when it is not such a string.
export function beijingToUTC(wall?: string | null): string | null {
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})(?::(\d{2}))?$/.exec(String(wall || '').trim())
  if (!m) return null
  const d = new Date(`${m[1]}T${m[2]}:${m[3] || '00'}${BEIJING_OFFSET}`)
  if (Number.isNaN(d.getTime())) return null
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

// A time the courier writes in Beijing time already, "2026-11-25 07:15:32" → "2026-11-25 07:15".
export const formatBeijingText = (s?: string | null): string =>
  s && /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}/.test(s) ? s.slice(0, 16) : s || '-'

// Carriers of the parcels both ways; where a parcel's route can be looked up by hand.
export const CARRIERS: Record<string, { label: string; site: string }> = {
  sf: { label: '顺丰速运', site: '顺丰速运官网（www.sf-express.com）或“顺丰速运”微信公众号' },
  ems: { label: 'EMS', site: 'EMS 官网（www.ems.com.cn）或“中国邮政 EMS”微信公众号' },
  other: { label: '其他快递', site: '所用快递公司的官网或微信公众号' },
}
export const carrier = (c?: string | null) => (c && CARRIERS[c]) || { label: c || '-', site: '快递公司的官网' }

// "13800138000" → "138****8000"
export const maskMobile = (m?: string | null): string =>
  m && m.length === 11 ? `${m.slice(0, 3)}****${m.slice(7)}` : m || ''

// Money: integer fen → "¥220.00" (never floats in requests: see yuanToFen).
export function formatFen(fen?: number | string | null, { sign = true }: { sign?: boolean } = {}): string {
  if (fen === undefined || fen === null || fen === '') return '-'
  const n = Math.round(Number(fen))
  if (!Number.isFinite(n)) return '-'
  const neg = n < 0
  const a = Math.abs(n)
  const s = `${Math.floor(a / 100)}.${String(a % 100).padStart(2, '0')}`
  return `${neg ? '-' : ''}${sign ? '¥' : ''}${s}`
}

// "200" / "200.5" / "200.50" → 20050 (integer fen), parsed as text so no float rounding;
// null when it is not an amount with at most two decimals.
export function yuanToFen(text: unknown): number | null {
  const m = /^\s*(\d{1,9})(?:\.(\d{0,2}))?\s*$/.exec(String(text ?? ''))
  if (!m) return null
  return Number(m[1]) * 100 + Number((m[2] || '').padEnd(2, '0'))
}

// Order states (the server sends state_label too; this is for filters and older replies).
export const ORDER_STATES: Record<string, Labelled> = {
  draft: { label: '草稿（待提交）', type: 'info' },
  submitted: { label: '已提交，待预审', type: 'primary' },
  rejected: { label: '预审未通过，请修改后重新提交', type: 'danger' },
  awaiting_payment: { label: '预审通过，待付款', type: 'warning' },
  awaiting_paper: { label: '已付款，请邮寄纸质资料', type: 'warning' },
  paper_sent: { label: '纸质资料已寄出，待审核', type: 'primary' },
  paper_rejected: { label: '纸质资料不合格，请补寄', type: 'danger' },
  producing: { label: '资料合格，制证中', type: 'primary' },
  produced: { label: '证书已制作，待寄出', type: 'primary' },
  shipped: { label: '证书已寄出', type: 'success' },
  completed: { label: '已完成', type: 'success' },
  deleted: { label: '已删除', type: 'info' },
  refunding: { label: '退款中', type: 'warning' },
  refunded: { label: '已退款', type: 'info' },
  // renewals (在线更新)
  paid: { label: '已付款，待下载证书', type: 'warning' },
  issued: { label: '证书已签发，待写入USBKEY', type: 'primary' },
  cancelled: { label: '已取消', type: 'info' },
}
export const orderState = (code?: string | null, label?: string | null): Labelled => ({
  label: label || (code && ORDER_STATES[code] && ORDER_STATES[code].label) || code || '-',
  type: (code && ORDER_STATES[code] && ORDER_STATES[code].type) || 'info',
})

// Why POST /orders/{no}/submit was refused (422 submit_incomplete, "missing").
export const SUBMIT_MISSING: Record<string, string> = {
  form_incomplete: '订单信息未填写完整',
  documents_missing: '资料未上传齐全',
  verification_missing: '法人尚未完成刷脸核验',
  uscc_unconfirmed: '统一社会信用代码待工作人员核实',
}

// Order history events.
export const ORDER_EVENTS: Record<string, string> = {
  create: '创建订单',
  edit: '修改订单信息',
  submit: '提交申请',
  pass: '预审通过',
  reject: '预审未通过',
  paid: '付款成功',
  courier: '填写快递单号',
  paper_ok: '纸质资料审核合格',
  paper_bad: '纸质资料不合格',
  made: '证书制作完成',
  ship: '证书寄出',
  complete: '业务办结',
  delete: '删除订单',
  cancel: '取消订单',
  refunded: '退款完成',
}
export const ACTORS: Record<string, string> = { org: '申请单位', staff: '工作人员', system: '系统' }

export const ID_TYPES: Record<string, string> = { resident_id: '居民身份证', residence_permit: '港澳台居民居住证' }

export const MOBILE_REQUEST_STATES: Record<string, Labelled> = {
  pending: { label: '审核中', type: 'warning' },
  approved: { label: '已通过', type: 'success' },
  rejected: { label: '已驳回', type: 'danger' },
}
export const mobileRequestState = (s?: string | null): Labelled =>
  (s && MOBILE_REQUEST_STATES[s]) || { label: s || '-', type: 'info' }

// Payment (缴费): providers, attempts, refunds and what became of each provider report.
export const PAY_PROVIDERS: Record<string, { label: string; app: string }> = {
  wxpay: { label: '微信支付', app: '微信' },
  alipay: { label: '支付宝', app: '支付宝' },
}
export const payProvider = (p?: string | null) => (p && PAY_PROVIDERS[p]) || { label: p || '-', app: p || '' }

export const PAYMENT_STATES: Record<string, Labelled> = {
  creating: { label: '创建中', type: 'info' },
  open: { label: '待支付', type: 'warning' },
  paid: { label: '已支付', type: 'success' },
  closed: { label: '已关闭', type: 'info' },
  failed: { label: '创建失败', type: 'danger' },
}
export const paymentState = (s?: string | null): Labelled =>
  (s && PAYMENT_STATES[s]) || { label: s || '-', type: 'info' }

export const REFUND_KINDS: Record<string, string> = { cancel: '取消订单退款', duplicate: '重复支付退款' }
export const REFUND_STATES: Record<string, Labelled> = {
  requested: { label: '待退款', type: 'warning' },
  processing: { label: '退款中', type: 'warning' },
  done: { label: '已退款', type: 'success' },
  failed: { label: '退款失败', type: 'danger' },
}
export const refundState = (s?: string | null): Labelled => (s && REFUND_STATES[s]) || { label: s || '-', type: 'info' }

export const PAY_EVENT_SOURCES: Record<string, string> = { notify: '支付平台通知', query: '主动查询' }
export const PAY_VERDICTS: Record<string, string> = {
  applied: '已入账',
  duplicate: '重复报告（忽略）',
  extra: '重复支付（已安排退款）',
  unknown: '无此付款记录',
  mismatch: '金额或渠道不符（未入账）',
  closed: '付款已关闭',
  open: '尚未支付',
  forged: '验签失败（已拒绝）',
}
