"""Compile the diagram's SVG sources (``resources/diagram/src/*.svg``) into ``body.json``.

The SVG files are the artwork a person edits (Inkscape-compatible: one layer per muscle, the
layer's ``id`` is the catalog id). This tool turns them into the path format the app loads
(``tpi-chart.diagram/1``, see ``resources/diagram/README.md``), checks the result (every zone
lies in the silhouette, only a deep zone may lie over another zone, label points hit their own
zone) and writes ``resources/diagram/body.json``. Standard library only.

    python tools/compile_diagram.py            # write body.json
    python tools/compile_diagram.py --check    # fail if body.json is not what the sources give

Conventions read from the SVG (all documented in the README):

* root ``tpi:view``, ``tpi:title``, ``tpi:height-cm`` (the real height the view's 1.0 spans, for
  landmark distances), ``tpi:mirror`` (``body``: the file draws the screen-right half and every
  element without class ``midline`` is mirrored to the other half; ``view:<id>``: the whole view
  is also written mirrored as view ``<id>``), ``tpi:half-side`` (the patient's side drawn);
* layers ``outline`` (class ``silhouette``), ``skeleton`` (class ``bone``), ``details``,
  ``muscles`` (one sub-layer per muscle, bottom to top, ``tpi:deep``; in it a ``zone`` path,
  ``fibre`` paths, an optional ``label-point`` circle), ``sheets`` (outlines drawn over the zones,
  e.g. the whole trapezius) and ``landmarks`` (circles, ``inkscape:label`` = name).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "resources" / "diagram" / "src"
OUT = ROOT / "resources" / "diagram" / "body.json"

SVG = "{http://www.w3.org/2000/svg}"
INK = "{http://www.inkscape.org/namespaces/inkscape}"
TPI = "{urn:tpi-chart:diagram}"
FORMAT = "tpi-chart.diagram/1"
SOURCES = ("anterior.svg", "posterior.svg", "head_left.svg")
VIEW_ORDER = ("anterior", "posterior", "head_left", "head_right")
BEZIER_STEPS = 10

Pt = tuple[float, float]
Cmd = list[Any]
Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


# --------------------------------------------------------------------------------------------
# SVG path data and transforms
# --------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"[MmLlHhVvCcSsQqTtZzAa]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def parse_path(d: str) -> list[Cmd]:
    """SVG path data → absolute ``M``/``L``/``C``/``Z`` commands (H, V, S, Q, T converted)."""
    tokens = _TOKEN.findall(d)
    out: list[Cmd] = []
    i = 0
    op = ""
    cur: Pt = (0.0, 0.0)
    start: Pt = (0.0, 0.0)
    last_c2: Pt | None = None
    last_q: Pt | None = None

    def num() -> float:
        nonlocal i
        value = float(tokens[i])
        i += 1
        return value

    while i < len(tokens):
        if tokens[i].isalpha():
            op = tokens[i]
            i += 1
            if op in "Zz":
                out.append(["Z"])
                cur = start
                last_c2 = last_q = None
                continue
        elif not op:
            raise ValueError(f"path data must start with a command: {d[:40]!r}")
        rel = op.islower()
        base = cur if rel else (0.0, 0.0)
        o = op.upper()
        if o == "M":
            cur = (base[0] + num(), base[1] + num())
            start = cur
            out.append(["M", *cur])
            op = "l" if rel else "L"  # further pairs are implicit line-tos
            last_c2 = last_q = None
        elif o == "L":
            cur = (base[0] + num(), base[1] + num())
            out.append(["L", *cur])
            last_c2 = last_q = None
        elif o == "H":
            cur = ((cur[0] if rel else 0.0) + num(), cur[1])
            out.append(["L", *cur])
            last_c2 = last_q = None
        elif o == "V":
            cur = (cur[0], (cur[1] if rel else 0.0) + num())
            out.append(["L", *cur])
            last_c2 = last_q = None
        elif o in "CS":
            if o == "C":
                c1 = (base[0] + num(), base[1] + num())
            else:
                c1 = (2 * cur[0] - last_c2[0], 2 * cur[1] - last_c2[1]) if last_c2 else cur
            c2 = (base[0] + num(), base[1] + num())
            end = (base[0] + num(), base[1] + num())
            out.append(["C", *c1, *c2, *end])
            cur, last_c2, last_q = end, c2, None
        elif o in "QT":
            if o == "Q":
                q = (base[0] + num(), base[1] + num())
            else:
                q = (2 * cur[0] - last_q[0], 2 * cur[1] - last_q[1]) if last_q else cur
            end = (base[0] + num(), base[1] + num())
            c1 = (cur[0] + 2 / 3 * (q[0] - cur[0]), cur[1] + 2 / 3 * (q[1] - cur[1]))
            c2 = (end[0] + 2 / 3 * (q[0] - end[0]), end[1] + 2 / 3 * (q[1] - end[1]))
            out.append(["C", *c1, *c2, *end])
            cur, last_q, last_c2 = end, q, None
        else:
            raise ValueError(f"unsupported path command {op!r} (convert arcs to curves)")
    return out


def parse_transform(text: str | None) -> Matrix:
    m = IDENTITY
    if not text:
        return m
    for name, args in re.findall(r"(\w+)\s*\(([^)]*)\)", text):
        v = [float(a) for a in re.split(r"[\s,]+", args.strip()) if a]
        if name == "translate":
            t: Matrix = (1, 0, 0, 1, v[0], v[1] if len(v) > 1 else 0.0)
        elif name == "scale":
            t = (v[0], 0, 0, v[1] if len(v) > 1 else v[0], 0, 0)
        elif name == "matrix":
            t = (v[0], v[1], v[2], v[3], v[4], v[5])
        elif name == "rotate":
            a = math.radians(v[0])
            cx, cy = (v[1], v[2]) if len(v) > 2 else (0.0, 0.0)
            c, s = math.cos(a), math.sin(a)
            t = (c, s, -s, c, cx - c * cx + s * cy, cy - s * cx - c * cy)
        else:
            raise ValueError(f"unsupported transform {name!r}")
        m = _mul(m, t)
    return m


def _mul(a: Matrix, b: Matrix) -> Matrix:
    return (
        a[0] * b[0] + a[2] * b[1],
        a[1] * b[0] + a[3] * b[1],
        a[0] * b[2] + a[2] * b[3],
        a[1] * b[2] + a[3] * b[3],
        a[0] * b[4] + a[2] * b[5] + a[4],
        a[1] * b[4] + a[3] * b[5] + a[5],
    )


def _apply(m: Matrix, p: Pt) -> Pt:
    return (m[0] * p[0] + m[2] * p[1] + m[4], m[1] * p[0] + m[3] * p[1] + m[5])


def map_path(cmds: Sequence[Cmd], fn: Callable[[Pt], Pt]) -> list[Cmd]:
    out: list[Cmd] = []
    for c in cmds:
        nums = c[1:]
        pts = [fn((nums[k], nums[k + 1])) for k in range(0, len(nums), 2)]
        out.append([c[0], *[v for p in pts for v in p]])
    return out


def reverse_open_path(cmds: Sequence[Cmd]) -> list[Cmd]:
    """The same open path run backwards (used to join a half silhouette with its mirror)."""
    points: list[Pt] = [(cmds[0][1], cmds[0][2])]
    segs: list[Cmd] = []
    for c in cmds[1:]:
        if c[0] == "Z":
            break
        segs.append(c)
        points.append((c[-2], c[-1]))
    out: list[Cmd] = [["M", *points[-1]]]
    for k in range(len(segs) - 1, -1, -1):
        seg, start = segs[k], points[k]
        if seg[0] == "C":
            out.append(["C", seg[3], seg[4], seg[1], seg[2], *start])
        else:
            out.append(["L", *start])
    return out


# --------------------------------------------------------------------------------------------
# Geometry checks (same flattening as tpi_chart.domain.diagram)
# --------------------------------------------------------------------------------------------


def flatten(cmds: Sequence[Cmd]) -> list[Pt]:
    pts: list[Pt] = []
    cur: Pt = (0.0, 0.0)
    for c in cmds:
        if c[0] == "M":
            if pts:
                break
            cur = (c[1], c[2])
            pts.append(cur)
        elif c[0] == "L":
            cur = (c[1], c[2])
            pts.append(cur)
        elif c[0] == "C":
            x0, y0 = cur
            x1, y1, x2, y2, x3, y3 = c[1:]
            for i in range(1, BEZIER_STEPS + 1):
                t = i / BEZIER_STEPS
                u = 1 - t
                a, b, cc, dd = u**3, 3 * u * u * t, 3 * u * t * t, t**3
                pts.append(
                    (a * x0 + b * x1 + cc * x2 + dd * x3, a * y0 + b * y1 + cc * y2 + dd * y3)
                )
            cur = (x3, y3)
        elif c[0] == "Z":
            break
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts.pop()
    return pts


def inside(x: float, y: float, poly: Sequence[Pt]) -> bool:
    result = False
    j = len(poly) - 1
    for i in range(len(poly)):
        xi, yi = poly[i]
        xj, yj = poly[j]
        if (yi > y) != (yj > y) and x < xi + (y - yi) * (xj - xi) / (yj - yi):
            result = not result
        j = i
    return result


def _dist_to_edges(x: float, y: float, poly: Sequence[Pt], aspect: float) -> float:
    best = math.inf
    n = len(poly)
    for k in range(n):
        ax, ay = poly[k]
        bx, by = poly[(k + 1) % n]
        ax, bx, px = ax * aspect, bx * aspect, x * aspect
        dx, dy = bx - ax, by - ay
        den = dx * dx + dy * dy
        t = 0.0 if den == 0 else max(0.0, min(1.0, ((px - ax) * dx + (y - ay) * dy) / den))
        best = min(best, math.hypot(px - (ax + t * dx), y - (ay + t * dy)))
    return best


def interior_point(poly: list[Pt], above: list[list[Pt]], aspect: float) -> Pt:
    """The point of the zone farthest from its edge and from every zone drawn above it."""
    xs = [p[0] for p in poly]
    ys = [p[1] for p in poly]
    best: tuple[float, Pt] = (-1.0, (sum(xs) / len(xs), sum(ys) / len(ys)))
    steps = 24
    for i in range(1, steps):
        for j in range(1, steps):
            x = min(xs) + (max(xs) - min(xs)) * i / steps
            y = min(ys) + (max(ys) - min(ys)) * j / steps
            if not inside(x, y, poly) or any(inside(x, y, a) for a in above):
                continue
            d = _dist_to_edges(x, y, poly, aspect)
            if d <= best[0]:
                continue  # the zone's own edge already rules it out: skip the costlier part
            d = min([d, *(_dist_to_edges(x, y, e, aspect) for e in above)])
            if d > best[0]:
                best = (d, (x, y))
    return best[1]


# --------------------------------------------------------------------------------------------
# Reading one source
# --------------------------------------------------------------------------------------------


def _classes(el: ET.Element) -> set[str]:
    return set((el.get("class") or "").split())


def _walk(el: ET.Element, m: Matrix) -> Iterator[tuple[ET.Element, Matrix]]:
    """Every drawable element under ``el`` with its accumulated transform, in document order."""
    for child in el:
        cm = _mul(m, parse_transform(child.get("transform")))
        if child.tag == SVG + "g":
            yield from _walk(child, cm)
        elif child.tag in (SVG + "path", SVG + "circle", SVG + "ellipse"):
            yield child, cm


def _element_path(el: ET.Element, m: Matrix) -> list[Cmd]:
    if el.tag == SVG + "path":
        cmds = parse_path(el.get("d", ""))
    else:
        cx, cy = float(el.get("cx", 0)), float(el.get("cy", 0))
        rx = float(el.get("rx", el.get("r", 0)))
        ry = float(el.get("ry", el.get("r", 0)))
        k = 0.5523
        cmds = [
            ["M", cx + rx, cy],
            ["C", cx + rx, cy + ry * k, cx + rx * k, cy + ry, cx, cy + ry],
            ["C", cx - rx * k, cy + ry, cx - rx, cy + ry * k, cx - rx, cy],
            ["C", cx - rx, cy - ry * k, cx - rx * k, cy - ry, cx, cy - ry],
            ["C", cx + rx * k, cy - ry, cx + rx, cy - ry * k, cx + rx, cy],
            ["Z"],
        ]
    return map_path(cmds, lambda p: _apply(m, p))


def _centre(el: ET.Element, m: Matrix) -> Pt:
    return _apply(m, (float(el.get("cx", 0)), float(el.get("cy", 0))))


def _layer(root: ET.Element, lid: str) -> ET.Element | None:
    for child in root:
        if child.tag == SVG + "g" and child.get("id") == lid:
            return child
    return None


class Source:
    """One SVG file, read into design-unit paths (not yet normalised or mirrored)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        root = ET.parse(path).getroot()
        self.view = root.get(TPI + "view", "")
        self.title = root.get(TPI + "title", "")
        self.height_cm = float(root.get(TPI + "height-cm", "0"))
        self.mirror = root.get(TPI + "mirror", "")
        self.half_side = root.get(TPI + "half-side", "")
        vb = [float(v) for v in re.split(r"[\s,]+", (root.get("viewBox") or "").strip())]
        self.x0, self.y0, self.width, self.height = vb
        self.root_matrix = parse_transform(root.get("transform"))
        self.silhouette: list[Cmd] = []
        self.layers: dict[str, list[tuple[list[Cmd], bool]]] = {
            "skeleton": [],
            "details": [],
            "sheets": [],
        }
        self.muscles: list[dict[str, Any]] = []
        self.landmarks: list[dict[str, Any]] = []
        self._read(root)

    def _read(self, root: ET.Element) -> None:
        outline = _layer(root, "outline")
        if outline is None:
            raise ValueError(f"{self.path.name}: no 'outline' layer")
        for el, m in _walk(outline, self.root_matrix):
            if "silhouette" in _classes(el):
                self.silhouette = _element_path(el, m)
        for name in self.layers:
            layer = _layer(root, name)
            if layer is None:
                continue
            for el, m in _walk(layer, self.root_matrix):
                self.layers[name].append((_element_path(el, m), "midline" in _classes(el)))
        muscles = _layer(root, "muscles")
        if muscles is None:
            raise ValueError(f"{self.path.name}: no 'muscles' layer")
        for group in muscles:
            if group.tag != SVG + "g":
                continue
            gm = _mul(self.root_matrix, parse_transform(group.get("transform")))
            record: dict[str, Any] = {
                "muscle": group.get("id"),
                "deep": group.get(TPI + "deep", "false") == "true",
                "zone": None,
                "fibres": [],
                "label": None,
            }
            for el, m in _walk(group, gm):
                cls = _classes(el)
                if "zone" in cls:
                    record["zone"] = _element_path(el, m)
                elif "fibre" in cls:
                    record["fibres"].append(_element_path(el, m))
                elif "label-point" in cls:
                    record["label"] = _centre(el, m)
            if record["zone"] is None:
                raise ValueError(f"{self.path.name}: muscle layer {record['muscle']} has no zone")
            self.muscles.append(record)
        landmarks = _layer(root, "landmarks")
        if landmarks is not None:
            for el, m in _walk(landmarks, self.root_matrix):
                self.landmarks.append(
                    {
                        "id": el.get("id"),
                        "name": el.get(INK + "label") or el.get("id"),
                        "point": _centre(el, m),
                        "midline": "midline" in _classes(el),
                    }
                )


# --------------------------------------------------------------------------------------------
# Building views
# --------------------------------------------------------------------------------------------


def _r(cmds: Sequence[Cmd]) -> list[Cmd]:
    return [[c[0], *[round(v, 5) for v in c[1:]]] for c in cmds]


def _other(side: str) -> str:
    return {"left": "right", "right": "left"}[side]


def build_view(src: Source, view_id: str, title: str, flip: bool, side: str) -> dict[str, Any]:
    """One view. ``flip`` mirrors the whole view (head_right from head_left)."""
    w, h = src.width, src.height

    def norm(p: Pt) -> Pt:
        x = (p[0] - src.x0) / w
        y = (p[1] - src.y0) / h
        return (1.0 - x if flip else x, y)

    def mirror(p: Pt) -> Pt:
        return (1.0 - p[0], p[1])

    body = src.mirror == "body"

    def both(cmds: list[Cmd], midline: bool) -> list[list[Cmd]]:
        n = map_path(cmds, norm)
        return [n] if (midline or not body) else [n, map_path(n, mirror)]

    if body:
        half = map_path(src.silhouette, norm)
        other = reverse_open_path(map_path(half, mirror))
        outline = [half + other[1:] + [["Z"]]]
    else:
        outline = [map_path(src.silhouette, norm)]
    view: dict[str, Any] = {
        "id": view_id,
        "title": title,
        "aspect": w / h,
        "height_cm": src.height_cm,
        "outline": [_r(p) for p in outline],
        "skeleton": [_r(p) for c, mid in src.layers["skeleton"] for p in both(c, mid)],
        "details": [_r(p) for c, mid in src.layers["details"] for p in both(c, mid)],
        "sheets": [_r(p) for c, mid in src.layers["sheets"] for p in both(c, mid)],
    }
    zones: list[dict[str, Any]] = []
    for rec in src.muscles:
        zone = map_path(rec["zone"], norm)
        fibres = [map_path(f, norm) for f in rec["fibres"]]
        label = norm(rec["label"]) if rec["label"] else None
        zones.append(
            {
                "muscle": rec["muscle"],
                "side": side,
                "deep": rec["deep"],
                "path": _r(zone),
                "fibres": [_r(f) for f in fibres],
                "label_hint": label,
            }
        )
        if body:
            zones.append(
                {
                    "muscle": rec["muscle"],
                    "side": _other(side),
                    "deep": rec["deep"],
                    "path": _r(map_path(zone, mirror)),
                    "fibres": [_r(map_path(f, mirror)) for f in fibres],
                    "label_hint": None,
                    "twin_of": len(zones) - 1,
                }
            )
    _label_points(zones, w / h, view_id)
    view["zones"] = zones
    landmarks: list[dict[str, Any]] = []
    for lm in src.landmarks:
        p = norm(lm["point"])
        if lm["midline"]:
            landmarks.append({"id": lm["id"], "name": lm["name"], "side": "midline", "point": p})
            continue
        landmarks.append({"id": lm["id"], "name": lm["name"], "side": side, "point": p})
        if body:
            landmarks.append(
                {"id": lm["id"], "name": lm["name"], "side": _other(side), "point": mirror(p)}
            )
    view["landmarks"] = [
        {**lm, "point": [round(lm["point"][0], 5), round(lm["point"][1], 5)]} for lm in landmarks
    ]
    return view


def _label_points(zones: list[dict[str, Any]], aspect: float, view_id: str) -> None:
    polys = [flatten(z["path"]) for z in zones]
    for i, z in enumerate(zones):
        if "twin_of" in z:
            first = zones[z.pop("twin_of")]["label_point"]
            z["label_point"] = [round(1.0 - first[0], 5), first[1]]
            z.pop("label_hint")
            continue
        above = [polys[k] for k in range(i + 1, len(zones))]
        hint = z.pop("label_hint")
        if hint is not None:
            if not inside(*hint, polys[i]) or any(inside(*hint, a) for a in above):
                raise ValueError(f"{view_id}: label point of {z['muscle']} is not in its own zone")
            lp = hint
        else:
            lp = interior_point(polys[i], [a for a in above if _overlap(a, polys[i])], aspect)
        z["label_point"] = [round(lp[0], 5), round(lp[1], 5)]


def _overlap(a: Sequence[Pt], b: Sequence[Pt]) -> bool:
    return not (
        max(p[0] for p in a) < min(p[0] for p in b)
        or max(p[0] for p in b) < min(p[0] for p in a)
        or max(p[1] for p in a) < min(p[1] for p in b)
        or max(p[1] for p in b) < min(p[1] for p in a)
    )


def check(view: dict[str, Any]) -> list[str]:
    """Problems a person must fix in the SVG (empty when the view is sound)."""
    problems: list[str] = []
    silhouette = flatten(view["outline"][0])
    polys = [flatten(z["path"]) for z in view["zones"]]
    for z, poly in zip(view["zones"], polys, strict=True):
        name = f"{view['id']}: {z['muscle']} ({z['side']})"
        if any(not inside(x, y, silhouette) for x, y in poly):
            problems.append(f"{name} reaches outside the silhouette")
    zones = view["zones"]
    for i, lower in enumerate(zones):
        for k in range(i + 1, len(zones)):
            upper = zones[k]
            if not _overlap(polys[i], polys[k]):
                continue
            hit = any(inside(x, y, polys[k]) for x, y in polys[i]) or any(
                inside(x, y, polys[i]) for x, y in polys[k]
            )
            if hit and not (upper["deep"] and not lower["deep"] and upper["side"] == lower["side"]):
                problems.append(
                    f"{view['id']}: {upper['muscle']} ({upper['side']}) overlaps "
                    f"{lower['muscle']} ({lower['side']}); only a deep muscle over a superficial "
                    "one of the same side may overlap"
                )
    return problems


def build() -> dict[str, Any]:
    views: dict[str, dict[str, Any]] = {}
    for name in SOURCES:
        src = Source(SRC / name)
        views[src.view] = build_view(src, src.view, src.title, False, src.half_side)
        if src.mirror.startswith("view:"):
            twin = src.mirror.split(":", 1)[1]
            title = src.title.replace("left", "right")
            views[twin] = build_view(src, twin, title, True, _other(src.half_side))
    missing = [v for v in VIEW_ORDER if v not in views]
    if missing:
        raise ValueError(f"no source for views {missing}")
    return {
        "format": FORMAT,
        "about": "Compiled from resources/diagram/src/*.svg by tools/compile_diagram.py; "
        "do not edit by hand. See README.md.",
        "views": [views[v] for v in VIEW_ORDER],
    }


def render(data: dict[str, Any]) -> str:
    text = json.dumps(data, separators=(",", ":"))
    # one view / zone / landmark per line keeps diffs readable
    for key in ('{"muscle"', '{"id"'):
        text = text.replace(key, "\n" + key)
    return text + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify body.json is up to date")
    args = parser.parse_args(argv)
    data = build()
    problems = [p for v in data["views"] for p in check(v)]
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    text = render(data)
    if args.check:
        if OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT.relative_to(ROOT)} is out of date: run tools/compile_diagram.py")
            return 1
        print("body.json is up to date")
        return 0
    OUT.write_text(text, encoding="utf-8")
    zones = sum(len(v["zones"]) for v in data["views"])
    print(f"wrote {OUT.relative_to(ROOT)}: {len(data['views'])} views, {zones} zones")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
