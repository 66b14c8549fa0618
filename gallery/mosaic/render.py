"""A photomosaic from cell colours and a library of tiles: which tile goes where, and the picture.

Pure (no Django): arrays in, arrays and JPEG bytes out.
"""

import io
import math

import numpy as np
from PIL import Image
from scipy.spatial import cKDTree

from gallery.mosaic.tiles import TILE_SIDE, rgb_to_lab

# A tile is used at most this often once the library has a tile per cell or more: enough that
# the best matches are used, few enough that no image dominates the picture.
MAX_USES = 4
# Each cell first considers its this many nearest tiles; see assign_tiles for those that find
# all of them used up or beside them.
NEAREST = 32
# A waiting cell's next round asks for this many times more candidates.
_WIDENING = 4
# Cell colours are averaged over this many source pixels a side, in CIELAB like the tiles' means.
_SAMPLES_PER_CELL = 4
_JPEG_QUALITY = 85
# A grid is this many cells tall at most, however tall the picture: 128 x 32 px is the largest side.
MAX_ROWS = 128


def grid_rows(*, width: int, height: int, columns: int) -> int:
    return min(MAX_ROWS, max(1, round(columns * height / width)))


def cell_colors(picture: Image.Image, *, columns: int, rows: int) -> np.ndarray:
    """The mean CIELAB colour of each cell, shape (rows, columns, 3)."""
    sampled = picture.convert("RGB").resize(
        (columns * _SAMPLES_PER_CELL, rows * _SAMPLES_PER_CELL), Image.Resampling.BOX
    )
    lab = rgb_to_lab(np.asarray(sampled))
    return lab.reshape(rows, _SAMPLES_PER_CELL, columns, _SAMPLES_PER_CELL, 3).mean(axis=(1, 3))


def max_uses(*, cells: int, tiles: int) -> int:
    """MAX_USES once the library has a tile per cell; below that, MAX_USES times a tile's fair share of the cells.

    A small library must repeat tiles; the bound then still keeps one image from taking over the
    picture while leaving the closest colours room to be used where they fit.
    """
    return max(MAX_USES, math.ceil(MAX_USES * cells / tiles)) if tiles < cells else MAX_USES


def assign_tiles(
    cells: np.ndarray, *, tree: cKDTree, tile_lab: np.ndarray, excluded: int | None, seed: int
) -> np.ndarray:
    """For each cell (rows, columns, 3 in CIELAB), the index of its tile in `tile_lab` (never `excluded`).

    Each cell takes its nearest tile that is not used up and is not already above, below, left or
    right of it. Cells are filled in a shuffled order, so that the use limit does not favour the
    top rows. A cell whose NEAREST candidates are all used up or beside it waits for the next
    round, which serves all such cells at once: a picture dominated by one colour sends half its
    cells searching, and a query per cell cost 1 ms each. The next round either asks the tree for
    four times as many candidates or, where that is cheaper (fewer tiles left than candidates it
    would ask for), builds a tree of the tiles not used up and asks it for NEAREST again: in a
    small library the widened candidates were mostly used up, and sifting thousands per cell
    made a 10k library's mosaics 2-3 times slower than with the rebuilt tree.
    """
    rows, columns, _ = cells.shape
    count = len(tile_lab)
    flat = cells.reshape(-1, 3)
    limit = max_uses(cells=len(flat), tiles=count - (excluded is not None))
    uses = [0] * count
    used_up = np.zeros(count, dtype=bool)
    if excluded is not None:
        uses[excluded] = limit  # a picture is not a tile of itself
        used_up[excluded] = True
    padded = np.full((rows + 2, columns + 2), -1, dtype=np.int64).tolist()  # a border of -1 spares bounds checks
    pending = np.random.default_rng(seed).permutation(len(flat))
    tree_tiles = np.arange(count)  # the index in tile_lab of each point of `tree`
    wanted = NEAREST
    while len(pending):
        wanted = min(wanted, len(tree_tiles))
        _, nearest = tree.query(flat[pending], k=wanted)
        candidates = tree_tiles[nearest.reshape(len(pending), wanted)]
        waiting = []
        for cell, tiles in zip(pending.tolist(), candidates, strict=True):
            row, column = divmod(cell, columns)
            around = {
                padded[row][column + 1],
                padded[row + 2][column + 1],
                padded[row + 1][column],
                padded[row + 1][column + 2],
            }
            # At most four are neighbours, so the first five candidates not used up hold the answer if any does.
            choice = next((t for t in tiles[~used_up[tiles]][:5].tolist() if t not in around), None)
            if choice is None:
                if wanted < len(tree_tiles):
                    waiting.append(cell)
                    continue
                # Fewer than five tiles in all: a neighbour repeats rather than the cell staying empty.
                choice = next(t for t in tiles.tolist() if t != excluded)
            uses[choice] += 1
            if uses[choice] >= limit:
                used_up[choice] = True
            padded[row + 1][column + 1] = choice
        pending = np.array(waiting, dtype=np.int64)
        free = np.flatnonzero(~used_up)
        if len(free) < len(pending) * wanted * _WIDENING:
            tree, tree_tiles, wanted = cKDTree(tile_lab[free]), free, NEAREST
        else:
            wanted *= _WIDENING
    return np.array(padded, dtype=np.int64)[1:-1, 1:-1]


def compose(grid: np.ndarray, *, tiles: np.ndarray, cell_px: int) -> bytes:
    """The JPEG of the grid (rows, columns of indexes into `tiles`, shape (n, TILE_SIDE, TILE_SIDE, 3))."""
    rows, columns = grid.shape
    pixels = tiles[grid].transpose(0, 2, 1, 3, 4).reshape(rows * TILE_SIDE, columns * TILE_SIDE, 3)
    picture = Image.fromarray(np.ascontiguousarray(pixels))
    if cell_px != TILE_SIDE:
        # The whole picture at once: scaling is uniform, so every tile lands on exactly cell_px pixels.
        resampling = Image.Resampling.BOX if cell_px < TILE_SIDE else Image.Resampling.BILINEAR
        picture = picture.resize((columns * cell_px, rows * cell_px), resampling)
    output = io.BytesIO()
    picture.save(output, format="JPEG", quality=_JPEG_QUALITY)
    return output.getvalue()
