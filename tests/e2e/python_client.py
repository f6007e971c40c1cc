# SPDX-License-Identifier: MIT
"""A second, non-JavaScript client: python-socketio against ./examples/conformance.

Usage: python3 python_client.py URL TRANSPORT   (TRANSPORT: websocket | polling)

Connects to "/" and "/custom" with auth, checks the `auth` events, round-trips text and binary
arguments through `message` / `message-back`, and calls `message-with-ack`. Prints one line per
check; exits 0 when every check passed, 1 on the first failure (with what was expected and got).
Needs `apt-get install -y python3-socketio python3-requests python3-websocket`.
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


def fail(message):
    print(f'FAIL {message}', flush=True)
    # Leave at once: the client's background threads must not keep the process alive.
    os._exit(1)


if __name__ == '__main__':
    main()
