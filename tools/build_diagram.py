"""Build ``resources/diagram/body.json``: the body diagram's artwork and muscle zones.

The artwork is constructed here, programmatically, so that

* every curve is a smooth cubic Bézier spline through a handful of hand-placed anatomical
  landmarks (no jagged polylines),
* the left and right halves of the anterior and posterior figures are exact mirror images
  (each half is drawn once and mirrored about the centre line), and
* ``head_right`` is the exact mirror of ``head_left``.

Run ``python tools/build_diagram.py`` after editing; the JSON it writes is committed and is the one
source of geometry for the screen (``tpi_chart.ui.diagram``) and the PDF (``tpi_chart.pdf``), both
reading it through :mod:`tpi_chart.domain.diagram`. See ``resources/diagram/README.md``.

Design units: body views are drawn on a 500 x 1000 grid with x measured from the centre line
(positive = screen right) and y down from the top; head views on an 800 x 1000 grid. Everything is
normalised to 0..1 on output.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tpi_chart.domain.diagram import flatten_path, point_in_polygon  # noqa: E402

Pt = tuple[float, float]
# A landmark: (x, y) for a smooth node or (x, y, "c") for a corner.
Node = tuple[Any, ...]
Cmd = list[Any]

BODY_W, BODY_H = 500.0, 1000.0
HEAD_W, HEAD_H = 800.0, 1000.0
K = 0.36  # handle length as a fraction of the chord (1/3 = Catmull-Rom-like, a bit more = rounder)


# --------------------------------------------------------------------------------------------
# Spline helpers
# --------------------------------------------------------------------------------------------


def _unit(dx: float, dy: float) -> Pt:
    n = math.hypot(dx, dy)
    return (0.0, 0.0) if n == 0 else (dx / n, dy / n)


def smooth(nodes: Sequence[Node], closed: bool) -> list[Cmd]:
    """A smooth cubic Bézier path through ``nodes``; nodes flagged ``"c"`` are corners."""
    pts = [(float(n[0]), float(n[1])) for n in nodes]
    corner = [len(n) > 2 and n[2] == "c" for n in nodes]
    count = len(pts)
    t_in: list[Pt] = []
    t_out: list[Pt] = []
    for i in range(count):
        prev_i, next_i = i - 1, i + 1
        has_prev = closed or prev_i >= 0
        has_next = closed or next_i < count
        p = pts[i]
        pp = pts[prev_i % count]
        pn = pts[next_i % count]
        if corner[i] or not (has_prev and has_next):
            din = (
                _unit(p[0] - pp[0], p[1] - pp[1]) if has_prev else _unit(pn[0] - p[0], pn[1] - p[1])
            )
            dout = _unit(pn[0] - p[0], pn[1] - p[1]) if has_next else din
            t_in.append(din)
            t_out.append(dout)
        else:
            d = _unit(pn[0] - pp[0], pn[1] - pp[1])
            t_in.append(d)
            t_out.append(d)
    cmds: list[Cmd] = [["M", pts[0][0], pts[0][1]]]
    segs = count if closed else count - 1
    for i in range(segs):
        j = (i + 1) % count
        a, b = pts[i], pts[j]
        chord = math.hypot(b[0] - a[0], b[1] - a[1])
        c1 = (a[0] + t_out[i][0] * chord * K, a[1] + t_out[i][1] * chord * K)
        c2 = (b[0] - t_in[j][0] * chord * K, b[1] - t_in[j][1] * chord * K)
        cmds.append(["C", c1[0], c1[1], c2[0], c2[1], b[0], b[1]])
    if closed:
        cmds.append(["Z"])
    return cmds


def line(nodes: Sequence[Pt]) -> list[Cmd]:
    cmds: list[Cmd] = [["M", nodes[0][0], nodes[0][1]]]
    cmds += [["L", x, y] for x, y in nodes[1:]]
    return cmds


def ellipse(cx: float, cy: float, rx: float, ry: float) -> list[Cmd]:
    k = 0.5523
    return [
        ["M", cx + rx, cy],
        ["C", cx + rx, cy + ry * k, cx + rx * k, cy + ry, cx, cy + ry],
        ["C", cx - rx * k, cy + ry, cx - rx, cy + ry * k, cx - rx, cy],
        ["C", cx - rx, cy - ry * k, cx - rx * k, cy - ry, cx, cy - ry],
        ["C", cx + rx * k, cy - ry, cx + rx, cy - ry * k, cx + rx, cy],
        ["Z"],
    ]


def map_path(cmds: Iterable[Cmd], fx: Any) -> list[Cmd]:
    """Apply a point transform ``fx((x, y)) -> (x, y)`` to every coordinate of a path."""
    out: list[Cmd] = []
    for c in cmds:
        op, nums = c[0], c[1:]
        pts = [fx((nums[k], nums[k + 1])) for k in range(0, len(nums), 2)]
        out.append([op] + [v for p in pts for v in p])
    return out


def mirror_nodes(nodes: Sequence[Node]) -> list[Node]:
    """Mirror body-half landmarks (x measured from the centre line) to the other half."""
    return [(-n[0], n[1], *n[2:]) for n in nodes]


# --------------------------------------------------------------------------------------------
# Body (anterior / posterior): right half of the screen, x from the centre line
# --------------------------------------------------------------------------------------------

# The silhouette, screen-right half, from the crown down to the crotch.
BODY_HALF: list[Node] = [
    (0, 16),
    (27, 20),
    (42, 36),
    (47, 60),
    (46, 80),
    # ear
    (47, 84, "c"),
    (51, 86),
    (52.5, 96),
    (49, 107),
    (45, 110, "c"),
    # jaw angle into the neck
    (41, 122),
    (33, 134),
    (28, 146, "c"),
    (28.5, 160),
    # trapezius slope
    (40, 170),
    (68, 180),
    (96, 190),
    # deltoid
    (116, 200),
    (130, 218),
    (138, 244),
    # upper arm, outer
    (147, 282),
    (157, 322),
    (167, 352),
    # elbow / forearm, outer
    (176, 388),
    (187, 420),
    (195, 462),
    (200, 496),
    # wrist
    (203, 518),
    # hand (palm facing forward, thumb lateral)
    (209, 530),
    (216, 543),
    (221, 557),
    (222, 569),
    (218, 577),
    (212, 574),
    (209, 564, "c"),
    (212, 580),
    (212, 598),
    (207, 612),
    (197, 615),
    (189, 605),
    (185, 582),
    (182, 556),
    # wrist inner
    (177, 524),
    # forearm inner
    (164, 480),
    (154, 440),
    # elbow inner
    (145, 400),
    # upper arm inner
    (134, 362),
    (121, 318),
    (110, 282),
    # axilla
    (102, 254, "c"),
    # chest / flank
    (101, 272),
    (98, 305),
    (91, 345),
    (84, 380),
    # waist
    (83, 400),
    (87, 425),
    (96, 450),
    # hip
    (104, 478),
    (107, 505),
    # thigh, outer
    (104, 545),
    (98, 590),
    (88, 640),
    (78, 690),
    # knee
    (74, 715),
    (75, 740),
    # calf, outer
    (79, 775),
    (78, 810),
    (71, 850),
    (62, 890),
    # ankle
    (57, 918),
    (59, 940),
    # foot
    (66, 958),
    (70, 972),
    (66, 982),
    (52, 986),
    (38, 984),
    (30, 975),
    (27, 958),
    # ankle inner
    (26, 934),
    (24, 905),
    # calf, inner
    (18, 860),
    (14, 805),
    (16, 760),
    # knee inner
    (18, 730),
    (16, 700),
    # thigh, inner
    (11, 650),
    (7, 590),
    (4, 545),
    (0, 526, "c"),
]


def body_silhouette() -> list[Cmd]:
    right = BODY_HALF
    # left half: mirrored, in reverse order, without repeating the two centre-line nodes
    left = list(reversed(mirror_nodes(right[1:-1])))
    return smooth(right + left, closed=True)


def both_halves(path_right: list[Cmd]) -> list[list[Cmd]]:
    return [path_right, map_path(path_right, lambda p: (-p[0], p[1]))]


def anterior_details() -> list[list[Cmd]]:
    d: list[list[Cmd]] = []
    # jaw line and chin (one symmetric curve)
    d.append(
        smooth(
            [(-41, 120), (-30, 136), (-14, 146), (0, 148), (14, 146), (30, 136), (41, 120)], False
        )
    )
    # sternal notch / clavicles
    for s in (1, -1):
        d.append(smooth([(s * 7, 184), (s * 30, 182), (s * 60, 188), (s * 90, 196)], False))
    # neck: front borders (sternocleidomastoid origin) left to the zones; midline throat hint
    d.append(smooth([(-6, 182), (0, 186), (6, 182)], False))
    # nipples (small), navel, linea alba
    for s in (1, -1):
        d.append(ellipse(s * 48, 282, 2.2, 2.2))
    d.append(ellipse(0, 400, 3.5, 4.5))
    d.append(smooth([(0, 300), (0, 388)], False))
    # lower costal margins
    for s in (1, -1):
        d.append(smooth([(s * 4, 318), (s * 30, 336), (s * 62, 352), (s * 80, 362)], False))
    # inguinal lines
    for s in (1, -1):
        d.append(smooth([(s * 78, 452), (s * 55, 480), (s * 26, 508), (s * 10, 520)], False))
    # knees (patella)
    for s in (1, -1):
        d.append(
            smooth(
                [(s * 36, 716), (s * 40, 738), (s * 48, 746), (s * 57, 738), (s * 61, 716)], False
            )
        )
    # elbows crease
    for s in (1, -1):
        d.append(smooth([(s * 141, 396), (s * 148, 399), (s * 154, 400)], False))
    # fingers
    for s in (1, -1):
        for x0, x1, y1 in ((192, 193, 611), (198, 199, 614), (204, 205, 612)):
            d.append(smooth([(s * x0, 586), (s * x1, y1)], False))
    # toes
    for s in (1, -1):
        d.append(smooth([(s * 40, 974), (s * 42, 984)], False))
        d.append(smooth([(s * 50, 975), (s * 52, 985)], False))
        d.append(smooth([(s * 59, 973), (s * 60, 982)], False))
    # ankles (medial/lateral malleolus)
    for s in (1, -1):
        d.append(smooth([(s * 55, 915), (s * 58, 928)], False))
        d.append(smooth([(s * 28, 915), (s * 26, 928)], False))
    return d


def posterior_details() -> list[list[Cmd]]:
    d: list[list[Cmd]] = []
    # spine (C7 to sacrum) drawn as a faint line, sacrum triangle, gluteal cleft
    d.append(smooth([(0, 176), (0, 300), (0, 420), (0, 470)], False))
    d.append(smooth([(-16, 468), (0, 462), (16, 468), (0, 500, "c")], True))
    d.append(smooth([(0, 500), (0, 528)], False))
    # gluteal folds
    for s in (1, -1):
        d.append(smooth([(s * 6, 560), (s * 30, 566), (s * 58, 566), (s * 80, 556)], False))
    # popliteal creases
    for s in (1, -1):
        d.append(smooth([(s * 30, 728), (s * 46, 732), (s * 64, 728)], False))
    # elbows (olecranon)
    for s in (1, -1):
        d.append(smooth([(s * 141, 394), (s * 146, 388), (s * 152, 392)], False))
    # back of the hands: knuckle line and fingers
    for s in (1, -1):
        for x0, x1, y1 in ((192, 193, 611), (198, 199, 614), (204, 205, 612)):
            d.append(smooth([(s * x0, 590), (s * x1, y1)], False))
    # heels
    for s in (1, -1):
        d.append(smooth([(s * 30, 962), (s * 44, 972), (s * 58, 962)], False))
    # hairline at the nape
    d.append(smooth([(-30, 122), (-16, 128), (0, 130), (16, 128), (30, 122)], False))
    return d


# Muscle zones, screen-right half of the figure, x from the centre line.
# (muscle, deep, landmarks).  Later entries are above earlier ones (z-order).
ANTERIOR_ZONES: list[tuple[str, bool, list[Node]]] = [
    (
        "frontalis",
        False,
        [(4, 42, "c"), (16, 38), (31, 42), (39, 54), (35, 66), (18, 69), (4, 68, "c")],
    ),
    (
        "sternocleidomastoid",
        False,
        [(25, 140), (27.5, 144), (25, 157), (16, 172), (8, 182), (4, 179), (11, 162), (21, 145)],
    ),
    (
        "upper_trapezius",
        False,
        [(33, 169), (48, 177), (70, 185), (86, 191), (80, 194), (56, 189), (36, 179)],
    ),
    (
        "pectoralis_major",
        False,
        [
            (7, 198),
            (30, 192),
            (60, 194),
            (85, 202),
            (96, 220),
            (101, 238, "c"),
            (84, 254),
            (62, 272),
            (40, 286),
            (20, 292),
            (8, 287),
            (6, 250),
        ],
    ),
    (
        "deltoid",
        False,
        [
            (98, 196),
            (116, 204),
            (128, 221),
            (135, 246),
            (140, 274),
            (138, 300),
            (128, 290),
            (116, 262),
            (104, 230),
        ],
    ),
    (
        "serratus_anterior",
        False,
        [
            # posterior border along the flank, then the digitations on the ribs (zig-zag)
            (91, 268),
            (96, 290),
            (92.5, 320),
            (86.5, 348),
            (79, 356, "c"),
            (80, 344),
            (73, 336, "c"),
            (78, 324),
            (72, 314, "c"),
            (79, 302),
            (76, 292, "c"),
            (84, 280),
        ],
    ),
    (
        "tensor_fasciae_latae",
        False,
        [(94, 464), (100, 480), (102, 505), (98, 540), (92, 570), (86, 560), (88, 520), (88, 482)],
    ),
    (
        "iliopsoas",
        True,
        [
            (46, 432),
            (66, 444),
            (72, 470),
            (60, 496),
            (40, 520),
            (28, 532),
            (22, 514),
            (32, 480),
            (34, 448),
        ],
    ),
    # deep, under pectoralis major: coracoid down to ribs 3-5 (z above pectoralis major)
    (
        "pectoralis_minor",
        True,
        [(80, 212), (84, 224), (72, 248), (56, 268), (46, 268), (50, 248), (64, 226)],
    ),
]

POSTERIOR_ZONES: list[tuple[str, bool, list[Node]]] = [
    (
        "occipitalis",
        False,
        [(5, 90), (20, 83), (36, 86), (41, 100), (33, 112), (16, 116), (5, 112)],
    ),
    ("suboccipitals", True, [(4, 121, "c"), (22, 119), (30, 124), (24, 131), (4, 132, "c")]),
    (
        "semispinalis_capitis",
        False,
        [(2.5, 138, "c"), (8, 138), (8.5, 152), (8, 166), (2.5, 166, "c")],
    ),
    ("splenius_capitis", False, [(12, 138), (19, 137), (19, 150), (17, 163), (12, 166)]),
    (
        "levator_scapulae",
        False,
        [
            (23, 139),
            (25.5, 141),
            (25.5, 154),
            (31, 168),
            (42, 186),
            (50, 199),
            (45, 204),
            (37, 195),
            (27, 176),
            (22.5, 156),
        ],
    ),
    (
        "upper_trapezius",
        False,
        [
            (43, 176),
            (58, 181),
            (76, 187),
            (93, 194),
            (94, 199),
            (80, 200),
            (64, 198),
            (54, 194),
            (47, 186),
        ],
    ),
    ("cervical_multifidus", True, [(2.5, 170, "c"), (8, 170), (8.5, 184), (2.5, 187, "c")]),
    ("splenius_cervicis", True, [(12, 170), (18, 169), (22, 179), (20, 187), (12, 188)]),
    (
        "middle_trapezius",
        False,
        [(3, 195, "c"), (20, 194), (36, 198), (42, 204), (36, 209), (20, 210), (3, 210, "c")],
    ),
    (
        "supraspinatus",
        True,
        [(56, 203), (74, 202), (92, 202), (96, 208), (84, 213), (64, 219), (52, 220), (50, 211)],
    ),
    (
        "rhomboid_minor",
        True,
        [(3, 214, "c"), (22, 214), (42, 214), (46, 220), (42, 226), (22, 223), (3, 222, "c")],
    ),
    (
        "rhomboid_major",
        True,
        [
            (3, 227, "c"),
            (24, 229),
            (44, 231, "c"),
            (48, 262),
            (52, 290, "c"),
            (28, 280),
            (3, 268, "c"),
        ],
    ),
    (
        "infraspinatus",
        False,
        [
            (52, 228),
            (70, 222),
            (92, 216),
            (95, 228),
            (84, 250),
            (72, 272),
            (62, 290),
            (56, 278),
            (52, 252),
        ],
    ),
    (
        "teres_minor",
        False,
        [(98, 230), (101, 240), (98, 254), (88, 268), (78, 280), (74, 276), (86, 254), (94, 236)],
    ),
    (
        "teres_major",
        False,
        [(60, 298), (76, 288), (90, 275), (97, 263), (98, 272), (90, 288), (76, 300), (64, 306)],
    ),
    (
        "deltoid",
        False,
        [
            (101, 197),
            (116, 204),
            (128, 221),
            (135, 246),
            (140, 274),
            (138, 300),
            (128, 290),
            (118, 262),
            (108, 232),
            (102, 212),
        ],
    ),
    (
        "lower_trapezius",
        False,
        [(3, 274, "c"), (24, 284), (48, 300), (40, 312), (20, 334), (3, 352, "c")],
    ),
    (
        "longissimus_thoracis",
        False,
        [(4, 360, "c"), (12, 352), (20, 350), (20, 388), (19, 418, "c"), (4, 418, "c")],
    ),
    (
        "iliocostalis_lumborum",
        False,
        [(24, 352), (36, 348), (38, 380), (36, 420), (30, 446), (24, 448), (23, 400)],
    ),
    (
        "quadratus_lumborum",
        True,
        [(42, 372), (62, 374), (70, 388), (68, 414), (60, 432), (44, 436), (42, 400)],
    ),
    (
        "lumbar_multifidus",
        True,
        [(4, 426, "c"), (19, 426, "c"), (20, 444), (14, 460), (4, 464, "c")],
    ),
    (
        "gluteus_medius",
        False,
        [(28, 462), (50, 448), (78, 446), (94, 458), (99, 480), (96, 494), (72, 486), (44, 480)],
    ),
    (
        "gluteus_maximus",
        False,
        [
            (8, 488),
            (30, 484),
            (60, 490),
            (90, 504),
            (102, 520),
            (98, 546),
            (76, 562),
            (44, 566),
            (16, 562),
            (6, 534),
        ],
    ),
    # deep zones sit inside the superficial ones and are hit-tested first
    ("gluteus_minimus", True, [(68, 464), (86, 462), (94, 474), (86, 484), (70, 480)]),
    (
        "piriformis",
        True,
        [(16, 492), (40, 494), (70, 503), (96, 511), (94, 520), (68, 514), (40, 508), (16, 506)],
    ),
]


# Label points where a muscle's usual trigger point is, so that sites copied forward or imported
# without coordinates (drawn at the label point) land where a clinician expects them and the
# reference visit's neighbouring sites do not sit on top of one another.
POSTERIOR_HINTS: dict[str, Pt] = {
    "upper_trapezius": (70, 189),
    "levator_scapulae": (33, 180),
    "rhomboid_major": (24, 256),
    "infraspinatus": (74, 242),
}


# --------------------------------------------------------------------------------------------
# Head, left lateral (patient facing the viewer's left); head_right is its mirror
# --------------------------------------------------------------------------------------------

HEAD_SILHOUETTE: list[Node] = [
    # front of the chest, up the throat, chin, lips, nose, forehead, crown, nape, upper back
    (262, 985, "c"),
    (272, 930),
    (290, 884),
    (312, 842),
    (333, 792),
    (340, 738),
    (336, 684),
    (316, 650),
    (286, 635),
    (250, 626),
    (224, 618),
    (207, 600),
    (202, 578),
    (208, 560),
    (199, 545),
    (193, 530),
    (202, 517),
    (194, 504),
    (197, 488),
    (201, 474),
    (184, 470),
    (165, 460),
    (155, 446),
    (160, 428),
    (180, 387),
    (196, 350),
    (200, 328),
    (194, 306),
    (196, 270),
    (210, 212),
    (244, 152),
    (296, 104),
    (368, 74),
    (440, 66),
    (520, 80),
    (590, 122),
    (636, 184),
    (660, 260),
    (664, 340),
    (656, 410),
    (645, 470),
    (638, 530),
    (640, 600),
    (652, 670),
    (678, 740),
    (704, 800),
    (716, 880),
    (720, 985, "c"),
]


def head_details() -> list[list[Cmd]]:
    d: list[list[Cmd]] = []
    # ear: helix and antihelix
    d.append(
        smooth(
            [
                (442, 332),
                (462, 310),
                (490, 312),
                (506, 340),
                (504, 380),
                (494, 414),
                (484, 444),
                (470, 468),
                (452, 470),
                (446, 452),
                (452, 432),
                (448, 400),
                (440, 372),
            ],
            True,
        )
    )
    d.append(
        smooth([(456, 340), (476, 330), (490, 346), (486, 380), (474, 410), (466, 432)], False)
    )
    d.append(smooth([(452, 392), (462, 398), (460, 410)], False))
    # eye (lid line), brow
    d.append(smooth([(212, 332), (232, 330), (250, 340)], False))
    d.append(smooth([(214, 350), (232, 350), (250, 340)], False))
    d.append(smooth([(214, 334), (218, 341), (215, 348)], False))
    d.append(smooth([(206, 306), (236, 298), (272, 306)], False))
    # nostril, mouth corner
    d.append(smooth([(190, 462), (202, 454), (212, 462)], False))
    d.append(smooth([(200, 517), (214, 519), (226, 514)], False))
    # mandible: lower border, angle, ramus up to the condyle in front of the ear
    d.append(
        smooth(
            [
                (232, 612),
                (300, 600),
                (370, 586),
                (422, 572, "c"),
                (430, 530),
                (432, 480),
                (436, 446),
            ],
            False,
        )
    )
    # zygomatic arch
    d.append(smooth([(292, 408), (340, 398), (392, 396), (436, 404)], False))
    # clavicle
    d.append(smooth([(318, 866), (390, 874), (470, 866), (540, 846)], False))
    # shoulder cap and the borders of the arm
    d.append(
        smooth(
            _slim_neck(
                [
                    (470, 985),
                    (466, 920),
                    (486, 868),
                    (530, 836),
                    (590, 836),
                    (636, 862),
                    (652, 920),
                    (650, 985),
                ],
                560,
            ),
            False,
        )
    )
    return d


HEAD_ZONES: list[tuple[str, bool, list[Node]]] = [
    (
        "frontalis",
        False,
        [
            (218, 228),
            (238, 182),
            (274, 140),
            (318, 122),
            (340, 168),
            (336, 236),
            (312, 286),
            (252, 292),
            (216, 284),
        ],
    ),
    (
        "temporalis",
        False,
        [
            (352, 210),
            (398, 166),
            (460, 150),
            (530, 162),
            (576, 198),
            (590, 246),
            (576, 288),
            (528, 294),
            (490, 298),
            (454, 312),
            (430, 346),
            (418, 386),
            (372, 390),
            (340, 380),
            (330, 320),
            (336, 256),
        ],
    ),
    (
        "occipitalis",
        False,
        [(606, 240), (634, 278), (648, 340), (642, 400), (624, 430), (606, 404), (598, 330)],
    ),
    (
        "masseter",
        False,
        [
            (298, 418),
            (346, 410),
            (388, 412),
            (398, 440),
            (404, 520),
            (398, 558),
            (358, 574),
            (330, 562),
            (314, 510),
            (302, 462),
        ],
    ),
    ("lateral_pterygoid", True, [(404, 410), (428, 412), (434, 430), (420, 448), (406, 440)]),
    (
        "medial_pterygoid",
        True,
        [(414, 462), (430, 460), (436, 508), (430, 552), (418, 566), (412, 536), (412, 496)],
    ),
    (
        "suboccipitals",
        True,
        [(556, 452), (596, 442), (628, 452), (626, 474), (592, 482), (558, 474)],
    ),
    (
        "sternocleidomastoid",
        False,
        [
            (482, 476),
            (510, 476),
            (514, 500),
            (478, 566),
            (430, 660),
            (380, 770),
            (350, 848),
            (330, 852),
            (334, 822),
            (364, 740),
            (414, 640),
            (458, 556),
        ],
    ),
    (
        "splenius_capitis",
        False,
        [
            (522, 490),
            (560, 486),
            (590, 494),
            (596, 540),
            (588, 590),
            (574, 606),
            (558, 588),
            (536, 530),
        ],
    ),
    (
        "semispinalis_capitis",
        False,
        [(604, 494), (624, 492), (628, 540), (626, 598), (612, 614), (602, 560)],
    ),
    (
        "levator_scapulae",
        False,
        [
            (506, 552),
            (520, 546),
            (534, 572),
            (556, 626),
            (584, 684),
            (604, 724),
            (592, 738),
            (566, 700),
            (540, 644),
            (514, 590),
        ],
    ),
    (
        "anterior_scalene",
        False,
        [
            (468, 642),
            (482, 636),
            (478, 690),
            (452, 780),
            (432, 850),
            (414, 848),
            (428, 780),
            (454, 690),
        ],
    ),
    (
        "middle_scalene",
        False,
        [
            (498, 622),
            (512, 618),
            (514, 690),
            (494, 780),
            (478, 852),
            (458, 850),
            (472, 780),
            (490, 690),
        ],
    ),
    (
        "posterior_scalene",
        False,
        [
            (528, 654),
            (542, 656),
            (544, 720),
            (530, 800),
            (516, 852),
            (498, 850),
            (510, 790),
            (522, 720),
        ],
    ),
    (
        "splenius_cervicis",
        True,
        [(606, 630), (616, 626), (622, 680), (626, 722), (614, 730), (608, 690)],
    ),
    (
        "cervical_multifidus",
        True,
        [(628, 626), (636, 622), (642, 680), (648, 716), (638, 724), (630, 680)],
    ),
    (
        "upper_trapezius",
        False,
        [
            (662, 744),
            (684, 776),
            (676, 798),
            (636, 810),
            (588, 822),
            (552, 828),
            (570, 806),
            (616, 782),
        ],
    ),
]


def _slim_neck(nodes: Sequence[Node], _min_x: float = 0.0) -> list[Node]:
    """Bring the back of the neck forward by up to 18 units: a smooth warp that is zero above the
    nape (y 460) and in front of x 520, and full below y 580 and behind x 600."""
    out: list[Node] = []
    for n in nodes:
        x, y = float(n[0]), float(n[1])
        weight_y = max(0.0, min(1.0, (y - 460.0) / 120.0))
        weight_x = max(0.0, min(1.0, (x - 520.0) / 80.0))
        out.append((x - 18.0 * weight_x * weight_y, y, *n[2:]))
    return out


HEAD_SILHOUETTE = _slim_neck(HEAD_SILHOUETTE, 600)
HEAD_ZONES = [(m, deep, _slim_neck(nodes, 575)) for m, deep, nodes in HEAD_ZONES]


# --------------------------------------------------------------------------------------------
# Assembly
# --------------------------------------------------------------------------------------------


def _round(cmds: list[Cmd]) -> list[Cmd]:
    return [[c[0]] + [round(v, 5) for v in c[1:]] for c in cmds]


def _normaliser(width: float, height: float, x_offset: float, mirror: bool) -> Any:
    def f(p: Pt) -> Pt:
        x = p[0] + x_offset
        if mirror:
            x = width - x
        return (x / width, p[1] / height)

    return f


def _label_point(poly: list[Pt], above: list[list[Pt]], aspect: float) -> Pt:
    """The interior point farthest from the zone's edge and from any zone drawn above it."""
    xs = [p[0] for p in poly]
    ys = [p[1] for p in poly]
    best: tuple[float, Pt] = (-1.0, (sum(xs) / len(xs), sum(ys) / len(ys)))
    steps = 40
    edges = [poly, *above]
    for i in range(1, steps):
        for j in range(1, steps):
            x = min(xs) + (max(xs) - min(xs)) * i / steps
            y = min(ys) + (max(ys) - min(ys)) * j / steps
            if not point_in_polygon(x, y, poly):
                continue
            if any(point_in_polygon(x, y, a) for a in above):
                continue
            dist = min(_dist_to_polygon(x, y, e, aspect) for e in edges)
            if dist > best[0]:
                best = (dist, (x, y))
    return best[1]


def _dist_to_polygon(x: float, y: float, poly: list[Pt], aspect: float) -> float:
    best = math.inf
    n = len(poly)
    for k in range(n):
        ax, ay = poly[k]
        bx, by = poly[(k + 1) % n]
        # distances measured in true proportions (x scaled by the view's aspect)
        ax, bx, px = ax * aspect, bx * aspect, x * aspect
        dx, dy = bx - ax, by - ay
        t = (
            0.0
            if dx == dy == 0
            else max(0.0, min(1.0, ((px - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
        )
        best = min(best, math.hypot(px - (ax + t * dx), y - (ay + t * dy)))
    return best


def _zones(
    specs: list[tuple[str, bool, list[Node]]],
    view: str,
    halves: list[tuple[Any, str]],
    aspect: float,
    hints: dict[str, Pt] | None = None,
) -> list[dict[str, Any]]:
    """Build zone records; ``halves`` is [(normaliser, patient side), ...].

    ``hints`` pins a muscle's label point (design units, first half) where the usual trigger
    point is, instead of the zone's most interior point; it must lie in the zone and outside
    every zone above it.
    """
    hints = hints or {}
    built: list[dict[str, Any]] = []
    for muscle, deep, nodes in specs:
        for norm, side in halves:
            path = _round(map_path(smooth(nodes, closed=True), norm))
            built.append({"muscle": muscle, "side": side, "deep": deep, "path": path})
    polys = [flatten_path(z["path"]) for z in built]
    per_spec = len(halves)
    for i, z in enumerate(built):
        if i % per_spec:
            # the mirrored half: mirror the first half's label point so the two stay exact twins
            first = built[i - i % per_spec]["label_point"]
            z["label_point"] = [round(1.0 - first[0], 5), first[1]]
            continue
        above = [list(p) for p in polys[i + 1 :] if _bbox_overlap(p, polys[i])]
        if z["muscle"] in hints:
            lp = halves[0][0](hints[z["muscle"]])
            if not point_in_polygon(*lp, polys[i]) or any(point_in_polygon(*lp, a) for a in above):
                raise ValueError(f"{view}: label hint for {z['muscle']} is not inside its zone")
        else:
            lp = _label_point(list(polys[i]), above, aspect)
        z["label_point"] = [round(lp[0], 5), round(lp[1], 5)]
    return built


def _bbox_overlap(a: Sequence[Pt], b: Sequence[Pt]) -> bool:
    return not (
        max(p[0] for p in a) < min(p[0] for p in b)
        or max(p[0] for p in b) < min(p[0] for p in a)
        or max(p[1] for p in a) < min(p[1] for p in b)
        or max(p[1] for p in b) < min(p[1] for p in a)
    )


def build() -> dict[str, Any]:
    cx = BODY_W / 2
    body_right = _normaliser(BODY_W, BODY_H, cx, mirror=False)  # screen-right half as drawn
    body_left = _normaliser(BODY_W, BODY_H, -cx, mirror=True)  # x -> W - (x - cx)... mirrored

    def body_left_fn(p: Pt) -> Pt:
        return ((cx - p[0]) / BODY_W, p[1] / BODY_H)

    del body_left
    body_aspect = BODY_W / BODY_H
    silhouette = _round(map_path(body_silhouette(), body_right))

    def body_details(paths: list[list[Cmd]]) -> list[list[Cmd]]:
        return [_round(map_path(p, body_right)) for p in paths]

    head_aspect = HEAD_W / HEAD_H
    head_norm = _normaliser(HEAD_W, HEAD_H, 0.0, mirror=False)
    head_norm_m = _normaliser(HEAD_W, HEAD_H, 0.0, mirror=True)

    views: list[dict[str, Any]] = []
    # Anterior: the patient faces the viewer, so the patient's LEFT is on the screen's RIGHT.
    views.append(
        {
            "id": "anterior",
            "title": "Anterior",
            "aspect": body_aspect,
            "outline": [silhouette],
            "details": body_details(anterior_details()),
            "zones": _zones(
                ANTERIOR_ZONES,
                "anterior",
                [(body_right, "left"), (body_left_fn, "right")],
                body_aspect,
            ),
        }
    )
    # Posterior: seen from behind, the patient's LEFT is on the screen's LEFT.
    views.append(
        {
            "id": "posterior",
            "title": "Posterior",
            "aspect": body_aspect,
            "outline": [silhouette],
            "details": body_details(posterior_details()),
            "zones": _zones(
                POSTERIOR_ZONES,
                "posterior",
                [(body_right, "right"), (body_left_fn, "left")],
                body_aspect,
                POSTERIOR_HINTS,
            ),
        }
    )
    head_sil = smooth(HEAD_SILHOUETTE, closed=True)
    for view_id, title, norm, side in (
        ("head_left", "Head, left lateral", head_norm, "left"),
        ("head_right", "Head, right lateral", head_norm_m, "right"),
    ):
        views.append(
            {
                "id": view_id,
                "title": title,
                "aspect": head_aspect,
                "outline": [_round(map_path(head_sil, norm))],
                "details": [_round(map_path(p, norm)) for p in head_details()],
                "zones": _zones(HEAD_ZONES, view_id, [(norm, side)], head_aspect),
            }
        )
    return {
        "format": "tpi-chart.diagram/1",
        "about": "Generated by tools/build_diagram.py; do not edit by hand. See README.md.",
        "views": views,
    }


def main() -> None:
    out = ROOT / "resources" / "diagram" / "body.json"
    data = build()
    text = json.dumps(data, separators=(",", ":"))
    # one view / zone per line keeps diffs readable
    text = text.replace('{"muscle"', '\n{"muscle"').replace('{"id"', '\n{"id"')
    out.write_text(text + "\n", encoding="utf-8")
    zones = sum(len(v["zones"]) for v in data["views"])
    print(f"wrote {out.relative_to(ROOT)}: {len(data['views'])} views, {zones} zones")


if __name__ == "__main__":
    main()
