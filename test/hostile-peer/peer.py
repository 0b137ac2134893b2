#!/usr/bin/env python3
"""A small hostile HTTP peer for registry-sync's tests (python3 standard library only).

It plays a broken or malicious HR endpoint (Workday RaaS / SuccessFactors OData / SCIM shapes)
and a slow client of `registry-sync serve`:

  peer.py serve --port-file FILE --log FILE     HTTP server; every request is appended to the
                                                log as one JSON line {path, auth} (auth: whether
                                                an Authorization header arrived, and its value)
  peer.py drip HOST PORT SECONDS [INTERVAL]     client: sends a request head one byte every
                                                INTERVAL seconds (0.09) for SECONDS, never finishing it
  peer.py stall HOST PORT PATH SECONDS          client with a tiny receive buffer: sends GET PATH and
                                                reads nothing for SECONDS (the reply's writes block)

Routes of `serve` (GET; query parameters select the misbehaviour):
  /sf/page?next=URL          one SuccessFactors user (E1) and d.__next = URL (any host, any scheme)
  /sf/last                   one SuccessFactors user (E2), no __next
  /sf/endless?i=N[&delay=S]  user E<N>, __next -> i=N+1 on the same host: paging that never ends
  /sf/repeat?i=N             the same user E1 on every page, __next -> i=N+1: repeating pages
  /redirect?to=URL           302 to URL
  /wd/bomb?mb=N              a Workday report whose gzip body decodes to about N MB
  /wd/big?mb=N               a Workday report of about N MB, not compressed
  /wd/type?ct=TYPE           a valid Workday report served with Content-Type TYPE
  /wd/status?code=N          HTTP N with an error body holding private HR data
  /wd/echo                   200 with a body that is not JSON and echoes the Authorization header
  /wd/ok                     a valid Workday report with one user (E1)
  /scim/Users                a SCIM 2.0 ListResponse over the users POSTed to /admin/scim (startIndex,
                             count, filter meta.lastModified gt|ge "TIME" compared as instants, or
                             ATTR eq "VALUE" for id, userName or the enterprise extension's
                             employeeNumber); /scim/Users/ID one user
  POST /admin/scim           {"users": [...], "delete_after_page": {"page": N, "id": ID[, "add": USER]}}:
                             replaces the users; after serving list page N (counted from this POST)
                             user ID is deleted (and USER appended: totalResults stays the same)
"""
import datetime
import gzip
import http.server
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.parse

PRIVATE = "PRIVATE-HR-DATA salary=123456 ssn=078-05-1120"


def sf_user(n):
    return {"userId": f"E{n}", "firstName": f"First{n}", "lastName": f"Last{n}", "department": "Finance",
            "title": "Analyst", "email": f"e{n}@example.com", "status": "active"}


def wd_user(n):
    return {"Employee_ID": f"E{n}", "Legal_Name_First": f"First{n}", "Legal_Name_Last": f"Last{n}",
            "Business_Title": "Analyst", "Cost_Center": "Finance", "Primary_Work_Email": f"e{n}@example.com",
            "Worker_Status": "Active"}


def attribute(user, path):
    """A SCIM attribute path (id, userName, URN:attr of an extension) -> the user's value."""
    ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
    if path.startswith(ext):
        return user.get(ext[:-1], {}).get(path[len(ext):])
    return user.get(path)


def instant(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))


class Scim:
    users = []
    delete_after_page = None
    pages = 0


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    log_file = None
    lock = threading.Lock()

    def do_POST(self):
        self.record()
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        if self.path == "/admin/scim":
            with self.lock:
                Scim.users = body.get("users", [])
                Scim.delete_after_page = body.get("delete_after_page")
                Scim.pages = 0
            return self.send(200, {"count": len(Scim.users)})
        return self.send(404, {"error": "no such route"})

    def scim(self, p, q):
        if p.startswith("/scim/Users/"):
            uid = urllib.parse.unquote(p[len("/scim/Users/"):])
            for u in Scim.users:
                if u["id"] == uid:
                    return self.send(200, u, ctype="application/scim+json")
            return self.send(404, {"detail": "not found"}, ctype="application/scim+json")
        with self.lock:
            users = list(Scim.users)
            f = q.get("filter", "")
            eq = re.fullmatch(r'(\S+) eq "([^"]*)"', f) if f else None
            if eq:
                users = [u for u in users if attribute(u, eq.group(1)) == eq.group(2)]
            elif f:
                m = re.fullmatch(r'meta\.lastModified (gt|ge) "([^"]+)"', f)
                if not m:
                    return self.send(400, {"detail": "unsupported filter"}, ctype="application/scim+json")
                t = instant(m.group(2))
                users = [u for u in users if (instant(u["meta"]["lastModified"]) > t if m.group(1) == "gt"
                                              else instant(u["meta"]["lastModified"]) >= t)]
            start, count = int(q.get("startIndex", "1")), int(q.get("count", "100"))
            page = users[start - 1:start - 1 + count]
            Scim.pages += 1
            d = Scim.delete_after_page
            if d and d.get("page") == Scim.pages:
                Scim.users = [u for u in Scim.users if u["id"] != d["id"]] + ([d["add"]] if d.get("add") else [])
                Scim.delete_after_page = None
        return self.send(200, {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": len(users),
                               "startIndex": start, "itemsPerPage": len(page), "Resources": page},
                         ctype="application/scim+json")

    def log_message(self, fmt, *args):  # quiet
        pass

    def record(self):
        entry = {"path": self.path, "auth": self.headers.get("Authorization")}
        with self.lock:
            with open(self.log_file, "a") as f:
                f.write(json.dumps(entry) + "\n")

    def base(self):
        return f"http://{self.headers.get('Host')}"

    def send(self, code, body, ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        self.record()
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        p = url.path
        if p.startswith("/scim/Users"):
            return self.scim(p, q)
        if p == "/sf/page":
            d = {"results": [sf_user(1)]}
            if "next" in q:
                d["__next"] = q["next"]
            return self.send(200, {"d": d})
        if p == "/sf/last":
            return self.send(200, {"d": {"results": [sf_user(2)]}})
        if p == "/sf/endless":
            i = int(q.get("i", "1"))
            time.sleep(float(q.get("delay", "0")))
            extra = f"&delay={q['delay']}" if "delay" in q else ""
            return self.send(200, {"d": {"results": [sf_user(i)], "__next": f"{self.base()}/sf/endless?i={i + 1}{extra}"}})
        if p == "/sf/repeat":
            i = int(q.get("i", "1"))
            return self.send(200, {"d": {"results": [sf_user(1)], "__next": f"{self.base()}/sf/repeat?i={i + 1}"}})
        if p == "/redirect":
            self.send_response(302)
            self.send_header("Location", q["to"])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if p in ("/wd/bomb", "/wd/big"):
            mb = int(q.get("mb", "16"))
            head = json.dumps({"Report_Entry": [wd_user(1)], "padding": ""})[:-2].encode()
            tail = b'"}'
            n = mb * 1024 * 1024
            if p == "/wd/big":
                return self.send(200, head + b"0" * n + tail)
            z = gzip.compress(head + b"0" * n + tail, 9)
            return self.send(200, z, headers={"Content-Encoding": "gzip"})
        if p == "/wd/type":
            return self.send(200, {"Report_Entry": [wd_user(1)]}, ctype=q.get("ct", "text/html"))
        if p == "/wd/status":
            code = int(q.get("code", "500"))
            return self.send(code, {"error": PRIVATE}, headers={"Retry-After": q["retry_after"]} if "retry_after" in q else None)
        if p == "/wd/echo":
            # A control character inside a JSON string: the parser's message quotes what it read.
            auth = self.headers.get("Authorization", "")
            return self.send(200, '{"Report_Entry": ["' + auth + '\x01"]}')
        if p == "/wd/ok":
            return self.send(200, {"Report_Entry": [wd_user(1)]})
        return self.send(404, {"error": "no such route"})


def serve(argv):
    args = dict(zip(argv[::2], argv[1::2]))
    Handler.log_file = args["--log"]
    open(Handler.log_file, "a").close()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = args["--port-file"] + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, args["--port-file"])
    srv.serve_forever()


def drip(host, port, seconds, interval="0.09"):
    """Holds a connection by sending a never-ending request head, one byte every interval."""
    s = socket.create_connection((host, int(port)))
    print("connected", flush=True)
    head = b"GET /healthz HTTP/1.1\r\nX-Drip: " + b"a" * 100000
    end = time.time() + float(seconds)
    i = 0
    try:
        while time.time() < end:
            s.send(head[i:i + 1])
            i += 1
            time.sleep(float(interval))
    except OSError:
        print("closed by server after %d bytes" % i, flush=True)
        return
    print("held for %s s" % seconds, flush=True)


def stall(host, port, path, seconds):
    """Requests PATH and does not read the reply: the server's writes block once the buffers are full."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)  # before connect: a tiny window
    s.connect((host, int(port)))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    print("sent", flush=True)
    time.sleep(float(seconds))
    s.close()


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "serve":
        serve(sys.argv[2:])
    elif cmd == "drip":
        drip(*sys.argv[2:6])
    elif cmd == "stall":
        stall(*sys.argv[2:6])
    else:
        sys.exit(f"unknown command {cmd}")
