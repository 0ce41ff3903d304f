import { describe, expect, it } from 'vitest'
import { useLoad } from './useLoad'

const fail = (props: Record<string, unknown>) => Object.assign(new Error(String(props.message || '')), props)

describe('useLoad', () => {
  it('loads, and keeps the data of the last success while a reload fails', async () => {
    let n = 0
    const { data, error, loading, load } = useLoad(async () => {
      n++
      if (n === 2) throw fail({ message: '网络错误' })
      return { n }
    })
    expect(loading.value).toBe(false)
    await load()
    expect(data.value).toEqual({ n: 1 })
    await load()
    expect(error.value).toBe('网络错误')
    expect(data.value).toEqual({ n: 1 })
    await load() // 重试
    expect(error.value).toBe('')
    expect(data.value).toEqual({ n: 3 })
  })

  it('a 404 is notFound, not an error; a handled error (401 redirect) shows nothing', async () => {
    const nf = useLoad(() => Promise.reject(fail({ message: '订单不存在', status: 404 })))
    await nf.load()
    expect(nf.notFound.value).toBe(true)
    expect(nf.error.value).toBe('')
    const handled = useLoad(() => Promise.reject(fail({ message: '请先登录', status: 401, handled: true })))
    await handled.load()
    expect(handled.error.value).toBe('')
    expect(handled.notFound.value).toBe(false)
  })

  it('loading is on while a load runs, off with quiet', async () => {
    let release = () => {}
    const { loading, load } = useLoad(() => new Promise<number>((r) => (release = () => r(1))), {
      initial: 0,
    })
    const p = load()
    expect(loading.value).toBe(true)
    release()
    await p
    expect(loading.value).toBe(false)
    const q = load({ quiet: true })
    expect(loading.value).toBe(false)
    release()
    await q
  })

  it('only the newest load counts when two overlap', async () => {
    const waiting: Array<(v: string) => void> = []
    const { data, load } = useLoad(() => new Promise<string>((r) => waiting.push(r)))
    const first = load()
    const second = load()
    waiting[1]!('new')
    await second
    waiting[0]!('old')
    await first
    expect(data.value).toBe('new')
  })
})

describe('useLoad with an initial value', () => {
  it('starts from it (a list: [])', async () => {
    const { data, load } = useLoad(async () => ['a', 'b'], { initial: [] as string[] })
    expect(data.value).toEqual([])
    await load()
    expect(data.value).toEqual(['a', 'b'])
  })
})
