"""Reading a PyTorch checkpoint (a state dict of tensors) into numpy arrays, without torch.

The EfficientNet-Lite0 weights ship in torch's legacy serialisation (torch < 1.6): one file of
consecutive pickles (a magic number, the protocol version, system information, the state dict
whose tensors refer to storages by key, the list of storage keys in file order), then each
storage's raw bytes, little-endian, preceded by its element count as an 8-byte integer.

The unpickler is restricted: it builds only the few types a state dict holds (an OrderedDict of
tensors over float or integer storages) and refuses every other global, so a hostile file cannot
run code. A tensor is kept as a view to make once its storage's bytes have been read.
"""

import io
import pickle
import struct
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL_VERSION = 1001
STORAGE_DTYPES: dict[str, np.dtype] = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
}


class CheckpointError(ValueError):
    """The file is not a state dict in torch's legacy format, or is damaged."""


@dataclass(frozen=True, slots=True)
class _StorageType:
    dtype: np.dtype


@dataclass(slots=True)
class _Storage:
    dtype: np.dtype
    count: int
    data: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class _TensorView:
    storage: _Storage
    offset: int
    shape: tuple[int, ...]
    strides: tuple[int, ...]

    def array(self) -> np.ndarray:
        assert self.storage.data is not None
        if not self.shape:
            return self.storage.data[self.offset].copy()
        itemsize = self.storage.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            self.storage.data[self.offset :],
            shape=self.shape,
            strides=tuple(stride * itemsize for stride in self.strides),
        )
        return np.ascontiguousarray(view)


def _rebuild_tensor(
    storage: _Storage, offset: int, shape: tuple[int, ...], strides: tuple[int, ...], *_ignored: Any
) -> _TensorView:
    return _TensorView(storage=storage, offset=offset, shape=tuple(shape), strides=tuple(strides))


class _StateDictUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BufferedIOBase) -> None:
        super().__init__(file)
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if (module, name) in (("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor")):
            return _rebuild_tensor
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(STORAGE_DTYPES[name])
        raise CheckpointError(f"the checkpoint refers to {module}.{name}, which a plain state dict never does")

    def persistent_load(self, saved_id: Any) -> _Storage:
        if not (isinstance(saved_id, tuple) and saved_id and saved_id[0] == "storage"):
            raise CheckpointError(f"unexpected persistent reference {saved_id!r:.80}")
        _, storage_type, key, _location, count, *_view = saved_id
        if key not in self.storages:
            self.storages[key] = _Storage(dtype=storage_type.dtype, count=count)
        return self.storages[key]


def read_state_dict(path: Path) -> dict[str, np.ndarray]:
    """The checkpoint's tensors by name; raises CheckpointError when the file is not one, OSError when unreadable."""
    with open(path, "rb") as file:
        try:
            return _read_legacy(file)
        except (pickle.UnpicklingError, EOFError, struct.error, ValueError, TypeError, AttributeError) as error:
            if isinstance(error, CheckpointError):
                raise
            raise CheckpointError(f"{path} is not a readable PyTorch checkpoint: {error}") from error


def _read_legacy(file: io.BufferedIOBase) -> dict[str, np.ndarray]:
    header = _StateDictUnpickler(file)
    if header.load() != LEGACY_MAGIC_NUMBER:
        raise CheckpointError("not a PyTorch legacy checkpoint (wrong magic number)")
    if header.load() != LEGACY_PROTOCOL_VERSION:
        raise CheckpointError("unsupported PyTorch checkpoint protocol version")
    header.load()  # system information: endianness and type sizes, all little-endian and standard here
    unpickler = _StateDictUnpickler(file)
    state = unpickler.load()
    keys = _StateDictUnpickler(file).load()
    for key in keys:
        storage = unpickler.storages[key]
        (count,) = struct.unpack("<q", file.read(8))
        if count != storage.count:
            raise CheckpointError(f"storage {key} holds {count} elements, the state dict expects {storage.count}")
        raw = file.read(count * storage.dtype.itemsize)
        if len(raw) != count * storage.dtype.itemsize:
            raise CheckpointError("the checkpoint ends before its last storage does")
        storage.data = np.frombuffer(raw, dtype=storage.dtype)
    if not isinstance(state, dict):
        raise CheckpointError("the checkpoint holds no state dict")
    return {name: tensor.array() for name, tensor in state.items() if isinstance(tensor, _TensorView)}
