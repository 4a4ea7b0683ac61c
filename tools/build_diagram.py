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
            din = _unit(p[0] - pp[0], p[1] - pp[1]) if has_prev else _unit(pn[0] - p[0], pn[1] - p[1])
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
    (114, 200),
    (125, 218),
    (129, 246),
    # upper arm, outer
    (133, 285),
    (140, 330),
    (148, 372),
    # elbow / forearm, outer
    (156, 400),
    (167, 433),
    (176, 470),
    (183, 505),
    # wrist
    (188, 525),
    # hand (palm facing forward, thumb lateral)
    (194, 540),
    (202, 553),
    (208, 566),
    (209, 580),
    (205.5, 589, "c"),
    (200.5, 579),
    (199, 595),
    (198, 612),
    (193, 627),
    (185, 632),
    (176, 627),
    (171, 612),
    (170, 590),
    (169, 562),
    (166, 540),
    # wrist inner
    (164, 522),
    # forearm inner
    (158, 486),
    (149, 448),
    (142, 418),
    # elbow inner
    (137, 394),
    # upper arm inner
    (128, 360),
    (118, 322),
    (112, 290),
    (107, 266),
    # axilla
    (101, 252, "c"),
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
    d.append(smooth([(-41, 120), (-30, 136), (-14, 146), (0, 148), (14, 146), (30, 136), (41, 120)], False))
    # sternal notch / clavicles
    for s in (1, -1):
        d.append(smooth([(s * 7, 180), (s * 30, 176), (s * 62, 181), (s * 92, 188)], False))
    # neck: front borders (sternocleidomastoid origin) left to the zones; midline throat hint
    d.append(smooth([(-5, 178), (0, 181), (5, 178)], False))
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
        d.append(smooth([(s * 36, 722), (s * 48, 710), (s * 60, 722), (s * 60, 740), (s * 48, 750), (s * 36, 740)], True))
    # elbows crease
    for s in (1, -1):
        d.append(smooth([(s * 141, 396), (s * 148, 399), (s * 154, 400)], False))
    # fingers
    for s in (1, -1):
        for x0, x1, y1 in ((178, 180, 612), (186, 187, 614), (193, 192, 610)):
            d.append(smooth([(s * x0, 580), (s * x1, y1)], False))
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
        for x0, x1, y1 in ((178, 180, 612), (186, 187, 614), (193, 192, 610)):
            d.append(smooth([(s * x0, 585), (s * x1, y1)], False))
    # heels
    for s in (1, -1):
        d.append(smooth([(s * 30, 962), (s * 44, 972), (s * 58, 962)], False))
    # hairline at the nape
    d.append(smooth([(-30, 122), (-16, 128), (0, 130), (16, 128), (30, 122)], False))
    return d


# Muscle zones, screen-right half of the figure, x from the centre line.
# (muscle, deep, landmarks).  Later entries are above earlier ones (z-order).
ANTERIOR_ZONES: list[tuple[str, bool, list[Node]]] = [
    ("frontalis", False, [(3, 30), (20, 27), (35, 36), (40, 52), (30, 60), (14, 62), (3, 60)]),
    ("masseter", False, [(32, 100), (41, 98), (43, 112), (38, 124), (30, 127), (28, 112)]),
    (
        "sternocleidomastoid",
        False,
        [(34, 128), (38, 134), (31, 150), (20, 170), (10, 178), (6, 174), (14, 156), (26, 138)],
    ),
    ("upper_trapezius", False, [(32, 160), (45, 168), (70, 177), (93, 186), (78, 188), (52, 181), (34, 172)]),
    (
        "pectoralis_major",
        False,
        [(8, 194), (36, 190), (70, 194), (93, 204), (100, 226), (98, 248), (84, 262), (60, 280),
         (36, 290), (14, 288), (6, 268), (5, 230)],
    ),
    ("deltoid", False, [(98, 194), (114, 204), (123, 222), (126, 252), (124, 282), (117, 300), (110, 280), (104, 246), (101, 216)]),
    ("serratus_anterior", False, [(90, 272), (95, 290), (92, 322), (86, 348), (74, 354), (72, 332), (78, 300), (83, 280)]),
    ("tensor_fasciae_latae", False, [(94, 462), (102, 480), (104, 505), (99, 540), (92, 570), (86, 560), (88, 520), (88, 482)]),
    ("iliopsoas", True, [(46, 432), (66, 444), (72, 470), (60, 496), (40, 520), (28, 532), (22, 514), (32, 480), (34, 448)]),
    # deep, under pectoralis major: coracoid down to ribs 3-5 (z above pectoralis major)
    ("pectoralis_minor", True, [(78, 212), (82, 224), (70, 248), (56, 266), (46, 266), (50, 248), (64, 226)]),
]

POSTERIOR_ZONES: list[tuple[str, bool, list[Node]]] = [
    ("occipitalis", False, [(6, 86), (24, 82), (40, 90), (42, 104), (30, 113), (12, 114), (5, 104)]),
    ("suboccipitals", True, [(4, 118), (18, 117), (28, 121), (26, 128), (12, 130), (4, 128)]),
    ("semispinalis_capitis", False, [(3, 134), (11, 134), (12, 152), (11, 168), (3, 168)]),
    ("splenius_capitis", False, [(14, 133), (28, 131), (30, 142), (26, 156), (20, 166), (14, 162), (14, 148)]),
    ("cervical_multifidus", True, [(3, 172), (10, 172), (10, 186), (3, 190)]),
    ("splenius_cervicis", True, [(13, 170), (22, 168), (24, 180), (16, 196), (13, 192)]),
    ("levator_scapulae", False, [(30, 150), (35, 158), (40, 172), (53, 196), (48, 204), (38, 192), (28, 168)]),
    ("upper_trapezius", False, [(40, 166), (58, 176), (80, 182), (98, 190), (94, 200), (76, 198), (60, 194), (48, 184)]),
    ("middle_trapezius", False, [(4, 194), (22, 193), (44, 200), (42, 209), (24, 212), (4, 212)]),
    ("supraspinatus", True, [(56, 200), (74, 203), (92, 203), (96, 212), (80, 214), (62, 216), (52, 211)]),
    ("rhomboid_minor", True, [(5, 216), (26, 216), (42, 213), (42, 222), (26, 225), (5, 225)]),
    ("rhomboid_major", True, [(5, 229), (26, 229), (42, 226), (46, 250), (48, 274), (38, 282), (18, 286), (5, 288)]),
    ("infraspinatus", False, [(48, 221), (70, 219), (96, 219), (100, 236), (92, 258), (78, 274), (60, 284), (52, 268), (50, 244)]),
    ("teres_minor", False, [(100, 242), (106, 248), (106, 262), (96, 270), (84, 278), (82, 272), (92, 258)]),
    ("teres_major", False, [(62, 292), (70, 286), (86, 282), (104, 268), (108, 278), (102, 292), (84, 300), (68, 302)]),
    ("deltoid", False, [(100, 194), (114, 204), (123, 222), (126, 252), (124, 282), (117, 300), (110, 264), (106, 236), (102, 212)]),
    ("lower_trapezius", False, [(5, 294), (22, 291), (42, 288), (52, 296), (38, 318), (20, 340), (5, 356)]),
    ("longissimus_thoracis", False, [(6, 362), (20, 348), (24, 360), (24, 400), (22, 440), (14, 452), (6, 446), (8, 400)]),
    ("iliocostalis_lumborum", False, [(28, 352), (40, 342), (42, 364), (40, 400), (32, 436), (24, 448), (27, 400)]),
    ("quadratus_lumborum", True, [(46, 370), (64, 372), (74, 384), (72, 410), (62, 426), (46, 430), (44, 400)]),
    ("lumbar_multifidus", True, [(2, 452), (8, 452), (10, 470), (6, 478), (2, 476)]),
    ("gluteus_medius", False, [(26, 462), (52, 446), (82, 448), (98, 466), (100, 488), (86, 496), (60, 486), (36, 478)]),
    ("gluteus_maximus", False, [(10, 484), (34, 484), (62, 492), (90, 504), (100, 520), (94, 544), (72, 560), (42, 564), (18, 558), (7, 530)]),
    # deep zones sit inside the superficial ones and are hit-tested first
    ("gluteus_minimus", True, [(70, 462), (86, 462), (92, 474), (84, 484), (70, 480), (66, 470)]),
    ("piriformis", True, [(16, 494), (36, 494), (64, 505), (92, 513), (90, 522), (62, 518), (36, 512), (16, 508)]),
]


# --------------------------------------------------------------------------------------------
# Head, left lateral (patient facing the viewer's left); head_right is its mirror
# --------------------------------------------------------------------------------------------

HEAD_SILHOUETTE: list[Node] = [
    # front of the chest, bottom of the bust, up the front
    (250, 985, "c"),
    (262, 930),
    (286, 878),
    (300, 830),
    (306, 770),
    (300, 712),
    # under the chin
    (286, 668),
    (262, 640),
    (232, 628),
    # chin
    (206, 618),
    (194, 596),
    (196, 572),
    # lips
    (190, 556),
    (184, 540),
    (190, 526),
    (183, 510),
    (186, 496),
    # nose
    (198, 482),
    (180, 476),
    (162, 464),
    (152, 448),
    (158, 432),
    (178, 388),
    (196, 350),
    # nasion, brow, forehead
    (198, 330),
    (193, 302),
    (196, 262),
    (212, 206),
    (246, 150),
    (300, 102),
    (372, 72),
    (450, 64),
    (530, 78),
    (600, 120),
    (648, 184),
    (672, 262),
    (676, 340),
    (664, 410),
    # nape
    (640, 470),
    (624, 530),
    (620, 600),
    (630, 668),
    (660, 730),
    # trapezius to shoulder
    (708, 776),
    (760, 812),
    (788, 850),
    (796, 920),
    (796, 985, "c"),
]


def head_details() -> list[list[Cmd]]:
    d: list[list[Cmd]] = []
    # ear
    d.append(
        smooth([(500, 354), (526, 336), (556, 344), (568, 380), (562, 420), (548, 452), (536, 484), (516, 496), (500, 482), (506, 456), (512, 420), (504, 390)], True)
    )
    d.append(smooth([(520, 368), (540, 362), (550, 384), (540, 420), (528, 448)], False))
    # eye (closed-lid stylised), brow
    d.append(smooth([(214, 358), (236, 350), (258, 356)], False))
    d.append(smooth([(216, 360), (238, 368), (258, 358)], False))
    d.append(smooth([(208, 322), (240, 314), (276, 322)], False))
    # nostril and mouth line
    d.append(smooth([(188, 466), (200, 458), (210, 466)], False))
    d.append(smooth([(186, 526), (204, 528), (220, 524)], False))
    # jaw: lower border of the mandible, angle, ramus
    d.append(smooth([(236, 610), (300, 600), (380, 586), (444, 572, "c"), (458, 548), (470, 500), (482, 468)], False))
    # zygomatic arch
    d.append(smooth([(300, 418), (360, 402), (430, 398), (492, 402)], False))
    # clavicle
    d.append(smooth([(300, 880), (380, 896), (480, 902), (580, 880), (640, 866)], False))
    # hairline
    d.append(smooth([(250, 154), (300, 160), (340, 182), (380, 230), (420, 300), (470, 330)], False))
    return d


HEAD_ZONES: list[tuple[str, bool, list[Node]]] = [
    ("frontalis", False, [(214, 214), (246, 166), (300, 130), (336, 150), (346, 208), (330, 272), (290, 300), (226, 300), (208, 270)]),
    ("temporalis", False, [(362, 188), (430, 150), (510, 156), (566, 200), (586, 262), (564, 318), (520, 340), (470, 344), (440, 378), (410, 388), (372, 372), (356, 320), (350, 252)]),
    ("occipitalis", False, [(606, 196), (640, 230), (656, 290), (656, 350), (640, 400), (612, 410), (594, 380), (588, 300), (592, 236)]),
    ("masseter", False, [(318, 424), (362, 414), (412, 414), (436, 430), (444, 480), (444, 530), (428, 566), (384, 576), (352, 566), (336, 530), (324, 470)]),
    ("lateral_pterygoid", True, [(446, 412), (478, 410), (488, 426), (486, 446), (466, 456), (450, 446)]),
    ("medial_pterygoid", True, [(452, 478), (474, 476), (484, 506), (474, 556), (458, 574), (448, 552), (452, 520)]),
    ("suboccipitals", True, [(576, 448), (606, 440), (634, 452), (630, 474), (602, 482), (578, 476)]),
    ("sternocleidomastoid", False, [(520, 508), (548, 500), (566, 516), (548, 566), (500, 650), (440, 744), (380, 830), (344, 864), (326, 856), (332, 824), (380, 740), (440, 640), (494, 552)]),
    ("splenius_capitis", False, [(560, 562), (586, 494), (610, 492), (612, 540), (604, 600), (590, 646), (574, 662), (562, 632)]),
    ("semispinalis_capitis", False, [(620, 494), (630, 496), (626, 540), (622, 600), (624, 640), (612, 650), (608, 600), (614, 540)]),
    ("levator_scapulae", False, [(548, 600), (560, 650), (584, 690), (626, 750), (652, 790), (632, 806), (604, 770), (566, 720), (534, 660)]),
    ("anterior_scalene", False, [(470, 716), (482, 700), (486, 730), (460, 800), (430, 856), (414, 850), (430, 800)]),
    ("middle_scalene", False, [(498, 680), (512, 664), (514, 700), (494, 770), (470, 860), (450, 860), (468, 780)]),
    ("posterior_scalene", False, [(528, 664), (540, 670), (548, 720), (540, 800), (516, 860), (496, 862), (516, 790), (522, 720)]),
    ("splenius_cervicis", True, [(584, 676), (598, 668), (614, 690), (626, 728), (618, 742), (598, 716)]),
    ("cervical_multifidus", True, [(630, 662), (642, 680), (660, 714), (652, 726), (634, 706), (624, 680)]),
    ("upper_trapezius", False, [(666, 740), (710, 782), (756, 816), (780, 852), (764, 872), (720, 860), (680, 836), (652, 806)]),
]


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
    edges = [poly] + above
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
        t = 0.0 if dx == dy == 0 else max(0.0, min(1.0, ((px - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
        best = min(best, math.hypot(px - (ax + t * dx), y - (ay + t * dy)))
    return best


def _zones(
    specs: list[tuple[str, bool, list[Node]]],
    view: str,
    halves: list[tuple[Any, str]],
    aspect: float,
) -> list[dict[str, Any]]:
    """Build zone records; ``halves`` is [(normaliser, patient side), ...]."""
    built: list[dict[str, Any]] = []
    for muscle, deep, nodes in specs:
        for norm, side in halves:
            path = _round(map_path(smooth(nodes, closed=True), norm))
            built.append({"muscle": muscle, "side": side, "deep": deep, "path": path})
    polys = [flatten_path(z["path"]) for z in built]
    for i, z in enumerate(built):
        above = [list(p) for p in polys[i + 1 :] if _bbox_overlap(p, polys[i])]
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
            "zones": _zones(ANTERIOR_ZONES, "anterior", [(body_right, "left"), (body_left_fn, "right")], body_aspect),
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
            "zones": _zones(POSTERIOR_ZONES, "posterior", [(body_right, "right"), (body_left_fn, "left")], body_aspect),
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
