import type { AfterPendingInput } from '../../../lib/registry/after-pending-input.js';

/** The EVENT arguments of one OCS heartbeat (ocs-protocol §3.1): `[[op_codes, feed_encoded]]`. */
export function heartbeat(address: string, opCodes: unknown, sessionId: string | null = 'session-a', agentClass = 'FakeDataAgent'): unknown[] {
  return [
    [
      opCodes,
      {
        agent_address: address,
        agg_params: {},
        feed_name: 'heartbeat',
        address: `${address}.feeds.heartbeat`,
        record: false,
        session_id: sessionId,
        agent_class: agentClass,
      },
    ],
  ];
}

/**
 * LivenessTracker's `afterPendingInput` for fake-timer tests: a due expiry is confirmed at once, so
 * it lands exactly on the deadline ('expiry confirmation' in liveness-tracker.test.ts covers the
 * real deferral).
 */
export const confirmAtOnce: AfterPendingInput = (fn) => {
  fn();
  return () => undefined;
};
