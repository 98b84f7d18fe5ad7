import { DeskHttpError, type HelpdeskAdapter } from '@certfleet/helpdesk';
import { describe, expect, it } from 'vitest';
import type { Report } from './reports.js';
import { DeliveryError, ticketMarker, ticketSink } from './sinks.js';

const report: Report = {
  idempotencyKey: 'job-1:1:completed',
  status: 'completed',
  body: '{}',
  headline: 'certfleet: SD-1 installed',
  text: 'certfleet: SD-1 installed\nacme-prd: /certs/a.pfx',
  slack: { text: '', blocks: [] },
  html: '',
};

/** A desk that keeps what it is told, or fails the write as told. */
function desk(fail?: DeskHttpError) {
  const notes: { body: string; jobStatus: string | undefined }[] = [];
  const adapter = {
    system: 'jira',
    instance: 'servicedesk',
    hasNote: async (_id: string, marker: string) => notes.some((n) => n.body.includes(marker)),
    writeNote: async (_id: string, body: string, jobStatus?: string) => {
      if (fail) throw fail;
      notes.push({ body, jobStatus });
    },
  } as unknown as HelpdeskAdapter;
  return { adapter, notes };
}

describe('the ticket sink', () => {
  it("writes the report with its marker and hands the job's status on for the desk status, once", async () => {
    const { adapter, notes } = desk();
    const sink = ticketSink(adapter, 'SD-1');
    await sink.deliver(report);
    await sink.deliver(report);
    expect(notes).toEqual([{ body: `${report.text}\n\n${ticketMarker(report)}`, jobStatus: 'completed' }]);
    expect(sink).toMatchObject({ kind: 'ticket', target: 'jira/servicedesk ticket SD-1' });
  });

  it("carries a 429's Retry-After into the delivery error, and a refusal is permanent", async () => {
    const busy = ticketSink(
      desk(new DeskHttpError('desk_busy', 'rate limited', false, 60_000, 429)).adapter,
      'SD-1',
    );
    await expect(busy.deliver(report)).rejects.toSatisfy(
      (e) => e instanceof DeliveryError && !e.permanent && e.retryAfterMs === 60_000,
    );
    const refused = ticketSink(
      desk(new DeskHttpError('desk_refused', 'answered 401', true, undefined, 401)).adapter,
      'SD-1',
    );
    await expect(refused.deliver(report)).rejects.toSatisfy((e) => e instanceof DeliveryError && e.permanent);
  });
});
