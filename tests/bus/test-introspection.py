#!/usr/bin/python3
"""Compare what the live daemon publishes with the repository.

- Manager.ListMethods lists every entry point with its polkit action,
  privilege context and capabilities.
- Introspect on the live object matches the interface XML files in dbus/.
- polkitd knows every listed action, with the defaults and owner annotation
  the daemon depends on.
"""

import glob
import os
import xml.etree.ElementTree as ElementTree

import privsep_bus as bus

PREFIX = bus.IFACE_PREFIX

# (interface, member) -> (polkit action, context, capabilities)
EXPECTED_METHODS = {
    (PREFIX + "Motd", "Update"): ("org.privsep.motd.update", "file_admin",
                                  {"dac_override", "chown"}),
    (PREFIX + "Hostname", "Set"): ("org.privsep.hostname.set", "sys_admin", {"sys_admin"}),
    (PREFIX + "Mount", "MountTmpfs"): ("org.privsep.mount.mount-tmpfs", "sys_admin", {"sys_admin"}),
    (PREFIX + "Mount", "Unmount"): ("org.privsep.mount.unmount", "sys_admin", {"sys_admin"}),
    (PREFIX + "Link", "SetMtu"): ("org.privsep.link.set-mtu", "net_admin", {"net_admin"}),
    (PREFIX + "Link", "SetUp"): ("org.privsep.link.set-up", "net_admin", {"net_admin"}),
}

# polkit's implicit authorization values (PolkitImplicitAuthorization).
POLKIT_NOT_AUTHORIZED = 0
POLKIT_ADMINISTRATOR_AUTHENTICATION_REQUIRED_RETAINED = 4


def capability_name(name):
    """Normalize "CAP_SYS_ADMIN", "cap_sys_admin" and "sys_admin" to "sys_admin"."""
    name = name.lower()
    return name[4:] if name.startswith("cap_") else name


def interfaces_from_xml(root):
    """Map each org.privsep interface in ROOT to its methods, signals and properties."""
    interfaces = {}
    for interface in root.iter("interface"):
        name = interface.get("name")
        if not name.startswith(PREFIX):
            continue
        members = {}
        for method in interface.findall("method"):
            members[("method", method.get("name"))] = [
                (arg.get("name"), arg.get("type"), arg.get("direction", "in"))
                for arg in method.findall("arg")]
        for signal in interface.findall("signal"):
            members[("signal", signal.get("name"))] = [
                (arg.get("name"), arg.get("type")) for arg in signal.findall("arg")]
        for prop in interface.findall("property"):
            members[("property", prop.get("name"))] = [(prop.get("type"), prop.get("access"))]
        interfaces[name] = members
    return interfaces


def test_list_methods(env, tap):
    result = env.call(bus.UNPRIVILEGED_USER, "Manager", "ListMethods")
    if not tap.ok(result.ok, "Manager.ListMethods succeeds for an unprivileged user", repr(result)):
        return []

    listed = {}
    for entry in result.reply:
        interface, member, action, context, capabilities = entry
        key = (interface, member)
        tap.ok(key not in listed, f"ListMethods lists {interface}.{member} once")
        listed[key] = (action, context, {capability_name(c) for c in capabilities})

    tap.equal(sorted(listed), sorted(EXPECTED_METHODS), "ListMethods lists exactly the entry points")
    for key, expected in EXPECTED_METHODS.items():
        tap.equal(listed.get(key), expected, f"ListMethods entry of {key[0]}.{key[1]}")

    union = {capability_name(c) for c in env.capabilities}
    for key, (_, _, capabilities) in listed.items():
        tap.ok(capabilities and capabilities <= union,
               f"{key[0]}.{key[1]} runs with a non-empty subset of the unit's capabilities",
               f"{sorted(capabilities)} not within {sorted(union)}")
    contexts = set().union(*(capabilities for _, _, capabilities in listed.values()))
    tap.ok(all(capabilities != contexts for _, _, capabilities in listed.values()),
           "no entry point runs with every capability of the contexts")
    return result.reply


def test_introspection(env, tap, source_root):
    result = env.call_as(bus.UNPRIVILEGED_USER, bus.BUS_NAME, bus.OBJECT_PATH,
                         "org.freedesktop.DBus.Introspectable", "Introspect")
    if not tap.ok(result.ok, "Introspect on the daemon's object succeeds", repr(result)):
        return
    live = interfaces_from_xml(ElementTree.fromstring(result.reply))

    files = sorted(glob.glob(os.path.join(source_root, "dbus", "*.xml")))
    tap.ok(files, "dbus/ contains interface XML files")
    documented = {}
    for path in files:
        for name, members in interfaces_from_xml(ElementTree.parse(path).getroot()).items():
            tap.ok(name not in documented, f"{name} is described in one XML file only")
            documented[name] = members

    tap.equal(sorted(live), sorted(documented), "the live object has exactly the documented interfaces")
    for name in sorted(set(live) & set(documented)):
        tap.equal(live[name], documented[name], f"live {name} matches its XML file")

    # Every method is listed by ListMethods, except ListMethods itself.
    methods = {(name, member) for name, members in live.items()
               for kind, member in members if kind == "method"}
    methods.discard((PREFIX + "Manager", "ListMethods"))
    tap.equal(sorted(methods), sorted(EXPECTED_METHODS),
              "the live object has a method for each entry point and no other privileged one")


def test_polkit_actions(env, tap):
    result = env.call_as("root", "org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority",
                         "org.freedesktop.PolicyKit1.Authority", "EnumerateActions", "s", [""])
    if not tap.ok(result.ok, "polkitd EnumerateActions succeeds", repr(result)):
        return
    actions = {entry[0]: entry for entry in result.reply}

    for action, _, _ in EXPECTED_METHODS.values():
        entry = actions.get(action)
        if not tap.ok(entry is not None, f"polkitd knows {action}"):
            continue
        implicit_any, implicit_inactive, implicit_active, annotations = entry[6:10]
        tap.equal((implicit_any, implicit_inactive, implicit_active),
                  (POLKIT_NOT_AUTHORIZED, POLKIT_NOT_AUTHORIZED,
                   POLKIT_ADMINISTRATOR_AUTHENTICATION_REQUIRED_RETAINED),
                  f"{action} defaults are no, no, auth_admin_keep")
        tap.equal(annotations.get("org.freedesktop.policykit.owner"), f"unix-user:{bus.SERVICE_USER}",
                  f"{action} names {bus.SERVICE_USER} as owner")

    listed = {action for action, _, _ in EXPECTED_METHODS.values()}
    project = {action for action in actions if action.startswith("org.privsep.")}
    tap.equal(sorted(project), sorted(listed), "the policy has no action without an entry point")


def main(env, tap):
    test_list_methods(env, tap)
    test_introspection(env, tap, env.source_root)
    test_polkit_actions(env, tap)


if __name__ == "__main__":
    bus.run_tap_test(__doc__, main)
