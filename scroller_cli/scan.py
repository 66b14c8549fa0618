"""Finding image files under the paths the user named, and hashing them."""

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif"})
HASH_BLOCK_SIZE = 1 << 20


@dataclass(frozen=True)
class Unreadable:
    path: Path
    reason: str


@dataclass
class Scan:
    images: list[Path] = field(default_factory=list)
    not_images: list[Path] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)


@dataclass(frozen=True)
class HashedFile:
    path: Path
    size: int
    sha256: str


def is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def find_files(*, paths: Iterable[Path]) -> Scan:
    """Image files under `paths`, recursively and in a stable order; nothing is opened yet."""
    scan = Scan()
    for path in paths:
        if path.is_dir():
            walk_directory(directory=path, scan=scan)
        elif path.exists() or path.is_symlink():
            # A dangling symlink is kept: hashing it fails and reports it instead of dropping it silently.
            add_file(path=path, scan=scan)
        else:
            scan.unreadable.append(Unreadable(path=path, reason="no such file or directory"))
    return scan


def walk_directory(*, directory: Path, scan: Scan) -> None:
    visited: set[tuple[int, int]] = set()

    def report(error: OSError) -> None:
        scan.unreadable.append(Unreadable(path=Path(error.filename or directory), reason=describe_os_error(error)))

    # Symlinked folders are followed (people link photo folders together), but each real folder only once, so a loop ends.
    for root, dirnames, filenames in os.walk(directory, onerror=report, followlinks=True):
        status = os.stat(root)
        if (status.st_dev, status.st_ino) in visited:
            dirnames.clear()
            continue
        visited.add((status.st_dev, status.st_ino))
        dirnames.sort()
        for filename in sorted(filenames):
            add_file(path=Path(root) / filename, scan=scan)


def add_file(*, path: Path, scan: Scan) -> None:
    (scan.images if is_image_name(path) else scan.not_images).append(path)


def hash_file(*, path: Path) -> HashedFile:
    """Raises OSError if the file cannot be read."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as file:
        while block := file.read(HASH_BLOCK_SIZE):
            digest.update(block)
            size += len(block)
    return HashedFile(path=path, size=size, sha256=digest.hexdigest())


def describe_os_error(error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return "cannot read: no such file (a dangling symlink, or removed while running)"
    if isinstance(error, IsADirectoryError):
        return "cannot read: is a directory"
    if isinstance(error, PermissionError):
        return "cannot read: permission denied"
    return f"cannot read: {(error.strerror or str(error)).lower()}"
