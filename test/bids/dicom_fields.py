"""The DICOM elements a BIDS sidecar is made from, read by pydicom (independent of our reader).

Usage: dicom_fields.py FILE... ; prints one JSON object per file, keyed by DICOM keyword, values as
pydicom gives them (numbers as numbers, multi-valued elements as lists).
"""
import json
import sys

import pydicom

KEYWORDS = [
    'Modality', 'MagneticFieldStrength', 'ImagingFrequency', 'Manufacturer', 'ManufacturerModelName',
    'InstitutionName', 'StationName', 'SoftwareVersions', 'BodyPartExamined', 'PatientPosition',
    'MRAcquisitionType', 'SeriesDescription', 'ProtocolName', 'ScanningSequence', 'SequenceVariant',
    'ScanOptions', 'SequenceName', 'ImageType', 'SeriesNumber', 'SliceThickness', 'SpacingBetweenSlices',
    'RepetitionTime', 'EchoTime', 'InversionTime', 'FlipAngle', 'PixelBandwidth',
    'InPlanePhaseEncodingDirection',
]


def plain(value):
    if isinstance(value, pydicom.multival.MultiValue):
        return [plain(v) for v in value]
    if isinstance(value, (pydicom.valuerep.DSfloat, float)):
        return float(value)
    if isinstance(value, (pydicom.valuerep.IS, int)):
        return int(value)
    return str(value)


for path in sys.argv[1:]:
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    print(json.dumps({k: plain(ds.get(k)) for k in KEYWORDS if ds.get(k) not in (None, '')}))
