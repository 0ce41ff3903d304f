// Client for the same-origin JSON API (/api/v1/...).
//
// - The session (anonymous, organisation or staff) lives in the reactive `session` object; every
//   state-changing request carries its CSRF token in X-CSRF-Token.
// - Errors are thrown as ApiError with the server's code, Chinese message, field and the full
//   `errors` list (validation reports every field at once).
// - A 403 csrf_failed refetches the session and retries once; a 401 not_logged_in /
//   session_expired marks the session anonymous and calls the handler set with onUnauthorized
//   (main.js sends the user to the right login page).
import { reactive } from 'vue'

const TIMEOUT_MS = 15000

export const session = reactive({
  loaded: false,
  kind: 'anon', // 'anon' | 'org' | 'staff'
  csrf: '',
  user: null,
  flash: '', // one-shot message for the next login page (e.g. "登录已超时")
})

export class ApiError extends Error {
  constructor(status, code, message, field, errors) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.field = field || undefined
    this.errors = errors && errors.length ? errors : [{ code, message, field: field || undefined }]
    this.handled = false // true once a 401 redirect took care of it
  }
}

let unauthorizedHandler = null
export function onUnauthorized(fn) {
  unauthorizedHandler = fn
}

function applySession(data) {
  session.kind = data.kind || 'anon'
  session.csrf = data.csrf_token || ''
  session.user = data.user || null
  session.loaded = true
}

// raw: body is already the JSON text to send (e.g. a file's content), not an object to encode.
async function send(method, path, body, { raw = false } = {}) {
  const headers = { Accept: 'application/json' }
  const init = { method, headers, credentials: 'same-origin', signal: AbortSignal.timeout(TIMEOUT_MS) }
  if (method !== 'GET' && method !== 'HEAD') {
    headers['Content-Type'] = 'application/json'
    headers['X-CSRF-Token'] = session.csrf
    init.body = raw ? body : JSON.stringify(body === undefined ? {} : body)
  }
  let res
  try {
    res = await fetch(path, init)
  } catch (e) {
    const timeout = e && (e.name === 'TimeoutError' || e.name === 'AbortError')
    throw new ApiError(
      0,
      timeout ? 'timeout' : 'network',
      timeout ? '服务器响应超时，请稍后重试' : '无法连接服务器，请检查网络连接后重试',
    )
  }
  let data = null
  const type = res.headers.get('content-type') || ''
  if (type.includes('json')) {
    try {
      data = await res.json()
    } catch {
      data = null
    }
  }
  if (res.ok) return data
  throw errorFromReply(res.status, data)
}

let sessionPromise = null

// Loads the session (and with it the CSRF token); creates the anonymous session cookie if needed.
export function loadSession(force = false) {
  if (session.loaded && !force) return Promise.resolve(session)
  if (!sessionPromise) {
    sessionPromise = send('GET', '/api/v1/session')
      .then((data) => {
        applySession(data || {})
        return session
      })
      .finally(() => {
        sessionPromise = null
      })
  }
  return sessionPromise
}

export async function request(method, path, body, opts) {
  if (method !== 'GET' && !session.csrf) await loadSession()
  for (let attempt = 0; ; attempt++) {
    try {
      return await send(method, path, body, opts)
    } catch (err) {
      if (!(err instanceof ApiError)) throw err
      if (err.status === 403 && err.code === 'csrf_failed' && attempt === 0) {
        await loadSession(true)
        continue
      }
      throw handleUnauthorized(err)
    }
  }
}

export const get = (path) => request('GET', path)
export const post = (path, body) => request('POST', path, body)
export const patch = (path, body) => request('PATCH', path, body)
export const put = (path, body) => request('PUT', path, body)
export const del = (path) => request('DELETE', path)

function errorFromReply(status, data) {
  const e = data && data.error
  if (e && e.code) {
    const err = new ApiError(status, e.code, e.message || `请求失败（HTTP ${status}）`, e.field, data.errors)
    if (data.missing) err.missing = data.missing // e.g. 422 submit_incomplete, 409 form_incomplete
    if (e.detail) err.detail = e.detail // e.g. 422 calendar_invalid: the entry and the rule (English)
    return err
  }
  return new ApiError(status, `http_${status}`, `服务器暂时无法处理请求（HTTP ${status}），请稍后重试`)
}

function handleUnauthorized(err) {
  if (err.status === 401 && (err.code === 'not_logged_in' || err.code === 'session_expired')) {
    const wasKind = session.kind
    session.kind = 'anon'
    session.user = null
    session.csrf = ''
    session.loaded = false
    if (unauthorizedHandler) {
      unauthorizedHandler(err, wasKind)
      err.handled = true
    }
  }
  return err
}

// A multipart/form-data POST or PUT with upload progress (fetch has none): onProgress(percent
// 0–100).
function sendFormOnce(method, path, formData, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open(method, path)
    xhr.setRequestHeader('Accept', 'application/json')
    xhr.setRequestHeader('X-CSRF-Token', session.csrf)
    xhr.timeout = 60000
    if (onProgress) {
      xhr.upload.onprogress = (ev) => {
        if (ev.lengthComputable) onProgress(Math.min(100, Math.round((ev.loaded / ev.total) * 100)))
      }
    }
    xhr.onload = () => {
      let data = null
      if ((xhr.getResponseHeader('content-type') || '').includes('json')) {
        try {
          data = JSON.parse(xhr.responseText)
        } catch {
          data = null
        }
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data)
      else reject(errorFromReply(xhr.status, data))
    }
    xhr.onerror = () => reject(new ApiError(0, 'network', '上传失败：无法连接服务器，请检查网络连接后重试'))
    xhr.ontimeout = () => reject(new ApiError(0, 'timeout', '上传超时，请稍后重试'))
    xhr.send(formData)
  })
}

async function sendForm(method, path, formData, onProgress) {
  if (!session.csrf) await loadSession()
  try {
    return await sendFormOnce(method, path, formData, onProgress)
  } catch (err) {
    if (err instanceof ApiError && err.status === 403 && err.code === 'csrf_failed') {
      await loadSession(true)
      if (onProgress) onProgress(0)
      try {
        return await sendFormOnce(method, path, formData, onProgress)
      } catch (again) {
        throw again instanceof ApiError ? handleUnauthorized(again) : again
      }
    }
    throw err instanceof ApiError ? handleUnauthorized(err) : err
  }
}

export const postForm = (path, formData, onProgress) => sendForm('POST', path, formData, onProgress)
export const putForm = (path, formData, onProgress) => sendForm('PUT', path, formData, onProgress)

// Downloads a generated file (GET) and saves it under the server's file name. JSON errors (e.g.
// 409 form_incomplete with its "missing" list) are thrown as ApiError like other requests.
export async function download(path, fallbackName) {
  let res
  try {
    res = await fetch(path, { credentials: 'same-origin', signal: AbortSignal.timeout(60000) })
  } catch (e) {
    const timeout = e && (e.name === 'TimeoutError' || e.name === 'AbortError')
    throw new ApiError(0, timeout ? 'timeout' : 'network', timeout ? '下载超时，请稍后重试' : '无法连接服务器，请检查网络连接后重试')
  }
  if (!res.ok) {
    let data = null
    if ((res.headers.get('content-type') || '').includes('json')) data = await res.json().catch(() => null)
    throw handleUnauthorized(errorFromReply(res.status, data))
  }
  const blob = await res.blob()
  const cd = res.headers.get('content-disposition') || ''
  const m = /filename\*=UTF-8''([^;]+)/i.exec(cd) || /filename="?([^";]+)"?/i.exec(cd)
  const name = m ? decodeURIComponent(m[1]) : fallbackName
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = name
  a.style.display = 'none'
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 30000)
  return { name, size: blob.size }
}

function qs(params) {
  const u = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, v)
  const s = u.toString()
  return s ? `?${s}` : ''
}

export const captchaURL = () => `/api/v1/captcha?t=${Date.now()}`

// --- platform -----------------------------------------------------------------------------
export const getMeta = () => send('GET', '/api/v1/meta')

// --- organisation portal ------------------------------------------------------------------
export const sendSmsCode = (body) => post('/api/v1/sms-codes', body)
export const registerOrg = (body) => post('/api/v1/organisations', body)
export const resetPassword = (body) => post('/api/v1/password-resets', body)
export const getAccount = () => get('/api/v1/account')
export const changePassword = (body) => post('/api/v1/account/password', body)
export const changeMobile = (body) => post('/api/v1/account/mobile', body)
export const listMobileRequests = () => get('/api/v1/account/mobile-requests')
// fields: { handler_name, new_mobile }; file: the stamped authorisation letter (image).
export function createMobileRequest(fields, file, onProgress) {
  const fd = new FormData()
  fd.set('handler_name', fields.handler_name)
  fd.set('new_mobile', fields.new_mobile)
  fd.set('file', file, file.name)
  return postForm('/api/v1/account/mobile-requests', fd, onProgress)
}

// --- orders ---------------------------------------------------------------------------------
export const listProjects = () => get('/api/v1/projects')
export const createOrder = (body) => post('/api/v1/orders', body)
export const listOrders = ({ limit = 20, next } = {}) => get(`/api/v1/orders${qs({ limit, next })}`)
const orderPath = (no) => `/api/v1/orders/${encodeURIComponent(no)}`
export const getOrder = (no) => get(orderPath(no))
export const updateOrder = (no, form) => put(orderPath(no), { form })
export const deleteOrder = (no) => del(orderPath(no))
export const submitOrder = (no) => post(`${orderPath(no)}/submit`)
export const orderFormURL = (no, kind) => `${orderPath(no)}/forms/${kind}`
export const downloadOrderForm = (no, kind) => download(orderFormURL(no, kind), `${no}-${kind}.pdf`)
export const getOrderDocuments = (no) => get(`${orderPath(no)}/documents`)
// The outbound parcel's route (物流跟踪); 404 not_shipped before the key is shipped.
export const getOrderRoute = (no) => get(`${orderPath(no)}/route`)
// The uploaded image of a slot (same origin, the session cookie); v (the file's sha256) makes a
// replaced file a new URL.
export const documentURL = (no, kind, v) =>
  `${orderPath(no)}/documents/${encodeURIComponent(kind)}${v ? `?v=${encodeURIComponent(v)}` : ''}`
// Uploads (or replaces) the scan of one slot: 201 the document.
export function uploadDocument(no, kind, file, onProgress) {
  const fd = new FormData()
  fd.set('file', file, file.name)
  return putForm(`${orderPath(no)}/documents/${encodeURIComponent(kind)}`, fd, onProgress)
}

// --- payment (缴费): a WeChat Pay or Alipay QR code for an order awaiting payment -------------
export const getPayment = (no) => get(`${orderPath(no)}/payment`)
// provider: 'wxpay' | 'alipay'; the same shape with an open attempt (reused while ≥ 5 min left).
export const startPayment = (no, provider) => post(`${orderPath(no)}/payment`, { provider })
// The open attempt's QR code (PNG); v (its out_trade_no) makes a new attempt a new URL.
export const paymentQrURL = (no, v) => `${orderPath(no)}/payment/qr.png${v ? `?v=${encodeURIComponent(v)}` : ''}`

// --- the legal person's face verification (anonymous phone page) ---------------------------
const verifyPath = (token) => `/api/v1/verify/${encodeURIComponent(token)}`
export const getVerify = (token) => get(verifyPath(token))
export const startVerify = (token) => post(`${verifyPath(token)}/start`)
export const getVerifyResult = (token) => get(`${verifyPath(token)}/result`)

export async function login(body) {
  const data = await post('/api/v1/auth/login', body)
  applySession(data)
  return data
}

export async function staffLogin(body) {
  const data = await post('/api/v1/admin/auth/login', body)
  applySession(data)
  return data
}

export async function logout() {
  try {
    await post('/api/v1/auth/logout')
  } finally {
    session.kind = 'anon'
    session.user = null
    await loadSession(true).catch(() => {})
  }
}

// --- staff console ------------------------------------------------------------------------
export const listOrganisations = ({ q, limit = 20, next } = {}) =>
  get(`/api/v1/admin/organisations${qs({ q, limit, next })}`)
const orgPath = (uscc) => `/api/v1/admin/organisations/${encodeURIComponent(uscc)}`
export const renameOrganisation = (uscc, name) => patch(orgPath(uscc), { name })
export const unlockOrganisation = (uscc) => post(`${orgPath(uscc)}/unlock`)
export const confirmUscc = (uscc) => post(`${orgPath(uscc)}/confirm-uscc`)
export const listStaff = () => get('/api/v1/admin/staff')
export const createStaff = (body) => post('/api/v1/admin/staff', body)
export const listHeldMainKeys = (uscc) => get(`${orgPath(uscc)}/held-main-keys`)
export const addHeldMainKey = (uscc, body) => post(`${orgPath(uscc)}/held-main-keys`, body)

export const adminListOrders = ({ state, q, limit = 20, next } = {}) =>
  get(`/api/v1/admin/orders${qs({ state, q, limit, next })}`)
export const adminGetOrder = (no) => get(`/api/v1/admin/orders/${encodeURIComponent(no)}`)
export const adminListProjects = () => get('/api/v1/admin/projects')
export const adminPatchKeyType = (code, keyType, body) =>
  patch(`/api/v1/admin/projects/${encodeURIComponent(code)}/key-types/${encodeURIComponent(keyType)}`, body)
export const adminListMobileRequests = (state) => get(`/api/v1/admin/mobile-requests${qs({ state })}`)
export const mobileRequestLetterURL = (id) => `/api/v1/admin/mobile-requests/${encodeURIComponent(id)}/letter`
export const decideMobileRequest = (id, body) =>
  post(`/api/v1/admin/mobile-requests/${encodeURIComponent(id)}/decision`, body)

// --- back office: dashboard, pre-review, paper check, production, shipping -----------------
const adminOrderPath = (no) => `/api/v1/admin/orders/${encodeURIComponent(no)}`
export const getDashboard = () => get('/api/v1/admin/dashboard')
export const getReviewQueue = () => get('/api/v1/admin/review/queue')
export const claimOrder = (no) => post(`${adminOrderPath(no)}/claim`)
// body: { decision: 'pass' } or { decision: 'reject', documents: [{ kind, reasons, note }], note }
export const reviewOrder = (no, body) => post(`${adminOrderPath(no)}/review`, body)
export const listReviewReasons = () => get('/api/v1/admin/review-reasons')
export const adminDocumentURL = (no, kind, v) =>
  `${adminOrderPath(no)}/documents/${encodeURIComponent(kind)}${v ? `?v=${encodeURIComponent(v)}` : ''}`
// queue: 'paper' | 'production' | 'shipping'
export const getWorkQueue = (queue) => get(`/api/v1/admin/queues/${encodeURIComponent(queue)}`)
export const paperCheck = (no, body) => post(`${adminOrderPath(no)}/paper-check`, body)
export const markMade = (no) => post(`${adminOrderPath(no)}/made`)
export const shipOrder = (no, trackingNo) => post(`${adminOrderPath(no)}/ship`, { tracking_no: trackingNo })
// Finance cancels a paid order not yet in production and refunds it: body { reason }.
export const cancelOrder = (no, reason) => post(`${adminOrderPath(no)}/cancel`, { reason })
export const adminGetOrderRoute = (no) => get(`${adminOrderPath(no)}/route`)
// Finance sends a refund the provider refused (退款失败) again: the order with its payments;
// 409 no_failed_refund when there is none (any more).
export const retryRefund = (no) => post(`${adminOrderPath(no)}/refund-retry`)

// --- 缴费对账 (finance): the payments of one Beijing day, with totals per provider ------------------
export const getPaymentLedger = (date) => get(`/api/v1/admin/payments${qs({ date })}`)
// The same day as a CSV file (UTF-8 with a BOM) to set against the providers' statements.
export const paymentLedgerCsvURL = (date) => `/api/v1/admin/payments${qs({ date, format: 'csv' })}`
export const downloadPaymentLedger = (date) => download(paymentLedgerCsvURL(date), `payments-${date}.csv`)

// --- the working-day calendar (工作日历): coverage for staff; an admin uploads a year's file ------
export const getCalendar = () => get('/api/v1/admin/calendar')
// text: the year's holiday-cn JSON file as it is (sent unchanged as the body).
export const putCalendarYear = (year, text) =>
  request('PUT', `/api/v1/admin/calendar/${encodeURIComponent(year)}`, text, { raw: true })
// The organisation's courier parcel with the paper documents.
export const sendCourier = (no, body) => post(`${orderPath(no)}/courier`, body)

// --- invoices (发票): finance's queue and upload; the file for staff and the organisation -----
export const getInvoiceQueue = () => get('/api/v1/admin/invoices/queue')
// Uploads the invoice file (PDF or OFD) of a paid order: the invoice JSON (email_to, uploaded_at…).
export function uploadInvoice(no, file, onProgress) {
  const fd = new FormData()
  fd.set('file', file, file.name)
  return putForm(`${adminOrderPath(no)}/invoice`, fd, onProgress)
}
export const adminInvoiceURL = (no) => `${adminOrderPath(no)}/invoice`
export const orderInvoiceURL = (no) => `${orderPath(no)}/invoice`
