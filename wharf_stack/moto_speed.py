"""Make moto quick enough for a local stack people use for real, and for the suite.

moto is written to be faithful, not fast. These of its costs dominated the local stack
(profiled with py-spy on `wharf-serve` under `python -m bench.small_releases`,
`bench.upload` and `bench.installs`) and are taken out here, with what a client sees
unchanged:

- a DynamoDB transaction deep-copied every table it named, once per item, to roll back
  on a cancellation: 11 ms for a 3-item transaction with 100 items in the table, 84 ms
  with 1,000 and 380 ms with 5,000, so the stack grew slower with every release it held;
- about 60% of moto's time in a GetItem or Query went to its generic response
  serializer, which walks the botocore output shape of a result that is already
  DynamoDB JSON;
- every ListObjectVersions deep-copied every object in the bucket, bytes and all (a
  FakeKey's copy reads its whole value into a new temporary file), whatever the prefix:
  with one 512 MiB upload held, each publish's clean-up read and wrote a gigabyte;
- CompleteMultipartUpload read every part twice and copied the whole object four times
  in memory (the object, a second copy for its checksum, and a ``bytes`` of each), then
  wrote it to the object's file: 1.1 s for 512 MiB, inside the client's request. Now each
  part is written once to the file the object keeps, checksummed as it passes, and the
  object adopts that file (``AssembledValue``).
- the server found the service of every request anew, under one lock for all threads:
  it listed moto's package directory and stat-ed each of its ~200 entries, then tried
  the URL patterns of every service in turn. That was a quarter of moto's CPU in an
  install (py-spy under `python -m bench.installs`); the answer depends on the host
  name alone, so it is remembered per host.

Applied by the local stack and by the test suite, like ``moto_fidelity``.
"""

from __future__ import annotations

import base64
import copy
import json
import os
from typing import Any

from .moto_fidelity import _lock

# The operations whose result moto builds as DynamoDB JSON already: plain dicts, lists,
# strings and numbers, so ``json.dumps`` writes what the shape serializer would.
ITEM_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)


def transactions_keep_only_their_items() -> None:
    """Let a DynamoDB transaction save only the items it names for its rollback.

    moto's whole-table copies are skipped; the items the transaction names are saved
    instead, and on a cancellation each is put back as it was (or deleted, if it did not
    exist): the outcome moto's copy gives.
    """
    import moto.dynamodb.models as dynamodb_models
    from moto.dynamodb.models.table import Table

    backend = dynamodb_models.DynamoDBBackend
    original = backend.transact_write_items
    if getattr(original, "_wharf_patched", False):
        return

    class _CopyKeepingTables:
        """What the backend module sees as ``copy``: tables are not copied any more."""

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    def saved_items(self: Any, transact_items: list[dict[str, Any]]) -> list[Any]:
        saved = []
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            name = op.get("TableName")
            table = self.tables.get(name)
            if table is None:
                continue  # moto refuses the transaction before it writes anything
            attrs = op.get("Item", {})
            key = op.get("Key") or {
                a: attrs[a] for a in (table.hash_key_attr, table.range_key_attr) if a in attrs
            }
            try:
                current = self.get_item(name, key)
            except Exception:  # a malformed key: moto refuses it before writing
                continue
            before = None if current is None else current.to_json()["Attributes"]
            saved.append((name, key, before))
        return saved

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with _lock:
            saved = saved_items(self, transact_items)
            try:
                return original(self, transact_items)
            except Exception:
                for name, key, before in reversed(saved):
                    if before is None:
                        table = self.tables[name]
                        table.delete_item(*self.get_keys_value(table, key))
                    else:
                        self.put_item(name, before)
                raise

    dynamodb_models.copy = _CopyKeepingTables  # type: ignore[assignment]
    transact_write_items._wharf_patched = True  # type: ignore[attr-defined]
    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _blob(value: object) -> str:
    """Binary attribute values travel base64-encoded, as the JSON protocol has them."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} in a DynamoDB result")


def dynamodb_items_as_json() -> None:
    """Write the results of item operations with ``json.dumps``, not the shape serializer."""
    from moto.dynamodb.responses import DynamoResult

    original = DynamoResult.execute_result
    if getattr(original, "_wharf_patched", False):
        return

    def execute_result(self: Any, context: Any) -> Any:
        if context.operation_model.name not in ITEM_OPERATIONS:
            return original(self, context)
        # The shape serializer writes only the members the output shape has (moto adds
        # legacy ones, such as ConsumedCapacityUnits); below the top, it is DynamoDB JSON.
        members = context.operation_model.output_shape.members
        result = {k: v for k, v in (self.result or {}).items() if k in members}
        body = json.dumps(result, default=_blob)
        if os.environ.get("WHARF_MOTO_SPEED_CHECK") == "1":  # tests compare with moto's own
            status, headers, expected = original(self, context)
            assert status == 200, status
            assert json.loads(expected) == json.loads(body), (expected, body)
            assert headers == {"Content-Type": "application/x-amz-json-1.0"}, headers
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, body

    execute_result._wharf_patched = True  # type: ignore[attr-defined]
    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]


def _nothing(*_: Any, **__: Any) -> None:
    return None


def listing_copies_no_bytes() -> None:
    """ListObjectVersions takes its copies of the versions without their bytes.

    It copies them only to mark each copy ``is_latest``; a copy that shares the
    original's (read-only) value buffer serves that as well.
    """
    import moto.s3.models as s3_models
    from moto.s3.models import FakeDeleteMarker, FakeKey

    if getattr(s3_models.copy, "_wharf_patched", False):
        return

    twins: dict[type, type] = {}

    def shallow(version: Any) -> Any:
        """The version's attributes, sharing its buffer; dropping it closes nothing (a
        FakeKey closes its buffer when collected)."""
        kind = type(version)
        if kind not in twins:
            twins[kind] = type(kind.__name__, (kind,), {"__del__": _nothing, "dispose": _nothing})
        twin = object.__new__(twins[kind])
        twin.__dict__.update(version.__dict__)
        return twin

    class _CopyWithoutBytes:
        """What the S3 models module sees as ``copy``."""

        _wharf_patched = True
        copy = staticmethod(copy.copy)

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            if isinstance(value, list) and all(
                isinstance(v, FakeKey | FakeDeleteMarker) for v in value
            ):
                return [shallow(v) for v in value]
            return copy.deepcopy(value, memo)

    s3_models.copy = _CopyWithoutBytes  # type: ignore[assignment]


class AssembledValue:
    """A completed multipart object's bytes, already in the spooled file a FakeKey keeps
    its value in: the key adopts the file rather than writing the bytes a second time."""

    def __init__(self, buffer: Any, size: int) -> None:
        self.buffer = buffer
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __bytes__(self) -> bytes:
        self.buffer.seek(0)
        return bytes(self.buffer.read())


def _running_checksum(algorithm: str) -> tuple[Any, Any]:
    """``update(chunk)`` and ``digest()`` for moto's ``compute_checksum(body, algorithm,
    encode_base64=False)``, fed a part at a time (the same branches and fallbacks)."""
    import binascii
    import hashlib

    if algorithm in ("SHA1", "SHA256") or algorithm not in ("CRC32C", "CRC32", "CRC64NVME"):
        hasher = hashlib.new("sha1" if algorithm == "SHA1" else "sha256")
        return hasher.update, hasher.digest
    crc, width = binascii.crc32, 4
    if algorithm == "CRC32C":
        try:
            import crc32c

            crc = crc32c.crc32c
        except ImportError:
            pass
    elif algorithm == "CRC64NVME":
        from moto.s3.utils import HAS_CRT

        if HAS_CRT:
            from awscrt import checksums

            crc, width = checksums.crc64nvme, 8
    state = [0]

    def update(chunk: bytes) -> None:
        state[0] = crc(chunk, state[0])

    return update, lambda: state[0].to_bytes(width, "big")


def multipart_completion_writes_once() -> None:
    """FakeMultipart.complete as moto has it (same checks, ETag and checksum), writing each
    part once into the object's file and checksumming it on the way."""
    import codecs
    import tempfile

    from moto.s3.exceptions import EntityTooSmall, InvalidPart, MalformedXML
    from moto.s3.models import FakeKey, FakeMultipart, MultipartChecksumBuilder
    from moto.settings import S3_UPLOAD_PART_MIN_SIZE, get_s3_default_key_buffer_size
    from moto.utilities.utils import md5_hash

    original = FakeMultipart.complete
    if getattr(original, "_wharf_patched", False):
        return
    decode_hex = codecs.getdecoder("hex_codec")

    def complete(self: Any, body: Any) -> tuple[AssembledValue, str, tuple[str, str, int] | None]:
        builder = MultipartChecksumBuilder(
            self.metadata.get("x-amz-checksum-algorithm"),
            self.metadata.get("x-amz-checksum-type"),
        )
        composite = builder.checksum_type == "COMPOSITE"
        update, digest = _running_checksum(builder.checksum_algorithm)
        buffer = tempfile.SpooledTemporaryFile(get_s3_default_key_buffer_size())  # noqa: SIM115
        try:
            md5s = bytearray()
            last, count, size = None, 0, 0
            for number, etag in body:
                part = self.parts.get(number)
                if part is None or part.etag.replace('"', "") != etag.replace('"', ""):
                    raise InvalidPart()
                if last is not None and last.contentsize < S3_UPLOAD_PART_MIN_SIZE:
                    raise EntityTooSmall()
                md5s.extend(decode_hex(part.etag.replace('"', ""))[0])
                value = part.value
                buffer.write(value)
                size += len(value)
                if composite:
                    builder.addPart(value)
                else:
                    update(value)
                last, count = part, count + 1
            if count == 0:
                raise MalformedXML
        except BaseException:
            buffer.close()
            raise
        if composite:
            checksum = builder.build()
        else:
            encoded = base64.b64encode(digest()).decode()
            checksum = (builder.checksum_type, encoded, 1)
        full_etag = md5_hash()
        full_etag.update(bytes(md5s))
        return AssembledValue(buffer, size), f"{full_etag.hexdigest()}-{count}", checksum

    complete._wharf_patched = True  # type: ignore[attr-defined]
    complete._wharf_original = original  # type: ignore[attr-defined]  (the tests compare)
    FakeMultipart.complete = complete  # type: ignore[method-assign]

    store = FakeKey.value.fset  # type: ignore[attr-defined]

    def adopt(self: Any, new_value: Any) -> None:
        if isinstance(new_value, AssembledValue):
            self._value_buffer.close()
            self._value_buffer = new_value.buffer
            self.contentsize = new_value.size
            return
        store(self, new_value)

    FakeKey.value = FakeKey.value.setter(adopt)  # type: ignore[attr-defined,method-assign]


def backend_found_once_per_host() -> None:
    """``DomainDispatcherApplication.get_backend_for_host``, remembered per host name."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.get_backend_for_host
    if getattr(original, "_wharf_patched", False):
        return
    found: dict[str | None, Any] = {}

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        # moto's answer depends on the host name alone (its URL patterns and module list
        # are fixed), so one memory serves every dispatcher; a lost race only computes it
        # twice. Host names come from requests (a region, a service): at most 256 kept.
        if host in found:
            return found[host]
        backend = original(self, host)
        if len(found) < 256:
            found[host] = backend
        return backend

    get_backend_for_host._wharf_patched = True  # type: ignore[attr-defined]
    get_backend_for_host._wharf_original = original  # type: ignore[attr-defined]
    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]


def apply() -> None:
    backend_found_once_per_host()
    transactions_keep_only_their_items()
    dynamodb_items_as_json()
    listing_copies_no_bytes()
    multipart_completion_writes_once()
