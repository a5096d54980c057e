#!/usr/bin/env python3
"""An SFTP v3 server that lies, for ssh-exec's trust-boundary tests: sshd runs it as its sftp
subsystem (`Subsystem sftp python3 hostile_sftp.py MODE [ARG]`), one process per channel, speaking
on stdin/stdout. It serves the real file system like sftp-server, except where MODE says:

  names ABS     a folder named "hostile" lists names that lead elsewhere ("../x", ABS,
                "sub/../../y", "." and ".." as files, an empty name, one with a NUL) next to a good
                "ok.txt"; a path that does not exist reads as a 6-byte file "pwned\\n"
  hang          answers nothing, not even the version
  hang-after-init  answers the version, then nothing
  modes         reports suid.bin as 04755, sgid.bin as 02777, open.bin as 0666, and the folder
                sticky/ as 01777 (the real files keep their real modes)
  truncate      reads end at half of each file; writes past half of the data are dropped
  no-posix-rename  offers no posix-rename@openssh.com (the not-atomic fallback)

Everything else is a plain, honest server for the requests netlab and libssh send.
"""
import errno
import os
import stat
import struct
import sys
import time

MODE = sys.argv[1] if len(sys.argv) > 1 else ""
ARG = sys.argv[2] if len(sys.argv) > 2 else ""

FX_OK, FX_EOF, FX_NO_SUCH_FILE, FX_PERMISSION_DENIED, FX_FAILURE, FX_OP_UNSUPPORTED = 0, 1, 2, 3, 4, 8
FX_FILE_ALREADY_EXISTS = 11
FAKE = b"pwned\n"
LIED_MODES = {"suid.bin": 0o104755, "sgid.bin": 0o102777, "open.bin": 0o100666, "sticky": 0o041777}

stdin = sys.stdin.buffer
stdout = sys.stdout.buffer
handles = {}
next_handle = 0


def read_exact(n):
    data = b""
    while len(data) < n:
        chunk = stdin.read(n - len(data))
        if not chunk:
            sys.exit(0)
        data += chunk
    return data


class Reader:
    def __init__(self, data):
        self.data, self.at = data, 0

    def u32(self):
        v = struct.unpack(">I", self.data[self.at:self.at + 4])[0]
        self.at += 4
        return v

    def u64(self):
        v = struct.unpack(">Q", self.data[self.at:self.at + 8])[0]
        self.at += 8
        return v

    def string(self):
        n = self.u32()
        v = self.data[self.at:self.at + n]
        self.at += n
        return v

    def attrs(self):
        flags = self.u32()
        out = {}
        if flags & 1:
            out["size"] = self.u64()
        if flags & 2:
            self.u32(), self.u32()
        if flags & 4:
            out["perm"] = self.u32()
        if flags & 8:
            out["atime"], out["mtime"] = self.u32(), self.u32()
        if flags & 0x80000000:
            for _ in range(self.u32()):
                self.string(), self.string()
        return out


def string(b):
    return struct.pack(">I", len(b)) + b


def send(kind, body):
    stdout.write(struct.pack(">IB", len(body) + 1, kind) + body)
    stdout.flush()


def status(rid, code, message=b""):
    send(101, struct.pack(">II", rid, code) + string(message) + string(b""))


def encode_attrs(size, perm, atime=0, mtime=0):
    return struct.pack(">IQIIIII", 0x1 | 0x2 | 0x4 | 0x8, size, 0, 0, perm, int(atime), int(mtime))


def lie(path, st_mode):
    name = os.path.basename(path.rstrip(b"/")).decode(errors="replace")
    if MODE == "modes" and name in LIED_MODES:
        return LIED_MODES[name]
    return st_mode


def stat_attrs(path, follow=True):
    st = os.stat(path) if follow else os.lstat(path)
    return encode_attrs(st.st_size, lie(path, st.st_mode), st.st_atime, st.st_mtime)


def errno_status(rid, e):
    code = {errno.ENOENT: FX_NO_SUCH_FILE, errno.EACCES: FX_PERMISSION_DENIED,
            errno.EEXIST: FX_FILE_ALREADY_EXISTS}.get(e.errno, FX_FAILURE)
    status(rid, code, os.strerror(e.errno).encode())


def fake_path(path):
    return MODE == "names" and not os.path.lexists(path)


def hostile_listing():
    names = [(b".", 0o040755), (b"..", 0o040755), (b"../x", 0o100644), (ARG.encode(), 0o100644),
             (b"sub/../../y", 0o100644), (b".", 0o100644), (b"..", 0o100644), (b"", 0o100644),
             (b"a\0b", 0o100644), (b"ok.txt", 0o100644)]
    body = b""
    for name, perm in names:
        body += string(name) + string(name) + encode_attrs(len(FAKE), perm)
    return len(names), body


def handle_request(kind, r):
    global next_handle
    rid = r.u32()
    if kind in (17, 7):  # STAT, LSTAT
        path = r.string()
        if fake_path(path):
            return send(105, struct.pack(">I", rid) + encode_attrs(len(FAKE), 0o100644))
        try:
            send(105, struct.pack(">I", rid) + stat_attrs(path, follow=kind == 17))
        except OSError as e:
            errno_status(rid, e)
    elif kind == 8:  # FSTAT
        h = handles.get(r.string())
        if h is None or h["kind"] != "file":
            return status(rid, FX_FAILURE, b"bad handle")
        st = os.fstat(h["fd"])
        send(105, struct.pack(">I", rid) + encode_attrs(st.st_size, lie(h["path"], st.st_mode)))
    elif kind == 16:  # REALPATH
        path = r.string() or b"."
        real = os.path.realpath(path)
        send(104, struct.pack(">II", rid, 1) + string(real) + string(real) + encode_attrs(0, 0o040755))
    elif kind == 3:  # OPEN
        path, pflags = r.string(), r.u32()
        attrs = r.attrs()
        if fake_path(path) and pflags & 1:
            next_handle += 1
            key = str(next_handle).encode()
            handles[key] = {"kind": "fake", "path": path}
            return send(102, struct.pack(">I", rid) + string(key))
        flags = 0
        if pflags & 1 and pflags & 2:
            flags = os.O_RDWR
        elif pflags & 2:
            flags = os.O_WRONLY
        if pflags & 8:
            flags |= os.O_CREAT
        if pflags & 0x10:
            flags |= os.O_TRUNC
        if pflags & 0x20:
            flags |= os.O_EXCL
        try:
            fd = os.open(path, flags, attrs.get("perm", 0o644) & 0o7777)
        except OSError as e:
            return errno_status(rid, e)
        next_handle += 1
        key = str(next_handle).encode()
        handles[key] = {"kind": "file", "fd": fd, "path": path, "size": os.fstat(fd).st_size}
        send(102, struct.pack(">I", rid) + string(key))
    elif kind == 5:  # READ
        key, offset, length = r.string(), r.u64(), r.u32()
        h = handles.get(key)
        if h is None:
            return status(rid, FX_FAILURE, b"bad handle")
        if h["kind"] == "fake":
            data = FAKE[offset:offset + length]
        else:
            if MODE == "truncate":
                length = max(0, min(length, h["size"] // 2 - offset))
            data = os.pread(h["fd"], length, offset) if length else b""
        if not data:
            return status(rid, FX_EOF, b"end of file")
        send(103, struct.pack(">I", rid) + string(data))
    elif kind == 6:  # WRITE
        key, offset, data = r.string(), r.u64(), r.string()
        h = handles.get(key)
        if h is None or h["kind"] != "file":
            return status(rid, FX_FAILURE, b"bad handle")
        if MODE == "truncate" and offset >= 1 << 20:
            return status(rid, FX_OK)  # claims success, keeps nothing past 1 MiB
        os.pwrite(h["fd"], data, offset)
        status(rid, FX_OK)
    elif kind == 4:  # CLOSE
        h = handles.pop(r.string(), None)
        if h is None:
            return status(rid, FX_FAILURE, b"bad handle")
        if h["kind"] == "file":
            os.close(h["fd"])
        status(rid, FX_OK)
    elif kind == 11:  # OPENDIR
        path = r.string()
        if not os.path.isdir(path):
            return status(rid, FX_NO_SUCH_FILE, b"no such folder")
        next_handle += 1
        key = str(next_handle).encode()
        handles[key] = {"kind": "dir", "path": path, "done": False}
        send(102, struct.pack(">I", rid) + string(key))
    elif kind == 12:  # READDIR
        h = handles.get(r.string())
        if h is None or h["kind"] != "dir":
            return status(rid, FX_FAILURE, b"bad handle")
        if h["done"]:
            return status(rid, FX_EOF, b"end of folder")
        h["done"] = True
        path = h["path"]
        if MODE == "names" and os.path.basename(path.rstrip(b"/")) == b"hostile":
            count, body = hostile_listing()
            return send(104, struct.pack(">II", rid, count) + body)
        names = [b".", b".."] + sorted(os.listdir(path))
        body = b""
        for name in names:
            body += string(name) + string(name) + stat_attrs(os.path.join(path, name), follow=False)
        send(104, struct.pack(">II", rid, len(names)) + body)
    elif kind == 9:  # SETSTAT
        path = r.string()
        attrs = r.attrs()
        try:
            if "perm" in attrs:
                os.chmod(path, attrs["perm"] & 0o7777)
            if "mtime" in attrs:
                os.utime(path, (attrs["atime"], attrs["mtime"]))
            status(rid, FX_OK)
        except OSError as e:
            errno_status(rid, e)
    elif kind == 14:  # MKDIR
        path = r.string()
        attrs = r.attrs()
        try:
            os.mkdir(path, attrs.get("perm", 0o755) & 0o7777)
            status(rid, FX_OK)
        except OSError as e:
            errno_status(rid, e)
    elif kind == 13:  # REMOVE
        try:
            os.unlink(r.string())
            status(rid, FX_OK)
        except OSError as e:
            errno_status(rid, e)
    elif kind == 18:  # RENAME: refuses to replace, as OpenSSH's does
        old, new = r.string(), r.string()
        try:
            os.link(old, new)
            os.unlink(old)
            status(rid, FX_OK)
        except OSError as e:
            errno_status(rid, e)
    elif kind == 200:  # EXTENDED
        name = r.string()
        if name == b"posix-rename@openssh.com" and MODE != "no-posix-rename":
            old, new = r.string(), r.string()
            try:
                os.rename(old, new)
                status(rid, FX_OK)
            except OSError as e:
                errno_status(rid, e)
        else:
            status(rid, FX_OP_UNSUPPORTED, b"unsupported")
    else:
        status(rid, FX_OP_UNSUPPORTED, b"unsupported")


def main():
    while True:
        length, kind = struct.unpack(">IB", read_exact(5))
        body = read_exact(length - 1)
        if MODE == "hang" or (MODE == "hang-after-init" and kind != 1):
            continue  # reads on, answers nothing
        if kind == 1:  # INIT
            ext = b"" if MODE == "no-posix-rename" else string(b"posix-rename@openssh.com") + string(b"1")
            send(2, struct.pack(">I", 3) + ext)
            continue
        handle_request(kind, Reader(body))


if __name__ == "__main__":
    main()
