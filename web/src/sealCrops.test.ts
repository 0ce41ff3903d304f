import { describe, expect, it } from 'vitest'
import {
  MIN_BOX_PX,
  bytesToBase64,
  clampBox,
  cropStyle,
  displayScale,
  dragBox,
  nudgeBox,
  sealOfSlot,
  toDisplay,
  toScan,
  validWidthMm,
  verdictLabel,
} from './sealCrops'

const scan = { width: 2480, height: 3508 } // A4 at 300 dpi

describe('sealCrops', () => {
  it('scales between scan pixels and the displayed picture', () => {
    const s = displayScale(scan, 620)
    expect(s).toBe(0.25)
    const box = { x: 400, y: 1200, w: 640, h: 640 }
    expect(toDisplay(box, s)).toEqual({ x: 100, y: 300, w: 160, h: 160 })
    expect(toScan(toDisplay(box, s), s)).toEqual(box)
    expect(displayScale(scan, 0)).toBe(0)
    expect(displayScale({ width: 0, height: 0 }, 500)).toBe(0)
  })

  it('moves a box by display pixels, in scan pixels, kept inside the scan', () => {
    const box = { x: 400, y: 1200, w: 640, h: 640 }
    expect(dragBox(box, 'move', 3, -2, 0.25, scan)).toEqual({ x: 412, y: 1192, w: 640, h: 640 })
    // past the left and top edges: stops at 0
    expect(dragBox(box, 'move', -500, -1000, 0.25, scan)).toEqual({ x: 0, y: 0, w: 640, h: 640 })
    // past the right and bottom edges: stops with the box inside
    expect(dragBox(box, 'move', 5000, 5000, 0.25, scan)).toEqual({ x: 2480 - 640, y: 3508 - 640, w: 640, h: 640 })
    // no scale yet: unchanged
    expect(dragBox(box, 'move', 10, 10, 0, scan)).toEqual(box)
  })

  it('resizes from a corner, the opposite corner fixed, never under the minimum', () => {
    const box = { x: 400, y: 1200, w: 640, h: 640 }
    expect(dragBox(box, 'se', 10, 5, 0.5, scan)).toEqual({ x: 400, y: 1200, w: 660, h: 650 })
    expect(dragBox(box, 'nw', 10, 5, 0.5, scan)).toEqual({ x: 420, y: 1210, w: 620, h: 630 })
    expect(dragBox(box, 'ne', -10, -5, 0.5, scan)).toEqual({ x: 400, y: 1190, w: 620, h: 650 })
    expect(dragBox(box, 'sw', -10, 5, 0.5, scan)).toEqual({ x: 380, y: 1200, w: 660, h: 650 })
    // collapsed: the minimum size at the fixed corner
    const tiny = dragBox(box, 'se', -10000, -10000, 1, scan)
    expect(tiny).toEqual({ x: 400, y: 1200, w: MIN_BOX_PX, h: MIN_BOX_PX })
    const tinyNw = dragBox(box, 'nw', 10000, 10000, 1, scan)
    expect(tinyNw).toEqual({ x: 1040 - MIN_BOX_PX, y: 1840 - MIN_BOX_PX, w: MIN_BOX_PX, h: MIN_BOX_PX })
    // pulled past the scan's edge: up to the edge only
    expect(dragBox(box, 'se', 100000, 100000, 1, scan)).toEqual({ x: 400, y: 1200, w: 2080, h: 2308 })
    expect(dragBox(box, 'nw', -100000, -100000, 1, scan)).toEqual({ x: 0, y: 0, w: 1040, h: 1840 })
  })

  it('clamps a box larger than the scan or outside it', () => {
    expect(clampBox({ x: -5, y: -5, w: 9999, h: 9999 }, { width: 100, height: 80 })).toEqual({
      x: 0,
      y: 0,
      w: 100,
      h: 80,
    })
    expect(clampBox({ x: 95, y: 75, w: 2, h: 2 }, { width: 100, height: 80 })).toEqual({
      x: 100 - MIN_BOX_PX,
      y: 80 - MIN_BOX_PX,
      w: MIN_BOX_PX,
      h: MIN_BOX_PX,
    })
  })

  it('nudges with the arrow keys', () => {
    const box = { x: 0, y: 10, w: 50, h: 50 }
    expect(nudgeBox(box, 'ArrowRight', 2, scan)).toEqual({ x: 2, y: 10, w: 50, h: 50 })
    expect(nudgeBox(box, 'ArrowLeft', 2, scan)).toEqual({ x: 0, y: 10, w: 50, h: 50 })
    expect(nudgeBox(box, 'ArrowUp', 4, scan)).toEqual({ x: 0, y: 6, w: 50, h: 50 })
    expect(nudgeBox(box, 'Enter', 2, scan)).toBeNull()
  })

  it('shows the scan under a box as the before picture', () => {
    const st = cropStyle('/scan.png', { x: 100, y: 200, w: 400, h: 200 }, { width: 1000, height: 2000 }, 160)
    expect(st.width).toBe('160px')
    expect(st.height).toBe('80px')
    expect(st.backgroundSize).toBe('400px 800px')
    expect(st.backgroundPosition).toBe('-40px -80px')
    expect(st.backgroundImage).toBe('url("/scan.png")')
  })

  it('names seals, verdicts and checks the width', () => {
    expect(sealOfSlot('unit_2')).toBe('org')
    expect(sealOfSlot('legal_1')).toBe('legal')
    expect(verdictLabel('ok')).toEqual({ text: '合格', type: 'success' })
    expect(verdictLabel('cut').type).toBe('danger')
    expect(verdictLabel(undefined).type).toBe('info')
    expect(verdictLabel('new_one')).toEqual({ text: 'new_one', type: 'warning' })
    expect(validWidthMm('42')).toBe(42)
    expect(validWidthMm(4)).toBeNull()
    expect(validWidthMm(81)).toBeNull()
    expect(validWidthMm('x')).toBeNull()
  })

  it('encodes bytes as base64, large files in chunks', () => {
    expect(bytesToBase64(new Uint8Array([137, 80, 78, 71]))).toBe('iVBORw==')
    const big = new Uint8Array(100000).map((_, i) => i & 255)
    const back = Uint8Array.from(atob(bytesToBase64(big)), (c) => c.charCodeAt(0))
    expect(back).toEqual(big)
  })
})
