import type { Json } from './api-client.js';
import type { Stack } from './stack.js';

/** A certificate to submit: the submit body's fields a test chooses. */
export interface InstallJobBody {
  ticket: string;
  name: string;
  environments: string[];
  pfx: Buffer;
  password: string;
  caCertificates?: string[];
  /** A rotation: the name already holds another certificate. */
  replace?: boolean;
}

/**
 * Submits a job as `submitter`, approves it as `approver` and waits until it is final;
 * throws, naming the step, when the API refuses either request.
 */
export async function installJob(
  stack: Pick<Stack, 'request' | 'waitForJob'>,
  body: InstallJobBody,
  { submitter = 'alice', approver = 'bob' }: { submitter?: string; approver?: string } = {},
): Promise<Json> {
  const submitted = await stack.request(submitter, 'POST', '/v1/jobs', {
    ...body,
    pfx: body.pfx.toString('base64'),
  });
  if (submitted.status !== 201)
    throw new Error(`submit answered ${submitted.status}: ${JSON.stringify(submitted.body)}`);
  const approved = await stack.request(approver, 'POST', `/v1/jobs/${submitted.body.id}/approve`);
  if (approved.status !== 202)
    throw new Error(`approve answered ${approved.status}: ${JSON.stringify(approved.body)}`);
  return stack.waitForJob(submitted.body.id);
}
