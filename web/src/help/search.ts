// The manual page's search: which sections match the words typed, and the matches marked in the
// rendered HTML. Runs in the browser over the build-time sections (no server, no index: the
// manual is a few dozen sections).

export interface Searchable {
  id: string
  title: string
  text: string
}

/** The words of a query (split on white space, lower-cased, empty ones dropped). */
export function queryWords(query: string): string[] {
  return query
    .trim()
    .toLowerCase()
    .split(/\s+/)
    .filter((w) => w.length > 0)
}

/** The sections that contain every word of the query (all of them for an empty query). */
export function matchSections<T extends Searchable>(sections: T[], query: string): T[] {
  const words = queryWords(query)
  if (!words.length) return sections
  return sections.filter((s) => {
    const hay = `${s.title} ${s.text}`.toLowerCase()
    return words.every((w) => hay.includes(w))
  })
}

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" }
const unescapeHtml = (s: string) => s.replace(/&(?:amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e])
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * The HTML with each word of the query wrapped in <mark> in the text between tags only (never in
 * a tag, an attribute or the middle of an entity such as &amp;amp;).
 */
export function highlightHtml(html: string, query: string): string {
  const words = queryWords(query)
  if (!words.length) return html
  const re = new RegExp(`(${words.map(escapeRegExp).join('|')})`, 'gi')
  return html
    .split(/(<[^>]*>)/)
    .map((part) => {
      if (part.startsWith('<')) return part
      // split() with a capturing group: odd pieces are the matches
      return unescapeHtml(part)
        .split(re)
        .map((piece, i) => (i % 2 ? `<mark class="manual-hit">${escapeHtml(piece)}</mark>` : escapeHtml(piece)))
        .join('')
    })
    .join('')
}

/** Chapters with their sections, for the table of contents. */
export function tableOfContents<T extends { id: string; level: number; title: string }>(
  sections: T[],
): { chapter: T; children: T[] }[] {
  const toc: { chapter: T; children: T[] }[] = []
  for (const s of sections) {
    if (s.level === 2 || !toc.length) toc.push({ chapter: s, children: [] })
    else toc[toc.length - 1].children.push(s)
  }
  return toc
}
