// The step list of a run on a USB key through certdesk-agent, shared by production (production.ts)
// and online renewal (renewal.ts): each step reports process → finish (or skip, with why), and the
// first failure stops the run as a StepFailure carrying the step and the Chinese message to show.

export type StepStatus = 'wait' | 'process' | 'finish' | 'skip' | 'error'

export interface StepEvent<S extends string> {
  step: S
  status: StepStatus
  note?: string
}

/** A run stopped at a step; message is the Chinese text to show. */
export class StepFailure<S extends string = string> extends Error {
  step: S
  code: string
  status: number
  constructor(step: S, cause: unknown) {
    const c = (cause || {}) as { message?: string; code?: string; status?: number }
    super(c.message || String(cause))
    this.name = 'StepFailure'
    this.step = step
    this.code = c.code || 'error'
    this.status = c.status || 0
  }
}

/** Runs fn as step: reports it running, then done, or failed (and throws the StepFailure on). */
export async function runStep<S extends string, T>(
  onStep: (e: StepEvent<S>) => void,
  step: S,
  fn: () => Promise<T>,
): Promise<T> {
  onStep({ step, status: 'process' })
  try {
    const v = await fn()
    onStep({ step, status: 'finish' })
    return v
  } catch (e) {
    const f = e instanceof StepFailure ? (e as StepFailure<S>) : new StepFailure(step, e)
    onStep({ step, status: 'error', note: f.message })
    throw f
  }
}
