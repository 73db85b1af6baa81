#!/usr/bin/python3
"""A Python peer of the Registry, with Debian's python3-autobahn.

usage: /usr/bin/python3 ocs_heartbeat_peer.py SCENARIO WS_URL ADDRESS [options]

Scenarios:
  beat            pretend to be the OCS agent at ADDRESS: publish its heartbeat as ocs_agent.py does
                  (`publish(topic, (op_codes, feed.encoded()))` once a second, first beat at once)
                  --beats times, then leave. --op-codes is a JSON map, or 0 for a legacy agent.
  junk            publish --repeat rounds of malformed heartbeats on ADDRESS's heartbeat topic (and
                  a heartbeat claiming another address), as fast as possible.
  registry-types  ADDRESS is a registry: read `main` status as ocs-client-cli scan --use-registry
                  does and check each record's keys and Python types; then wait for one
                  agent_operations publication and report the types of its values and timestamps.

Prints one JSON object per line (observations) and {"done": true}; on failure {"fail": reason}
and exit 1.
"""
import argparse
import asyncio
import json
import sys
import time

sys.dont_write_bytecode = True
import ocs_agent_flow as flow  # noqa: E402 - the shared session runner and reporting helpers
from ocs_agent_flow import check, emit  # noqa: E402

from autobahn.asyncio.wamp import ApplicationRunner  # noqa: E402

RECORD_KEYS = ['expired', 'time_expired', 'last_updated', 'op_codes', 'agent_class', 'agent_address']


def feed_encoded(address, session_id):
    """OCS `Feed.encoded()` of the heartbeat feed, key order included."""
    return {
        'agent_address': address,
        'agg_params': {},
        'feed_name': 'heartbeat',
        'address': address + '.feeds.heartbeat',
        'record': False,
        'session_id': session_id,
        'agent_class': 'PythonFakeAgent',
    }


async def scenario_beat(s):
    op_codes = json.loads(ARGS.op_codes)
    feed = feed_encoded(ADDRESS, ARGS.session_id or str(time.time()))
    topic = ADDRESS + '.feeds.heartbeat'
    for i in range(ARGS.beats):
        s.publish(topic, (op_codes, feed))
        if i + 1 < ARGS.beats:
            await asyncio.sleep(1.0)
    emit(step='beats', count=ARGS.beats, session_id=feed['session_id'])


async def scenario_junk(s):
    topic = ADDRESS + '.feeds.heartbeat'
    root = ADDRESS.split('.')[0]
    good = feed_encoded(ADDRESS, '1700000000.0')
    payloads = [
        ('not a list', ['hello']),
        ('no feed', [[{'acq': 3}]]),
        ('feed a string', [[{'acq': 3}, 'feed']]),
        ('op codes a list', [[[3, 3], good]]),
        ('op code a string', [[{'acq': 'running'}, good]]),
        ('op code a float', [[{'acq': 3.5}, good]]),
        ('no agent_address', [[{'acq': 3}, {'feed_name': 'heartbeat'}]]),
        ('address outside the root', [[{'acq': 3}, feed_encoded('elsewhere.x', '1')]]),
        ('dotted instance id', [[{'acq': 3}, feed_encoded(root + '.a.b', '1')]]),
        ('huge op map', [[{('op%d' % i): 1 for i in range(1000)}, good]]),
        ('long op name', [[{'x' * 10000: 1}, good]]),
        ('nested deep', [[{'acq': [[[[[[[[[[1]]]]]]]]]]}, good]]),
        ('other agent on this topic', [[{'acq': 3}, feed_encoded(root + '.victim', '1')]]),
        ('kwargs only', None),
    ]
    sent = 0
    for _ in range(ARGS.repeat):
        for _name, args in payloads:
            if args is None:
                s.publish(topic, junk=True)
            else:
                s.publish(topic, *args)
            sent += 1
        await asyncio.sleep(0)
    await asyncio.sleep(0.5)
    emit(step='junk', sent=sent, kinds=[name for name, _ in payloads])


async def scenario_registry_types(s):
    got = asyncio.get_event_loop().create_future()

    def on_operations(_data):
        message, feed = _data
        if not got.done():
            got.set_result((message, feed))
    await s.subscribe(on_operations, ADDRESS + '.feeds.agent_operations')
    code, msg, session = await s.call(ADDRESS + '.ops', 'status', 'main')
    check(code == 0, 'status main: %r %r' % (code, msg))
    data = session['data']
    check(isinstance(data, dict), 'session.data is %r' % type(data))
    for address, rec in data.items():
        check(list(rec.keys()) == RECORD_KEYS, '%s: record keys %r' % (address, list(rec.keys())))
        check(rec['agent_address'] == address, '%s: agent_address %r' % (address, rec['agent_address']))
        check(type(rec['expired']) is bool, '%s: expired %r' % (address, rec['expired']))
        check(isinstance(rec['last_updated'], float), '%s: last_updated %r' % (address, rec['last_updated']))
        check(rec['time_expired'] is None or isinstance(rec['time_expired'], float), '%s: time_expired %r' % (address, rec['time_expired']))
        check(all(type(v) is int for v in rec['op_codes'].values()), '%s: op codes %r' % (address, rec['op_codes']))
    emit(step='status', agents=sorted(data.keys()))
    message, feed = await asyncio.wait_for(got, ARGS.timeout)
    value_types = set()
    timestamp_types = set()
    for name, block in message.items():
        check(list(block.keys()) == ['block_name', 'data', 'timestamps'], 'block keys %r' % list(block.keys()))
        check(block['block_name'] == name and list(block['data'].keys()) == [name], 'block %s: %r' % (name, block))
        timestamp_types |= {type(t).__name__ for t in block['timestamps']}
        for values in block['data'].values():
            value_types |= {type(v).__name__ for v in values}
    emit(step='operations', record=feed['record'], agg_params=feed['agg_params'], blocks=sorted(message.keys()),
         value_types=sorted(value_types), timestamp_types=sorted(timestamp_types))


SCENARIOS = {
    'beat': scenario_beat,
    'junk': scenario_junk,
    'registry-types': scenario_registry_types,
}


if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('scenario', choices=sorted(SCENARIOS))
    p.add_argument('url')
    p.add_argument('address')
    p.add_argument('--realm', default='test_realm')
    p.add_argument('--op-codes', default='{"acq": 3, "count": 1}')
    p.add_argument('--session-id', default=None)
    p.add_argument('--beats', type=int, default=3)
    p.add_argument('--repeat', type=int, default=50)
    p.add_argument('--timeout', type=float, default=40.0)
    ARGS = p.parse_args()
    ADDRESS = ARGS.address
    # ocs_agent_flow's Flow session runs SCENARIOS[SCENARIO] of its module, reports and leaves
    flow.SCENARIOS.update(SCENARIOS)
    flow.SCENARIO = ARGS.scenario
    extra = {'rc': 0}
    runner = ApplicationRunner(ARGS.url, ARGS.realm, extra=extra)
    runner.run(flow.Flow, log_level='error')
    sys.exit(extra['rc'])
