// SealCropEditor: the boxes drawn at the displayed scale, a drag moves the box (in scan pixels)
// and says which box was adjusted; a corner resizes; the arrow keys nudge.
import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import SealCropEditor from './SealCropEditor.vue'
import type { Box, SealSlot } from '../../sealCrops'

type Boxes = Partial<Record<SealSlot, Box>>

async function mounted(boxes: Boxes) {
  const w = mount(SealCropEditor, {
    attachTo: document.body,
    props: {
      src: '/scan.png',
      scan: { width: 2480, height: 3508 },
      angle: 0,
      modelValue: boxes,
      'onUpdate:modelValue': (v: Boxes) => w.setProps({ modelValue: v }),
    },
  })
  // happy-dom lays nothing out: the picture is "shown" 620 px wide (a quarter of the scan)
  const img = w.find('img').element as HTMLImageElement
  Object.defineProperty(img, 'clientWidth', { value: 620, configurable: true })
  await w.find('img').trigger('load')
  return w
}

function pointer(target: EventTarget, type: string, x: number, y: number) {
  target.dispatchEvent(new PointerEvent(type, { clientX: x, clientY: y, button: 0, bubbles: true }))
}

describe('SealCropEditor', () => {
  it('draws the boxes scaled to the displayed picture', async () => {
    const w = await mounted({ unit_1: { x: 400, y: 1200, w: 640, h: 640 } })
    const box = w.find('[data-test=seal-box-unit_1]')
    expect(box.attributes('style')).toContain('left: 100px')
    expect(box.attributes('style')).toContain('top: 300px')
    expect(box.attributes('style')).toContain('width: 160px')
    w.unmount()
  })

  it('moves a box by dragging and reports it once, at the end', async () => {
    const w = await mounted({
      unit_1: { x: 400, y: 1200, w: 640, h: 640 },
      legal_1: { x: 1500, y: 1300, w: 330, h: 330 },
    })
    const el = w.find('[data-test=seal-box-unit_1]').element
    pointer(el, 'pointerdown', 200, 400)
    pointer(window, 'pointermove', 203, 398)
    pointer(window, 'pointermove', 205, 396)
    await w.vm.$nextTick()
    expect(w.emitted('adjusted')).toBeUndefined()
    pointer(window, 'pointerup', 205, 396)
    const boxes = w.props('modelValue') as Boxes
    expect(boxes.unit_1).toEqual({ x: 420, y: 1184, w: 640, h: 640 })
    expect(boxes.legal_1).toEqual({ x: 1500, y: 1300, w: 330, h: 330 })
    expect(w.emitted('adjusted')).toEqual([['unit_1']])
    expect(w.emitted('select')).toEqual([['unit_1']])
    w.unmount()
  })

  it('resizes by a corner; a click without moving reports nothing', async () => {
    const w = await mounted({ legal_2: { x: 1500, y: 1300, w: 330, h: 330 } })
    const corner = w.find('[data-test=seal-box-legal_2-se]').element
    pointer(corner, 'pointerdown', 10, 10)
    pointer(window, 'pointermove', 20, 15)
    pointer(window, 'pointerup', 20, 15)
    await w.vm.$nextTick()
    expect((w.props('modelValue') as Boxes).legal_2).toEqual({ x: 1500, y: 1300, w: 370, h: 350 })
    const box = w.find('[data-test=seal-box-legal_2]').element
    pointer(box, 'pointerdown', 50, 50)
    pointer(window, 'pointerup', 50, 50)
    expect(w.emitted('adjusted')).toEqual([['legal_2']])
    w.unmount()
  })

  it('nudges the focused box with the arrow keys', async () => {
    const w = await mounted({ unit_2: { x: 10, y: 10, w: 100, h: 100 } })
    await w.find('[data-test=seal-box-unit_2]').trigger('keydown', { key: 'ArrowRight', shiftKey: true })
    await w.find('[data-test=seal-box-unit_2]').trigger('keydown', { key: 'ArrowUp' })
    expect((w.props('modelValue') as Boxes).unit_2).toEqual({ x: 20, y: 9, w: 100, h: 100 })
    expect(w.emitted('adjusted')).toEqual([['unit_2'], ['unit_2']])
    w.unmount()
  })
})
