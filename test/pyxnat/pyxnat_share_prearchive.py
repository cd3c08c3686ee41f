"""pyxnat's own calls for sharing, a prearchive session's scans, resources and files, an archive
uploaded for XNAT to extract (put_zip, as zip and as tgz), and logging in with an alias token.

Run by pyxnat-share-prearchive.test.ts: argv[1] is a JSON config; prints one JSON object.
"""
import io
import json
import os
import sys
import tarfile
import tempfile
import zipfile

import pyxnat

config = json.loads(sys.argv[1])
interface = pyxnat.Interface(server=config['url'], user=config['user'], password=config['password'])
out = {}


def as_list(value):
    # JsonTable.get gives a bare value when the table has one row.
    return [value] if isinstance(value, str) else list(value)


try:
    prearchive = interface.manage.prearchive
    triples = [t for t in prearchive.get() if t[0] == config['project']]
    out['sessions'] = len(triples)
    triple = triples[0]
    out['status'] = as_list(prearchive.status(triple))
    scans = sorted(as_list(prearchive.get_scans(triple)))
    out['scans'] = scans
    resources = as_list(prearchive.get_resources(triple, scans[0]))
    out['resources'] = resources
    out['files'] = sorted(as_list(prearchive.get_files(triple, scans[0], resources[0])))

    subject = interface.select.project(config['project']).subject(config['subject'])
    in_target = interface.select.project(config['target']).subject(config['subject'])
    out['before'] = in_target.exists()
    subject.share(config['target'])
    out['shared'] = in_target.exists()
    out['shares'] = sorted(as_list(subject.shares().get()))
    subject.unshare(config['target'])
    out['unshared'] = in_target.exists()

    experiment = subject.experiment(sorted(as_list(subject.experiments().get()))[0])
    with tempfile.TemporaryDirectory() as tmp:
        zipped = os.path.join(tmp, 'notes.zip')
        with zipfile.ZipFile(zipped, 'w') as z:
            z.writestr('a.txt', 'first\n')
            z.writestr('sub/b.txt', 'second\n')
        experiment.resource('PYX_ZIP').put_zip(zipped, extract=True)
        out['zip_files'] = sorted(as_list(experiment.resource('PYX_ZIP').files().get()))
        tarred = os.path.join(tmp, 'notes.tgz')
        with tarfile.open(tarred, 'w:gz') as t:
            data = b'third\n'
            info = tarfile.TarInfo('c.txt')
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        experiment.resource('PYX_TGZ').put_zip(tarred, extract=True)
        out['tgz_files'] = sorted(as_list(experiment.resource('PYX_TGZ').files().get()))
finally:
    interface.disconnect()

# An alias token (issued by the test) stands in for the user's password, as XNAT's token auth allows.
by_token = pyxnat.Interface(server=config['url'], user=config['alias'], password=config['secret'])
try:
    out['token_projects'] = sorted(by_token.select.projects().get())
finally:
    by_token.disconnect()
print(json.dumps(out))
