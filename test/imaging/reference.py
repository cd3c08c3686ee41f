"""Independent decodes for the imaging tests: dcmtk's dcm2pnm, else pydicom (+ numpy, PIL).

compare PNG DICOM FRAME CENTER WIDTH  -> correlation of the PNG with the reference display of FRAME
panels PNG COLUMNS ROWS               -> mean grey of each montage panel, row by row
nifti PNG NX NY K                     -> correlation with slice K of the sandbox's NIfTI test volume
                                         (voxel n holds (37 n) mod 1000; second axis shown upwards)
CENTER/WIDTH "none": colour, no window.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image


def grey(array):
    array = np.asarray(array, dtype=float)
    return array.mean(axis=2) if array.ndim == 3 else array


def dcmtk(path, frame, center, width):
    """dcm2pnm, after dcmtk's own decompressor for JPEG and JPEG-LS files."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "ref.png")
        window = ["+Ww", center, width] if center != "none" else []
        for decompress in (None, "dcmdjpeg", "dcmdjpls"):
            source = path
            try:
                if decompress:
                    source = os.path.join(tmp, "plain.dcm")
                    subprocess.run([decompress, path, source], check=True, capture_output=True)
                subprocess.run(
                    ["dcm2pnm", "--frame", str(frame + 1), *window, "+on", source, out],
                    check=True,
                    capture_output=True,
                )
                return grey(Image.open(out))
            except subprocess.CalledProcessError:
                continue
        raise LookupError("dcmtk cannot decode " + path)


def pydicom_display(path, frame, center, width):
    import pydicom

    ds = pydicom.dcmread(path)
    array = ds.pixel_array
    if int(ds.get("NumberOfFrames", 1) or 1) > 1:
        array = array[frame]
    array = np.asarray(array, dtype=float)
    if array.ndim == 3:
        return grey(array)
    array = array * float(ds.get("RescaleSlope", 1)) + float(ds.get("RescaleIntercept", 0))
    if center != "none":
        low = float(center) - float(width) / 2
        array = np.clip((array - low) / float(width), 0, 1)
    if ds.PhotometricInterpretation == "MONOCHROME1":
        array = -array
    return array


def compare(png, path, frame, center, width):
    shown = grey(Image.open(png))
    try:
        ref, source = dcmtk(path, frame, center, width), "dcmtk"
    except LookupError:
        ref, source = pydicom_display(path, frame, center, width), "pydicom"
    if ref.shape != shown.shape:
        ref = np.asarray(Image.fromarray(ref).resize(shown.shape[::-1], Image.BILINEAR))
    a, b = shown.flatten(), ref.flatten()
    if a.std() == 0 or b.std() == 0:
        corr = 1.0 if np.allclose(a - a.mean(), b - b.mean()) else 0.0
    else:
        corr = float(np.corrcoef(a, b)[0, 1])
    print(json.dumps({"correlation": corr, "source": source, "shape": list(shown.shape), "std": float(a.std())}))


def panels(png, columns, rows):
    image = grey(Image.open(png))
    h, w = image.shape[0] // rows, image.shape[1] // columns
    means = [float(image[r * h : (r + 1) * h, c * w : (c + 1) * w].mean()) for r in range(rows) for c in range(columns)]
    print(json.dumps({"means": means}))


def nifti(png, nx, ny, k):
    shown = grey(Image.open(png))
    n = np.arange(nx * ny) + k * nx * ny
    expected = ((n * 37) % 1000).reshape(ny, nx)[::-1]
    corr = float(np.corrcoef(shown.flatten(), expected.flatten())[0, 1])
    print(json.dumps({"correlation": corr, "shape": list(shown.shape)}))


if __name__ == "__main__":
    if sys.argv[1] == "nifti":
        nifti(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    elif sys.argv[1] == "compare":
        compare(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6])
    else:
        panels(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
