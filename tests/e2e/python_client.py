# SPDX-License-Identifier: MIT
"""A second, non-JavaScript client: python-socketio against sio's servers.

Usage: python3 python_client.py URL TRANSPORT [semantics]   (TRANSPORT: websocket | polling)

Default mode, against ./examples/conformance: connects to "/" and "/custom" with auth, checks the
`auth` events, round-trips text and binary arguments through `message` / `message-back`, and calls
`message-with-ack`.

`semantics` mode, against tests/servers/semantics.c (its event protocol is documented at the top of
that file): a middleware refusal with data on "/admin", then "/" and "/admin" on one connection
with auth, headers and query seen by the server, emit with ack (text and binary), events received
(a 3-attachment binary event), an emit from the server that asks python for an ack, rooms and a
broadcast to a room, and the disconnect reason the server logs.

Prints one line per check; exits 0 when every check passed, 1 on the first failure (with what was
expected and got). Needs `apt-get install -y python3-socketio python3-requests python3-websocket`.
"""
import os
import sys
import threading

import socketio

TIMEOUT = 5


def main():
    url, transport = sys.argv[1], sys.argv[2]
    sio = socketio.Client(reconnection=False)
    received = {}  # (namespace, event) -> list of argument tuples
    arrived = threading.Condition()

    def record(namespace, event):
        def handler(*args):
            with arrived:
                received.setdefault((namespace, event), []).append(args)
                arrived.notify_all()
        sio.on(event, handler, namespace=namespace)

    def wait_for(namespace, event, count=1):
        with arrived:
            ok = arrived.wait_for(lambda: len(received.get((namespace, event), [])) >= count, TIMEOUT)
        if not ok:
            fail(f'timeout waiting for "{event}" on {namespace}')
        return received[(namespace, event)][count - 1]

    def check(name, got, expected):
        if got != expected:
            fail(f'{name}: expected {expected!r}, got {got!r}')
        print(f'ok {name}')

    record('/', 'auth')
    record('/custom', 'auth')
    record('/', 'message-back')

    auth = {'username': 'python', 'n': 1}
    sio.connect(url, auth=auth, transports=[transport], namespaces=['/', '/custom'], wait_timeout=TIMEOUT)
    try:
        check('auth on /', wait_for('/', 'auth'), (auth,))
        check('auth on /custom', wait_for('/custom', 'auth'), (auth,))

        sio.emit('message', (1, '2', {'a': [True, None]}))
        check('message-back with plain arguments', wait_for('/', 'message-back', 1), (1, '2', {'a': [True, None]}))

        blob = bytes(range(256))
        nested = {'file': b'\x01\x02\x03', 'list': [blob, b'']}
        sio.emit('message', ('héllo 😀', nested))
        check('message-back with binary', wait_for('/', 'message-back', 2), ('héllo 😀', nested))

        check('ack with one argument', sio.call('message-with-ack', 'hi', timeout=TIMEOUT), 'hi')
        check('ack with binary', sio.call('message-with-ack', (1, blob), timeout=TIMEOUT), (1, blob))
        check('transport', sio.transport(), transport)
    finally:
        sio.disconnect()
    print('all checks passed')


def semantics_main():
    url, transport = sys.argv[1], sys.argv[2]
    received = {}  # (namespace, event) -> list of argument tuples
    arrived = threading.Condition()

    def check(name, got, expected):
        if got != expected:
            fail(f'{name}: expected {expected!r}, got {got!r}')
        print(f'ok {name}')

    # 1. A middleware refusal carries {message, data} to the connect_error handler.
    bad = socketio.Client(reconnection=False)
    errors = []
    bad.on('connect_error', lambda data=None: errors.append(data), namespace='/admin')
    try:
        bad.connect(url, auth={'token': 'wrong'}, transports=[transport], namespaces=['/admin'],
                    wait_timeout=2)
        fail('connecting to /admin with a bad token succeeded')
    except socketio.exceptions.ConnectionError:
        pass
    check('connect_error with data', errors[:1],
          [{'message': 'not authorized', 'data': {'content': 'Please retry later'}}])
    bad.disconnect()

    # 2. "/" and "/admin" multiplexed on one connection.
    sio = socketio.Client(reconnection=False)

    def record(namespace, event):
        def handler(*args):
            with arrived:
                received.setdefault((namespace, event), []).append(args)
                arrived.notify_all()
        sio.on(event, handler, namespace=namespace)

    def wait_for(namespace, event, count=1):
        with arrived:
            ok = arrived.wait_for(lambda: len(received.get((namespace, event), [])) >= count, TIMEOUT)
        if not ok:
            fail(f'timeout waiting for "{event}" on {namespace}')
        return received[(namespace, event)][count - 1]

    for event in ('echo', 'binary', 'msg', 'server-ack-result'):
        record('/', event)
    record('/admin', 'msg')
    # An emit from the server asking for an ack: the handler's return value is the ack.
    sio.on('question', lambda n: ('answer', n + 1), namespace='/')

    sio.connect(url + '?from=python', headers={'X-Python': 'yes'}, auth={'token': 'ok'},
                transports=[transport], namespaces=['/', '/admin'], wait_timeout=TIMEOUT)
    try:
        root = sio.get_sid('/')
        admin = sio.get_sid('/admin')
        if not root or not admin or root == admin:
            fail(f'expected two different socket ids, got {root!r} and {admin!r}')
        print('ok two namespaces, two socket ids')

        hs = sio.call('handshake', {'headers': ['x-python'], 'query': ['from', 'transport']},
                      namespace='/admin', timeout=TIMEOUT)
        check('handshake nsp', hs['nsp'], '/admin')
        check('handshake id', hs['id'], admin)
        check('handshake auth', hs['auth'], {'token': 'ok'})
        check('handshake headers', hs['headers'], {'x-python': 'yes'})
        check('handshake query', hs['query'], {'from': 'python', 'transport': transport})
        check('handshake middlewares', hs['mw'], ['admin'])

        check('ack with arguments', sio.call('echo-ack', (1, 'two', {'three': [3]}), timeout=TIMEOUT),
              (1, 'two', {'three': [3]}))
        blob = bytes(range(256))
        check('ack with binary', sio.call('echo-ack', ('b', {'deep': [blob, b'']}), timeout=TIMEOUT),
              ('b', {'deep': [blob, b'']}))

        sio.emit('echo', ('héllo 😀', {'file': b'\x00\x01'}))
        check('echo received', wait_for('/', 'echo'), ('héllo 😀', {'file': b'\x00\x01'}))

        sio.emit('binary')
        check('3-attachment event', wait_for('/', 'binary'),
              ({'file': b'\x01\x02\x03', 'parts': [b'hello', {'deep': blob}], 'name': 'three'},))

        check('server ack request accepted',
              sio.call('server-ack', ({'timeout': 5000, 'tag': 'py'}, 'question', 41), timeout=TIMEOUT), 0)
        check('server got the ack', wait_for('/', 'server-ack-result'),
              ({'tag': 'py', 'err': None, 'reply': ['answer', 42]},))

        check('join', sio.call('join', 'py-room', timeout=TIMEOUT), [root, 'py-room'])
        check('emit to the room', sio.call('emit', ({'to': 'py-room'}, 'msg', 'to the room'), timeout=TIMEOUT), 1)
        check('room message received', wait_for('/', 'msg'), ('to the room',))
        check('namespace-wide emit to /admin',
              sio.call('emit', ({'nsp': '/admin'}, 'msg', 'admins'), timeout=TIMEOUT), 1)
        check('/admin message received', wait_for('/admin', 'msg'), ('admins',))
        check('transport', sio.transport(), transport)
    finally:
        sio.disconnect()
    print('all checks passed')


def fail(message):
    print(f'FAIL {message}', flush=True)
    # Leave at once: the client's background threads must not keep the process alive.
    os._exit(1)


if __name__ == '__main__':
    if len(sys.argv) > 3 and sys.argv[3] == 'semantics':
        semantics_main()
    else:
        main()
