#!/usr/bin/python3
"""Drives an OCS agent the way OCS's own Python clients do, with Debian's python3-autobahn.

usage: /usr/bin/python3 ocs_agent_flow.py SCENARIO WS_URL HTTP_URL AGENT_ADDRESS [--realm R]

Scenarios:
  ops-flow      WAMP: get_api -> start delay_task -> wait -> status, unpacked as OCSClient does
                (`OCSReply(*result)`), with the key order and types of ocs-protocol §1.4, §1.5, §2.3
  http-flow     the same through the HTTP /call bridge, as ocs.client_http.ControlClient does
  param-error   start delay_task with a bad parameter: [-1, "Param ...", {}]
  old-queries   get_tasks, get_processes, get_feeds, get_agent_class, an unknown query
  heartbeat     wildcard subscription to {root}..feeds.heartbeat, unpacked as the registry does
  feed-floats   a recorded feed (--feed, default false_temperatures): the Python type of every
                value and timestamp
  password      access control: get_api's access_control, then start delay_task without a
                password and with --password in the `password` kwarg, as OCSClient sends it

Prints one JSON object per line (observations) and {"done": true}; on failure {"fail": reason}
and exit 1.
"""
import argparse
import asyncio
import json
import sys
import urllib.request

try:
    from autobahn.asyncio.wamp import ApplicationSession, ApplicationRunner
    from autobahn.wamp.types import SubscribeOptions
except ImportError as exc:
    print(json.dumps({"fail": "cannot import autobahn (%s): run test/setup/install.sh" % exc}), flush=True)
    sys.exit(3)

SESSION_KEYS = ['session_id', 'op_name', 'op_code', 'cred_level', 'status', 'degraded', 'success',
                'start_time', 'end_time', 'data', 'messages']
API_KEYS = ['agent_class', 'instance_hostname', 'instance_pid', 'feeds', 'processes', 'tasks', 'access_control']
FEED_KEYS = ['agent_address', 'agg_params', 'feed_name', 'address', 'record', 'session_id', 'agent_class']


class Fail(Exception):
    pass


def emit(**fields):
    print(json.dumps(fields, default=repr), flush=True)


def check(cond, what):
    if not cond:
        raise Fail(what)


def check_session(s, what):
    check(isinstance(s, dict), '%s: session is %r' % (what, type(s)))
    check(list(s.keys()) == SESSION_KEYS, '%s: session keys %r' % (what, list(s.keys())))
    check(type(s['session_id']) is int, '%s: session_id %r' % (what, s['session_id']))
    check(type(s['op_code']) is int and type(s['cred_level']) is int, what + ': op_code/cred_level not int')
    check(s['status'] in ('starting', 'running', 'stopping', 'done'), what + ': status %r' % s['status'])
    check(type(s['degraded']) is bool, what + ': degraded not bool')
    check(s['success'] is None or type(s['success']) is bool, what + ': success %r' % s['success'])
    check(isinstance(s['start_time'], float), what + ': start_time not float')
    check(s['end_time'] is None or isinstance(s['end_time'], float), what + ': end_time %r' % s['end_time'])
    check(isinstance(s['data'], dict), what + ': data not dict')
    for m in s['messages']:
        check(isinstance(m, list) and len(m) == 2 and isinstance(m[0], float) and isinstance(m[1], str),
              what + ': message %r' % (m,))


def check_api(api):
    check(isinstance(api, dict), 'get_api returned %r' % type(api))
    check(list(api.keys()) == API_KEYS, 'get_api keys %r' % list(api.keys()))
    # OCSClient: for name, session, encoded in api['tasks'] + api['processes'], encoded['docstring']
    for kind in ('tasks', 'processes'):
        names = [entry[0] for entry in api[kind]]
        check(names == sorted(names), '%s not sorted: %r' % (kind, names))
        for entry in api[kind]:
            name, session, encoded = entry  # exactly three items
            check('docstring' in encoded and encoded['op_type'] == kind[:-2 if kind == 'processes' else -1],
                  'op_info of %s: %r' % (name, encoded))
            check(encoded['min_privs'] >= 1, 'min_privs of %s' % name)
            if session.get('status') == 'no_history':
                check(list(session.keys()) == ['op_name', 'status'], 'placeholder %r' % session)
            else:
                check_session(session, 'get_api ' + name)
    for feed_name, feed in api['feeds']:
        check(list(feed.keys()) == FEED_KEYS, 'feed keys %r' % list(feed.keys()))
        check(isinstance(feed['agg_params'], dict), 'agg_params not a dict')
        check(isinstance(feed['session_id'], str), 'feed session_id not a string')
    check(api['feeds'][-1][0] == 'heartbeat', 'heartbeat is not the last feed')
    ac = api['access_control']
    check(list(ac.keys()) == ['version', 'policy', 'update_timestamp', 'update_count', 'step'], 'access_control %r' % ac)


class OCSReply:
    """As ocs.ocs_client.OCSReply: a namedtuple built from the 3-element result."""

    def __init__(self, status, msg, session):
        self.status, self.msg, self.session = status, msg, session


async def ops_flow(call, emit_prefix):
    api = await call(ADDRESS, 'get_api')
    check_api(api)
    emit(step=emit_prefix + 'get_api', agent_class=api['agent_class'],
         tasks=[t[0] for t in api['tasks']], processes=[p[0] for p in api['processes']],
         feeds=[f[0] for f in api['feeds']])
    r = OCSReply(*await call(ADDRESS + '.ops', 'start', 'delay_task', {'delay': 0.2}))
    check(r.status == 0 and r.msg == 'Started task "delay_task".', 'start reply %r %r' % (r.status, r.msg))
    check_session(r.session, 'start')
    check(r.session['status'] == 'starting' and r.session['op_code'] == 2, 'start session %r' % r.session)
    emit(step=emit_prefix + 'start', status=r.status, message=r.msg, session_status=r.session['status'])
    r = OCSReply(*await call(ADDRESS + '.ops', 'wait', 'delay_task', {}, timeout=10))
    check(r.status == 0, 'wait status %r %r' % (r.status, r.msg))
    check_session(r.session, 'wait')
    emit(step=emit_prefix + 'wait', status=r.status, message=r.msg, success=r.session['success'],
         op_code=r.session['op_code'], requested_delay_is_float=isinstance(r.session['data']['requested_delay'], (int, float)))
    r = OCSReply(*await call(ADDRESS + '.ops', 'status', 'delay_task', {}))
    check_session(r.session, 'status')
    emit(step=emit_prefix + 'status', status=r.status, message=r.msg, session_status=r.session['status'],
         last_messages=[m[1] for m in r.session['messages']][-2:])
    r = OCSReply(*await call(ADDRESS + '.ops', 'wait', 'delay_task', {}, timeout=-1))
    emit(step=emit_prefix + 'wait-done', status=r.status, message=r.msg)


def http_call(procedure, *args, **kwargs):
    body = json.dumps({'procedure': procedure, 'args': list(args), 'kwargs': kwargs}).encode()
    req = urllib.request.Request(HTTP_URL, data=body, headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(req, timeout=15) as resp:
        check(resp.status == 200, 'HTTP status %r' % resp.status)
        decoded = json.loads(resp.read().decode())
    check('error' not in decoded, 'HTTP error %r' % decoded)
    return decoded['args'][0]


async def run_http_flow():
    loop = asyncio.get_event_loop()

    async def call(procedure, *args, **kwargs):
        return await loop.run_in_executor(None, lambda: http_call(procedure, *args, **kwargs))
    await ops_flow(call, 'http-')


class Flow(ApplicationSession):
    async def onJoin(self, details):
        try:
            await SCENARIOS[SCENARIO](self)
            emit(done=True)
        except Fail as e:
            emit(fail=str(e))
            self.config.extra['rc'] = 1
        except Exception as e:  # noqa: BLE001 - reported to the test
            emit(fail='%s: %s' % (type(e).__name__, e))
            self.config.extra['rc'] = 1
        self.leave()

    def onDisconnect(self):
        asyncio.get_event_loop().stop()


async def scenario_ops_flow(s):
    await ops_flow(s.call, '')


async def scenario_param_error(s):
    r = await s.call(ADDRESS + '.ops', 'start', 'delay_task', {'delay': 'abc'})
    check(isinstance(r, list) and len(r) == 3, 'reply %r' % (r,))
    emit(step='param-error', reply=r)
    r = await s.call(ADDRESS + '.ops', 'start', 'delay_task', {'delay': 1, 'bogus': 2})
    emit(step='stray', reply=r)
    r = await s.call(ADDRESS + '.ops', 'start', 'no_such_op', {})
    emit(step='unknown-op', reply=r)


async def scenario_old_queries(s):
    for q in ('get_tasks', 'get_processes', 'get_feeds', 'get_agent_class', 'nonsense'):
        r = await s.call(ADDRESS, q)
        emit(step=q, reply_type=type(r).__name__, reply=r)


async def scenario_heartbeat(s):
    got = asyncio.get_event_loop().create_future()

    def on_beat(_data, details=None):
        op_codes, feed = _data  # the registry's unpacking
        if feed['agent_address'] == ADDRESS and not got.done():
            got.set_result((op_codes, feed, details.topic))
    root = ADDRESS.split('.')[0]
    await s.subscribe(on_beat, root + '..feeds.heartbeat', options=SubscribeOptions(match='wildcard', details_arg='details'))
    op_codes, feed, topic = await asyncio.wait_for(got, 5)
    check(isinstance(op_codes, dict) and all(type(v) is int for v in op_codes.values()), 'op codes %r' % op_codes)
    check(list(feed.keys()) == FEED_KEYS, 'feed keys %r' % list(feed.keys()))
    emit(step='heartbeat', topic=topic, op_codes=op_codes, feed=feed)


async def scenario_feed_floats(s):
    got = asyncio.get_event_loop().create_future()

    def on_data(_data):
        message, feed = _data
        if not got.done():
            got.set_result((message, feed))
    await s.subscribe(on_data, ADDRESS + '.feeds.' + FEED)
    message, feed = await asyncio.wait_for(got, 8)
    kinds = set()
    field_types = {}
    for block_name, block in message.items():
        check(block['block_name'] == block_name, 'block name mismatch')
        check(list(block.keys()) == ['block_name', 'data', 'timestamps'], 'block keys %r' % list(block.keys()))
        kinds |= {type(t).__name__ for t in block['timestamps']}
        for field, values in block['data'].items():
            kinds |= {type(v).__name__ for v in values}
            field_types[field] = sorted({type(v).__name__ for v in values})
    emit(step='feed', record=feed['record'], agg_params=feed['agg_params'], value_types=sorted(kinds),
         blocks=list(message.keys()), field_types=field_types,
         timestamp_types=sorted({type(t).__name__ for b in message.values() for t in b['timestamps']}))


async def scenario_password(s):
    api = await s.call(ADDRESS, 'get_api')
    check('access_control' in api and api['access_control']['version'] == 1, 'access_control %r' % api.get('access_control'))
    emit(step='access_control', policy=api['access_control']['policy'],
         min_privs=[t[2]['min_privs'] for t in api['tasks'] if t[0] == 'delay_task'][0])
    r = OCSReply(*await s.call(ADDRESS + '.ops', 'start', 'delay_task', {'delay': 0.1}))
    emit(step='no-password', status=r.status, message=r.msg)
    r = OCSReply(*await s.call(ADDRESS + '.ops', 'start', 'delay_task', {'delay': 0.1}, password=PASSWORD))
    emit(step='password', status=r.status, message=r.msg, cred_level=r.session.get('cred_level') if r.session else None)
    r = OCSReply(*await s.call(ADDRESS + '.ops', 'wait', 'delay_task', {}, timeout=10))
    emit(step='password-wait', status=r.status, success=r.session['success'])


async def scenario_data_floats(s):
    # OCSClient sends 1.0 for a float param; the session data must carry floats back, not ints
    await s.call(ADDRESS + '.ops', 'start', 'delay_task', {'delay': 1.0})
    r = OCSReply(*await s.call(ADDRESS + '.ops', 'wait', 'delay_task', {}, timeout=10))
    d = r.session['data']
    a = OCSReply(*await s.call(ADDRESS + '.ops', 'status', 'acq', {}))
    ad = a.session['data']
    emit(step='data-floats', requested_delay=type(d['requested_delay']).__name__, requested_delay_value=d['requested_delay'],
         delay_so_far=type(d['delay_so_far']).__name__, acq_timestamp=type(ad.get('timestamp')).__name__,
         acq_fields=sorted({type(v).__name__ for v in ad.get('fields', {}).values()}))


SCENARIOS = {
    'data-floats': scenario_data_floats,
    'password': scenario_password,
    'ops-flow': scenario_ops_flow,
    'param-error': scenario_param_error,
    'old-queries': scenario_old_queries,
    'heartbeat': scenario_heartbeat,
    'feed-floats': scenario_feed_floats,
}

if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('scenario')
    p.add_argument('url')
    p.add_argument('http_url')
    p.add_argument('address')
    p.add_argument('--realm', default='test_realm')
    p.add_argument('--feed', default='false_temperatures')
    p.add_argument('--password', default='')
    a = p.parse_args()
    SCENARIO, HTTP_URL, ADDRESS, FEED, PASSWORD = a.scenario, a.http_url, a.address, a.feed, a.password
    if SCENARIO == 'http-flow':
        try:
            asyncio.get_event_loop().run_until_complete(run_http_flow())
            emit(done=True)
            sys.exit(0)
        except Exception as e:  # noqa: BLE001
            emit(fail='%s: %s' % (type(e).__name__, e))
            sys.exit(1)
    extra = {'rc': 0}
    runner = ApplicationRunner(a.url, a.realm, extra=extra)
    runner.run(Flow, log_level='error')
    sys.exit(extra['rc'])
