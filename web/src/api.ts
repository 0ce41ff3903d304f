// Client for the same-origin JSON API (/api/v1/...).
//
// - The session (anonymous, organisation or staff) lives in the reactive `session` object; every
//   state-changing request carries its CSRF token in X-CSRF-Token.
// - Errors are thrown as ApiError with the server's code, Chinese message, field and the full
//   `errors` list (validation reports every field at once).
// - A 403 csrf_failed refetches the session and retries once; a 401 not_logged_in /
//   session_expired marks the session anonymous and calls the handler set with onUnauthorized
//   (main.ts sends the user to the right login page).
// - Request and reply types come from src/api/schema.d.ts, generated from docs/openapi.yaml
//   (`npm run gen:api`): Reply<'getOrder'> is what GET /orders/{no} answers, Body<'createOrder'>
//   what POST /orders takes, Schemas['Order'] a named schema.
import { reactive } from 'vue'
import type { components, operations } from './api/schema'

export type Schemas = components['schemas']
type JsonOf<R> = R extends { content: { 'application/json': infer T } } ? T : never
/** The JSON body of an operation's success answer (200 or 201). */
export type Reply<Op extends keyof operations> = operations[Op]['responses'] extends infer R
  ? R extends { 200: infer A }
    ? JsonOf<A>
    : R extends { 201: infer B }
      ? JsonOf<B>
      : never
  : never
/** The JSON request body of an operation. */
export type Body<Op extends keyof operations> = JsonOf<NonNullable<operations[Op]['requestBody']>>

export type SessionKind = Schemas['Session']['kind']
// The logged-in organisation (kind 'org') or staff member (kind 'staff'): one of the two schemas,
// typed as their fields together so pages can read `session.user.name` or `.roles` directly.
export type SessionUser = Partial<Schemas['Organisation']> & Partial<Schemas['StaffUser']>
/** One problem of a request (a form with several has one for each field). */
export interface ErrorItem {
  code?: string
  message: string
  field?: string
}
/** Progress of an upload in percent (0–100). */
export type OnProgress = (percent: number) => void

const TIMEOUT_MS = 15000

export interface SessionState {
  loaded: boolean
  kind: SessionKind
  csrf: string
  user: SessionUser | null
  flash: string // one-shot message for the next login page (e.g. "登录已超时")
}

export const session = reactive<SessionState>({
  loaded: false,
  kind: 'anon',
  csrf: '',
  user: null,
  flash: '',
})

export class ApiError extends Error {
  status: number
  code: string
  field: string | undefined
  errors: ErrorItem[]
  handled: boolean
  missing?: unknown[]
  detail?: unknown
  constructor(status: number, code: string, message: string, field?: string | null, errors?: ErrorItem[] | null) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.field = field || undefined
    this.errors = errors && errors.length ? errors : [{ code, message, field: field || undefined }]
    this.handled = false // true once a 401 redirect took care of it
  }
}

/** A caught value as an ApiError (anything else becomes one with its message), for catch blocks. */
export function asApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e
  return new ApiError(0, 'client', e instanceof Error ? e.message : String(e))
}

type UnauthorizedHandler = (err: ApiError, wasKind: SessionKind) => void
let unauthorizedHandler: UnauthorizedHandler | null = null
export function onUnauthorized(fn: UnauthorizedHandler) {
  unauthorizedHandler = fn
}

function applySession(data: Partial<Schemas['Session']>) {
  session.kind = data.kind || 'anon'
  session.csrf = data.csrf_token || ''
  session.user = data.user || null
  session.loaded = true
}

// raw: body is already the JSON text to send (e.g. a file's content), not an object to encode.
interface SendOptions {
  raw?: boolean
  headers?: Record<string, string> // e.g. the renewal token (X-Renewal-Token)
}

async function send<T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  { raw = false, headers: extra }: SendOptions = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...extra }
  const init: RequestInit = { method, headers, credentials: 'same-origin', signal: AbortSignal.timeout(TIMEOUT_MS) }
  if (method !== 'GET' && method !== 'HEAD') {
    headers['Content-Type'] = 'application/json'
    headers['X-CSRF-Token'] = session.csrf
    init.body = raw ? (body as string) : JSON.stringify(body === undefined ? {} : body)
  }
  let res: Response
  try {
    res = await fetch(path, init)
  } catch (e) {
    const timeout = isTimeout(e)
    throw new ApiError(
      0,
      timeout ? 'timeout' : 'network',
      timeout ? '服务器响应超时，请稍后重试' : '无法连接服务器，请检查网络连接后重试',
    )
  }
  let data: unknown = null
  const type = res.headers.get('content-type') || ''
  if (type.includes('json')) {
    try {
      data = await res.json()
    } catch {
      data = null
    }
  }
  if (res.ok) return data as T
  throw errorFromReply(res.status, data)
}

let sessionPromise: Promise<SessionState> | null = null

// Loads the session (and with it the CSRF token); creates the anonymous session cookie if needed.
export function loadSession(force = false): Promise<SessionState> {
  if (session.loaded && !force) return Promise.resolve(session)
  if (!sessionPromise) {
    sessionPromise = send<Schemas['Session'] | null>('GET', '/api/v1/session')
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

export async function request<T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  opts?: SendOptions,
): Promise<T> {
  if (method !== 'GET' && !session.csrf) await loadSession()
  for (let attempt = 0; ; attempt++) {
    try {
      return await send<T>(method, path, body, opts)
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

export const get = <T = unknown>(path: string) => request<T>('GET', path)
export const post = <T = unknown>(path: string, body?: unknown) => request<T>('POST', path, body)
export const patch = <T = unknown>(path: string, body?: unknown) => request<T>('PATCH', path, body)
export const put = <T = unknown>(path: string, body?: unknown) => request<T>('PUT', path, body)
export const del = <T = unknown>(path: string) => request<T>('DELETE', path)

function isTimeout(e: unknown): boolean {
  return e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')
}

interface ErrorReply {
  error?: { code?: string; message?: string; field?: string; detail?: unknown }
  errors?: ErrorItem[]
  missing?: unknown[]
}

function errorFromReply(status: number, reply: unknown): ApiError {
  const data = reply as ErrorReply | null
  const e = data && data.error
  if (e && e.code) {
    const err = new ApiError(status, e.code, e.message || `请求失败（HTTP ${status}）`, e.field, data!.errors)
    if (data!.missing) err.missing = data.missing // e.g. 422 submit_incomplete, 409 form_incomplete
    if (e.detail) err.detail = e.detail // e.g. 422 calendar_invalid: the entry and the rule (English)
    return err
  }
  return new ApiError(status, `http_${status}`, `服务器暂时无法处理请求（HTTP ${status}），请稍后重试`)
}

function handleUnauthorized(err: ApiError): ApiError {
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
function sendFormOnce<T>(method: string, path: string, formData: FormData, onProgress?: OnProgress): Promise<T> {
  return new Promise<T>((resolve, reject) => {
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
      let data: unknown = null
      if ((xhr.getResponseHeader('content-type') || '').includes('json')) {
        try {
          data = JSON.parse(xhr.responseText)
        } catch {
          data = null
        }
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data as T)
      else reject(errorFromReply(xhr.status, data))
    }
    xhr.onerror = () => reject(new ApiError(0, 'network', '上传失败：无法连接服务器，请检查网络连接后重试'))
    xhr.ontimeout = () => reject(new ApiError(0, 'timeout', '上传超时，请稍后重试'))
    xhr.send(formData)
  })
}

async function sendForm<T>(method: string, path: string, formData: FormData, onProgress?: OnProgress): Promise<T> {
  if (!session.csrf) await loadSession()
  try {
    return await sendFormOnce<T>(method, path, formData, onProgress)
  } catch (err) {
    if (err instanceof ApiError && err.status === 403 && err.code === 'csrf_failed') {
      await loadSession(true)
      if (onProgress) onProgress(0)
      try {
        return await sendFormOnce<T>(method, path, formData, onProgress)
      } catch (again) {
        throw again instanceof ApiError ? handleUnauthorized(again) : again
      }
    }
    throw err instanceof ApiError ? handleUnauthorized(err) : err
  }
}

export const postForm = <T = unknown>(path: string, formData: FormData, onProgress?: OnProgress) =>
  sendForm<T>('POST', path, formData, onProgress)
export const putForm = <T = unknown>(path: string, formData: FormData, onProgress?: OnProgress) =>
  sendForm<T>('PUT', path, formData, onProgress)

// Downloads a generated file (GET) and saves it under the server's file name. JSON errors (e.g.
// 409 form_incomplete with its "missing" list) are thrown as ApiError like other requests.
export async function download(path: string, fallbackName: string): Promise<{ name: string; size: number }> {
  let res: Response
  try {
    res = await fetch(path, { credentials: 'same-origin', signal: AbortSignal.timeout(60000) })
  } catch (e) {
    const timeout = isTimeout(e)
    throw new ApiError(
      0,
      timeout ? 'timeout' : 'network',
      timeout ? '下载超时，请稍后重试' : '无法连接服务器，请检查网络连接后重试',
    )
  }
  if (!res.ok) {
    let data: unknown = null
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

function qs(params: Record<string, string | number | null | undefined>): string {
  const u = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v))
  const s = u.toString()
  return s ? `?${s}` : ''
}

export const captchaURL = () => `/api/v1/captcha?t=${Date.now()}`

// --- platform -----------------------------------------------------------------------------
export const getMeta = () => send<Reply<'getMeta'>>('GET', '/api/v1/meta')

// --- organisation portal ------------------------------------------------------------------
export const sendSmsCode = (body: Body<'createSmsCode'>) => post<Reply<'createSmsCode'>>('/api/v1/sms-codes', body)
export const registerOrg = (body: Body<'registerOrganisation'>) =>
  post<Reply<'registerOrganisation'>>('/api/v1/organisations', body)
export const resetPassword = (body: Body<'resetPassword'>) =>
  post<Reply<'resetPassword'>>('/api/v1/password-resets', body)
export const getAccount = () => get<Reply<'getAccount'>>('/api/v1/account')
export const changePassword = (body: Body<'changePassword'>) =>
  post<Reply<'changePassword'>>('/api/v1/account/password', body)
export const changeMobile = (body: Body<'changeMobile'>) => post<Reply<'changeMobile'>>('/api/v1/account/mobile', body)
export const listMobileRequests = () => get<Reply<'listOwnMobileRequests'>>('/api/v1/account/mobile-requests')
// fields: { handler_name, new_mobile }; file: the stamped authorisation letter (image).
export function createMobileRequest(
  fields: { handler_name: string; new_mobile: string },
  file: File,
  onProgress?: OnProgress,
) {
  const fd = new FormData()
  fd.set('handler_name', fields.handler_name)
  fd.set('new_mobile', fields.new_mobile)
  fd.set('file', file, file.name)
  return postForm<Reply<'createMobileRequest'>>('/api/v1/account/mobile-requests', fd, onProgress)
}

// --- orders ---------------------------------------------------------------------------------
export interface PageQuery {
  limit?: number
  next?: string | null
}
export const listProjects = () => get<Reply<'listProjects'>>('/api/v1/projects')
export const createOrder = (body: Body<'createOrder'>) => post<Reply<'createOrder'>>('/api/v1/orders', body)
export const listOrders = ({ limit = 20, next }: PageQuery = {}) =>
  get<Reply<'listOrders'>>(`/api/v1/orders${qs({ limit, next })}`)
const orderPath = (no: string) => `/api/v1/orders/${encodeURIComponent(no)}`
export const getOrder = (no: string) => get<Reply<'getOrder'>>(orderPath(no))
export const updateOrder = (no: string, form: Body<'updateOrder'>['form']) =>
  put<Reply<'updateOrder'>>(orderPath(no), { form })
export const deleteOrder = (no: string) => del<Reply<'deleteOrder'>>(orderPath(no))
export const submitOrder = (no: string) => post<Reply<'submitOrder'>>(`${orderPath(no)}/submit`)
export const orderFormURL = (no: string, kind: string) => `${orderPath(no)}/forms/${kind}`
export const downloadOrderForm = (no: string, kind: string) => download(orderFormURL(no, kind), `${no}-${kind}.pdf`)
export const getOrderDocuments = (no: string) => get<Reply<'listOrderDocuments'>>(`${orderPath(no)}/documents`)
// The outbound parcel's route (物流跟踪); 404 not_shipped before the key is shipped.
export const getOrderRoute = (no: string) => get<Reply<'getParcelRoute'>>(`${orderPath(no)}/route`)
// The uploaded image of a slot (same origin, the session cookie); v (the file's sha256) makes a
// replaced file a new URL.
export const documentURL = (no: string, kind: string, v?: string | null) =>
  `${orderPath(no)}/documents/${encodeURIComponent(kind)}${v ? `?v=${encodeURIComponent(v)}` : ''}`
// Uploads (or replaces) the scan of one slot: 201 the document.
export function uploadDocument(no: string, kind: string, file: File, onProgress?: OnProgress) {
  const fd = new FormData()
  fd.set('file', file, file.name)
  return putForm<Reply<'uploadOrderDocument'>>(`${orderPath(no)}/documents/${encodeURIComponent(kind)}`, fd, onProgress)
}

// --- payment (缴费): a WeChat Pay or Alipay QR code for an order awaiting payment -------------
export type PayProviderCode = Body<'startPayment'>['provider']
export const getPayment = (no: string) => get<Reply<'getPayment'>>(`${orderPath(no)}/payment`)
// provider: 'wxpay' | 'alipay'; the same shape with an open attempt (reused while ≥ 5 min left).
export const startPayment = (no: string, provider: PayProviderCode) =>
  post<Reply<'startPayment'>>(`${orderPath(no)}/payment`, { provider })
// The open attempt's QR code (PNG); v (its out_trade_no) makes a new attempt a new URL.
export const paymentQrURL = (no: string, v?: string | null) =>
  `${orderPath(no)}/payment/qr.png${v ? `?v=${encodeURIComponent(v)}` : ''}`

// --- the legal person's face verification (anonymous phone page) ---------------------------
const verifyPath = (token: string) => `/api/v1/verify/${encodeURIComponent(token)}`
export const getVerify = (token: string) => get<Reply<'getVerification'>>(verifyPath(token))
export const startVerify = (token: string) => post<Reply<'startVerification'>>(`${verifyPath(token)}/start`)
export const getVerifyResult = (token: string) => get<Reply<'getVerificationResult'>>(`${verifyPath(token)}/result`)

export async function login(body: Body<'loginOrganisation'>) {
  const data = await post<Reply<'loginOrganisation'>>('/api/v1/auth/login', body)
  applySession(data)
  return data
}

export async function staffLogin(body: Body<'loginStaff'>) {
  const data = await post<Reply<'loginStaff'>>('/api/v1/admin/auth/login', body)
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
export const listOrganisations = ({ q, limit = 20, next }: PageQuery & { q?: string } = {}) =>
  get<Reply<'listOrganisations'>>(`/api/v1/admin/organisations${qs({ q, limit, next })}`)
const orgPath = (uscc: string) => `/api/v1/admin/organisations/${encodeURIComponent(uscc)}`
export const renameOrganisation = (uscc: string, name: string) =>
  patch<Reply<'patchOrganisation'>>(orgPath(uscc), { name })
export const unlockOrganisation = (uscc: string) => post<Reply<'unlockOrganisation'>>(`${orgPath(uscc)}/unlock`)
export const confirmUscc = (uscc: string) => post<Reply<'confirmOrganisationUscc'>>(`${orgPath(uscc)}/confirm-uscc`)
export const listStaff = () => get<Reply<'listStaff'>>('/api/v1/admin/staff')
export const createStaff = (body: Body<'createStaff'>) => post<Reply<'createStaff'>>('/api/v1/admin/staff', body)
export const unlockStaff = (id: number | string) =>
  post<Reply<'unlockStaff'>>(`/api/v1/admin/staff/${encodeURIComponent(id)}/unlock`)
export const listHeldMainKeys = (uscc: string) => get<Reply<'listHeldMainKeys'>>(`${orgPath(uscc)}/held-main-keys`)
export const addHeldMainKey = (uscc: string, body: Body<'addHeldMainKey'>) =>
  post<Reply<'addHeldMainKey'>>(`${orgPath(uscc)}/held-main-keys`, body)

export const adminListOrders = ({ state, q, limit = 20, next }: PageQuery & { state?: string; q?: string } = {}) =>
  get<Reply<'listAdminOrders'>>(`/api/v1/admin/orders${qs({ state, q, limit, next })}`)
export const adminGetOrder = (no: string) =>
  get<Reply<'getAdminOrder'>>(`/api/v1/admin/orders/${encodeURIComponent(no)}`)
export const adminListProjects = () => get<Reply<'listAdminProjects'>>('/api/v1/admin/projects')
export const adminPatchKeyType = (code: string, keyType: string, body: Body<'updateKeyType'>) =>
  patch<Reply<'updateKeyType'>>(
    `/api/v1/admin/projects/${encodeURIComponent(code)}/key-types/${encodeURIComponent(keyType)}`,
    body,
  )
export const adminListMobileRequests = (state?: string) =>
  get<Reply<'listMobileRequests'>>(`/api/v1/admin/mobile-requests${qs({ state })}`)
export const mobileRequestLetterURL = (id: number | string) =>
  `/api/v1/admin/mobile-requests/${encodeURIComponent(id)}/letter`
export const decideMobileRequest = (id: number | string, body: Body<'decideMobileRequest'>) =>
  post<Reply<'decideMobileRequest'>>(`/api/v1/admin/mobile-requests/${encodeURIComponent(id)}/decision`, body)

// --- back office: dashboard, pre-review, paper check, production, shipping -----------------
const adminOrderPath = (no: string) => `/api/v1/admin/orders/${encodeURIComponent(no)}`
export const getDashboard = () => get<Reply<'getDashboard'>>('/api/v1/admin/dashboard')
export const getReviewQueue = () => get<Reply<'getReviewQueue'>>('/api/v1/admin/review/queue')
export const claimOrder = (no: string) => post<Reply<'claimOrderForReview'>>(`${adminOrderPath(no)}/claim`)
// body: { decision: 'pass' } or { decision: 'reject', documents: [{ kind, reasons, note }], note }
export const reviewOrder = (no: string, body: Body<'reviewOrder'>) =>
  post<Reply<'reviewOrder'>>(`${adminOrderPath(no)}/review`, body)
export const listReviewReasons = () => get<Reply<'listReviewReasons'>>('/api/v1/admin/review-reasons')
export const adminDocumentURL = (no: string, kind: string, v?: string | null) =>
  `${adminOrderPath(no)}/documents/${encodeURIComponent(kind)}${v ? `?v=${encodeURIComponent(v)}` : ''}`
// queue: 'paper' | 'production' | 'shipping'
export const getWorkQueue = (queue: string) =>
  get<Reply<'getWorkQueue'>>(`/api/v1/admin/queues/${encodeURIComponent(queue)}`)
export const paperCheck = (no: string, body: Body<'checkOrderPaper'>) =>
  post<Reply<'checkOrderPaper'>>(`${adminOrderPath(no)}/paper-check`, body)
export const shipOrder = (no: string, trackingNo: string) =>
  post<Reply<'shipOrder'>>(`${adminOrderPath(no)}/ship`, { tracking_no: trackingNo })
// Finance cancels a paid order not yet in production and refunds it: body { reason }.
export const cancelOrder = (no: string, reason: string) =>
  post<Reply<'cancelOrder'>>(`${adminOrderPath(no)}/cancel`, { reason })
export const adminGetOrderRoute = (no: string) => get<Reply<'getAdminParcelRoute'>>(`${adminOrderPath(no)}/route`)
// Finance sends a refund the provider refused (退款失败) again: the order with its payments;
// 409 no_failed_refund when there is none (any more).
export const retryRefund = (no: string) => post<Reply<'retryRefund'>>(`${adminOrderPath(no)}/refund-retry`)

// --- 缴费对账 (finance): the payments of one Beijing day, with totals per provider ------------------
export const getPaymentLedger = (date: string) =>
  get<Reply<'getPaymentLedger'>>(`/api/v1/admin/payments${qs({ date })}`)
// The same day as a CSV file (UTF-8 with a BOM) to set against the providers' statements.
export const paymentLedgerCsvURL = (date: string) => `/api/v1/admin/payments${qs({ date, format: 'csv' })}`
export const downloadPaymentLedger = (date: string) => download(paymentLedgerCsvURL(date), `payments-${date}.csv`)

// --- the working-day calendar (工作日历): coverage for staff; an admin uploads a year's file ------
export const getCalendar = () => get<Reply<'getCalendar'>>('/api/v1/admin/calendar')
// text: the year's holiday-cn JSON file as it is (sent unchanged as the body).
export const putCalendarYear = (year: number | string, text: string) =>
  request<Reply<'putCalendarYear'>>('PUT', `/api/v1/admin/calendar/${encodeURIComponent(year)}`, text, { raw: true })
// The organisation's courier parcel with the paper documents.
export const sendCourier = (no: string, body: Body<'sendOrderPaper'>) =>
  post<Reply<'sendOrderPaper'>>(`${orderPath(no)}/courier`, body)

// --- invoices (发票): finance's queue and upload; the file for staff and the organisation -----
export const getInvoiceQueue = () => get<Reply<'getInvoiceQueue'>>('/api/v1/admin/invoices/queue')
// Uploads the invoice file (PDF or OFD) of a paid order: the invoice JSON (email_to, uploaded_at…).
export function uploadInvoice(no: string, file: File, onProgress?: OnProgress) {
  const fd = new FormData()
  fd.set('file', file, file.name)
  return putForm<Reply<'putInvoice'>>(`${adminOrderPath(no)}/invoice`, fd, onProgress)
}
export const adminInvoiceURL = (no: string) => `${adminOrderPath(no)}/invoice`
export const orderInvoiceURL = (no: string) => `${orderPath(no)}/invoice`

// --- certificates (证书): issue from the USB key's CSR (producer), list, download, revoke (admin),
// search, the profiles (read-only) and the public CA certificates -----------------------------
export type CertificateInfo = Schemas['Certificate']
// A row of 证书查询: the certificate with its order and organisation (the schema leaves it open).
export interface CertificateSearchItem extends CertificateInfo {
  id: number
  order_no: string
  uscc: string
  unit_name: string
}
// One certificate profile (the schema leaves it open): what each project's certificates contain.
export interface CertProfile {
  project_id: number
  project_code?: string
  project_name?: string
  key_type: string
  algorithm: string
  months_per_year: number
  subject_template: string
  key_usage: string
  ext_key_usage: string
  policy_oid: string
  identity_oid: string
  crl_url: string
  ocsp_url: string
  ca_issuers_url: string
  issuing_key_id: string
  dual: boolean
}
const certPath = (serial: string) => `/api/v1/admin/certificates/${encodeURIComponent(serial)}`
export const listOrderCertificates = (no: string) =>
  get<Reply<'listOrderCertificates'>>(`${adminOrderPath(no)}/certificates`)
// 201 a new certificate, 200 the one issued before (a retry); 422 csr_* / key_* / cert_lint_failed.
export const issueCertificate = (no: string, csr: string) =>
  post<Reply<'issueCertificate'>>(`${adminOrderPath(no)}/certificates`, { csr })
export const certificateURL = (serial: string, format: 'pem' | 'der') => `${certPath(serial)}${qs({ format })}`
export const downloadCertificate = (serial: string, format: 'pem' | 'der') =>
  download(certificateURL(serial, format), `${serial}.${format === 'pem' ? 'pem' : 'cer'}`)
// 409 cert_already_revoked; published: false when the CRL / OCSP follow later (signer away).
export const revokeCertificate = (serial: string, reason: Body<'revokeCertificate'>['reason']) =>
  post<CertificateInfo & { published?: boolean }>(`${certPath(serial)}/revoke`, { reason })
export const searchCertificates = ({ q, status, limit = 20, next }: PageQuery & { q?: string; status?: string } = {}) =>
  get<{ items: CertificateSearchItem[]; next?: string }>(`/api/v1/admin/certificates${qs({ q, status, limit, next })}`)
export const listCertProfiles = () => get<{ items: CertProfile[] }>('/api/v1/admin/cert-profiles')
export const listCaCertificates = () => get<Reply<'listCaCertificates'>>('/api/v1/ca')
// A CA certificate (DER) at its caIssuers URL.
export const caCertificateURL = (keyId: string) => `/ca/${encodeURIComponent(keyId)}.crt`

// --- production onto a USB key (制证, producer): the server half of the steps in production.ts --------
export const startProduction = (no: string, body: Body<'startProduction'>) =>
  post<Reply<'startProduction'>>(`${adminOrderPath(no)}/production`, body)
export const completeProduction = (no: string, body: Body<'completeProduction'>) =>
  post<Reply<'completeProduction'>>(`${adminOrderPath(no)}/production/complete`, body)
export const getWrappedEncKey = (no: string, ulong: 32 | 64) =>
  get<Reply<'getWrappedEncKey'>>(`${adminOrderPath(no)}/certificates/enc-key${qs({ ulong })}`)
export const makeProductionSeals = (no: string) =>
  post<Reply<'makeProductionSeals'>>(`${adminOrderPath(no)}/production/seals`)
export const pinSlipURL = (no: string) => `${adminOrderPath(no)}/production/pin-slip.pdf`

// --- a main key's seal pictures (电子签章印模, producer or reviewer): the boxes proposed on the
// organisation's seal-form scan, the pictures cut out of them, staff's own PNG, the choice per seal.
export type SealSlot = Schemas['SealSlot']
export const getSealCrops = (no: string, allowSignature = false) =>
  get<Reply<'getSealCrops'>>(
    `${adminOrderPath(no)}/seal-crops${qs({ allow_signature: allowSignature ? 'true' : undefined })}`,
  )
export const extractSealCrops = (no: string, body: Body<'extractSealCrops'>) =>
  post<Reply<'extractSealCrops'>>(`${adminOrderPath(no)}/seal-crops/extract`, body)
// A clean PNG staff made: the same checks, nothing written.
export function checkSealPng(no: string, slot: SealSlot, file: File, widthMm?: number, allowSignature = false) {
  const fd = new FormData()
  fd.set('file', file, file.name)
  fd.set('slot', slot)
  if (widthMm) fd.set('width_mm', String(widthMm))
  if (allowSignature) fd.set('allow_signature', 'true')
  return postForm<Reply<'checkSealPng'>>(`${adminOrderPath(no)}/seal-crops/check-png`, fd)
}
export const getSealPictures = (no: string) => get<Reply<'getSealPictures'>>(`${adminOrderPath(no)}/seal-pictures`)
export const putSealPicture = (no: string, seal: 'org' | 'legal', body: Body<'putSealPicture'>) =>
  put<Reply<'putSealPicture'>>(`${adminOrderPath(no)}/seal-pictures/${seal}`, body)
export const downloadPinSlip = (no: string) => download(pinSlipURL(no), `${no}-pin.pdf`)

// --- online renewal (在线更新, /renew): public routes, the USB key is the credential ------------
// The challenge and its proof need nothing; every later call carries the renewal token certdeskd
// returned for the proof (X-Renewal-Token). The logic around them: renewal.ts.
const renewalPath = (no: string) => `/api/v1/renewals/${encodeURIComponent(no)}`
const withToken = (token: string): SendOptions => ({ headers: { 'X-Renewal-Token': token } })
export const renewalChallenge = (certificate: string) =>
  post<Reply<'renewalChallenge'>>('/api/v1/renewals/challenge', { certificate })
export const renewalProve = (challengeId: string, signature: string) =>
  post<Reply<'renewalProve'>>('/api/v1/renewals/prove', { challenge_id: challengeId, signature })
export const createRenewal = (token: string, body: Body<'createRenewal'>) =>
  request<Reply<'createRenewal'>>('POST', '/api/v1/renewals', body, withToken(token))
export const getRenewal = (token: string, no: string) =>
  request<Reply<'getRenewal'>>('GET', renewalPath(no), undefined, withToken(token))
export const startRenewalPayment = (token: string, no: string, provider: PayProviderCode) =>
  request<Reply<'startRenewalPayment'>>('POST', `${renewalPath(no)}/payments`, { provider }, withToken(token))
export const cancelRenewal = (token: string, no: string) =>
  request<Reply<'cancelRenewal'>>('POST', `${renewalPath(no)}/cancel`, undefined, withToken(token))
export const getRenewalPayment = (token: string, no: string) =>
  request<Reply<'getRenewalPayment'>>('GET', `${renewalPath(no)}/payments/current`, undefined, withToken(token))
// ulong: the key's ULONG width, for the wrapped encryption key of a dual re-key.
export const issueRenewal = (token: string, no: string, body: Body<'issueRenewal'>, ulong: 32 | 64 = 32) =>
  request<Reply<'issueRenewal'>>('POST', `${renewalPath(no)}/issue${qs({ ulong })}`, body, withToken(token))
export const completeRenewal = (token: string, no: string, body: Body<'completeRenewal'>) =>
  request<Reply<'completeRenewal'>>('POST', `${renewalPath(no)}/complete`, body, withToken(token))
// The open attempt's QR code (PNG) as an object URL: an <img> cannot send the token header.
export async function renewalPaymentQr(token: string, no: string, v?: string | null): Promise<string> {
  const res = await fetch(`${renewalPath(no)}/payments/current/qr.png${v ? `?v=${encodeURIComponent(v)}` : ''}`, {
    headers: { 'X-Renewal-Token': token },
    credentials: 'same-origin',
    signal: AbortSignal.timeout(TIMEOUT_MS),
  })
  if (!res.ok) throw new ApiError(res.status, `http_${res.status}`, '二维码加载失败')
  return URL.createObjectURL(await res.blob())
}
