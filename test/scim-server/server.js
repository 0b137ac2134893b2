// Loopback SCIM 2.0 server (scimmy + scimmy-routers + express) for registry-sync's HR tests
// and benchmark: a real protocol peer with an in-memory user store, plus a small admin API
// (outside /scim) to seed users and inject faults.
//
//   node server.js --port-file FILE [--token TOKEN] [--seed users.json]
// Writes the listening port into FILE once ready. Admin API (loopback only, no auth):
//   PUT  /admin/users         body: [SCIM user, ...]   replaces the store (ids kept or assigned)
//   POST /admin/users         body: [SCIM user, ...]   upserts by id (lastModified bumped)
//   POST /admin/faults        body: {status, count, retryAfter, dieAfterPages, stuckPaging}
//   GET  /admin/users         the store, as stored
//   GET  /admin/stats         request counters (for assertions on retries)
import fs from "node:fs";
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith("--")) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const token = args.token ?? "test-token";
const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

SCIMMY.Resources.declare(SCIMMY.Resources.User)
  .extend(SCIMMY.Schemas.EnterpriseUser, false);

// Store: insertion-ordered map id -> user (SCIM JSON with meta.created/lastModified).
let users = new Map();
let nextId = 1;
let clock = Date.now();
const tick = () => new Date(++clock).toISOString();  // strictly increasing timestamps

function store(u) {
  const id = u.id ?? String(nextId++);
  const prev = users.get(id);
  const now = tick();
  const meta = {created: prev?.meta?.created ?? u.meta?.created ?? now, lastModified: u.meta?.lastModified ?? now};
  users.set(id, {...u, id, meta});
}

if (args.seed) for (const u of JSON.parse(fs.readFileSync(args.seed, "utf8"))) store(u);

// Fault injection, consumed by GET /scim/Users requests.
let faults = {};
let pagesServed = 0;
const stats = {usersRequests: 0, faultsServed: 0};

const app = express();
// Express 5 hands query values to scimmy as strings and scimmy then ignores startIndex/count
// (every page would be the first): parse them to integers here.
app.set("query parser", (qs) => {
  const q = Object.fromEntries(new URLSearchParams(qs));
  for (const k of ["startIndex", "count"]) if (k in q && /^-?\d+$/.test(q[k])) q[k] = Number(q[k]);
  return q;
});
app.use("/admin", express.json({limit: "512mb"}));
app.put("/admin/users", (req, res) => { users = new Map(); for (const u of req.body) store(u); res.json({count: users.size}); });
app.post("/admin/users", (req, res) => { for (const u of req.body) store(u); res.json({count: users.size}); });
app.post("/admin/faults", (req, res) => { faults = {...req.body}; pagesServed = 0; res.json(faults); });
app.get("/admin/users", (req, res) => res.json([...users.values()]));
app.get("/admin/stats", (req, res) => res.json({...stats, users: users.size}));

app.use("/scim/Users", (req, res, next) => {
  if (req.method !== "GET") return next();
  stats.usersRequests++;
  if (faults.count > 0) {
    faults.count--;
    stats.faultsServed++;
    if (faults.retryAfter !== undefined) res.set("Retry-After", String(faults.retryAfter));
    return res.status(faults.status ?? 500).json({schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"],
      status: String(faults.status ?? 500), detail: "injected fault"});
  }
  if (faults.dieAfterPages !== undefined && pagesServed >= faults.dieAfterPages) {
    // The server dies mid-paging: the connection drops without a response.
    req.socket.destroy();
    setImmediate(() => process.exit(3));
    return;
  }
  pagesServed++;
  // A broken server: every page is the first (req.query is re-parsed from the URL in Express 5).
  if (faults.stuckPaging) req.url = req.url.replace(/startIndex=\d+/, "startIndex=1");
  next();
});

// Egress: filter (e.g. meta.lastModified gt "..."), then hand scimmy only the requested page
// with totalResults, so serving 50k users does not build 50k schema objects per page.
SCIMMY.Resources.User.egress((resource) => {
  let list = [...users.values()];
  if (resource.id) {
    const u = users.get(resource.id);
    if (!u) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
    return u;
  }
  if (resource.filter) list = resource.filter.match(list);
  const c = resource.constraints ?? {};
  const start = c.startIndex ?? 1, count = c.count ?? 20;
  if (start === 1 || start > count) {
    resource.constraints = {...c, totalResults: list.length};
    return list.slice(start - 1, start - 1 + count);
  }
  return list;  // unusual offsets: let scimmy slice the whole list
});
SCIMMY.Resources.User.ingress((resource, instance) => {
  const id = resource.id ?? String(nextId);
  store({...JSON.parse(JSON.stringify(instance)), id});
  return users.get(id);
});
SCIMMY.Resources.User.degress((resource) => { users.delete(resource.id); });

app.use("/scim", new SCIMMYRouters({
  type: "bearer",
  handler: (request) => {
    if (request.header("Authorization") !== `Bearer ${token}`) throw new Error("Authorization failed");
    return "registry-sync";
  },
}));

const server = app.listen(Number(args.port ?? 0), "127.0.0.1", () => {
  const port = server.address().port;
  if (args["port-file"]) fs.writeFileSync(args["port-file"] + ".tmp", String(port)), fs.renameSync(args["port-file"] + ".tmp", args["port-file"]);
  else console.log(`listening on ${port}`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
