// Paging through a list the server hands out in pages with a cursor (limit + next): the page
// shown, its items, whether there is a next one, loading and the error to show.
//   const paging = usePaging((p) => listOrders(p))
//   paging.load(0) … paging.load(paging.page.value + 1); paging.restart() after the filters
//   changed; paging.reload() shows the current page again (after an edit, for 重试).
// The cursors of the pages seen are kept, so 上一页 goes back without the server's help.
import { ref, type Ref } from 'vue'

export interface PageRequest {
  limit: number
  next: string | null
}

export interface PageReply<T> {
  items?: T[]
  next?: string | null
}

interface Failure {
  message?: string
  handled?: boolean
}

export const PAGE_SIZE = 20

export function usePaging<T>(fetchPage: (req: PageRequest) => Promise<PageReply<T>>, size = PAGE_SIZE) {
  const cursors = ref<Array<string | null>>([null]) // cursors[i] fetches page i (null: the first)
  const page = ref(0)
  const items = ref([]) as Ref<T[]>
  const hasNext = ref(false)
  const loading = ref(false)
  const error = ref('')

  async function load(index: number) {
    loading.value = true
    error.value = ''
    try {
      const reply = await fetchPage({ limit: size, next: cursors.value[index] ?? null })
      items.value = reply.items || []
      page.value = index
      hasNext.value = !!reply.next
      cursors.value = cursors.value.slice(0, index + 1)
      if (reply.next) cursors.value.push(reply.next)
    } catch (err) {
      const e = (err || {}) as Failure
      if (!e.handled) error.value = e.message || String(err)
    } finally {
      loading.value = false
    }
  }

  const reload = () => load(page.value)

  // From the first page again (the search changed): the old cursors mean nothing now.
  function restart() {
    cursors.value = [null]
    return load(0)
  }

  return { page, size, items, hasNext, loading, error, load, reload, restart }
}
