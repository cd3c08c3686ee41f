"""Downloads, with pyxnat, every file of a scan resource (a pipeline's output) into a folder.

Usage: pyxnat_outputs.py JSON with url, user, password, experiment, scan, resource, destination.
Prints one JSON object: the names of the files pyxnat listed and downloaded.
"""
import json
import os
import sys

import pyxnat

config = json.loads(sys.argv[1])
interface = pyxnat.Interface(server=config["url"], user=config["user"], password=config["password"])
resource = interface.select.experiment(config["experiment"]).scan(config["scan"]).resource(config["resource"])
names = []
for f in resource.files():
    name = f.id()
    f.get(os.path.join(config["destination"], name))
    names.append(name)
print(json.dumps({"files": sorted(names)}))
interface.disconnect()
