// Server-side validation errors shown on forms: messages whose field is in the form's model go
// under that field (el-form-item :error), the others into a general list shown in an alert.
import { onBeforeUnmount, reactive, ref, watch, type Ref } from 'vue'
import type { ErrorItem } from './api'

/** What apply() takes: an ApiError (with its list) or any other error. */
export interface ShownError {
  message?: string
  handled?: boolean
  errors?: ErrorItem[]
}
export interface FormErrorState {
  fields: Record<string, string>
  general: string[]
}
type Alias = Record<string, string>

export function useFormErrors(model?: Record<string, unknown> | null, { alias = {} }: { alias?: Alias } = {}) {
  const state = reactive<FormErrorState>({ fields: {}, general: [] })
  let snapshot: Record<string, unknown> = {} // model values when the errors were shown

  function clear() {
    state.fields = {}
    state.general = []
  }

  function clearField(name: string) {
    if (!state.fields[name]) return
    const next = { ...state.fields }
    delete next[name]
    state.fields = next
  }

  // Shows err (an ApiError or any Error). Options:
  //   alias: server field name → form field for this request (e.g. {mobile: 'handler_mobile'})
  //   only:  the fields this request is about; other fields keep their current errors (used by
  //          the "获取验证码" buttons inside a larger form)
  function apply(err: unknown, { alias: extra = {}, only = null }: { alias?: Alias; only?: string[] | null } = {}) {
    const fields: Record<string, string> = only ? { ...state.fields } : {}
    if (only) for (const f of only) delete fields[f]
    const general: string[] = []
    const shown = err as ShownError | null | undefined
    if (shown && !shown.handled) {
      const list: ErrorItem[] =
        shown.errors && shown.errors.length ? shown.errors : [{ message: shown.message || String(err) }]
      const map: Alias = { ...alias, ...extra }
      for (const e of list) {
        const f = e.field ? map[e.field] || e.field : null
        if (f && model && Object.prototype.hasOwnProperty.call(model, f)) {
          fields[f] = fields[f] && fields[f] !== e.message ? `${fields[f]}；${e.message}` : e.message
        } else if (e.message && !general.includes(e.message)) {
          general.push(e.message)
        }
      }
    }
    snapshot = model ? { ...model } : {}
    state.fields = fields
    state.general = general
  }

  // Shows one message under a field (client-side checks).
  function set(field: string, message: string) {
    snapshot = model ? { ...model } : {}
    state.fields = { ...state.fields, [field]: message }
  }

  const has = (err: unknown, code: string) => {
    const errors = (err as ShownError | null | undefined)?.errors
    return Array.isArray(errors) && errors.some((e) => e.code === code)
  }

  // Editing a field clears its error. Change the model before apply(), not after: a value reset
  // by the page itself (e.g. the used-up captcha) would otherwise clear its own error.
  if (model) {
    watch(
      (): Record<string, unknown> => ({ ...model }),
      (now, before) => {
        for (const k of Object.keys(now)) {
          if (before && now[k] !== before[k] && now[k] !== snapshot[k] && state.fields[k]) clearField(k)
        }
      },
    )
  }

  return { state, apply, set, clear, clearField, has }
}

// Loose client-side check before asking for an SMS code (the server has the last word).
export function looksLikeMobile(s: unknown): boolean {
  const d = String(s || '')
    .replace(/[\s-]/g, '')
    .replace(/^\+?86/, '')
  return /^1\d{10}$/.test(d)
}

// true on narrow (phone) screens: forms put their labels on top there.
export function useNarrow(query = '(max-width: 760px)'): Ref<boolean> {
  const narrow = ref(false)
  if (typeof window !== 'undefined' && window.matchMedia) {
    const mq = window.matchMedia(query)
    const on = () => (narrow.value = mq.matches)
    on()
    mq.addEventListener('change', on)
    onBeforeUnmount(() => mq.removeEventListener('change', on))
  }
  return narrow
}
