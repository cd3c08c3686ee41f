#!/usr/bin/python3
"""A project's members through pyxnat's public API, printing one JSON object.

Usage: pyxnat_members.py '<json config>'
config: url, user, password, project, and optionally add: [login, role] (project.add_user) and
remove: login (project.remove_user), done before reading. Reads users(), user_role() of each user,
owners(), members() and collaborators(). An error is reported as {"error": "..."}.
"""
import json
import sys
import warnings

warnings.simplefilter('ignore')

from pyxnat import Interface  # noqa: E402


def main():
    config = json.loads(sys.argv[1])
    interface = Interface(server=config['url'], user=config['user'], password=config['password'])
    try:
        project = interface.select.project(config['project'])
        if 'add' in config:
            login, role = config['add']
            project.add_user(login, role)
        if 'remove' in config:
            project.remove_user(config['remove'])
        users = sorted(project.users())
        print(json.dumps({
            'users': users,
            'roles': {login: project.user_role(login) for login in users},
            'owners': sorted(project.owners()),
            'members': sorted(project.members()),
            'collaborators': sorted(project.collaborators()),
        }))
    except Exception as error:  # noqa: BLE001 - the test shows pyxnat's own message
        print(json.dumps({'error': '%s: %s' % (type(error).__name__, error)}))
    finally:
        interface.disconnect()


if __name__ == '__main__':
    main()
