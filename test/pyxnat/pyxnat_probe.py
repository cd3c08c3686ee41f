#!/usr/bin/python3
"""Drive pyxnat's public API against an XNAT server and print what it saw as one JSON object.

Usage: pyxnat_probe.py '<json config>' where the config names the server, the credentials and the
objects to look at (project, subject, session, scan, shared subject). Each step is recorded on its
own, with the error text when pyxnat raised, so one failure does not hide the others.
"""
import hashlib
import json
import os
import sys
import tempfile
import traceback
import warnings

warnings.simplefilter('ignore')

from pyxnat import Interface  # noqa: E402


def main():
    config = json.loads(sys.argv[1])
    out = {'steps': {}, 'errors': {}}

    def step(name, fn):
        try:
            out['steps'][name] = fn()
        except Exception as error:  # noqa: BLE001 - every failure is reported, none is fatal
            last = traceback.format_exception_only(type(error), error)[-1].strip()
            out['errors'][name] = last[:2000]

    project, shared_project = config['project'], config['sharedProject']
    subject_label, experiment_label, scan_id = config['subject'], config['experiment'], config['scan']

    interface = Interface(server=config['url'], user=config['user'], password=config['password'])
    try:
        step('projects', lambda: sorted(interface.select.projects().get()))

        p = interface.select.project(project)
        step('project_exists', lambda: p.exists())
        step('project_attrs', lambda: {
            'name': p.attrs.get('name'),
            'pi_lastname': p.attrs.get('pi_lastname'),
            'description': p.attrs.get('description'),
        })
        step('subject_ids', lambda: sorted(p.subjects().get()))
        # pyxnat's get('label') still yields IDs on its first call, so ask each subject for its label.
        step('subject_labels', lambda: sorted(subject.label() for subject in p.subjects()))

        s = p.subject(subject_label)
        step('subject', lambda: {
            'exists': s.exists(),
            'id': s.id(),
            'label': s.label(),
            'gender': s.attrs.get('xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/gender'),
        })
        step('experiment_labels', lambda: sorted(experiment.label() for experiment in s.experiments()))

        e = s.experiment(experiment_label)
        step('experiment', lambda: {
            'exists': e.exists(),
            'id': e.id(),
            'label': e.label(),
            'datatype': e.datatype(),
            'date': e.attrs.get('xnat:mrSessionData/date'),
            'field_strength': e.attrs.get('xnat:mrSessionData/fieldStrength'),
        })
        step('scan_ids', lambda: sorted(e.scans().get()))

        scan = e.scan(scan_id)
        step('scan', lambda: {
            'exists': scan.exists(),
            'type': scan.attrs.get('type'),
            'quality': scan.attrs.get('quality'),
            'series_description': scan.attrs.get('series_description'),
        })
        step('resources', lambda: sorted(resource.label() for resource in scan.resources()))
        step('files', lambda: sorted(scan.resource('DICOM').files().get()))
        step('file_attributes', lambda: {
            name: {'size': f.size(), 'format': f.format(), 'content': f.content()}
            for name, f in ((f.id(), f) for f in scan.resource('DICOM').files())
        })

        def download():
            downloaded = {}
            with tempfile.TemporaryDirectory() as folder:
                for name in scan.resource('DICOM').files().get():
                    path = scan.resource('DICOM').file(name).get(os.path.join(folder, name))
                    with open(path, 'rb') as handle:
                        data = handle.read()
                    downloaded[name] = {'size': len(data), 'md5': hashlib.md5(data).hexdigest()}
            return downloaded
        step('downloads', download)

        def search():
            table = interface.select(
                'xnat:mrSessionData',
                ['xnat:mrSessionData/SESSION_ID', 'xnat:mrSessionData/LABEL', 'xnat:mrSessionData/DATE',
                 'xnat:subjectData/SUBJECT_LABEL'],
            ).where([('xnat:mrSessionData/PROJECT', '=', project),
                     ('xnat:mrSessionData/DATE', '>=', config['dateFrom']), 'AND'])
            return {'headers': table.headers(), 'rows': [dict(row) for row in table]}
        step('search', search)

        def array():
            table = interface.array.experiments(
                project_id=project, experiment_type='xnat:mrSessionData',
                columns=['xnat:mrSessionData/label', 'xnat:mrSessionData/date'])
            return {'headers': table.headers(), 'rows': [dict(row) for row in table]}
        step('array', array)

        step('datatypes', lambda: sorted(interface.inspect.datatypes()))
        step('mr_fields', lambda: interface.inspect.datatypes('xnat:mrSessionData'))
        # select(type) without columns asks for every listed field of the type.
        step('select_all', lambda: len(interface.select('xnat:mrSessionData').all()))
        step('select_where', lambda: len(interface.select('xnat:mrSessionData').where(
            [('xnat:mrSessionData/PROJECT', '=', project), 'AND'])))
        step('field_values', lambda: sorted(interface.inspect.field_values('xnat:mrSessionData/PROJECT')))
        step('aliases', lambda: p.aliases())
        step('saved_searches', lambda: sorted(interface.manage.search.saved()))
        step('saved_search_results', lambda: len(interface.manage.search.get(config['savedSearch'])))

        step('unicode', lambda: {
            'subject': p.subject(config['unicodeSubject']).id(),
            'experiment': p.subject(config['unicodeExperimentSubject']).experiment(config['unicodeExperiment']).id(),
        })
        step('hidden_project_exists', lambda: interface.select.project(config['hiddenProject']).exists())

        shared = interface.select.project(shared_project).subject(config['sharedSubject'])
        step('shared_subject', lambda: {
            'exists': shared.exists(),
            'id': shared.id(),
            'label': shared.label(),
            'experiment_ids': sorted(shared.experiments().get()),
            'experiment_labels': sorted(experiment.label() for experiment in shared.experiments()),
        })
    finally:
        try:
            interface.disconnect()
        except Exception:  # noqa: BLE001 - logging out is best effort
            pass

    json.dump(out, sys.stdout, default=str)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
