"""Reads back, with pyxnat, a scan's quality and note and a manual QC assessment's fields and
per-scan ratings (its xnat:scans/xnat:scan elements, through pyxnat's xpath on the assessor's XML).

Usage: pyxnat_qc.py JSON with url, user, password, project, subject, experiment, scan, assessor.
Prints one JSON object of what pyxnat saw.
"""
import json
import sys

import pyxnat

config = json.loads(sys.argv[1])
interface = pyxnat.Interface(server=config["url"], user=config["user"], password=config["password"])
session = interface.select.project(config["project"]).subject(config["subject"]).experiment(config["experiment"])
scan = session.scan(config["scan"])
assessor = session.assessor(config["assessor"])
ratings = [
    {
        "scan": scan_rating.findtext("xnat:imageScan_ID", namespaces=scan_rating.nsmap),
        "rating": scan_rating.findtext("xnat:rating", namespaces=scan_rating.nsmap),
        "comments": scan_rating.findtext("xnat:comments", namespaces=scan_rating.nsmap),
    }
    for scan_rating in assessor.xpath("xnat:scans/xnat:scan")
]
print(
    json.dumps(
        {
            "quality": scan.attrs.get("quality"),
            "note": scan.attrs.get("note"),
            "assessorExists": assessor.exists(),
            "assessorType": assessor.datatype(),
            "rater": assessor.attrs.get("xnat:qcManualAssessorData/rater"),
            "pass": assessor.attrs.get("xnat:qcManualAssessorData/pass"),
            "comments": assessor.attrs.get("xnat:qcManualAssessorData/comments"),
            "scans": ratings,
        }
    )
)
interface.disconnect()
