// The seal pictures of a main key (电子签章印模) without Vue: the impression boxes of the seal-form
// scan between scan pixels (what certdeskd proposes and cuts out) and the picture as the page shows
// it (scaled to the displayed width), moving and resizing a box by dragging with the box kept
// inside the scan, which slot belongs to which seal, and the verdict labels.
//
// Boxes are always kept in scan pixels; only the drawing converts. A drag is measured in display
// pixels from where it started and applied to the box the drag started with, so rounding never
// accumulates over the many pointer moves of one drag.

export type SealSlot = 'unit_1' | 'unit_2' | 'legal_1' | 'legal_2'
export type SealKind = 'org' | 'legal'
export interface Box {
  x: number
  y: number
  w: number
  h: number
}
export interface Size {
  width: number
  height: number
}
/** What a drag changes: the whole box, or one corner (north-west … south-east). */
export type DragMode = 'move' | 'nw' | 'ne' | 'sw' | 'se'

/** certdeskd refuses a box under 8 scan pixels a side (invalid_box). */
export const MIN_BOX_PX = 8

export const SLOTS: SealSlot[] = ['unit_1', 'unit_2', 'legal_1', 'legal_2']
export const SLOT_LABELS: Record<SealSlot, string> = {
  unit_1: '单位公章（第一枚）',
  unit_2: '单位公章（第二枚）',
  legal_1: '法人章（第一枚）',
  legal_2: '法人章（第二枚）',
}
export const SEAL_LABELS: Record<SealKind, string> = { org: '单位公章', legal: '法人章' }

/** The seal a box's impression is for: 单位公章 boxes → org, 法人章 boxes → legal. */
export function sealOfSlot(slot: SealSlot): SealKind {
  return slot.startsWith('unit') ? 'org' : 'legal'
}

/** Display pixels per scan pixel for a scan shown `displayWidth` wide (0 until both are known). */
export function displayScale(scan: Size, displayWidth: number): number {
  if (!(scan.width > 0) || !(displayWidth > 0)) return 0
  return displayWidth / scan.width
}

/** A scan box as CSS pixels on the displayed picture. */
export function toDisplay(box: Box, scale: number): Box {
  return { x: box.x * scale, y: box.y * scale, w: box.w * scale, h: box.h * scale }
}

/** A displayed box back in scan pixels (whole pixels). */
export function toScan(box: Box, scale: number): Box {
  if (!(scale > 0)) return { ...box }
  return roundBox({ x: box.x / scale, y: box.y / scale, w: box.w / scale, h: box.h / scale })
}

export function roundBox(b: Box): Box {
  return { x: Math.round(b.x), y: Math.round(b.y), w: Math.round(b.w), h: Math.round(b.h) }
}

const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), Math.max(lo, hi))

/** The box inside the scan: no larger than it, at least MIN_BOX_PX a side, not past an edge. */
export function clampBox(b: Box, scan: Size): Box {
  const w = clamp(b.w, MIN_BOX_PX, scan.width)
  const h = clamp(b.h, MIN_BOX_PX, scan.height)
  return { x: clamp(b.x, 0, scan.width - w), y: clamp(b.y, 0, scan.height - h), w, h }
}

/**
 * The box after a drag of (dx, dy) display pixels from its start: moved, or one corner pulled
 * (the opposite corner stays), then clamped to the scan and rounded to scan pixels.
 */
export function dragBox(start: Box, mode: DragMode, dx: number, dy: number, scale: number, scan: Size): Box {
  if (!(scale > 0)) return { ...start }
  const sx = dx / scale
  const sy = dy / scale
  if (mode === 'move') return roundBox(clampBox({ ...start, x: start.x + sx, y: start.y + sy }, scan))
  let left = start.x
  let top = start.y
  let right = start.x + start.w
  let bottom = start.y + start.h
  if (mode === 'nw' || mode === 'sw') left = clamp(left + sx, 0, right - MIN_BOX_PX)
  else right = clamp(right + sx, left + MIN_BOX_PX, scan.width)
  if (mode === 'nw' || mode === 'ne') top = clamp(top + sy, 0, bottom - MIN_BOX_PX)
  else bottom = clamp(bottom + sy, top + MIN_BOX_PX, scan.height)
  return roundBox(clampBox({ x: left, y: top, w: right - left, h: bottom - top }, scan))
}

/** Arrow keys move a box by `step` scan pixels (keyboard users and fine adjustment). */
export function nudgeBox(b: Box, key: string, step: number, scan: Size): Box | null {
  const d: Record<string, [number, number]> = {
    ArrowLeft: [-step, 0],
    ArrowRight: [step, 0],
    ArrowUp: [0, -step],
    ArrowDown: [0, step],
  }
  const m = d[key]
  if (!m) return null
  return roundBox(clampBox({ ...b, x: b.x + m[0], y: b.y + m[1] }, scan))
}

export const sameBox = (a: Box, b: Box) => a.x === b.x && a.y === b.y && a.w === b.w && a.h === b.h

/**
 * CSS that shows the scan's part under `box` as a square-ish preview `size` pixels on its longer
 * side (background of the scan picture, scaled and shifted): the "before" of a box.
 */
export function cropStyle(src: string, box: Box, scan: Size, size: number): Record<string, string> {
  const k = size / Math.max(box.w, box.h, 1)
  return {
    width: `${Math.round(box.w * k)}px`,
    height: `${Math.round(box.h * k)}px`,
    backgroundImage: `url("${src}")`,
    backgroundRepeat: 'no-repeat',
    backgroundSize: `${scan.width * k}px ${scan.height * k}px`,
    backgroundPosition: `${-box.x * k}px ${-box.y * k}px`,
  }
}

export type VerdictTag = 'success' | 'warning' | 'danger' | 'info'
const VERDICTS: Record<string, { text: string; type: VerdictTag }> = {
  ok: { text: '合格', type: 'success' },
  signature: { text: '手写签名（已接受）', type: 'success' },
  no_impression: { text: '无印模', type: 'danger' },
  cut: { text: '印模不完整', type: 'danger' },
  faint: { text: '过淡或模糊', type: 'danger' },
  tint: { text: '背景有色', type: 'danger' },
  blue_ink: { text: '蓝色印油', type: 'danger' },
  black_ink: { text: '黑色印迹', type: 'danger' },
  too_small: { text: '图片过小', type: 'danger' },
}
/** The Chinese label and tag colour of a quality verdict. */
export function verdictLabel(verdict: string | undefined): { text: string; type: VerdictTag } {
  if (!verdict) return { text: '未检查', type: 'info' }
  return VERDICTS[verdict] || { text: verdict, type: 'warning' }
}

/** The real width in mm staff give for their own PNG: 5 to 80 (certdeskd's range), else null. */
export function validWidthMm(v: unknown): number | null {
  const n = Number(v)
  return Number.isFinite(n) && n >= 5 && n <= 80 ? Math.round(n * 10) / 10 : null
}

/** A file's bytes as base64 (for PUT …/seal-pictures/{seal} {png}). */
export function bytesToBase64(bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(s)
}
