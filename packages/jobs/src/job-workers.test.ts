import { describe, expect, it } from 'vitest';
import { JobName } from './catalog.js';
import { createJobWorkers, MissingHandlerError, type JobHandlers } from './job-workers.js';

describe('createJobWorkers', () => {
  it('refuses to build any worker when a served job name has no handler', () => {
    // What a caller that bypasses the types (plain JS, a cast) would hand in.
    const handlers = {} as JobHandlers<'notify'>;
    const build = (): unknown =>
      createJobWorkers([JobName.Notify], handlers, {
        connection: {},
        prefix: 'unused',
        settings: { [JobName.Notify]: {} },
        onError: () => undefined,
      });
    expect(build).toThrow(MissingHandlerError);
    expect(build).toThrow("no handler for job 'notify'");
  });
});
