// The user manual (/help): docs/manual/*.md rendered at build time into the virtual module
// `virtual:manual` (sections of HTML with plain text for the page's search, and the list of
// screenshots with the page each one shows).
//
// Why at build time: the page needs no Markdown parser in the browser, and a broken manual (a
// screenshot that is not there, a screenshot reference without its page) fails `vite build`.
// Every screenshot is written `![登录](img/login.png "route:/login title:登录")`: the route and the
// title of the page it shows. src/help/manualRoutes.test.ts (npm test, CI) resolves each route with
// the app's router and fails when the page's title is no longer that title (the page changed name,
// so the screenshot and the text around it must be looked at again); checkRouteTitles below does
// the same in `vite build` from src/router.ts's source.
import fs from 'node:fs'
import path from 'node:path'
import MarkdownIt, { type Token } from 'markdown-it'
import ts from 'typescript'
import { searchForWorkspaceRoot, type Plugin } from 'vite'

export interface ManualSection {
  /** Anchor of the heading (chapter file name, then -1, -2 … for its sub-sections). */
  id: string
  /** 2 for a chapter, 3 for a section of it. */
  level: number
  title: string
  /** Rendered HTML of the heading's content (without the heading); images as __CDIMG_n__. */
  html: string
  /** Plain text of the heading and its content, for the search. */
  text: string
}

export interface ManualShot {
  /** The picture's path under docs/manual (img/login.png). */
  src: string
  route: string
  title: string
  /** Where it is referenced: docs/manual/x.md:line. */
  where: string
}

export interface Manual {
  sections: ManualSection[]
  shots: ManualShot[]
}

const SHOT_TITLE = /^route:(\S+)\s+title:(.+)$/

/** Renders the manual's Markdown files (sorted by name); throws on a broken screenshot reference. */
export function renderManual(dir: string): Manual {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.md'))
    .sort()
  const md = new MarkdownIt({ html: false, linkify: false, typographer: false })
  const manual: Manual = { sections: [], shots: [] }
  const errors: string[] = []
  for (const file of files) {
    renderFile(md, dir, file, manual, errors)
  }
  if (errors.length) throw new Error(`用户手册 (docs/manual) 有错误：\n  ${errors.join('\n  ')}`)
  return manual
}

function renderFile(md: MarkdownIt, dir: string, file: string, manual: Manual, errors: string[]) {
  const base = file.replace(/\.md$/, '').replace(/^\d+-/, '')
  const tokens = md.parse(fs.readFileSync(path.join(dir, file), 'utf8'), {})
  let current: { section: ManualSection; start: number } | null = null
  let sub = 0
  const close = (end: number) => {
    if (!current) return
    const body = tokens.slice(current.start, end)
    current.section.html = md.renderer.render(body, md.options, {})
    current.section.text = `${current.section.title} ${plainText(body)}`.replace(/\s+/g, ' ').trim()
    manual.sections.push(current.section)
  }
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]
    if (tok.type === 'inline') collectShots(tok, dir, file, manual, errors)
    if (tok.type !== 'heading_open' || (tok.tag !== 'h2' && tok.tag !== 'h3')) continue
    close(i)
    const level = tok.tag === 'h2' ? 2 : 3
    if (level === 2 && manual.sections.some((s) => s.id === base)) errors.push(`${file}: 一个文件只能有一个 ## 章节`)
    const id = level === 2 ? base : `${base}-${++sub}`
    const title = tokens[i + 1].content.trim()
    current = { section: { id, level, title, html: '', text: '' }, start: i + 3 }
    i += 2
  }
  close(tokens.length)
  if (!manual.sections.some((s) => s.id === base)) errors.push(`${file}: 缺少 ## 章节标题`)
}

// Records each image of an inline token as a screenshot and points its src at a placeholder the
// virtual module replaces with the bundled file's URL.
function collectShots(tok: Token, dir: string, file: string, manual: Manual, errors: string[]) {
  for (const child of tok.children || []) {
    if (child.type !== 'image') continue
    const src = child.attrGet('src') || ''
    const where = `docs/manual/${file}:${(tok.map?.[0] ?? 0) + 1}`
    const m = SHOT_TITLE.exec(child.attrGet('title') || '')
    if (!m) {
      errors.push(`${where}: 截图 ${src} 须写明所示页面，如 "route:/login title:登录"`)
      continue
    }
    if (!fs.existsSync(path.join(dir, src))) {
      errors.push(`${where}: 截图 ${src} 不存在（由 tests/e2e/manual.test.mjs 生成：node tests/e2e/run.mjs manual）`)
    }
    const size = pngSize(path.join(dir, src))
    child.attrs = [
      ['src', `__CDIMG_${manual.shots.length}__`],
      ['alt', child.content],
      // the picture's size keeps the page's layout still while lazy pictures load (links to #sections)
      ...(size
        ? [['width', String(size.width)] as [string, string], ['height', String(size.height)] as [string, string]]
        : []),
      ['loading', 'lazy'],
      ['class', 'manual-shot'],
    ]
    manual.shots.push({ src, route: m[1], title: m[2].trim(), where })
  }
}

// Width and height from a PNG's IHDR chunk (null when the file is missing or not a PNG).
function pngSize(file: string): { width: number; height: number } | null {
  if (!fs.existsSync(file)) return null
  const head = Buffer.alloc(24)
  const fd = fs.openSync(file, 'r')
  try {
    if (fs.readSync(fd, head, 0, 24, 0) < 24) return null
  } finally {
    fs.closeSync(fd)
  }
  if (head.toString('latin1', 12, 16) !== 'IHDR') return null
  return { width: head.readUInt32BE(16), height: head.readUInt32BE(20) }
}

function plainText(tokens: Token[]): string {
  const parts: string[] = []
  for (const tok of tokens) {
    if (tok.type === 'inline') parts.push(tok.content.replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1'))
    else if (tok.type === 'fence' || tok.type === 'code_block') parts.push(tok.content)
  }
  return parts.join(' ')
}

/** Route path → meta.title of every route in router.ts's source (children under their parent). */
export function routeTitles(routerSource: string): Map<string, string> {
  const sf = ts.createSourceFile('router.ts', routerSource, ts.ScriptTarget.Latest, true)
  const titles = new Map<string, string>()
  const prop = (o: ts.ObjectLiteralExpression, name: string) =>
    o.properties.find((p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && p.name.getText() === name)
  const visitRecord = (o: ts.ObjectLiteralExpression, parent: string) => {
    const p = prop(o, 'path')
    if (!p || !ts.isStringLiteral(p.initializer)) return
    const own = p.initializer.text
    const full = own.startsWith('/') ? own : `${parent.replace(/\/$/, '')}/${own}`.replace(/\/$/, '') || '/'
    const meta = prop(o, 'meta')
    const title = meta && ts.isObjectLiteralExpression(meta.initializer) ? prop(meta.initializer, 'title') : undefined
    if (title && ts.isStringLiteral(title.initializer)) titles.set(full === '' ? '/' : full, title.initializer.text)
    const children = prop(o, 'children')
    if (children && ts.isArrayLiteralExpression(children.initializer)) {
      for (const c of children.initializer.elements) if (ts.isObjectLiteralExpression(c)) visitRecord(c, full)
    }
  }
  sf.forEachChild(function find(node) {
    if (ts.isVariableDeclaration(node) && node.name.getText() === 'routes' && node.initializer) {
      if (ts.isArrayLiteralExpression(node.initializer)) {
        for (const e of node.initializer.elements) if (ts.isObjectLiteralExpression(e)) visitRecord(e, '')
      }
      return
    }
    node.forEachChild(find)
  })
  return titles
}

/** Errors for the screenshots whose route is not in the route table or has another title. */
export function checkRouteTitles(shots: ManualShot[], titles: Map<string, string>): string[] {
  const errors: string[] = []
  for (const s of shots) {
    const now = titles.get(s.route)
    if (now === undefined) errors.push(`${s.where}: 截图 ${s.src} 所示页面 ${s.route} 已不在路由表中（src/router.ts）`)
    else if (now !== s.title) {
      errors.push(
        `${s.where}: 截图 ${s.src} 所示页面 ${s.route} 的标题已由“${s.title}”改为“${now}”：请重拍截图并核对手册`,
      )
    }
  }
  return errors
}

/** The virtual module's code: the sections with the screenshots imported as assets. */
export function manualModule(manual: Manual, dir: string, serve = false): string {
  // The build bundles each picture as an asset (hashed URL); the dev server (and Vitest) serve the
  // file where it is, as /@fs/<absolute path> (allowed by server.fs.allow below).
  const imports = manual.shots.map((s, i) => {
    const file = path.join(dir, s.src)
    return serve ? `const img${i} = ${JSON.stringify(`/@fs${file}`)}` : `import img${i} from ${JSON.stringify(file)}`
  })
  return [
    ...imports,
    `const imgs = [${manual.shots.map((_, i) => `img${i}`).join(', ')}]`,
    `const raw = ${JSON.stringify(manual.sections)}`,
    `export const sections = raw.map((s) => ({ ...s, html: s.html.replace(/__CDIMG_(\\d+)__/g, (_, i) => imgs[Number(i)]) }))`,
    `export const shots = ${JSON.stringify(manual.shots)}`,
    '',
  ].join('\n')
}

const ID = 'virtual:manual'
const RESOLVED = '\0virtual:manual'

/** Vite plugin: `import { sections, shots } from 'virtual:manual'`. */
export function manualPlugin(opts: { dir: string; router: string }): Plugin {
  let serve = false
  return {
    name: 'certdesk-manual',
    configResolved(config) {
      serve = config.command === 'serve'
    },
    config() {
      // The screenshots live outside web/: let the dev server read them.
      return { server: { fs: { allow: [searchForWorkspaceRoot(process.cwd()), opts.dir] } } }
    },
    resolveId(id) {
      return id === ID ? RESOLVED : undefined
    },
    load(id) {
      if (id !== RESOLVED) return undefined
      const manual = renderManual(opts.dir)
      // rebuilt when a chapter or the router changes (files only: the dev server resolves them)
      for (const f of fs.readdirSync(opts.dir)) if (f.endsWith('.md')) this.addWatchFile(path.join(opts.dir, f))
      this.addWatchFile(opts.router)
      const errors = checkRouteTitles(manual.shots, routeTitles(fs.readFileSync(opts.router, 'utf8')))
      if (errors.length) throw new Error(`用户手册 (docs/manual) 有错误：\n  ${errors.join('\n  ')}`)
      return manualModule(manual, opts.dir, serve)
    },
  }
}
