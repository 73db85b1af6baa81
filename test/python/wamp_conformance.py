#!/usr/bin/python3
"""Conformance driver for the embedded WAMP router, using Debian's python3-autobahn (asyncio).

python3-autobahn checks the type of every field of every message it receives and drops the
session on the first violation (a `null` kwargs, a non-list args, an unknown request id), which
makes it a strict, independent second client next to autobahn-js.

usage: /usr/bin/python3 wamp_conformance.py SCENARIO URL [--realm R] [--serializer json|msgpack]
                                            [--opts JSON] [--timeout SECONDS]

Prints one JSON object per line: observations, then {"done": true}. On failure prints
{"fail": "<reason>"} and exits 1; exits 3 when autobahn cannot be imported. Comparisons that
JSON cannot carry to the caller (1.0 versus 1) are made here, strictly by type, and reported as
`same` together with Python's repr of what arrived.
"""
import argparse
import asyncio
import json
import math
import sys
import traceback
from urllib.parse import urlparse

try:
    from autobahn.asyncio.wamp import ApplicationSession
    from autobahn.asyncio.websocket import WampWebSocketClientFactory, WampWebSocketClientProtocol
    from autobahn.wamp import auth as wamp_auth
    from autobahn.wamp import message
    from autobahn.wamp.exception import ApplicationError
    from autobahn.wamp.serializer import JsonSerializer, MsgPackSerializer
    from autobahn.wamp.types import (CallOptions, CallResult, ComponentConfig, PublishOptions,
                                     RegisterOptions, SubscribeOptions)
except ImportError as exc:  # pragma: no cover - reported to the test, which fails
    print(json.dumps({"fail": "cannot import autobahn (%s): run test/setup/install.sh" % exc}), flush=True)
    sys.exit(3)

STEP_TIMEOUT_S = 5.0
ID = object()  # in meta queries: the id of the registration or subscription under test
UNKNOWN_ID = 4242  # an id no session, registration or subscription has (ids are random up to 2^53)
PROTOCOL_ERRORS = []


class Fail(Exception):
    """A scenario step did not behave as the router must."""


class Refused(Exception):
    def __init__(self, reason, message_text):
        super().__init__('%s: %s' % (reason, message_text))
        self.reason = reason
        self.message_text = message_text


def emit(**fields):
    print(json.dumps(fields, default=repr, ensure_ascii=False), flush=True)


def check(condition, what):
    if not condition:
        raise Fail(what)


def plain(value):
    """Tuples to lists, recursively, so that args compare and print the same way."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def same(a, b):
    """Equality that also requires equal types: 1.0 is not 1, True is not 1."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a.keys()) == list(b.keys()) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def error_fields(err):
    return {"error": err.error, "args": plain(list(err.args)), "kwargs": plain(err.kwargs or {})}


class StrictProtocol(WampWebSocketClientProtocol):
    """Records why autobahn drops a transport (a protocol or internal error) before it does."""

    def _bailout(self, code, reason=None):
        PROTOCOL_ERRORS.append(reason)
        emit(protocol_error=reason)
        super()._bailout(code, reason)


class Peer(ApplicationSession):
    """One session: resolves `joined` on WELCOME, fails it on ABORT, traces inbound messages."""

    def __init__(self, config, auth):
        super().__init__(config)
        loop = asyncio.get_event_loop()
        self.auth = auth
        self.joined = loop.create_future()
        self.closed = loop.create_future()
        self.leave_details = None
        self.inbound = []

    def onConnect(self):
        if self.auth is None:
            self.join(self.config.realm)
        else:
            self.join(self.config.realm, authmethods=[self.auth['method']], authid=self.auth['authid'])

    def onChallenge(self, challenge):
        secret = self.auth['secret']
        if challenge.method == 'ticket':
            return secret
        if challenge.method == 'wampcra':
            extra = challenge.extra
            key = secret
            if 'salt' in extra:
                key = wamp_auth.derive_key(secret, extra['salt'], extra.get('iterations', 1000), extra.get('keylen', 32))
            return wamp_auth.compute_wcs(key, extra['challenge']).decode('ascii')
        raise Exception('unexpected challenge method %s' % challenge.method)

    def onMessage(self, msg):
        self.inbound.append(msg)
        return super().onMessage(msg)

    def onJoin(self, details):
        if not self.joined.done():
            self.joined.set_result(details)

    def onLeave(self, details):
        self.leave_details = details
        if not self.joined.done():
            self.joined.set_exception(Refused(details.reason, details.message))
        return super().onLeave(details)

    def onDisconnect(self):
        if not self.joined.done():
            self.joined.set_exception(Refused('transport_closed', 'closed before WELCOME'))
        if not self.closed.done():
            self.closed.set_result(True)
        return super().onDisconnect()

    def last_inbound(self, kind):
        for msg in reversed(self.inbound):
            if isinstance(msg, kind):
                return msg
        return None


class Context:
    def __init__(self, url, realm, serializer, opts):
        self.url = url
        self.realm = realm
        self.serializer = serializer
        self.opts = opts
        self.peers = []

    @property
    def other_serializer(self):
        return 'msgpack' if self.serializer == 'json' else 'json'

    async def connect(self, serializer=None, auth=None, realm=None):
        parsed = urlparse(self.url)
        ser = serializer or self.serializer
        peer = Peer(ComponentConfig(realm=realm or self.realm), auth)
        factory = WampWebSocketClientFactory(lambda: peer, url=self.url,
                                             serializers=[MsgPackSerializer() if ser == 'msgpack' else JsonSerializer()])
        factory.protocol = StrictProtocol
        loop = asyncio.get_running_loop()
        await loop.create_connection(factory, parsed.hostname, parsed.port)
        self.peers.append(peer)
        await asyncio.wait_for(peer.joined, STEP_TIMEOUT_S)
        return peer

    async def close_all(self):
        for peer in self.peers:
            await leave(peer)


async def leave(peer):
    if peer.is_attached():
        peer.leave()
    if peer._transport is not None or not peer.closed.done():
        try:
            await asyncio.wait_for(asyncio.shield(peer.closed), STEP_TIMEOUT_S)
        except asyncio.TimeoutError:
            if peer._transport is not None:
                peer._transport.abort()


async def step(awaitable, what):
    try:
        return await asyncio.wait_for(awaitable, STEP_TIMEOUT_S)
    except asyncio.TimeoutError:
        raise Fail('timed out after %.0f s: %s' % (STEP_TIMEOUT_S, what))


async def expect_error(awaitable, what):
    """Awaits a request that must fail with an ApplicationError; returns its fields."""
    try:
        result = await step(awaitable, what)
    except ApplicationError as err:
        return error_fields(err)
    raise Fail('%s: expected an ERROR, got %r' % (what, result))


def waiter():
    return asyncio.get_event_loop().create_future()


def settle(fut, value):
    if not fut.done():
        fut.set_result(value)


# --------------------------------------------------------------------------------------------
# Scenarios. Each takes the Context and emits observations; a Fail ends the run.
# --------------------------------------------------------------------------------------------

def announced(role_features):
    """The feature flags a WELCOME role announces as true."""
    if role_features is None:
        return []
    return sorted(k for k, v in vars(role_features).items() if v is True)


async def scenario_join(ctx):
    peer = await ctx.connect()
    welcome = peer.last_inbound(message.Welcome)
    check(welcome is not None, 'no WELCOME traced')
    emit(welcome={
        "session": welcome.session, "authid": welcome.authid, "authrole": welcome.authrole,
        "authmethod": welcome.authmethod, "authprovider": welcome.authprovider,
        "broker_features": announced(welcome.roles.get('broker')),
        "dealer_features": announced(welcome.roles.get('dealer')),
    })
    reply = await step(peer.call('wamp.session.get', peer._session_id), 'wamp.session.get of own session')
    emit(own_session=plain(reply))


async def publish_and_collect(publisher, subscriber_events, topics, settle_topic):
    """Publishes to each topic, then to `settle_topic` (which the caller subscribes exactly); returns
    once the settle event arrived, so every event the router meant to deliver is in."""
    for topic in topics:
        await step(publisher.publish(topic, topic, options=PublishOptions(acknowledge=True, exclude_me=False)),
                   'publish to %s acknowledged' % topic)
    done = waiter()
    subscriber_events.append(done)
    await step(publisher.publish(settle_topic, options=PublishOptions(acknowledge=True, exclude_me=False)),
               'publish to %s acknowledged' % settle_topic)
    await step(done, 'settle event on %s' % settle_topic)


async def scenario_pubsub_patterns(ctx):
    sub = await ctx.connect()
    pub = await ctx.connect(serializer=ctx.other_serializer)
    received = []
    settles = []

    def handler(match):
        def on_event(*args, **kwargs):
            details = kwargs.pop('details')
            received.append({"match": match, "topic": details.topic, "args": plain(list(args)), "kwargs": plain(kwargs)})
        return on_event

    def on_settle(*args, **kwargs):
        if settles:
            settle(settles.pop(0), True)

    wild = await step(sub.subscribe(handler('wildcard'), 'observatory..feeds.heartbeat',
                                    options=SubscribeOptions(match='wildcard', details=True)), 'subscribe wildcard')
    pref = await step(sub.subscribe(handler('prefix'), 'com.a.emergency',
                                    options=SubscribeOptions(match='prefix', details=True)), 'subscribe prefix')
    await step(sub.subscribe(on_settle, 'py.settle'), 'subscribe settle topic')
    emit(subscribed={"wildcard": wild.id, "prefix": pref.id})

    topics = ['observatory.agent-1.feeds.heartbeat', 'observatory.agent-2.feeds.heartbeat',
              'observatory.agent-1.feeds.other', 'observatory.a.b.feeds.heartbeat', 'observatory.feeds.heartbeat',
              'com.a.emergency', 'com.a.emergency.fire', 'com.a.emergency-low', 'com.a.other']
    await publish_and_collect(pub, settles, topics, 'py.settle')
    for ev in received:
        emit(event=ev)


async def scenario_pubsub_options(ctx):
    """exclude_me (default true), exclude, eligible, acknowledge, events without payload."""
    a = await ctx.connect()
    b = await ctx.connect(serializer=ctx.other_serializer)
    got = {"a": [], "b": []}
    arrived = {"a": None, "b": None}

    def handler(name):
        def on_event(*args, **kwargs):
            details = kwargs.pop('details')
            got[name].append({"tag": args[0] if args else None, "args": plain(list(args)), "kwargs": plain(kwargs),
                              "publisher": details.publisher})
            if arrived[name] is not None:
                settle(arrived[name], True)
        return on_event

    await step(a.subscribe(handler('a'), 'py.opts.topic', options=SubscribeOptions(details=True)), 'a subscribes')
    await step(b.subscribe(handler('b'), 'py.opts.topic', options=SubscribeOptions(details=True)), 'b subscribes')

    async def publish(tag, wait_for, **options):
        for name in wait_for:
            arrived[name] = waiter()
        pub = await step(a.publish('py.opts.topic', tag, options=PublishOptions(acknowledge=True, **options)),
                         'publish %s' % tag)
        check(pub is not None and isinstance(pub.id, int), 'PUBLISHED carries a publication id')
        for name in wait_for:
            await step(arrived[name], 'event %s at %s' % (tag, name))

    await publish('default', ['b'])
    await publish('include_me', ['a', 'b'], exclude_me=False)
    await publish('exclude_b', ['a'], exclude_me=False, exclude=[b._session_id])
    await publish('eligible_b', ['b'], exclude_me=False, eligible=[b._session_id])
    # an event without args or kwargs: the router must not send null placeholders
    arrived['b'] = waiter()
    await step(a.publish('py.opts.topic', options=PublishOptions(acknowledge=True)), 'publish without payload')
    await step(arrived['b'], 'payload-less event at b')
    # a final marker through both, so nothing is still in flight
    await publish('end', ['a', 'b'], exclude_me=False)
    emit(events={k: [e['tag'] for e in v] for k, v in got.items()})
    emit(disclosure={"publisher": got['b'][0]['publisher'], "publisher_session": a._session_id})
    emit(empty_event=got['b'][-2])


PAYLOADS = [
    ('nested_list', [[1, 2, 3]], {}),
    ('null_arg', [None], {}),
    ('kwargs_only', [], {"a": 1, "b": {"c": [1, "x"]}, "n": None}),
    ('floats', [1.0, -2.0, 0.5, 1e300, 0.0], {"f": 3.0}),
    ('large_ints', [2 ** 53, -(2 ** 53), 2 ** 53 - 1], {"big": 2 ** 53}),
    ('unicode', ["h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c\u8a9e \U0001F680", "\u00ff"], {"\u043a\u043b\u044e\u0447": "\u0437\u043d\u0430\u0447\u0435\u043d\u0438\u0435"}),
    ('mixed', [1, "two", 3.0, True, False, None, {"x": [1.5, {"y": 2}]}], {"k": [1.0, 2]}),
    ('empty', [], {}),
]


async def scenario_payloads(ctx):
    """Every payload goes out on one serializer and comes back on the other, through an event and
    through a call (invocation and result), and must arrive unchanged, types included."""
    a = await ctx.connect()
    b = await ctx.connect(serializer=ctx.other_serializer)
    state = {"events": [], "invocations": []}

    def on_event(*args, **kwargs):
        state['events'].append((list(args), kwargs))
        settle(state['event_waiter'], True)

    def echo(*args, **kwargs):
        state['invocations'].append((list(args), kwargs))
        return CallResult(*args, **kwargs)

    await step(b.subscribe(on_event, 'py.payload.topic'), 'subscribe')
    await step(b.register(echo, 'py.payload.echo'), 'register echo')
    for name, args, kwargs in PAYLOADS:
        state['event_waiter'] = waiter()
        await step(a.publish('py.payload.topic', *args, options=PublishOptions(acknowledge=True), **kwargs),
                   'publish %s' % name)
        await step(state['event_waiter'], 'event %s' % name)
        ev_args, ev_kwargs = state['events'][-1]
        await step(a.call('py.payload.echo', *args, **kwargs), 'call %s' % name)
        inv_args, inv_kwargs = state['invocations'][-1]
        result = a.last_inbound(message.Result)
        res_args, res_kwargs = plain(list(result.args or [])), plain(result.kwargs or {})
        for path, got_args, got_kwargs in (('event', ev_args, ev_kwargs), ('invocation', inv_args, inv_kwargs),
                                           ('result', res_args, res_kwargs)):
            got_args, got_kwargs = plain(got_args), plain(got_kwargs)
            emit(payload=name, path=path, args_repr=repr(got_args), kwargs_repr=repr(got_kwargs),
                 same=same(got_args, plain(args)) and same(got_kwargs, plain(kwargs)))


async def scenario_rpc(ctx):
    """Call and result, error relay, unknown procedure, duplicate registration, unregister,
    progressive results and caller details."""
    callee = await ctx.connect(serializer=ctx.other_serializer)
    caller = await ctx.connect()

    def add(a, b):
        return a + b

    def fail(*args, **kwargs):
        raise ApplicationError('py.error.custom', 'it broke', 42, {"nested": [1, 2]}, reason='testing', code=7)

    def none():
        return None

    async def progressive(n, details=None):
        for i in range(n):
            details.progress(i)
            await asyncio.sleep(0)
        return 'done'

    def whoami(details=None):
        return {"caller": details.caller, "caller_authid": details.caller_authid,
                "caller_authrole": details.caller_authrole, "procedure": details.procedure}

    emit(sessions={"caller": caller._session_id, "callee": callee._session_id})
    reg = await step(callee.register(add, 'py.rpc.add'), 'register add')
    await step(callee.register(fail, 'py.rpc.fail'), 'register fail')
    await step(callee.register(none, 'py.rpc.none'), 'register none')
    await step(callee.register(progressive, 'py.rpc.progressive', options=RegisterOptions(details_arg='details')),
               'register progressive')
    await step(callee.register(whoami, 'py.rpc.whoami', options=RegisterOptions(details_arg='details')),
               'register whoami')

    emit(add=await step(caller.call('py.rpc.add', 2, 3), 'call add'))
    result = caller.last_inbound(message.Result)
    emit(add_result_message={"args": result.args, "kwargs": result.kwargs})
    emit(none=await step(caller.call('py.rpc.none'), 'call none'))
    emit(failed_call=await expect_error(caller.call('py.rpc.fail', 'x'), 'call fail'))
    emit(no_such_procedure=await expect_error(caller.call('py.rpc.missing'), 'call missing procedure'))
    emit(duplicate=await expect_error(caller.register(add, 'py.rpc.add'), 'duplicate register'))

    progress = []
    final = await step(caller.call('py.rpc.progressive', 3, options=CallOptions(on_progress=lambda i: progress.append(i))),
                       'progressive call')
    emit(progressive={"progress": progress, "final": final})
    emit(whoami=await step(caller.call('py.rpc.whoami'), 'call whoami'))
    await step(callee.register(whoami, 'py.rpc.any.', options=RegisterOptions(match='prefix', details_arg='details')),
               'register prefix procedure')
    emit(prefix_call=await step(caller.call('py.rpc.any.thing'), 'call through a prefix registration'))

    await step(reg.unregister(), 'unregister add')
    emit(after_unregister=await expect_error(caller.call('py.rpc.add', 1, 1), 'call after unregister'))
    # a second session may register the name once the first gave it up
    await step(caller.register(add, 'py.rpc.add'), 'register add again from the caller')
    emit(reregistered=await step(callee.call('py.rpc.add', 20, 22), 'call re-registered add'))


async def scenario_cancel(ctx):
    """CANCEL in mode `kill` (sent explicitly) and autobahn's default CANCEL, plus a call timeout:
    the callee is interrupted and the caller gets wamp.error.canceled."""
    callee = await ctx.connect(serializer=ctx.other_serializer)
    caller = await ctx.connect()
    interrupted = []
    started = {}

    async def slow(tag):
        settle(started[tag], True)
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            # INTERRUPT: answer the way a well-behaved callee does
            interrupted.append(tag)
            raise ApplicationError(ApplicationError.CANCELED, 'interrupted')
        return 'finished'

    await step(callee.register(slow, 'py.cancel.slow'), 'register slow')

    # 1. explicit CANCEL {mode: kill}
    started['kill'] = waiter()
    call = caller.call('py.cancel.slow', 'kill')
    await step(started['kill'], 'invocation kill started')
    request_id = max(caller._call_reqs.keys())
    caller._transport.send(message.Cancel(request_id, mode='kill'))
    emit(kill=await expect_error(call, 'call canceled with mode kill'))

    # 2. autobahn's own cancel (CANCEL without a mode): the future is dropped locally; the router
    #    must still answer with ERROR wamp.error.canceled, which we see in the inbound trace.
    started['default'] = waiter()
    call = caller.call('py.cancel.slow', 'default')
    await step(started['default'], 'invocation default started')
    request_id = max(caller._call_reqs.keys())
    call.cancel()

    async def canceled_error():
        while True:
            for msg in caller.inbound:
                if isinstance(msg, message.Error) and msg.request_type == message.Call.MESSAGE_TYPE \
                        and msg.request == request_id:
                    return msg.error
            await asyncio.sleep(0.02)
    emit(default=await step(canceled_error(), 'ERROR for the call canceled without mode'))

    # 3. call timeout set by the caller
    started['timeout'] = waiter()
    emit(timeout=await expect_error(caller.call('py.cancel.slow', 'timeout', options=CallOptions(timeout=300)),
                                    'call with timeout 300 ms'))

    async def interrupted_by_kill_and_timeout():
        while not {'kill', 'timeout'} <= set(interrupted):
            await asyncio.sleep(0.02)
    await step(interrupted_by_kill_and_timeout(), 'callee interrupted by kill and timeout (got %r)' % interrupted)
    emit(interrupted=sorted(interrupted))
    # the callee is still usable afterwards
    started['after'] = waiter()
    after = caller.call('py.cancel.slow', 'after', options=CallOptions(timeout=5000))
    await step(started['after'], 'callee still invoked after the cancels')
    after.cancel()


async def scenario_callee_disconnect(ctx):
    """The callee goes away (GOODBYE, then a dropped TCP connection) while a call is pending."""
    caller = await ctx.connect()
    for how in ('goodbye', 'drop'):
        callee = await ctx.connect(serializer=ctx.other_serializer)
        started = waiter()

        async def hang():
            settle(started, True)
            await asyncio.sleep(60)

        await step(callee.register(hang, 'py.gone.%s' % how), 'register hang')
        call = caller.call('py.gone.%s' % how)
        await step(started, 'invocation started')
        if how == 'goodbye':
            callee.leave()
        else:
            callee._transport.transport.abort()
        emit(how=how, error=await expect_error(call, 'call to callee that left (%s)' % how))
        await step(asyncio.shield(callee.closed), 'callee transport closed')
        # the registration went with the callee
        emit(how=how, after=await expect_error(caller.call('py.gone.%s' % how), 'call after callee left'))


async def scenario_session_meta(ctx):
    watcher = await ctx.connect()
    joins, leaves = [], []
    wait = {"join": waiter(), "leave": waiter()}

    def on_join(details):
        joins.append(details)
        settle(wait['join'], True)

    def on_leave(session, authid, authrole):
        leaves.append([session, authid, authrole])
        settle(wait['leave'], True)

    await step(watcher.subscribe(on_join, 'wamp.session.on_join'), 'subscribe on_join')
    await step(watcher.subscribe(on_leave, 'wamp.session.on_leave'), 'subscribe on_leave')
    count_before = await step(watcher.call('wamp.session.count'), 'wamp.session.count')
    other = await ctx.connect(serializer=ctx.other_serializer)
    await step(wait['join'], 'on_join event')
    emit(on_join=plain(joins[-1]), other_session=other._session_id)
    emit(count_before=count_before, count_during=await step(watcher.call('wamp.session.count'), 'count'))
    emit(list=plain(await step(watcher.call('wamp.session.list'), 'wamp.session.list')))
    emit(get=plain(await step(watcher.call('wamp.session.get', other._session_id), 'wamp.session.get')))
    emit(get_missing=await expect_error(watcher.call('wamp.session.get', UNKNOWN_ID), 'wamp.session.get of unknown id'))
    await leave(other)
    await step(wait['leave'], 'on_leave event')
    emit(on_leave=leaves[-1])
    emit(count_after=await step(watcher.call('wamp.session.count'), 'count after leave'))


async def run_meta_scenario(ctx, family, event_names, create, remove, queries):
    """Watches wamp.<family>.<event> from a second session while the owner creates and removes one
    registration or subscription, and asks the wamp.<family>.* procedures about it in between.
    `queries` are (key, procedure, args) with ID standing for the object's id; a query about
    UNKNOWN_ID expects an ERROR."""
    owner = await ctx.connect()
    watcher = await ctx.connect(serializer=ctx.other_serializer)
    events = []
    got = {}

    def recorder(name):
        def record(*args, **kwargs):
            events.append({"event": name, "args": plain(list(args))})
            if name in got:
                settle(got[name], True)
        return record

    for name in event_names:
        await step(watcher.subscribe(recorder(name), 'wamp.%s.%s' % (family, name)), 'subscribe ' + name)
    created, added, removed, deleted = event_names
    got[created], got[added] = waiter(), waiter()
    obj = await create(owner)
    await step(got[created], created)
    await step(got[added], added)
    emit(**{family: obj.id, "owner": owner._session_id})
    for key, procedure, args in queries:
        uri = 'wamp.%s.%s' % (family, procedure)
        call = watcher.call(uri, *[obj.id if a is ID else a for a in args])
        emit(**{key: await expect_error(call, uri) if UNKNOWN_ID in args else plain(await step(call, uri))})
    got[removed], got[deleted] = waiter(), waiter()
    await step(remove(obj), 'remove')
    await step(got[removed], removed)
    await step(got[deleted], deleted)
    for ev in events:
        emit(meta_event=ev)


async def scenario_registration_meta(ctx):
    async def create(owner):
        reg = await step(owner.register(lambda: 1, 'py.meta.proc'), 'register py.meta.proc')
        await step(owner.register(lambda: 1, 'py.meta.pre', options=RegisterOptions(match='prefix')), 'register prefix')
        return reg

    await run_meta_scenario(ctx, 'registration', ('on_create', 'on_register', 'on_unregister', 'on_delete'), create,
                            lambda reg: reg.unregister(), [
                                ('list', 'list', []),
                                ('lookup', 'lookup', ['py.meta.proc']),
                                ('lookup_missing', 'lookup', ['py.meta.none']),
                                ('match', 'match', ['py.meta.proc']),
                                ('get', 'get', [ID]),
                                ('get_missing', 'get', [UNKNOWN_ID]),
                                ('list_callees', 'list_callees', [ID]),
                                ('count_callees', 'count_callees', [ID]),
                            ])


async def scenario_subscription_meta(ctx):
    async def create(owner):
        return await step(owner.subscribe(lambda *a, **k: None, 'py.meta..topic', options=SubscribeOptions(match='wildcard')),
                          'subscribe wildcard topic')

    await run_meta_scenario(ctx, 'subscription', ('on_create', 'on_subscribe', 'on_unsubscribe', 'on_delete'), create,
                            lambda sub: sub.unsubscribe(), [
                                ('list', 'list', []),
                                ('lookup', 'lookup', ['py.meta..topic', {"match": "wildcard"}]),
                                ('match', 'match', ['py.meta.x.topic']),
                                ('get', 'get', [ID]),
                                ('get_missing', 'get', [UNKNOWN_ID]),
                                ('list_subscribers', 'list_subscribers', [ID]),
                                ('count_subscribers', 'count_subscribers', [ID]),
                            ])


async def scenario_auth(ctx):
    """Joins with opts {method, authid, secret} (or none: anonymous); reports WELCOME or ABORT."""
    auth = ctx.opts.get('auth')
    try:
        peer = await ctx.connect(auth=auth)
    except Refused as refused:
        emit(refused={"reason": refused.reason, "message": refused.message_text})
        return
    welcome = peer.last_inbound(message.Welcome)
    emit(joined={"session": welcome.session, "authid": welcome.authid, "authrole": welcome.authrole,
                 "authmethod": welcome.authmethod, "authprovider": welcome.authprovider})
    # the session works: a meta call returns our own details
    own = await step(peer.call('wamp.session.get', peer._session_id), 'wamp.session.get after auth')
    emit(own_session={"authid": own.get('authid'), "authrole": own.get('authrole')})


async def scenario_authorization(ctx):
    """opts: {auth, allowed: prefix, denied: prefix}. Each action on an allowed URI works and on a
    denied URI fails with the router's error, and the session survives the refusals."""
    peer = await ctx.connect(auth=ctx.opts.get('auth'))
    allowed, denied = ctx.opts['allowed'], ctx.opts['denied']
    outcomes = []

    async def attempt(action, uri, make):
        try:
            await step(make(), '%s %s' % (action, uri))
            outcomes.append({"action": action, "uri": uri, "outcome": "ok"})
        except ApplicationError as err:
            outcomes.append({"action": action, "uri": uri, "outcome": err.error})

    for base in (allowed, denied):
        await attempt('register', base + 'proc', lambda: peer.register(lambda: 'ok', base + 'proc'))
        await attempt('call', base + 'proc', lambda: peer.call(base + 'proc'))
        await attempt('subscribe', base + 'topic', lambda: peer.subscribe(lambda *a: None, base + 'topic'))
        await attempt('publish', base + 'topic',
                      lambda: peer.publish(base + 'topic', 1, options=PublishOptions(acknowledge=True)))
    for o in outcomes:
        emit(attempt=o)
    emit(still_joined=peer.is_attached())


async def scenario_call(ctx):
    """Calls opts.procedure with opts.args / opts.kwargs; reports the result or the error."""
    peer = await ctx.connect()
    try:
        await step(peer.call(ctx.opts['procedure'], *ctx.opts.get('args', []), **ctx.opts.get('kwargs', {})),
                   'call %s' % ctx.opts['procedure'])
    except ApplicationError as err:
        emit(error=error_fields(err))
        return
    result = peer.last_inbound(message.Result)
    emit(result={"args": plain(result.args or []), "kwargs": plain(result.kwargs or {})})


async def scenario_serve(ctx):
    """Registers py.serve.echo / add / fail and subscribes py.serve.inbox; reports invocations and
    events; publishes opts.publish_to (if set) once per echo call; runs until stdin closes."""
    peer = await ctx.connect()

    def echo(*args, **kwargs):
        emit(invocation='echo', args=plain(list(args)), kwargs=plain(kwargs))
        return CallResult(*args, **kwargs)

    def add(a, b):
        emit(invocation='add', args=[a, b])
        return a + b

    def fail(*args):
        emit(invocation='fail', args=plain(list(args)))
        raise ApplicationError('py.error.serve_failed', 'refused', {"why": "asked to"}, detail='kw')

    def on_event(*args, **kwargs):
        emit(event={"args": plain(list(args)), "kwargs": plain(kwargs)})

    await step(peer.register(echo, 'py.serve.echo'), 'register echo')
    await step(peer.register(add, 'py.serve.add'), 'register add')
    await step(peer.register(fail, 'py.serve.fail'), 'register fail')
    await step(peer.subscribe(on_event, 'py.serve.inbox'), 'subscribe inbox')
    emit(ready=True, session=peer._session_id)
    loop = asyncio.get_running_loop()
    closed = loop.create_future()

    class StdinWatcher(asyncio.Protocol):
        def connection_lost(self, exc):
            settle(closed, True)

    await loop.connect_read_pipe(StdinWatcher, sys.stdin)
    await closed
    check(peer.is_attached(), 'session still attached when asked to stop')


SCENARIOS = {name[len('scenario_'):]: fn for name, fn in globals().items() if name.startswith('scenario_')}


async def main(args):
    ctx = Context(args.url, args.realm, args.serializer, json.loads(args.opts))
    try:
        await asyncio.wait_for(SCENARIOS[args.scenario](ctx), args.timeout)
        await ctx.close_all()
    except asyncio.TimeoutError:
        return 'scenario %s did not finish within %s s' % (args.scenario, args.timeout)
    except Fail as f:
        return str(f)
    except Refused as r:
        return 'session refused: %s' % r
    except ApplicationError as err:
        return 'unexpected ERROR %s %r %r' % (err.error, list(err.args), err.kwargs)
    except Exception as exc:  # noqa: BLE001 - any other failure ends the run with its reason
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        return 'unexpected %s: %s (%s:%d)' % (type(exc).__name__, exc, frame.filename, frame.lineno)
    if PROTOCOL_ERRORS:
        return 'autobahn dropped a session: %s' % PROTOCOL_ERRORS[0]
    return None


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('scenario', choices=sorted(SCENARIOS))
    parser.add_argument('url')
    parser.add_argument('--realm', default='test_realm')
    parser.add_argument('--serializer', choices=['json', 'msgpack'], default='json')
    parser.add_argument('--opts', default='{}')
    parser.add_argument('--timeout', type=float, default=30.0)
    cli = parser.parse_args()
    failure = asyncio.run(main(cli))
    if failure is None and PROTOCOL_ERRORS:
        failure = 'autobahn dropped a session: %s' % PROTOCOL_ERRORS[0]
    if failure:
        if PROTOCOL_ERRORS and 'dropped' not in failure:
            failure = '%s (autobahn dropped a session: %s)' % (failure, PROTOCOL_ERRORS[0])
        emit(fail=failure)
        sys.exit(1)
    emit(done=True)
