"""Reads DICOM series downloaded from the sandbox with pydicom and reports what a viewer would see.

Input (argv[1], JSON): {"inputs": [{"name", "zip" | "file", "rois": [{"name", "point": [x, y, z], "radius"}]}]}
Output (stdout, JSON): {name: {"images": [header fields per image, by InstanceNumber, with the MD5 of its stored pixels], "rois": {name: ROI},
"range": [min, max] of the rescaled pixels of every image}} or {name: {"error": message}}.
An ROI is the mean of the (2r+1)^2 rescaled pixels around the pixel nearest a patient point (LPS mm),
in the image whose plane passes closest to it; finding it uses only the geometry tags.
"""
import hashlib
import io
import json
import sys
import zipfile

import numpy as np
import pydicom
import pydicom.multival

FIELDS = [
    'InstanceNumber', 'ImagePositionPatient', 'ImageOrientationPatient', 'PixelSpacing', 'SliceThickness',
    'SpacingBetweenSlices', 'Rows', 'Columns', 'RepetitionTime', 'EchoTime', 'InversionTime', 'FlipAngle',
    'MagneticFieldStrength', 'Manufacturer', 'ManufacturerModelName', 'RescaleSlope', 'RescaleIntercept',
    'WindowCenter', 'WindowWidth', 'AcquisitionNumber', 'TemporalPositionIdentifier', 'Modality',
    'SeriesInstanceUID', 'FrameOfReferenceUID', 'BitsStored', 'PixelRepresentation', 'Units', 'SliceLocation',
]


def plain(value):
    if isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
        return [plain(v) for v in value]
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return value if isinstance(value, str) else float(value)
    return str(value)


def datasets(spec):
    if 'file' in spec:
        return [pydicom.dcmread(spec['file'])]
    with zipfile.ZipFile(spec['zip']) as archive:
        return [pydicom.dcmread(io.BytesIO(archive.read(n))) for n in archive.namelist() if n.endswith('.dcm')]


def rescaled(ds):
    if ds.file_meta.TransferSyntaxUID == '1.2.840.10008.1.2.4.70':
        return None  # pydicom needs GDCM or pylibjpeg for JPEG Lossless: the test has dcmdjpeg decode it
    return ds.pixel_array.astype(np.float64) * float(getattr(ds, 'RescaleSlope', 1)) + float(
        getattr(ds, 'RescaleIntercept', 0))


def roi(images, point, radius):
    best = None
    for ds, pixels in images:
        origin = np.array([float(v) for v in ds.ImagePositionPatient])
        iop = [float(v) for v in ds.ImageOrientationPatient]
        row, column = np.array(iop[:3]), np.array(iop[3:])
        offset = np.array(point) - origin
        distance = abs(float(np.dot(offset, np.cross(row, column))))
        if best is None or distance < best[0]:
            best = (distance, ds, pixels, offset, row, column)
    distance, ds, pixels, offset, row, column = best
    spacing = [float(v) for v in ds.PixelSpacing]
    i = int(round(float(np.dot(offset, row)) / spacing[1]))
    j = int(round(float(np.dot(offset, column)) / spacing[0]))
    if not (radius <= i < ds.Columns - radius and radius <= j < ds.Rows - radius):
        return {'error': f'point {point} falls outside image {ds.InstanceNumber} at column {i}, row {j}'}
    patch = pixels[j - radius:j + radius + 1, i - radius:i + radius + 1]
    return {'instance': int(ds.InstanceNumber), 'distance': distance, 'column': i, 'row': j, 'mean': float(patch.mean())}


def probe(spec):
    found = sorted(datasets(spec), key=lambda ds: int(ds.InstanceNumber))
    images = [(ds, rescaled(ds)) for ds in found]
    decoded = [(ds, p) for ds, p in images if p is not None]
    return {
        'images': [
            {field: plain(getattr(ds, field)) for field in FIELDS if field in ds}
            | {'TransferSyntaxUID': str(ds.file_meta.TransferSyntaxUID)}
            | ({'PixelsMD5': hashlib.md5(ds.pixel_array.astype('<u2').tobytes()).hexdigest()} if p is not None else {})
            for ds, p in images
        ],
        'rois': {r['name']: roi(images, r['point'], r.get('radius', 1)) for r in spec.get('rois', [])},
        'range': [min(float(p.min()) for _, p in decoded), max(float(p.max()) for _, p in decoded)] if decoded else None,
    }


def main():
    config = json.loads(sys.argv[1])
    out = {}
    for spec in config['inputs']:
        try:
            out[spec['name']] = probe(spec)
        except Exception as error:  # reported per input, so one bad series does not hide the others
            out[spec['name']] = {'error': f'{type(error).__name__}: {error}'}
    json.dump(out, sys.stdout)


main()
