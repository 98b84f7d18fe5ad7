/** Redis hash-tag prefix shared by queues and records, so Cluster keeps them in one slot. */
export function keyPrefix(prefix: string): string {
  return `{${prefix}}`;
}

/** Pub/sub channel on which an inventory reload is announced to every process. */
export function inventoryChannel(prefix: string): string {
  return `${keyPrefix(prefix)}:events:inventory`;
}
