// The order as the order pages' components read it: the API's own types (generated from
// docs/openapi.yaml into src/api/schema.d.ts), under the names these components use, and the
// few shapes that exist only in the UI.
import type { PayProviderCode, Schemas } from '../../api.js'

export type OrderDetail = Schemas['Order'] // GET /api/v1/orders/{no}
export type StaffOrder = Schemas['AdminOrder'] // GET /api/v1/admin/orders/{no}
export type MissingField = Schemas['MissingField']
export type VerificationInfo = Schemas['Verification']
export type DocumentEntry = Schemas['DocumentSlot']
export type UploadedDocument = NonNullable<DocumentEntry['document']>
export type InvoiceInfo = Schemas['Invoice']
export type ShipmentInfo = Schemas['Shipment']
export type PaymentRow = Schemas['PaymentRecord']
export type RefundInfo = NonNullable<PaymentRow['refund']>
export type PaymentEvent = PaymentRow['events'][number]
export type PaperContactInfo = Schemas['PaperContact']
export type OrganisationInfo = Schemas['Organisation']
export type HeldKey = Schemas['HeldMainKey']

// The unit the order is for, shown above the form (name and USCC).
export interface Unit {
  name: string
  uscc: string
}

// What the payment step reports once the order is paid (OrderPayment's "paid" event).
export interface PaidNotice {
  amount_fen: number
  provider: string
}

// One thing that still stands between the order and 提交.
export interface Blocker {
  key: string
  text: string
}

// An error from api.js (ApiError) as far as the step components read it.
export interface ApiFailure {
  message: string
  status?: number
  code?: string
  field?: string
  handled?: boolean
  missing?: Array<string | { label?: string }>
}

// A refused request for a QR code (POST .../payment), shown with 重试.
export interface PayError {
  message: string
  provider: PayProviderCode
  status: number
}
