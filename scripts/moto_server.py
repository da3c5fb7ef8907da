"""moto in server mode, handling one request at a time.

DynamoDB applies each conditional write and each transaction atomically. moto's own
server is multi-threaded and checks conditions and writes items without a lock, so two
concurrent conditional writes can both pass: a race that real DynamoDB never allows and
that would make our concurrency tests fail for the emulator's sake. Serving requests one
at a time gives moto DynamoDB's guarantee. moto closes every connection after its
response, so a single-threaded server cannot be held by an idle keep-alive client.

Usage: python scripts/moto_server.py [-H HOST] -p PORT
"""

import argparse

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        app,
        threaded=False,
        processes=1,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
