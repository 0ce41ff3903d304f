// Facts about an order that several of the order page's steps read (and the page itself, to
// decide what to poll).
import type { DocumentEntry, OrderDetail, VerificationInfo } from './types'

// States after the payment: the invoice card is shown from then on.
export const PAID_STATES = [
  'awaiting_paper',
  'paper_sent',
  'paper_rejected',
  'producing',
  'produced',
  'shipped',
  'completed',
]

export const NO_VERIFICATION: VerificationInfo = { state: 'none', message: '法人尚未扫码核验' }

export const verificationOf = (o: OrderDetail | null): VerificationInfo => (o && o.verification) || NO_VERIFICATION

export const slotsOf = (o: OrderDetail | null): DocumentEntry[] => (o && o.documents && o.documents.slots) || []

// The invoice is uploaded but its e-mail not yet sent: the page follows it.
export const invoiceSending = (o: OrderDetail | null): boolean => !!(o && o.invoice && !o.invoice.sent_at)

// 提交 / 删除 are offered while the order can be submitted.
export const canSubmitState = (o: OrderDetail | null): boolean => !!o && (o.state === 'draft' || o.state === 'rejected')
