"""Prints a DICOM file's elements as pydicom reads them, in the dicomdump's terms, as JSON lines.

Usage: dicom_elements.py FILE. One object per element: tag "(GGGG,EEEE)", parent (the sequence's tag,
for elements of a sequence item), vr, value (multiple values joined by a backslash, binary values in
upper-case hex). Pixel data is left out, as XNAT's dump stops before it.
"""
import json
import sys

import pydicom


def tag_text(tag):
    return "(%04X,%04X)" % (tag.group, tag.element)


def value_text(elem):
    if elem.VR == "SQ":
        return ""
    value = elem.value
    if elem.VR in ("OB", "UN"):
        return "\\".join("%02X" % b for b in value)
    if elem.VR == "OW":
        return "\\".join("%04X" % int.from_bytes(value[i : i + 2], "little") for i in range(0, len(value), 2))
    if value is None:
        return ""
    if isinstance(value, (list, pydicom.multival.MultiValue)):
        return "\\".join(str(v) for v in value)
    return str(value)


def rows(dataset, parent=None):
    for elem in dataset:
        if elem.tag == 0x7FE00010:
            continue
        yield {"tag": tag_text(elem.tag), "parent": parent, "vr": elem.VR, "value": value_text(elem)}
        if elem.VR == "SQ":
            for item in elem.value:
                yield from rows(item, tag_text(elem.tag))


ds = pydicom.dcmread(sys.argv[1])
for row in list(rows(ds.file_meta)) + list(rows(ds)):
    print(json.dumps(row))
