"""moto in server mode, handling one request at a time.

DynamoDB applies each conditional write and each transaction atomically. moto's own
server is multi-threaded and checks conditions and writes items without a lock, so two
concurrent conditional writes can both pass: a race that real DynamoDB never allows and
that would make our concurrency tests fail for the emulator's sake. Serving requests one
at a time gives moto DynamoDB's guarantee. moto closes every connection after its
response, so a single-threaded server cannot be held by an idle keep-alive client.

It also makes moto's TransactWriteItems cost what the transaction touches. moto backs
up every table a transaction names with a deep copy, so each transaction costs the
whole table, and a test with a thousand leads spends minutes copying. Here the backup
is a copy of just the items the transaction names (a transaction can change nothing
else), and a failed transaction puts those back. Queries, which moto answers by sorting
(and for an index, deep-copying) the whole table, find and project just their
partition.

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
Reads report what DynamoDB charges as well (moto says 0.5 whatever it read): GetItem 1
unit per started 4 KB of the item (at least one), Query 1 unit per started 4 KB of all
the items (index entries, for an index) it returned; half that when not strongly
consistent, as index queries never are.

And it gives TransactWriteItems its ClientRequestToken, which moto ignores. DynamoDB
makes a transaction with a token idempotent: a repeat of a token whose transaction
succeeded in the last 10 minutes returns success without applying anything again (and
reports the read units of the items, not write units); a repeat with different
parameters fails with IdempotentParameterMismatchException; a token whose transaction
failed is not remembered, so its repeat runs. Without it, an SDK retry after a lost
response would fail its own condition here where DynamoDB succeeds.

Usage: python scripts/moto_server.py [-H HOST] -p PORT
       python scripts/moto_server.py --self-test   (checks the sizing rules; test.sh runs it)
"""

import argparse
import base64
import copy
import json
import math
import time

from moto.core.responses import ActionResult
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.exceptions import DynamodbException
from moto.dynamodb.models import table as table_models
from moto.dynamodb.models.dynamo_type import DynamoType, Item
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

    # True inside a transaction: the backup moto asks for is the table itself, and the
    # transaction wrapper below keeps copies of the items the transaction touches.
    in_transaction = False

    @staticmethod
    def deepcopy(obj, memo=None):
        if isinstance(obj, Table) and _BackupCopy.in_transaction:
            return obj
        return copy.deepcopy(obj, memo)

    def __getattr__(self, name):
        return getattr(copy, name)


def _touched_items(backend, transact_items):
    """(table, hash key, range key, a copy of the item or None) per item a transaction
    names: everything it can change, and all a rollback must put back."""
    touched = []
    for entry in transact_items:
        ((kind, op),) = entry.items()
        name = op.get("TableName")
        if name not in backend.tables:
            continue
        table = backend.tables[name]
        key = op.get("Item") if kind == "Put" else op.get("Key")
        if not key or table.hash_key_attr not in key:
            continue
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = None
        if table.range_key_attr is not None:
            if table.range_key_attr not in key:
                continue
            range_key = DynamoType(key[table.range_key_attr])
        item = table.get_item(hash_key, range_key)
        touched.append((table, hash_key, range_key, copy.deepcopy(item)))
    return touched


def _restore(touched):
    """Put every touched item back as it was (or remove it if it did not exist)."""
    for table, hash_key, range_key, item in reversed(touched):
        if table.range_key_attr is not None:
            bucket = table.items[hash_key]
            if item is None:
                bucket.pop(range_key, None)
                if not bucket:
                    table.items.pop(hash_key, None)
            else:
                bucket[range_key] = item
        elif item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item


def _cheap_transaction_backups() -> None:
    backend = dynamodb_models.DynamoDBBackend
    original = backend.transact_write_items

    def transact_write_items(self, transact_items):
        touched = _touched_items(self, transact_items)
        # Stream records of the writes a failed transaction made before it failed must
        # go too: DynamoDB streams only what commits.
        streams = {
            id(t.stream_shard): (t.stream_shard, len(t.stream_shard.items))
            for t, *_ in touched
            if getattr(t, "stream_shard", None) is not None
        }
        _BackupCopy.in_transaction = True
        try:
            return original(self, transact_items)
        except Exception:
            # moto "restored" the table from its backup, which is the table itself:
            # put back what the transaction changed before it failed.
            _restore(touched)
            for shard, length in streams.values():
                del shard.items[length:]
            raise
        finally:
            _BackupCopy.in_transaction = False

    backend.transact_write_items = transact_write_items
    dynamodb_models.copy = _BackupCopy()


class _QueryCopy:
    """Stands in for the `copy` module inside moto's table model: while an index query
    runs, the copy of its results is shallow (see `_fast_queries`)."""

    shallow = False
    # The attributes an index entry holds, while a query of a projecting index runs.
    projected = None

    @staticmethod
    def deepcopy(obj, memo=None):
        if _QueryCopy.shallow and isinstance(obj, list):
            return list(obj)
        return copy.deepcopy(obj, memo)

    def __getattr__(self, name):
        return getattr(copy, name)


def _fast_queries() -> None:
    """moto answers an index query by deep-copying every matching item whole, then
    projecting each copy to the index's attributes by converting the whole item to
    plain JSON once per projected attribute: a timer query over a few thousand leads
    takes seconds, which is the emulator's cost, not DynamoDB's. Here the projection of
    top-level attributes copies just those attributes, and the results of an index
    query are not deep-copied first (the projection makes new items; a projection of
    ALL is only read by the response). The 1 MB page limit counts the size of the index
    entries, as DynamoDB does, rather than of whole items. And the items of the queried
    partition, of an index or of the table, are found without sorting the whole table
    first (`_index_candidates`, `_partition`)."""
    item_project = Item.project

    def project(self, projection_expressions):
        names = [expr[0] for expr in projection_expressions if len(expr) == 1]
        if len(names) != len(projection_expressions) or any("[" in n for n in names):
            return item_project(self, projection_expressions)
        attrs = {n: self.attrs[n].to_json() for n in names if n in self.attrs}
        return Item(hash_key=self.hash_key, range_key=self.range_key, attrs=attrs)

    item_size = Item.size

    def size(self):
        names = _QueryCopy.projected
        if names is None:
            return item_size(self)
        return sum(len(k.encode("utf-8")) + v.size() for k, v in self.attrs.items() if k in names)

    query = Table.query

    def fast_query(self, *args, **kwargs):
        # Table.query(hash_key, range_comparison, range_objs, limit, exclusive_start_key,
        # scan_index_forward, projection_expressions, index_name, ...)
        index_name = kwargs.get("index_name", args[7] if len(args) > 7 else None)
        if index_name:
            _QueryCopy.shallow = True
            index = self.get_index(index_name)
            projection = index.projection or {}
            if projection.get("ProjectionType", "ALL") != "ALL":
                names = set(self.table_key_attrs + index.schema_key_attrs)
                names.update(projection.get("NonKeyAttributes", []))
                _QueryCopy.projected = names
            candidates = _index_candidates(self, index_name, kwargs.get("hash_key_conditions"))
        else:
            candidates = _partition(self, args[0] if args else kwargs.get("hash_key"))
        if candidates is not None:
            # An instance attribute shadows the method for this one query.
            self.all_items = lambda: candidates
        try:
            return query(self, *args, **kwargs)
        finally:
            _QueryCopy.shallow = False
            _QueryCopy.projected = None
            self.__dict__.pop("all_items", None)

    Item.project = project
    Item.size = size
    Table.query = fast_query
    table_models.copy = _QueryCopy()


def _index_candidates(table, index_name, hash_conditions):
    """The items whose index partition key equals the query's, or None to let moto look.

    moto starts every query by sorting the whole table (`all_items`), then compares each
    item's key attributes as DynamoType objects. For an index query on one string or
    binary partition key, the items in that partition are found by comparing raw values
    in one pass; moto then does the rest (range condition, order, pages, projection) on
    them as before, in the same order."""
    if not index_name or not hash_conditions or len(hash_conditions) != 1:
        return None
    ((name, wanted),) = hash_conditions
    if wanted.type not in ("S", "B"):
        return None
    found = []
    for bucket in table.items.values():
        for item in bucket.values() if table.range_key_attr else (bucket,):
            value = item.attrs.get(name)
            if value is not None and value.type == wanted.type and value.value == wanted.value:
                found.append(item)
    found.sort(key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)
    return found


def _partition(table, hash_key):
    """The items of one partition of the table itself, in key order: what a query of
    the table reads, found by key instead of by sorting the whole table."""
    if hash_key is None:
        return None
    if table.range_key_attr is None:
        item = table.items.get(hash_key)
        return [item] if item is not None else []
    bucket = table.items.get(hash_key) or {}
    return sorted(bucket.values(), key=lambda x: x.range_key)


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


def _read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return float(units) if consistent else units / 2


def _item_size(item) -> int:
    """The size of an item as a response carries it (DynamoDB JSON)."""
    return _attributes_size({k: DynamoType(v) for k, v in (item or {}).items()})


def _read_capacity(name: str, units: float, mode: str, index=None) -> dict:
    out = {"TableName": name, "CapacityUnits": units, "ReadCapacityUnits": units}
    if mode == "INDEXES":
        part = {"CapacityUnits": units, "ReadCapacityUnits": units}
        if index:
            out["GlobalSecondaryIndexes"] = {index: part}
        else:
            out["Table"] = part
    return out


def _measured_reads() -> None:
    """GetItem and Query: report the read units of what they read."""
    get_item, query = DynamoHandler.get_item, DynamoHandler.query

    def measured_get(self):
        result = get_item(self)
        mode = self.body.get("ReturnConsumedCapacity", "NONE")
        if mode in ("TOTAL", "INDEXES"):
            size = _item_size(result.result.get("Item"))
            units = _read_units(size, bool(self.body.get("ConsistentRead")))
            result.result["ConsumedCapacity"] = _read_capacity(self.body["TableName"], units, mode)
        return result

    def measured_query(self):
        result = query(self)
        mode = self.body.get("ReturnConsumedCapacity", "NONE")
        if mode in ("TOTAL", "INDEXES"):
            index = self.body.get("IndexName")
            size = sum(_item_size(i) for i in result.result.get("Items", []))
            consistent = bool(self.body.get("ConsistentRead")) and not index
            units = _read_units(size, consistent)
            result.result["ConsumedCapacity"] = _read_capacity(
                self.body["TableName"], units, mode, index
            )
        return result

    DynamoHandler.get_item = measured_get
    DynamoHandler.query = measured_query


class IdempotentParameterMismatch(DynamodbException):
    error_type = "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException"

    def __init__(self):
        super().__init__(
            self.error_type,
            message="The request uses the same client token as a previous, but non-identical request.",
        )


# A token is remembered this long after its transaction succeeded (DynamoDB: 10 minutes).
IDEMPOTENCY_WINDOW_SECONDS = 600


def _wire_bytes(value):
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _idempotent_transactions() -> None:
    """TransactWriteItems with a ClientRequestToken, as DynamoDB documents it."""
    original = DynamoHandler.transact_write_items
    # token -> (the request's parameters, when it succeeded). One request at a time is
    # served (see the module docs), so no lock.
    seen = {}

    def handler(self):
        token = self.body.get("ClientRequestToken")
        if not token:
            return original(self)
        now = time.monotonic()
        for old in [t for t, (_, at) in seen.items() if now - at > IDEMPOTENCY_WINDOW_SECONDS]:
            del seen[old]
        params = json.dumps(
            {k: v for k, v in self.body.items() if k != "ReturnConsumedCapacity"},
            sort_keys=True,
            # Binary attributes arrive decoded: compare them in their wire form.
            default=_wire_bytes,
        )
        if token in seen:
            if seen[token][0] != params:
                raise IdempotentParameterMismatch()
            return _replayed(self)
        result = original(self)
        seen[token] = (params, now)
        return result

    def _replayed(self):
        """Success without applying: the read units of the items the request names."""
        response = {"ConsumedCapacity": [], "ItemCollectionMetrics": {}}
        mode = self.body.get("ReturnConsumedCapacity", "NONE")
        if mode in ("TOTAL", "INDEXES"):
            tables = {}
            for entry in self.body["TransactItems"]:
                ((kind, op),) = entry.items()
                key = op.get("Item") if kind == "Put" else op["Key"]
                _, item = _lookup(self.dynamodb_backend, op["TableName"], key)
                size = _attributes_size(item.attrs) if item is not None else 0
                # Transactional reads cost twice a strongly consistent read.
                units = 2 * _read_units(size, True)
                tables[op["TableName"]] = tables.get(op["TableName"], 0) + units
            response["ConsumedCapacity"] = [
                _read_capacity(name, units, mode) for name, units in tables.items()
            ]
        return ActionResult(response)

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
    assert [_read_units(n, True) for n in (0, 4096, 4097)] == [1, 1, 2]
    assert [_read_units(n, False) for n in (0, 4096, 8193)] == [0.5, 0.5, 1.5]
    print(f"moto_server.py: sizing rules hold on {len(cases)} cases")
    _self_test_rollback()


def _self_test_rollback() -> None:
    """A failed transaction leaves every item it touched as it was."""
    _cheap_transaction_backups()
    backend = dynamodb_models.dynamodb_backends["123456789012"]["us-east-1"]
    backend.create_table(
        "selftest",
        schema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        throughput=None,
        attr=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        global_indexes=None,
        indexes=None,
        streams=None,
        billing_mode="PAY_PER_REQUEST",
        sse_specification=None,
        tags=[],
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    key = {"pk": {"S": "a"}, "sk": {"S": "1"}}
    backend.put_item("selftest", {**key, "n": {"N": "1"}})
    failing = [
        {"Update": {"TableName": "selftest", "Key": key, "UpdateExpression": "SET n = :two",
                    "ExpressionAttributeValues": {":two": {"N": "2"}}}},
        {"Put": {"TableName": "selftest", "Item": {"pk": {"S": "b"}, "sk": {"S": "1"}}}},
        {"ConditionCheck": {"TableName": "selftest", "Key": {"pk": {"S": "c"}, "sk": {"S": "1"}},
                            "ConditionExpression": "attribute_exists(pk)"}},
    ]
    try:
        backend.transact_write_items(failing)
        raise AssertionError("the condition check should have cancelled the transaction")
    except dynamodb_models.TransactionCanceledException:
        pass
    table = backend.get_table("selftest")
    after = table.get_item(DynamoType(key["pk"]), DynamoType(key["sk"]))
    assert after.attrs["n"].value == "1", "the update was rolled back"
    assert table.get_item(DynamoType({"S": "b"}), DynamoType({"S": "1"})) is None, "the put too"
    backend.transact_write_items(failing[:2])
    after = table.get_item(DynamoType(key["pk"]), DynamoType(key["sk"]))
    assert after.attrs["n"].value == "2", "a transaction that holds applies"
    print("moto_server.py: a failed transaction leaves its items as they were")


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
    _measured_reads()
    _fast_queries()
    # Outermost: a repeated token is answered before anything is measured or applied.
    _idempotent_transactions()
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
