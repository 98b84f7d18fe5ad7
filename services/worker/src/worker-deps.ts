import type { FleetConfig } from '@certfleet/config';
import type { Inventory } from '@certfleet/inventory';
import type { FleetQueues } from '@certfleet/jobs';
import type { FleetStore } from '@certfleet/store';
import type { ConnectionOptions } from 'bullmq';
import type { Logger } from 'pino';

/** What the worker's handlers are built from. */
export interface WorkerDeps {
  config: FleetConfig;
  store: FleetStore;
  queues: FleetQueues;
  connection: ConnectionOptions;
  inventory: () => Inventory;
  logger: Logger;
  /** The clock of the expiry watch and of maintenance windows; the system clock when absent (tests give their own). */
  clock?: () => Date;
}

/** The time as the store writes it. */
export const now = (): string => new Date().toISOString();
