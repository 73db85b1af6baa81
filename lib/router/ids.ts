/** WAMP IDs: integers in [1, 2^53]. */
export const MAX_ID = 2 ** 53;

/** A global-scope random ID (session, publication, subscription, registration). */
export function randomId(): number {
  return Math.floor(Math.random() * MAX_ID) + 1;
}

/** A random ID not yet used as a key of `used`. */
export function uniqueRandomId(used: { has(id: number): boolean }): number {
  for (;;) {
    const id = randomId();
    if (!used.has(id)) return id;
  }
}

/** A session-scope sequential ID generator (1, 2, 3, ... wrapping before 2^53). */
export class SequentialIds {
  private last = 0;
  next(): number {
    this.last = this.last >= MAX_ID ? 1 : this.last + 1;
    return this.last;
  }
}
