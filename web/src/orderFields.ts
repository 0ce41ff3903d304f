// The order form (订单信息): its sections and fields, in the order of the printed application
// form. The server validates every field (POST/PUT /api/v1/orders); these are for the pages.
import { ID_TYPES } from './format'

export type FieldKind = 'text' | 'mobile' | 'idcard' | 'email' | 'tax' | 'id_type'
/** One field of the order form; mainOnly: only for a main key (电子印章). */
export interface OrderField {
  name: string
  label: string
  kind?: FieldKind
  max?: number
  placeholder?: string
  wide?: boolean
  mainOnly?: boolean
}
export interface OrderSection {
  key: string
  title: string
  hint?: string
  mainOnly?: boolean
  fields: OrderField[]
}
/** The form as the pages edit it: every field a string ('' for absent ones). */
export type OrderFormModel = Record<string, string>
/** The form as the server sends it (absent or null for an empty field). */
export type OrderFormValues = Record<string, string | number | null | undefined>

export const ORDER_SECTIONS: OrderSection[] = [
  {
    key: 'unit',
    title: '单位信息',
    fields: [
      {
        name: 'unit_address',
        label: '单位地址',
        max: 200,
        placeholder: '营业执照上的住所（经营场所）',
        wide: true,
      },
    ],
  },
  {
    key: 'legal',
    title: '法人信息',
    hint: '法定代表人须本人扫描授权委托书上的二维码完成刷脸核验。',
    fields: [
      { name: 'legal_name', label: '法定代表人姓名', max: 40 },
      { name: 'legal_id_type', label: '证件类型', kind: 'id_type' },
      { name: 'legal_id_number', label: '证件号码', kind: 'idcard', max: 18, placeholder: '18 位，最后一位可能为 X' },
      { name: 'legal_mobile', label: '法定代表人手机号', kind: 'mobile', max: 20, placeholder: '11 位手机号码' },
    ],
  },
  {
    key: 'handler',
    title: '经办人信息',
    hint: '系统通知短信发送至经办人手机号，请务必填写正确。',
    fields: [
      { name: 'handler_name', label: '经办人姓名', max: 40 },
      {
        name: 'handler_id_number',
        label: '经办人身份证号',
        kind: 'idcard',
        max: 18,
        placeholder: '18 位，最后一位可能为 X',
      },
      { name: 'handler_mobile', label: '经办人手机号', kind: 'mobile', max: 20, placeholder: '11 位手机号码' },
      { name: 'handler_email', label: '经办人电子邮箱', kind: 'email', max: 100 },
    ],
  },
  {
    key: 'invoice',
    title: '发票信息',
    hint: '证书制作后 3 个工作日内，电子发票发送至发票接收邮箱。',
    fields: [
      { name: 'invoice_title', label: '发票抬头', max: 100 },
      {
        name: 'invoice_tax_number',
        label: '纳税人识别号',
        kind: 'tax',
        max: 20,
        placeholder: '一般为统一社会信用代码',
      },
      { name: 'invoice_email', label: '发票接收邮箱', kind: 'email', max: 100 },
    ],
  },
  {
    key: 'recipient',
    title: '证书收件人信息',
    hint: '数字证书用顺丰快递寄出，快递费由申请单位承担。',
    fields: [
      { name: 'recipient_name', label: '收件人姓名', max: 40 },
      {
        name: 'recipient_mobile',
        label: '收件人手机号',
        kind: 'mobile',
        max: 20,
        placeholder: '11 位手机号码，不支持座机',
      },
      {
        name: 'recipient_address',
        label: '收件地址',
        max: 200,
        placeholder: '省、市、区县及详细地址',
        wide: true,
      },
    ],
  },
  {
    key: 'seal',
    title: '电子印章',
    mainOnly: true,
    hint: '主锁含电子签章：印章名称一般为单位全称，与签章采集表上加盖的公章一致。',
    fields: [{ name: 'seal_name', label: '电子印章名称', max: 100, mainOnly: true, wide: true }],
  },
]

export const ORDER_FIELDS = ORDER_SECTIONS.flatMap((s) => s.fields)
export const ORDER_FIELD_NAMES = ORDER_FIELDS.map((f) => f.name)
// Fields whose change voids the printed authorisation letter and the legal-person verification.
export const LEGAL_FIELDS = ['legal_name', 'legal_id_type', 'legal_id_number']

export const sectionsFor = (keyType?: string | null) => ORDER_SECTIONS.filter((s) => !s.mainOnly || keyType === 'main')

// A form model with every field ('' for absent ones).
export function emptyOrderForm(): OrderFormModel {
  return Object.fromEntries(ORDER_FIELD_NAMES.map((n) => [n, '']))
}

export function fillOrderForm(model: OrderFormModel, form?: OrderFormValues | null): OrderFormModel {
  for (const n of ORDER_FIELD_NAMES) model[n] = form && form[n] !== undefined && form[n] !== null ? String(form[n]) : ''
  return model
}

// The fields of model for POST (no empty ones) — trimmed.
export function formForCreate(model: OrderFormModel, keyType?: string | null): Record<string, string> {
  const out: Record<string, string> = {}
  for (const f of ORDER_FIELDS) {
    if (f.mainOnly && keyType !== 'main') continue
    const v = String(model[f.name] ?? '').trim()
    if (v) out[f.name] = v
  }
  return out
}

// The changed fields for PUT: a cleared field is sent as null.
export function formChanges(
  model: OrderFormModel,
  saved: OrderFormValues | null | undefined,
  keyType?: string | null,
): Record<string, string | null> {
  const out: Record<string, string | null> = {}
  for (const f of ORDER_FIELDS) {
    if (f.mainOnly && keyType !== 'main') continue
    const now = String(model[f.name] ?? '').trim()
    const before = saved && saved[f.name] !== undefined && saved[f.name] !== null ? String(saved[f.name]) : ''
    if (now !== before) out[f.name] = now === '' ? null : now
  }
  return out
}

export function displayValue(field: Pick<OrderField, 'kind'>, value: unknown): string {
  if (value === undefined || value === null || value === '') return ''
  if (field.kind === 'id_type') return ID_TYPES[String(value)] || String(value)
  return String(value)
}

// Document codes (documents_required) → names, for the upload card.
export const DOCUMENTS: Record<string, string> = {
  application_form: '数字证书用户申请表（盖章扫描件）',
  business_licence: '营业执照（电子营业执照或盖章复印件扫描件）',
  handler_id_front: '经办人身份证人像面（盖章复印件扫描件）',
  handler_id_back: '经办人身份证国徽面（盖章复印件扫描件）',
  authorisation_letter: '法人授权委托书（盖章扫描件）',
  seal_form: '签章采集表（加盖印模后扫描）',
}
