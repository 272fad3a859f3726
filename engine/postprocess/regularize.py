"""Regularize building footprints: remove stair-steps, snap to a rectangle when it fits, else square the
corners along the building's dominant direction, and keep irregular shapes when squaring would distort them.

(buildingregulariser, the maintained library for this, needs numpy 2, which breaks GDAL inside QGIS's
Python here; this is the same idea on OGR geometries and numpy.)
"""

from dataclasses import dataclass

import numpy as np


@dataclass
class RegularizeParams:
    tolerance: float = 1.0  # map units: simplification, and the largest allowed Hausdorff distance
    angle_tolerance: float = 20.0  # degrees from the dominant direction to count as a right-angle edge
    rectangle_iou: float = 0.85  # snap to the oriented rectangle when IoU with it is at least this


def _ring_coords(ring) -> np.ndarray:
    pts = np.array(ring.GetPoints())[:, :2]
    return pts[:-1] if len(pts) > 1 and np.allclose(pts[0], pts[-1]) else pts


def dominant_angle(xy: np.ndarray) -> float:
    """Direction (radians, in [0, pi/2)) of the minimum-area enclosing rectangle (rotating calipers over
    the convex hull's edge directions): robust to the stair-steps of traced masks."""
    from scipy.spatial import ConvexHull

    try:
        hull = xy[ConvexHull(xy).vertices]
    except Exception:  # degenerate (collinear) shapes
        hull = xy
    d = np.roll(hull, -1, axis=0) - hull
    best, best_area = 0.0, np.inf
    for a in np.unique(np.round(np.arctan2(d[:, 1], d[:, 0]) % (np.pi / 2), 9)):
        r = _rotate(hull, -a)
        area = np.prod(r.max(0) - r.min(0))
        if area < best_area:
            best, best_area = a, area
    return best


def _rotate(xy, angle):
    c, s = np.cos(angle), np.sin(angle)
    return xy @ np.array([[c, s], [-s, c]])


def _polygon(rings):
    from osgeo import ogr

    poly = ogr.Geometry(ogr.wkbPolygon)
    for xy in rings:
        ring = ogr.Geometry(ogr.wkbLinearRing)
        for x, y in xy:
            ring.AddPoint_2D(float(x), float(y))
        ring.AddPoint_2D(float(xy[0][0]), float(xy[0][1]))
        poly.AddGeometry(ring)
    return poly


def _square_ring(xy, angle, angle_tol):
    """Ring with every edge horizontal or vertical in the rotated frame, or None if an edge is diagonal."""
    r = _rotate(xy, -angle)
    d = np.roll(r, -1, axis=0) - r
    ang = np.degrees(np.arctan2(d[:, 1], d[:, 0])) % 180
    horizontal = (ang < angle_tol) | (ang > 180 - angle_tol)
    vertical = np.abs(ang - 90) < angle_tol
    if not (horizontal | vertical).all():
        return None
    # runs of same-orientation edges become one line: y = mean for horizontal, x = mean for vertical
    kinds = np.where(horizontal, 0, 1)
    start = int(np.flatnonzero(kinds != np.roll(kinds, 1))[0]) if (kinds != kinds[0]).any() else 0
    order = np.roll(np.arange(len(r)), -start)
    lines = []
    for i in order:
        k = kinds[i]
        value = (r[i, 1] + r[(i + 1) % len(r), 1]) / 2 if k == 0 else (r[i, 0] + r[(i + 1) % len(r), 0]) / 2
        w = np.hypot(*d[i])
        if lines and lines[-1][0] == k:
            lines[-1][1] += value * w
            lines[-1][2] += w
        else:
            lines.append([k, value * w, w])
    if len(lines) > 1 and lines[0][0] == lines[-1][0]:
        first = lines.pop(0)
        lines[-1][1] += first[1]
        lines[-1][2] += first[2]
    if len(lines) < 4 or len(lines) % 2:
        return None
    values = [(k, s / w) for k, s, w in lines]
    corners = []
    for (k1, v1), (_, v2) in zip(values, values[1:] + values[:1]):
        corners.append((v2, v1) if k1 == 0 else (v1, v2))  # (x, y) where the two lines meet
    return _rotate(np.array(corners), angle)


def regularize(geom, params: RegularizeParams = None):
    """A regularized copy of an OGR polygon (or multipolygon); the input is never modified."""
    from osgeo import ogr

    params = params or RegularizeParams()
    if geom.GetGeometryType() in (ogr.wkbMultiPolygon, ogr.wkbMultiPolygon25D):
        out = ogr.Geometry(ogr.wkbMultiPolygon)
        for i in range(geom.GetGeometryCount()):
            out.AddGeometry(regularize(geom.GetGeometryRef(i), params))
        return out
    simple = geom.SimplifyPreserveTopology(params.tolerance)
    if simple is None or simple.IsEmpty() or simple.GetGeometryType() != ogr.wkbPolygon:
        return geom.Clone()
    outer = _ring_coords(simple.GetGeometryRef(0))
    if len(outer) < 3:
        return geom.Clone()
    angle = dominant_angle(outer)
    r = _rotate(outer, -angle)
    (x0, y0), (x1, y1) = r.min(0), r.max(0)
    # inset the enclosing rectangle evenly so that it keeps the footprint's area
    w, h, area = x1 - x0, y1 - y0, geom.GetArea()
    disc = (w + h) ** 2 - 4 * (w * h - area)
    inset = max(0.0, ((w + h) - np.sqrt(max(disc, 0.0))) / 4) if area < w * h else 0.0
    x0, y0, x1, y1 = x0 + inset, y0 + inset, x1 - inset, y1 - inset
    rect = _polygon([_rotate(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]), angle)])
    inter = rect.Intersection(geom)
    iou = inter.GetArea() / max(rect.Union(geom).GetArea(), 1e-12) if inter is not None else 0.0
    if iou >= params.rectangle_iou and simple.GetGeometryCount() == 1 and \
            hausdorff(rect, geom) <= 2 * params.tolerance + 1e-9:  # the rectangle stays as close as squaring
        return rect
    rings = []
    for i in range(simple.GetGeometryCount()):
        xy = _ring_coords(simple.GetGeometryRef(i))
        squared = _square_ring(xy, angle, params.angle_tolerance) if len(xy) >= 4 else None
        rings.append(squared if squared is not None else xy)
    candidate = _polygon(rings)
    if not candidate.IsValid() or candidate.IsEmpty():
        return simple
    if hausdorff(candidate, geom) > 2 * params.tolerance + 1e-9:
        return simple  # squaring would distort this shape: keep it, only simplified
    return candidate


def hausdorff(a, b) -> float:
    """Symmetric Hausdorff distance between the boundaries (densified vertices, OGR distances)."""
    def one_way(p, q):
        boundary = q.Boundary()
        pts = p.Boundary().Clone()
        pts.Segmentize(max(0.25, p.Boundary().Length() / 2000))
        far = 0.0
        from osgeo import ogr

        for part in range(max(1, pts.GetGeometryCount())):
            line = pts.GetGeometryRef(part) if pts.GetGeometryCount() else pts
            for x, y in np.array(line.GetPoints())[:, :2]:
                pt = ogr.Geometry(ogr.wkbPoint)
                pt.AddPoint_2D(float(x), float(y))
                far = max(far, pt.Distance(boundary))
        return far

    return max(one_way(a, b), one_way(b, a))


def vertex_count(geom) -> int:
    """Vertices of all rings of a polygon or multipolygon."""
    b = geom.Boundary()  # kept alive while its parts are read
    if b.GetGeometryCount() == 0:
        return b.GetPointCount()
    return sum(b.GetGeometryRef(i).GetPointCount() for i in range(b.GetGeometryCount()))
