"""A local XYZ tile server for the tests: 256-px PNG tiles (EPSG:3857) cut on demand from a GeoTIFF.

    python tests/tile_server.py RASTER [--fail-every N]

Prints the port on the first line of stdout, then serves http://127.0.0.1:PORT/{z}/{x}/{y}.png until killed.
Outside the raster the tiles are transparent. With --fail-every N, tiles whose (x + y) % N == 0 answer
HTTP 500, as a flaky web service would. Every request is appended to the log file given by --log.
"""

import argparse
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from osgeo import gdal

ORIGIN = 20037508.342789244
_LOCK = threading.Lock()


def tile_png(raster: str, z: int, x: int, y: int) -> bytes:
    size = 2 * ORIGIN / 2**z
    left, top = -ORIGIN + x * size, ORIGIN - y * size
    name = f"/vsimem/tile_{threading.get_ident()}"
    with _LOCK:  # one warp at a time keeps GDAL's /vsimem use simple
        gdal.Warp(name + ".tif", raster, format="GTiff", dstSRS="EPSG:3857",
                  outputBounds=(left, top - size, left + size, top), width=256, height=256,
                  resampleAlg="bilinear", dstAlpha=True)
        gdal.Translate(name + ".png", name + ".tif", format="PNG")
        f = gdal.VSIFOpenL(name + ".png", "rb")
        gdal.VSIFSeekL(f, 0, 2)
        n = gdal.VSIFTellL(f)
        gdal.VSIFSeekL(f, 0, 0)
        data = gdal.VSIFReadL(1, n, f)
        gdal.VSIFCloseL(f)
        for suffix in (".tif", ".png", ".png.aux.xml"):
            gdal.Unlink(name + suffix)
    return data


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("raster")
    ap.add_argument("--fail-every", type=int, default=0)
    ap.add_argument("--log", default=None)
    args = ap.parse_args(argv)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            if args.log:
                with _LOCK, open(args.log, "a") as log:
                    log.write(self.path + "\n")
            m = re.fullmatch(r"/(\d+)/(\d+)/(\d+)\.png", self.path)
            if not m:
                self.send_error(404)
                return
            z, x, y = map(int, m.groups())
            if args.fail_every and (x + y) % args.fail_every == 0:
                self.send_error(500, "simulated server error")
                return
            body = tile_png(args.raster, z, x, y)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    sys.stdout.close()
    server.serve_forever()


if __name__ == "__main__":
    main()
