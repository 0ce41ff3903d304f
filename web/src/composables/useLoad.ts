// Loading something for a page through api.js, with the error to show and a retry: the
// "load, show the error, 重试" pattern of the views.
//   const { data, loading, error, notFound, load } = useLoad(() => getAccount())
// load() runs on mount (immediate: false to call it yourself) and again for 重试; the data of
// the last success stays while a reload fails. error is the message to show ('' when none or
// when api.js already showed it: e.handled); a 404 sets notFound instead. quiet: a reload
// that leaves loading alone (the page keeps showing the data without a skeleton).
import { getCurrentInstance, onMounted, ref, type Ref } from 'vue'

export interface LoadOptions<T> {
  initial?: T | null
  immediate?: boolean
}

interface Failure {
  message?: string
  status?: number
  handled?: boolean
}

export interface LoadState<D, T> {
  data: Ref<D>
  loading: Ref<boolean>
  error: Ref<string>
  notFound: Ref<boolean>
  load: (opts?: { quiet?: boolean }) => Promise<T | null>
}

// With an initial value (a list's []) the data is never null.
export function useLoad<T>(fetch: () => Promise<T>, options: LoadOptions<T> & { initial: T }): LoadState<T, T>
export function useLoad<T>(fetch: () => Promise<T>, options?: LoadOptions<T>): LoadState<T | null, T>
export function useLoad<T>(
  fetch: () => Promise<T>,
  { initial = null, immediate = true }: LoadOptions<T> = {},
): LoadState<T | null, T> {
  const data = ref(initial) as Ref<T | null>
  const willLoad = immediate && !!getCurrentInstance()
  const loading = ref(willLoad) // a page that loads on mount starts with its skeleton
  const error = ref('')
  const notFound = ref(false)
  let seq = 0 // only the newest load's answer counts

  async function load({ quiet = false }: { quiet?: boolean } = {}): Promise<T | null> {
    const mine = ++seq
    if (!quiet) loading.value = true
    error.value = ''
    notFound.value = false
    try {
      const value = await fetch()
      if (mine === seq) data.value = value
      return value
    } catch (err) {
      const e = (err || {}) as Failure
      if (mine === seq) {
        if (e.status === 404) notFound.value = true
        else if (!e.handled) error.value = e.message || String(err)
      }
      return null
    } finally {
      if (mine === seq) loading.value = false
    }
  }

  if (willLoad) onMounted(() => load())
  return { data, loading, error, notFound, load }
}
