#!/usr/bin/python3
"""A fake desktop notification server for tests, on the session bus.

Owns org.freedesktop.Notifications and implements the freedesktop Desktop Notifications
interface (Notify, GetCapabilities, GetServerInformation, CloseNotification). Every call it
gets is appended to --log as one JSON line, e.g.

  {"call": "Notify", "id": 1, "app_name": "Missiva", "summary": "@ana", "body": "hi",
   "actions": ["default", "Open"], "hints": {"category": "im.received"}, ...}
  {"call": "CloseNotification", "id": 1}
  {"signal": "ActionInvoked", "id": 1, "action": "default"}

It clicks a notification, i.e. emits ActionInvoked(id, action) then NotificationClosed(id, 2),
when asked:
  - a file appears at --invoke-file holding "ACTION [ID]" (ID: the last notification when
    left out); the file is deleted once handled;
  - or on SIGUSR1: "default" on the last notification.

Prints "ready" on stdout once it owns the name. Uses the system's python3-dbus + python3-gi
(hence /usr/bin/python3).
"""

import argparse
import json
import os
import signal
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

BUS_NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
IFACE = "org.freedesktop.Notifications"


def plain(value):
    """A D-Bus value as plain JSON data (image data and other bytes as their length)."""
    if isinstance(value, (dbus.Boolean, bool)):
        return bool(value)
    if isinstance(value, (dbus.Byte,)):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (dbus.ByteArray, bytes)):
        return {"bytes": len(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return str(value)


class Server(dbus.service.Object):
    def __init__(self, bus, log_path, markup):
        super().__init__(bus, PATH)
        self.log_path = log_path
        self.markup = markup
        self.next_id = 1
        self.last_id = 0
        self.open = set()

    def record(self, entry):
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
            f.flush()

    @dbus.service.method(IFACE, in_signature="susssasa{sv}i", out_signature="u")
    def Notify(self, app_name, replaces_id, app_icon, summary, body, actions, hints, expire_timeout):
        if replaces_id and replaces_id in self.open:
            nid = int(replaces_id)
        else:
            nid = self.next_id
            self.next_id += 1
        self.open.add(nid)
        self.last_id = nid
        self.record({
            "call": "Notify",
            "id": nid,
            "app_name": str(app_name),
            "replaces_id": int(replaces_id),
            "app_icon": str(app_icon),
            "summary": str(summary),
            "body": str(body),
            "actions": [str(a) for a in actions],
            "hints": plain(hints),
            "expire_timeout": int(expire_timeout),
        })
        return dbus.UInt32(nid)

    @dbus.service.method(IFACE, in_signature="", out_signature="as")
    def GetCapabilities(self):
        caps = ["actions", "body", "persistence"]
        if self.markup:
            caps.append("body-markup")
        self.record({"call": "GetCapabilities"})
        return caps

    @dbus.service.method(IFACE, in_signature="", out_signature="ssss")
    def GetServerInformation(self):
        return ("fake-notification-server", "missiva-tests", "1.0", "1.2")

    @dbus.service.method(IFACE, in_signature="u", out_signature="")
    def CloseNotification(self, nid):
        self.record({"call": "CloseNotification", "id": int(nid)})
        if int(nid) in self.open:
            self.open.discard(int(nid))
            self.NotificationClosed(dbus.UInt32(nid), dbus.UInt32(3))

    @dbus.service.signal(IFACE, signature="uu")
    def NotificationClosed(self, nid, reason):
        pass

    @dbus.service.signal(IFACE, signature="us")
    def ActionInvoked(self, nid, action_key):
        pass

    def invoke(self, action, nid=None):
        nid = self.last_id if nid is None else nid
        if not nid:
            print("fake-notification-server: no notification to invoke", file=sys.stderr)
            return
        self.record({"signal": "ActionInvoked", "id": nid, "action": action})
        self.ActionInvoked(dbus.UInt32(nid), action)
        # A clicked notification goes away, as on a real desktop.
        self.open.discard(nid)
        self.NotificationClosed(dbus.UInt32(nid), dbus.UInt32(2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", required=True, help="append each call as a JSON line here")
    parser.add_argument("--invoke-file", help="'ACTION [ID]' written here clicks a notification")
    parser.add_argument("--markup", action="store_true", help="advertise body-markup")
    args = parser.parse_args()

    DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    reply = bus.request_name(BUS_NAME, dbus.bus.NAME_FLAG_DO_NOT_QUEUE)
    if reply not in (dbus.bus.REQUEST_NAME_REPLY_PRIMARY_OWNER, dbus.bus.REQUEST_NAME_REPLY_ALREADY_OWNER):
        print(f"fake-notification-server: {BUS_NAME} is already owned", file=sys.stderr)
        return 1
    open(args.log, "a", encoding="utf-8").close()
    server = Server(bus, args.log, args.markup)
    loop = GLib.MainLoop()

    def poll():
        path = args.invoke_file
        if path and os.path.exists(path):
            try:
                with open(path, encoding="utf-8") as f:
                    words = f.read().split()
                os.remove(path)
            except OSError:
                return True
            if words:
                nid = int(words[1]) if len(words) > 1 else None
                server.invoke(words[0], nid)
        return True

    GLib.timeout_add(100, poll)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR1, lambda: server.invoke("default") or True)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, lambda: loop.quit() or False)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, lambda: loop.quit() or False)
    print("ready", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
