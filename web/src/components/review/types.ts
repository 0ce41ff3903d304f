import type { Schemas } from '../../api'

// A scan to review: a document slot with its uploaded document.
export type ReviewSlot = Schemas['DocumentSlot'] & { document: Schemas['Document'] }

// The reviewer's marks on one scan (kept by the review page until 预审通过 / 预审不通过).
export interface ReviewMark {
  decision: 'pass' | 'reject' | ''
  reasons: string[]
  note: string
  rotate: number // degrees, a multiple of 90
}
