#!/usr/bin/python3
"""Run searches with pyxnat's select(...).where(...) and print their rows as JSON.

Usage: pyxnat_select.py '<json config>' with the server, the credentials and `queries`, each
{"root": type, "columns": ["<type>/<FIELD_ID>", ...], "where": pyxnat's criteria list (tuples as
lists, nested lists as child sets, 'AND'/'OR' strings)}. Prints {"<index>": [row, ...]} or an error.
"""
import json
import sys
import warnings

warnings.simplefilter('ignore')

from pyxnat import Interface  # noqa: E402


def criteria(items):
    # JSON has no tuples: a 3-list of strings is a criterion, other lists are child sets.
    out = []
    for item in items:
        if isinstance(item, list) and len(item) == 3 and all(isinstance(x, str) for x in item) \
                and item[1] in ('=', '!=', '<', '<=', '>', '>=', 'LIKE', 'IN', 'BETWEEN'):
            out.append(tuple(item))
        elif isinstance(item, list):
            out.append(criteria(item))
        else:
            out.append(item)
    return out


def main():
    config = json.loads(sys.argv[1])
    interface = Interface(server=config['url'], user=config['user'], password=config['password'])
    out = {}
    try:
        for index, query in enumerate(config['queries']):
            table = interface.select(query['root'], query['columns']).where(criteria(query['where']))
            out[str(index)] = [dict(row) for row in table]
    finally:
        interface.disconnect()
    print(json.dumps(out))


main()
