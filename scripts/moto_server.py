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

And it makes ConsumedCapacity mean something. moto answers every PutItem, UpdateItem
and DeleteItem with a constant 1.0 and every TransactWriteItems with nothing, so a test
of a write budget would pass whatever the code wrote. Here writes report the units
DynamoDB's documented rules give: item size as DynamoDB counts it (attribute names plus
values; numbers 1 byte per 2 significant digits plus 1; 3 bytes per list or map plus 1
per element), 1 unit per started KB of the larger of the item before and after,
doubled inside a transaction (a ConditionCheck costs its item's size too), plus each
global secondary index the write touches: a put or delete of the projected entry, both
when its index key changes, nothing when neither the key nor a projected attribute
changes. Transactional index writes are doubled too, which errs on the expensive side.

Usage: python scripts/moto_server.py [-H HOST] -p PORT
       python scripts/moto_server.py --self-test   (checks the sizing rules; test.sh runs it)
"""

import argparse
import base64
import copy
import math

from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
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


def _value_size(value: DynamoType) -> int:
    kind, raw = value.type, value.value
    if kind == "S":
        return len(raw.encode("utf-8"))
    if kind == "N":
        digits = raw.lstrip("-").replace(".", "")
        digits = digits.split("e")[0].split("E")[0].strip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(raw) if isinstance(raw, bytes) else len(base64.b64decode(raw))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size(DynamoType({kind[0]: v})) for v in raw)
    if kind == "L":
        return 3 + sum(1 + _value_size(DynamoType(v)) for v in raw)
    if kind == "M":
        return 3 + sum(
            1 + len(k.encode("utf-8")) + _value_size(DynamoType(v)) for k, v in raw.items()
        )
    raise ValueError(f"unknown attribute type {kind}")


def _attributes_size(attrs) -> int:
    return sum(len(k.encode("utf-8")) + _value_size(v) for k, v in attrs.items())


def _units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


class _Footprint:
    """What a write's cost depends on, read off an item before or after the write."""

    def __init__(self, table: Table, item):
        self.size = _attributes_size(item.attrs) if item is not None else None
        self.entries = {}  # index name -> (index key values, projected attributes)
        if item is None:
            return
        table_keys = [a for a in (table.hash_key_attr, table.range_key_attr) if a]
        for index in table.global_indexes:
            keys = index.schema_key_attrs
            if not all(k in item.attrs for k in keys):
                continue  # sparse: the item is not in this index
            projection = index.projection or {}
            kind = projection.get("ProjectionType", "ALL")
            if kind == "ALL":
                names = list(item.attrs)
            else:
                names = table_keys + keys
                if kind == "INCLUDE":
                    names += projection.get("NonKeyAttributes", [])
            projected = {n: item.attrs[n] for n in dict.fromkeys(names) if n in item.attrs}
            key = tuple((k, str(item.attrs[k].to_json())) for k in keys)
            shown = {n: str(v.to_json()) for n, v in projected.items()}
            self.entries[index.name] = (key, shown, _attributes_size(projected))


def _index_units(before: _Footprint, after: _Footprint) -> dict:
    units = {}
    for name in set(before.entries) | set(after.entries):
        old, new = before.entries.get(name), after.entries.get(name)
        if old and new:
            if old[0] != new[0]:
                cost = _units(old[2]) + _units(new[2])
            elif old[1] != new[1]:
                cost = _units(max(old[2], new[2]))
            else:
                cost = 0
        else:
            cost = _units((old or new)[2])
        if cost:
            units[name] = cost
    return units


def _lookup(backend, table_name: str, key_or_item: dict):
    table = backend.get_table(table_name)
    hash_key = DynamoType(key_or_item[table.hash_key_attr])
    range_key = (
        DynamoType(key_or_item[table.range_key_attr]) if table.range_key_attr else None
    )
    return table, table.get_item(hash_key, range_key)


def _capacity(table_name: str, table_units: float, index_units: dict, mode: str) -> dict:
    total = table_units + sum(index_units.values())
    out = {"TableName": table_name, "CapacityUnits": total, "WriteCapacityUnits": total}
    if mode == "INDEXES":
        out["Table"] = {"CapacityUnits": table_units, "WriteCapacityUnits": table_units}
        if index_units:
            out["GlobalSecondaryIndexes"] = {
                n: {"CapacityUnits": u, "WriteCapacityUnits": u} for n, u in index_units.items()
            }
    return out


def _measured_single_writes() -> None:
    """PutItem, UpdateItem, DeleteItem: report what the write cost."""

    def measured(original, key_field):
        def handler(self):
            mode = self.body.get("ReturnConsumedCapacity", "NONE")
            if mode not in ("TOTAL", "INDEXES"):
                return original(self)
            name = self.body["TableName"]
            table, item = _lookup(self.dynamodb_backend, name, self.body[key_field])
            before = _Footprint(table, item)
            result = original(self)
            table, item = _lookup(self.dynamodb_backend, name, self.body[key_field])
            after = _Footprint(table, item)
            largest = max(before.size or 0, after.size or 0)
            result.result["ConsumedCapacity"] = _capacity(
                name, _units(largest), _index_units(before, after), mode
            )
            return result

        return handler

    DynamoHandler.put_item = measured(DynamoHandler.put_item, "Item")
    DynamoHandler.update_item = measured(DynamoHandler.update_item, "Key")
    DynamoHandler.delete_item = measured(DynamoHandler.delete_item, "Key")


def _measured_transactions() -> None:
    """TransactWriteItems: every item at twice the standard rate, per table."""
    original = DynamoHandler.transact_write_items

    def handler(self):
        mode = self.body.get("ReturnConsumedCapacity", "NONE")
        if mode not in ("TOTAL", "INDEXES"):
            return original(self)
        ops = []
        for entry in self.body["TransactItems"]:
            (kind, op), = entry.items()
            key = op.get("Item") if kind == "Put" else op["Key"]
            table, item = _lookup(self.dynamodb_backend, op["TableName"], key)
            ops.append((kind, op["TableName"], key, _Footprint(table, item)))
        result = original(self)
        tables = {}
        for kind, name, key, before in ops:
            table, item = _lookup(self.dynamodb_backend, name, key)
            after = _Footprint(table, item)
            table_units, index_units = tables.setdefault(name, [0, {}])
            largest = max(before.size or 0, after.size or 0)
            tables[name][0] = table_units + 2 * _units(largest)
            if kind != "ConditionCheck":
                for index, units in _index_units(before, after).items():
                    index_units[index] = index_units.get(index, 0) + 2 * units
        result.result["ConsumedCapacity"] = [
            _capacity(name, units, indexes, mode) for name, (units, indexes) in tables.items()
        ]
        return result

    DynamoHandler.transact_write_items = handler


def _self_test() -> None:
    """The sizing rules on values worked out by hand from the DynamoDB documentation."""

    def size(attrs: dict) -> int:
        return _attributes_size({k: DynamoType(v) for k, v in attrs.items()})

    cases = [
        ({"pk": {"S": "LEAD#1"}}, 2 + 6),
        ({"n": {"N": "12345"}}, 1 + 3 + 1),  # 5 digits: 3 bytes, plus 1
        ({"n": {"N": "-0.00120"}}, 1 + 1 + 1),  # "12": leading/trailing zeros trimmed
        ({"b": {"B": base64.b64encode(b"abcd").decode()}}, 1 + 4),
        ({"t": {"BOOL": True}, "z": {"NULL": True}}, 2 + 2),
        ({"l": {"L": []}}, 1 + 3),
        ({"l": {"L": [{"S": "ab"}, {"N": "7"}]}}, 1 + 3 + (1 + 2) + (1 + 2)),
        ({"m": {"M": {"k": {"S": "v"}}}}, 1 + 3 + (1 + 1 + 1)),
        ({"s": {"SS": ["a", "bc"]}}, 1 + 3),
        ({"u": {"S": "é" * 10}}, 1 + 20),
    ]
    for attrs, want in cases:
        got = size(attrs)
        assert got == want, f"{attrs}: {got} bytes, expected {want}"
    assert [_units(n) for n in (0, 1, 1024, 1025, 2048, 3073)] == [1, 1, 1, 2, 2, 4]
    print(f"moto_server.py: sizing rules hold on {len(cases)} cases")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int)
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    if args.self_test:
        _self_test()
        return
    if args.port is None:
        parser.error("-p/--port is required")
    _cheap_transaction_backups()
    _measured_single_writes()
    _measured_transactions()
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
