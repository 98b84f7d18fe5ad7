/**
 * What a help desk intake job did, read from its BullMQ queue: a test that rings a
 * desk a second time waits for that delivery's intake to end before it asserts that
 * nothing more happened.
 */
import { helpdeskIntakeJobId, JOBS, JobName } from '@certfleet/jobs';
import { keyPrefix } from '@certfleet/store';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

/** Waits until the intake of `deliveryId` has finished; answers its return value (the test timeout bounds the wait). */
export async function intakeOutcome(
  config: { redisUrl: string; prefix: string },
  system: string,
  instance: string,
  deliveryId: string,
): Promise<unknown> {
  const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(JOBS[JobName.HelpdeskIntake].queue, {
    connection,
    prefix: keyPrefix(config.prefix),
  });
  try {
    const id = helpdeskIntakeJobId({ system, instance, deliveryId, ticketId: 'unused' });
    for (;;) {
      const job = await queue.getJob(id);
      const state = job ? await job.getState() : 'unknown';
      // read again once completed: the job fetched before may have been still running
      if (state === 'completed') return (await queue.getJob(id))!.returnvalue;
      if (state === 'failed') throw new Error(`intake ${id} failed: ${job!.failedReason}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await queue.close();
    connection.disconnect();
  }
}
