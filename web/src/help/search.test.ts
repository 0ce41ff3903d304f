import { describe, expect, it } from 'vitest'
import { highlightHtml, matchSections, queryWords, tableOfContents } from './search'

const S = [
  { id: 'login', level: 2, title: '登录', text: '登录 输入统一社会信用代码、密码和图片验证码' },
  { id: 'faq', level: 2, title: '常见问题', text: '常见问题' },
  { id: 'faq-1', level: 3, title: '无法弹出支付二维码怎么办？', text: '无法弹出支付二维码 刷新页面 清除缓存' },
  { id: 'faq-2', level: 3, title: '支持哪些浏览器？', text: '谷歌（Chrome）浏览器 Edge 360 浏览器极速模式' },
]

describe('manual search', () => {
  it('splits the query into lower-case words', () => {
    expect(queryWords('  Chrome   浏览器 ')).toEqual(['chrome', '浏览器'])
    expect(queryWords('   ')).toEqual([])
  })

  it('keeps every section for an empty query, else those with all the words (any case)', () => {
    expect(matchSections(S, '')).toHaveLength(4)
    expect(matchSections(S, '二维码').map((s) => s.id)).toEqual(['faq-1'])
    expect(matchSections(S, 'chrome 极速').map((s) => s.id)).toEqual(['faq-2'])
    expect(matchSections(S, 'chrome 二维码')).toEqual([])
  })

  it('marks the words in the text, never in tags, attributes or entities', () => {
    const html = '<p>点击<a href="/help#img">图片</a>验证码 &amp; img &lt;b&gt;</p><img src="/img.png" alt="img">'
    const out = highlightHtml(html, 'img')
    expect(out).toBe(
      '<p>点击<a href="/help#img">图片</a>验证码 &amp; <mark class="manual-hit">img</mark> &lt;b&gt;</p><img src="/img.png" alt="img">',
    )
    expect(highlightHtml('<p>a &amp; b</p>', 'amp')).toBe('<p>a &amp; b</p>')
    expect(highlightHtml('<p>a &amp; b</p>', '&')).toBe('<p>a <mark class="manual-hit">&amp;</mark> b</p>')
    expect(highlightHtml('<p>1+1 (x)</p>', '(x)')).toBe('<p>1+1 <mark class="manual-hit">(x)</mark></p>')
    expect(highlightHtml('<p>Chrome 浏览器</p>', 'chrome 浏览')).toBe(
      '<p><mark class="manual-hit">Chrome</mark> <mark class="manual-hit">浏览</mark>器</p>',
    )
    expect(highlightHtml('<p>x</p>', ' ')).toBe('<p>x</p>')
  })

  it('builds the table of contents: chapters with their sections', () => {
    const toc = tableOfContents(S)
    expect(toc.map((c) => [c.chapter.id, c.children.map((s) => s.id)])).toEqual([
      ['login', []],
      ['faq', ['faq-1', 'faq-2']],
    ])
  })
})
