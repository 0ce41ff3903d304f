// The payment step's behaviour, written once for the order page (OrderPayment: the order's
// payment routes, the session) and the renewal wizard (RenewPayment: the renewal's routes, the
// renewal token): which provider is chosen, asking for a QR code (a new one after it expired), the
// countdown to its expiry, and polling every 3 s while the page is visible until the order has left
// awaiting_payment (the server asks the provider itself when the notification is late).
//   const pay = usePaymentPoll({ load: () => getPayment(no), start: (p) => startPayment(no, p),
//                                onSettled: (reply) => emit('paid', reply) })
// The component keeps only what differs: how it loads the first time, the QR picture's URL, and
// what it does once paid.
import { computed, onBeforeUnmount, onMounted, ref } from 'vue'
import { asApiError, type ApiError, type PayProviderCode, type Schemas } from '../api'
import type { PayError } from '../components/order/types'

export type Payment = Schemas['Payment']

export interface PaymentPollOptions {
  /** GET the payment step (polled). */
  load: () => Promise<Payment>
  /** POST: a QR code of provider. */
  start: (provider: PayProviderCode) => Promise<Payment>
  /** The order left awaiting_payment (paid, or anything else): polling stops. */
  onSettled: (reply: Payment) => void
  /** A refused POST, after its error is shown (e.g. a state conflict: the page reloads the order). */
  onStartError?: (e: ApiError) => void
  /** Poll also while no attempt is open (the renewal: another tab may be paying). */
  pollAlways?: boolean
  pollMs?: number
}

export const PAY_PROVIDERS: PayProviderCode[] = ['wxpay', 'alipay']

export function usePaymentPoll(opts: PaymentPollOptions) {
  const info = ref<Payment | null>(null) // the last GET/POST reply
  const selected = ref<PayProviderCode | ''>('') // chosen here, or the open attempt's found on arrival
  const creating = ref<PayProviderCode | ''>('') // provider being asked for a QR code
  const error = ref<PayError | null>(null) // of a refused POST
  const qrFailed = ref(false)
  const now = ref(Date.now())
  let done = false
  let gen = 0 // bumped by every POST: a poll that started before it is stale

  const attempt = computed(() => info.value?.attempt || null)
  const isOpen = computed(() => attempt.value?.state === 'open')
  const remainingMs = computed(() => {
    const t = Date.parse(attempt.value?.expires_at || '')
    return isOpen.value && !Number.isNaN(t) ? Math.max(0, t - now.value) : 0
  })
  // The attempt of the chosen provider, if any.
  const current = computed(() => (attempt.value && attempt.value.provider === selected.value ? attempt.value : null))
  const live = computed(() => !!current.value && isOpen.value && remainingMs.value > 0)
  const expired = computed(
    () =>
      !!current.value &&
      !creating.value &&
      !error.value &&
      (current.value.state === 'closed' || (isOpen.value && remainingMs.value <= 0)),
  )
  const countdown = computed(() => {
    const s = Math.ceil(remainingMs.value / 1000)
    return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`
  })

  // A reply of GET/POST: settled (the order moved on) or the current attempt.
  function take(reply: Payment | null | undefined) {
    if (!reply || done) return
    info.value = reply
    if (reply.order_state && reply.order_state !== 'awaiting_payment') {
      done = true
      opts.onSettled(reply)
      return
    }
    const a = reply.attempt
    // an attempt opened elsewhere (another tab) is followed
    if (a && a.state === 'open' && (!selected.value || (a.provider !== selected.value && !creating.value)))
      selected.value = a.provider
  }

  async function choose(provider: PayProviderCode, { renew = false }: { renew?: boolean } = {}) {
    if (creating.value || done) return
    if (!renew && provider === selected.value && live.value) return
    selected.value = provider
    creating.value = provider
    gen++
    error.value = null
    qrFailed.value = false
    try {
      take(await opts.start(provider))
      now.value = Date.now()
    } catch (caught) {
      const e = asApiError(caught)
      if (e.handled) return
      error.value = { message: e.message, provider, status: e.status }
      opts.onStartError?.(e)
    } finally {
      creating.value = ''
    }
  }

  let polling = false
  async function poll() {
    if (polling || done || (!opts.pollAlways && !isOpen.value) || document.visibilityState !== 'visible') return
    polling = true
    const g = gen
    try {
      const reply = await opts.load()
      if (g === gen && !creating.value) take(reply)
    } catch {
      /* a lost poll is retried at the next tick; a 401 is handled by the API client */
    } finally {
      polling = false
    }
  }

  /** Forgets everything (another order shown in the same component). */
  function reset() {
    info.value = null
    selected.value = ''
    error.value = null
    done = false
  }

  function onVisible() {
    if (document.visibilityState === 'visible') {
      now.value = Date.now()
      poll()
    }
  }
  let pollTimer: ReturnType<typeof setInterval> | undefined
  let clockTimer: ReturnType<typeof setInterval> | undefined
  onMounted(() => {
    pollTimer = setInterval(poll, opts.pollMs ?? 3000)
    clockTimer = setInterval(() => (now.value = Date.now()), 500)
    document.addEventListener('visibilitychange', onVisible)
  })
  onBeforeUnmount(() => {
    clearInterval(pollTimer)
    clearInterval(clockTimer)
    document.removeEventListener('visibilitychange', onVisible)
  })

  return {
    info,
    selected,
    creating,
    error,
    qrFailed,
    now,
    attempt,
    isOpen,
    remainingMs,
    current,
    live,
    expired,
    countdown,
    take,
    choose,
    poll,
    reset,
  }
}
