"""The asked colours: up to three, each a hue, a weight and optionally a saturation and value.

`hue` is 0–359 degrees; `weight` is the percentage of the image the colour should cover (1–100,
the weights together at most 100); `saturation` and `value` are optional percentages (0–100),
given together or not at all. Over HTTP, the `colors=` parameter: `hue:weight[:saturation:value]`
separated by commas (`180:60,30:20` is 60% teal and 20% orange; `210:40:30:90` is 40% of a pale,
bright blue). Over the websocket, a list of objects: `[{"hue": 180, "weight": 60}, ...]`.
"""

from dataclasses import dataclass
from typing import Any

MAX_ASKED_COLORS = 3


class PaletteQueryError(ValueError):
    """A `colors=` value that cannot be searched for; the message says why."""


@dataclass(frozen=True, slots=True)
class AskedColor:
    hue: int  # 0–359 degrees
    weight: float  # share of the image asked for, 0–1
    saturation: float | None = None  # 0–1, or None for any
    value: float | None = None  # 0–1, or None for any


def parse_colors(raw: str) -> list[AskedColor]:
    parts = [part.strip() for part in raw.split(",")]
    if not raw.strip() or not all(parts):
        raise PaletteQueryError("colors must be hue:weight pairs separated by commas, e.g. 180:60,30:20")
    if len(parts) > MAX_ASKED_COLORS:
        raise PaletteQueryError(f"colors: at most {MAX_ASKED_COLORS} colours, got {len(parts)}")
    asked = [_parse_color(part) for part in parts]
    if sum(color.weight for color in asked) > 1 + 1e-9:
        raise PaletteQueryError("colors: the weights add up to more than 100")
    return asked


def colors_from_message(raw: Any) -> list[AskedColor]:
    """The websocket's `colors`: a list of {"hue", "weight"[, "saturation", "value"]} objects of whole numbers."""
    if not isinstance(raw, list) or not raw:
        raise PaletteQueryError('colors must be a list of colours such as {"hue": 180, "weight": 60}')
    if len(raw) > MAX_ASKED_COLORS:
        raise PaletteQueryError(f"colors: at most {MAX_ASKED_COLORS} colours, got {len(raw)}")
    asked = [_color_from_object(item, place=place) for place, item in enumerate(raw, start=1)]
    if sum(color.weight for color in asked) > 1 + 1e-9:
        raise PaletteQueryError("colors: the weights add up to more than 100")
    return asked


def _color_from_object(item: Any, *, place: int) -> AskedColor:
    where = f"colour {place}"
    if not isinstance(item, dict) or set(item) - {"hue", "weight", "saturation", "value"}:
        raise PaletteQueryError(f"colors: {where} must be an object of hue, weight and optionally saturation and value")
    hue = _whole(item.get("hue"), name="hue", where=where, low=0, high=359)
    weight = _whole(item.get("weight"), name="weight", where=where, low=1, high=100)
    if "saturation" not in item and "value" not in item:
        return AskedColor(hue=hue, weight=weight / 100)
    saturation = _whole(item.get("saturation"), name="saturation", where=where, low=0, high=100)
    value = _whole(item.get("value"), name="value", where=where, low=0, high=100)
    return AskedColor(hue=hue, weight=weight / 100, saturation=saturation / 100, value=value / 100)


def _whole(number: Any, *, name: str, where: str, low: int, high: int) -> int:
    if not isinstance(number, int) or isinstance(number, bool) or not low <= number <= high:
        raise PaletteQueryError(f"colors: in {where}, {name} must be a whole number between {low} and {high}")
    return number


def as_message(asked: list[AskedColor]) -> list[dict[str, int]]:
    """The asked colours as the websocket writes them (percentages), for the stream's batches to repeat."""
    colors = []
    for color in asked:
        written = {"hue": color.hue, "weight": round(color.weight * 100)}
        if color.saturation is not None and color.value is not None:
            written |= {"saturation": round(color.saturation * 100), "value": round(color.value * 100)}
        colors.append(written)
    return colors


def _parse_color(part: str) -> AskedColor:
    fields = part.split(":")
    if len(fields) not in (2, 4):
        raise PaletteQueryError(f"colors: {part!r} must be hue:weight or hue:weight:saturation:value")
    hue = _whole_number(fields[0], name="hue", part=part, low=0, high=359)
    weight = _whole_number(fields[1], name="weight", part=part, low=1, high=100)
    if len(fields) == 2:
        return AskedColor(hue=hue, weight=weight / 100)
    saturation = _whole_number(fields[2], name="saturation", part=part, low=0, high=100)
    value = _whole_number(fields[3], name="value", part=part, low=0, high=100)
    return AskedColor(hue=hue, weight=weight / 100, saturation=saturation / 100, value=value / 100)


def _whole_number(text: str, *, name: str, part: str, low: int, high: int) -> int:
    try:
        number = int(text)
    except ValueError:
        raise PaletteQueryError(f"colors: in {part!r}, {name} must be a whole number") from None
    if not low <= number <= high:
        raise PaletteQueryError(f"colors: in {part!r}, {name} must be between {low} and {high}")
    return number


def colors_like(palette: list) -> str | None:
    """An image's own palette as a `colors=` value: its largest hued colours, at most 100 together; None without hue.

    Hued colours' windows may overlap, so their shares can add up to more than the picture:
    then the weights shrink in proportion.
    """
    hued = sorted(
        ((int(hue), float(share)) for hue, _, _, share in palette if hue is not None and share), key=lambda c: -c[1]
    )[:MAX_ASKED_COLORS]
    if not hued:
        return None
    total = sum(share for _, share in hued)
    scale = min(1.0, 1 / total) * 100
    # Rounded down (past float noise), so that the weights never add up to more than 100; under 1% is left out.
    weights = [(hue, int(share * scale + 1e-9)) for hue, share in hued]
    return ",".join(f"{hue}:{weight}" for hue, weight in weights if weight >= 1) or None
