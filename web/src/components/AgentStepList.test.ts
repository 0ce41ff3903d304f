// AgentStepList: the steps of a run on a USB key, shared by production and renewal; a skipped step
// (a resumed run) shows as done with why, and each step carries its status for the browser tests.
import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import AgentStepList from './AgentStepList.vue'
import { runStep, StepFailure, type StepEvent } from '../agentSteps'

type S = 'issue' | 'write' | 'readback'
const titles: Record<S, string> = { issue: '签发证书', write: '写入证书', readback: '读回核对' }

describe('AgentStepList', () => {
  it('shows each step with its status; a skipped one is done, with its note', () => {
    const w = mount(AgentStepList, {
      props: {
        steps: ['issue', 'write', 'readback'] as S[],
        titles,
        states: { issue: { status: 'skip' as const, note: '沿用已签发的证书' }, write: { status: 'error' as const } },
        testPrefix: 'wstep',
      },
      global: { plugins: [ElementPlus] },
    })
    const issue = w.find('[data-test="wstep-issue"]')
    expect(issue.attributes('data-status')).toBe('skip')
    expect(issue.find('.el-step__head').classes()).toContain('is-finish')
    expect(issue.text()).toContain('沿用已签发的证书')
    expect(w.find('[data-test="wstep-write"] .el-step__head').classes()).toContain('is-error')
    expect(w.find('[data-test="wstep-readback"]').attributes('data-status')).toBe('wait')
    expect(w.text()).toContain('读回核对')
  })
})

describe('runStep', () => {
  it('reports running then done, or the failure with its message, and throws a StepFailure', async () => {
    const seen: StepEvent<S>[] = []
    expect(
      await runStep(
        (e: StepEvent<S>) => seen.push(e),
        'issue',
        async () => 7,
      ),
    ).toBe(7)
    const err = await runStep(
      (e: StepEvent<S>) => seen.push(e),
      'write',
      async () => Promise.reject({ message: 'PIN 码错误，还可重试 2 次', code: 'pin_incorrect', status: 409 }),
    ).catch((e) => e)
    expect(err).toBeInstanceOf(StepFailure)
    expect([err.step, err.code, err.status, err.message]).toEqual([
      'write',
      'pin_incorrect',
      409,
      'PIN 码错误，还可重试 2 次',
    ])
    expect(seen.map((e) => `${e.step}:${e.status}`)).toEqual([
      'issue:process',
      'issue:finish',
      'write:process',
      'write:error',
    ])
    expect(seen[3].note).toBe('PIN 码错误，还可重试 2 次')
  })
})
