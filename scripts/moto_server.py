"""moto in server mode, handling one request at a time.

DynamoDB applies each conditional write and each transaction atomically. moto's own
server is multi-threaded and checks conditions and writes items without a lock, so two
concurrent conditional writes can both pass: a race that real DynamoDB never allows and
that would make our concurrency tests fail for the emulator's sake. Serving requests one
at a time gives moto DynamoDB's guarantee. moto closes every connection after its
response, so a single-threaded server cannot be held by an idle keep-alive client.

It also makes moto's TransactWriteItems cost what the transaction touches. moto backs
up every table a transaction names with a deep copy, so each transaction costs the
whole table, and a test with a thousand leads spends minutes copying. For transactions
made only of Put, Delete and ConditionCheck (which replace or remove items, never change
them in place) a copy of the table's item index is an exact backup; transactions with an
Update keep moto's deep copy.

Usage: python scripts/moto_server.py [-H HOST] -p PORT
"""

import argparse
import copy

from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


class _BackupCopy:
    """Stands in for the `copy` module inside moto's DynamoDB backend."""

    deep_backup = True

    @staticmethod
    def deepcopy(obj, memo=None):
        if isinstance(obj, Table) and not _BackupCopy.deep_backup:
            # items: {hash: {range: Item}}; copy both levels, share the Item objects.
            backup = copy.copy(obj)
            backup.items = copy.copy(obj.items)
            for hash_key, value in backup.items.items():
                if isinstance(value, dict):
                    backup.items[hash_key] = dict(value)
            return backup
        return copy.deepcopy(obj, memo)

    def __getattr__(self, name):
        return getattr(copy, name)


def _cheap_transaction_backups() -> None:
    backend = dynamodb_models.DynamoDBBackend
    original = backend.transact_write_items

    def transact_write_items(self, transact_items):
        # Put, Delete and ConditionCheck replace or remove items: an index copy backs up.
        _BackupCopy.deep_backup = any("Update" in op for op in transact_items)
        try:
            return original(self, transact_items)
        finally:
            _BackupCopy.deep_backup = True

    backend.transact_write_items = transact_write_items
    dynamodb_models.copy = _BackupCopy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    _cheap_transaction_backups()
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
