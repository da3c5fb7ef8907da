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
them in place) a copy of the table's item index is an exact backup; an Update changes
its one item in place, so that item alone is deep-copied into the backup as well.

Usage: python scripts/moto_server.py [-H HOST] -p PORT
"""

import argparse
import copy

from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


class _BackupCopy:
    """Stands in for the `copy` module inside moto's DynamoDB backend."""

    # None: moto's own deep copy. A list: the keys (DynamoDB JSON) that Updates change.
    updated_keys = None

    @staticmethod
    def deepcopy(obj, memo=None):
        if isinstance(obj, Table) and _BackupCopy.updated_keys is not None:
            # items: {hash: {range: Item}}; copy both levels, share the Item objects...
            backup = copy.copy(obj)
            backup.items = copy.copy(obj.items)
            for hash_key, value in backup.items.items():
                if isinstance(value, dict):
                    backup.items[hash_key] = dict(value)
            # ...except the items an Update will change in place: those are copied.
            for key in _BackupCopy.updated_keys:
                if obj.hash_key_attr not in key:
                    continue
                hash_key = DynamoType(key[obj.hash_key_attr])
                bucket = backup.items.get(hash_key)
                if obj.range_key_attr is None:
                    if bucket is not None:
                        backup.items[hash_key] = copy.deepcopy(bucket)
                elif isinstance(bucket, dict) and obj.range_key_attr in key:
                    range_key = DynamoType(key[obj.range_key_attr])
                    if range_key in bucket:
                        bucket[range_key] = copy.deepcopy(bucket[range_key])
            return backup
        return copy.deepcopy(obj, memo)

    def __getattr__(self, name):
        return getattr(copy, name)


def _cheap_transaction_backups() -> None:
    backend = dynamodb_models.DynamoDBBackend
    original = backend.transact_write_items

    def transact_write_items(self, transact_items):
        _BackupCopy.updated_keys = [
            op["Update"].get("Key", {}) for op in transact_items if "Update" in op
        ]
        try:
            return original(self, transact_items)
        finally:
            _BackupCopy.updated_keys = None

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
