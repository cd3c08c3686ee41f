#!/usr/bin/python3
"""Read one session through pyxnat's public API and print it as one JSON object: the subject's
demographics and custom variables, the session's fields, each scan's type, series description,
quality and note, and every file of the subject's, the session's and the scans' resources by size and
MD5 (downloaded).

Usage: pyxnat_session.py '<json config: url, user, password, project, subject, experiment, fields>'
"""
import hashlib
import json
import os
import sys
import tempfile
import warnings

warnings.simplefilter('ignore')

from pyxnat import Interface  # noqa: E402

DEMOGRAPHICS = 'xnat:subjectData/demographics[@xsi:type=xnat:demographicData]'


def field(datatype, name):
    return '%s/fields/field[name=%s]/field' % (datatype, name)


def files_of(resource, folder):
    out = {}
    for name in sorted(resource.files().get()):
        local = os.path.join(folder, 'f')
        resource.file(name).get(local)
        with open(local, 'rb') as handle:
            content = handle.read()
        out[name] = {'size': len(content), 'md5': hashlib.md5(content).hexdigest()}
    return out


def main():
    config = json.loads(sys.argv[1])
    interface = Interface(server=config['url'], user=config['user'], password=config['password'])
    subject = interface.select.project(config['project']).subject(config['subject'])
    experiment = subject.experiment(config['experiment'])
    datatype = experiment.datatype()
    result = {
        'subject': {
            'gender': subject.attrs.get(DEMOGRAPHICS + '/gender'),
            'yob': subject.attrs.get(DEMOGRAPHICS + '/yob'),
            'fields': {n: subject.attrs.get(field('xnat:subjectData', n)) for n in config['subjectFields']},
        },
        'experiment': {
            'datatype': datatype,
            'date': experiment.attrs.get(datatype + '/date'),
            'visit_id': experiment.attrs.get(datatype + '/visit_id'),
            'fields': {n: experiment.attrs.get(field(datatype, n)) for n in config['experimentFields']},
        },
        'scans': {},
        'resources': {},
    }
    with tempfile.TemporaryDirectory() as folder:
        result['subject']['resources'] = {r.label(): files_of(r, folder) for r in subject.resources()}
        for resource in experiment.resources():
            result['resources'][resource.label()] = files_of(resource, folder)
        for scan in experiment.scans():
            scantype = scan.datatype()
            result['scans'][scan.id()] = {
                'datatype': scantype,
                'type': scan.attrs.get(scantype + '/type'),
                'series_description': scan.attrs.get(scantype + '/series_description'),
                'quality': scan.attrs.get(scantype + '/quality'),
                'note': scan.attrs.get(scantype + '/note'),
                'resources': {r.label(): files_of(r, folder) for r in scan.resources()},
            }
    interface.disconnect()
    print(json.dumps(result, sort_keys=True))


main()
