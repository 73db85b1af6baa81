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
