#!/usr/bin/env python3
"""Helpers for scripts/bench-peer (Python 3.11, standard library only).

Subcommands (each prints to stdout, errors to stderr, exits non-zero on failure):
  free-port                      a free TCP port on 127.0.0.1
  summary FILE                   the seed summary as shell assignments
  signin URL PASSWORD OUT EMAIL… signs the accounts in (our SignIn); OUT: email, id, token
  requests …                     one request a line for wrk (see build_requests)
  probe URL FILE                 sends the file's first requests once; fails on any error
  compare …                      checks that our server and the peer answer with the same data
  snapshot PIDS…                 CPU ticks and peak RSS of the process trees (JSON)
  record …                       one result line (JSON) from a wrk run and two snapshots
  count-statements …             SQL statements per request (pg_stat_statements)
  floor-capture …                statements our server runs per request, as pgbench scripts
  floor-run …                    pgbench over those scripts; prints transactions/s
  table RESULTS META             the Markdown table
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request


def die(msg: str) -> None:
    print(f"bench.py: error: {msg}", file=sys.stderr)
    sys.exit(1)


# --- HTTP ---------------------------------------------------------------------------


def post_json(url: str, body: dict | str, token: str | None = None, timeout: float = 60.0):
    data = body if isinstance(body, str) else json.dumps(body)
    req = urllib.request.Request(url, data=data.encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    req.add_header("Accept", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


# --- free-port, summary -------------------------------------------------------------


def cmd_free_port(_args) -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()


def find_key(obj, pred):
    """First value in a nested JSON object whose key satisfies pred."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if pred(k) and not isinstance(v, (dict, list)):
                return v
        for v in obj.values():
            found = find_key(v, pred)
            if found is not None:
                return found
    elif isinstance(obj, list):
        for v in obj:
            found = find_key(v, pred)
            if found is not None:
                return found
    return None


def find_list(obj, pred):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if pred(k) and isinstance(v, list):
                return v
        for v in obj.values():
            if isinstance(v, (dict, list)):
                found = find_list(v, pred)
                if found is not None:
                    return found
    return None


def cmd_summary(args) -> None:
    """Reads seed-bench's one-line JSON summary (the last line of stdout that parses
    as a JSON object) and prints shell assignments: SEED_GROUP_ID, SEED_PASSWORD,
    SEED_EMAILS (space-separated) and the counts. Tolerant of the key names."""
    summary = None
    with open(args.file) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                try:
                    summary = json.loads(line)
                except json.JSONDecodeError:
                    pass
    if summary is None:
        die(f"no JSON summary in {args.file}")
    group = find_key(summary, lambda k: re.search(r"group.*id", k, re.I) is not None)
    if group is None:
        die(f"no first group id in the seed summary: {json.dumps(summary)[:300]}")
    password = find_key(summary, lambda k: "password" in k.lower()) or "bench-password-1"
    emails = find_list(summary, lambda k: re.search(r"email|account", k, re.I) is not None)
    if emails and all(isinstance(e, str) for e in emails):
        emails = [e for e in emails if "@" in e]
    else:
        count = find_key(summary, lambda k: k.lower() in ("accounts", "bench_accounts", "account_count"))
        count = int(count or args.accounts)
        pattern = find_key(summary, lambda k: re.search(r"email.*pattern", k, re.I) is not None)
        pattern = pattern if isinstance(pattern, str) and "{n}" in pattern else "bench{n}@bench.example"
        emails = [pattern.replace("{n}", str(i)) for i in range(1, count + 1)]
        leader = find_key(summary, lambda k: re.search(r"leader.*email", k, re.I) is not None)
        if isinstance(leader, str) and leader in emails:  # the first group's leader first
            emails.remove(leader)
            emails.insert(0, leader)
    if not emails:
        die("no bench accounts in the seed summary")

    def count_of(name):
        v = find_key(summary, lambda k: k.lower() == name)
        return int(v) if isinstance(v, (int, float)) else ""

    q = lambda s: "'" + str(s).replace("'", "'\\''") + "'"  # noqa: E731
    print(f"SEED_GROUP_ID={q(group)}")
    print(f"SEED_PASSWORD={q(password)}")
    print(f"SEED_EMAILS={q(' '.join(emails))}")
    to = find_key(summary, lambda k: k.lower() == "to")
    if not (isinstance(to, str) and re.fullmatch(r"\d{4}-\d\d-\d\d", to)):
        to = ""
    print(f"SEED_TO={q(to)}")
    for name in ("members", "groups", "referrals"):
        print(f"SEED_{name.upper()}={q(count_of(name))}")


# --- signin ---------------------------------------------------------------------------

SIGN_IN = """mutation SignIn($email: String!, $password: String!) {
  signIn(email: $email, password: $password) { accessToken member { id } }
}"""


def cmd_signin(args) -> None:
    url = args.url

    def one(email: str):
        body = {"query": SIGN_IN, "operationName": "SignIn",
                "variables": {"email": email, "password": args.password}}
        for attempt in range(3):
            status, text = post_json(url, body)
            try:
                doc = json.loads(text)
            except json.JSONDecodeError:
                doc = {}
            data = (doc.get("data") or {}).get("signIn")
            if status == 200 and data:
                return email, data["member"]["id"], data["accessToken"]
            time.sleep(0.5 * (attempt + 1))
        raise RuntimeError(f"sign-in of {email} failed: HTTP {status}: {text[:300]}")

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        try:
            rows = list(pool.map(one, args.emails))
        except RuntimeError as e:
            die(str(e))
    with open(args.out, "w") as f:
        for email, member_id, token in rows:
            f.write(f"{email}\t{member_id}\t{token}\n")
    print(len(rows))


# --- requests -------------------------------------------------------------------------

# Ours: the contract's operations, selecting the fields the peer's queries select, so
# both servers return the same data. The peer: PostGraphile's generated fields over
# the same tables, and the report function of peer.sql.
OURS = {
    "Me": """query Me { me { id name email
  memberships { role joinedOn leftOn group { id name currency } } } }""",
    "MyReferrals": """query MyReferrals($first: Int) { me {
  referrals(role: RECEIVED, first: $first) { totalCount edges { node {
    id status temperature createdAt prospect { name company }
    giver { __typename ... on Member { id name } }
    receiver { __typename ... on Member { id name } } } } } } }""",
    "GroupReport": """query GroupReport($groupId: ID!, $from: Date!, $to: Date!) {
  groupReport(groupId: $groupId, from: $from, to: $to) {
    rows { member { id name } given received closedValueGiven closedValueReceived } } }""",
    # The contract's whole report (leader.graphql): every figure, the score, the
    # one-way pairs and both lists. Ours only: the peer's report has none of them.
    "GroupReportFull": """query GroupReportFull($groupId: ID!, $from: Date!, $to: Date!) {
  groupReport(groupId: $groupId, from: $from, to: $to) {
    from to
    totals { given received givenInAbsence closedValue oneToOnes visitors }
    rows { member { id name profession } given givenInsideGroup givenOutside received
      givenInAbsence receivedInAbsence closedValueGiven closedValueReceived oneToOnes visitors
      attendance { present absent late medical substitute } tenureDays score trafficLight
      groupHopping }
    oneWayPartnerships { from { id name } to { id name } given }
    unthankedWins { id closedValue }
    overdueFollowUps { id nextFollowUpOn } } }""",
    "SourcesReport": """query SourcesReport($memberId: ID, $from: Date!, $to: Date!) {
  sourcesReport(memberId: $memberId, from: $from, to: $to) {
    from to
    total { received won lost open conversionRate wonValue medianDaysToWin }
    bySource { source conversion { received won lost open conversionRate wonValue medianDaysToWin } }
    byChannel { channel conversion { received won conversionRate } }
    byTemperature { temperature conversion { received won conversionRate } }
    byPresence { madeInAbsence conversion { received won conversionRate } } } }""",
    "GiveReferral": """mutation GiveReferral($input: GiveReferralInput!) {
  giveReferral(input: $input) { id status version createdAt
    giver { __typename ... on Member { id name } }
    receiver { __typename ... on Member { id name } } } }""",
}

PEER = {
    "Me": """query Me($id: String!) { memberByRowId(rowId: $id) { rowId name email
  membershipsByMemberId { nodes { role joinedOn leftOn
    groupByGroupId { rowId name currency } } } } }""",
    "MyReferrals": """query MyReferrals($id: String!, $first: Int!) {
  allReferrals(condition: { receiverMemberId: $id }, orderBy: [CREATED_AT_DESC, PRIMARY_KEY_DESC], first: $first) {
    totalCount nodes { rowId status temperature createdAt prospectName prospectCompany
      memberByGiverMemberId { rowId name } memberByReceiverMemberId { rowId name } } } }""",
    "GroupReport": """query GroupReport($groupId: String!, $from: Date!, $to: Date!) {
  peerGroupReport(groupId: $groupId, periodFrom: $from, periodTo: $to) {
    nodes { memberId name given received closedValueGiven closedValueReceived } } }""",
}


def base_op(op: str) -> str:
    return re.sub(r"\d+$", "", op)


def page_size(op: str) -> int | None:
    m = re.search(r"(\d+)$", op)
    return int(m.group(1)) if m else None


def read_tokens(path: str):
    rows = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 3:
                rows.append(tuple(parts))
    return rows


def build_requests(op: str, kind: str, tokens, receivers: dict, group_id: str, date_from: str,
                   date_to: str, leader: int):
    name = base_op(op)
    first = page_size(op)
    docs = OURS if kind == "ours" else PEER
    if name not in docs:
        die(f"no {kind} query for {op}")
    query = docs[name]
    out = []
    if name in ("GroupReport", "GroupReportFull"):
        # Only the group's leader may read its report: bench1.
        targets = [tokens[leader]]
    else:
        targets = tokens
    for i, (email, member_id, token) in enumerate(targets):
        variables: dict = {}
        if name == "MyReferrals":
            variables["first"] = first or 20
        if name in ("GroupReport", "GroupReportFull"):
            variables.update({"groupId": group_id, "from": date_from, "to": date_to})
        if name == "SourcesReport":
            variables.update({"memberId": member_id, "from": date_from, "to": date_to})
        if kind == "peer" and name in ("Me", "MyReferrals"):
            variables["id"] = member_id
        if name == "GiveReferral":
            receiver = receivers.get(member_id)
            if not receiver:
                continue
            variables["input"] = {
                "receiverId": receiver,
                "prospect": {"name": f"Bench prospect {i + 1}", "company": "Bench Ltd",
                             "need": "a quote"},
                "temperature": 3,
                "channel": "PORTAL",
            }
        body = json.dumps({"query": query, "operationName": name, "variables": variables},
                          separators=(",", ":"))
        out.append(("-" if kind == "peer" else token, body))
    if not out:
        die(f"no requests for {op} ({kind})")
    return out


def cmd_requests(args) -> None:
    tokens = read_tokens(args.tokens)
    receivers = {}
    if args.receivers:
        with open(args.receivers) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2:
                    receivers[parts[0]] = parts[1]
    leader = 0
    for i, (email, _, _) in enumerate(tokens):
        if email == args.leader_email:
            leader = i
    rows = build_requests(args.op, args.kind, tokens, receivers, args.group_id, args.date_from,
                          args.date_to, leader)
    with open(args.out, "w") as f:
        for token, body in rows:
            f.write(f"{token}\t{body}\n")
    print(len(rows))


def check_answer(status: int, text: str) -> str | None:
    if status != 200:
        return f"HTTP {status}: {text[:500]}"
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        return f"not JSON: {text[:500]}"
    if doc.get("errors"):
        return json.dumps(doc["errors"])[:500]
    if not doc.get("data") or all(v is None for v in doc["data"].values()):
        return f"no data: {text[:500]}"
    return None


def cmd_probe(args) -> None:
    with open(args.file) as f:
        lines = [line.rstrip("\n") for line in f][: args.count]
    for line in lines:
        token, body = line.split("\t", 1)
        status, text = post_json(args.url, body, None if token == "-" else token)
        problem = check_answer(status, text)
        if problem:
            die(f"probe of {args.url} failed: {problem}")
    if args.show:
        print(text[:args.show])


def normalise(op: str, doc: dict):
    """The data both servers return, in one shape, for comparing their answers."""
    data = doc["data"]
    name = base_op(op)
    if name == "Me":
        m = data.get("me") or data.get("memberByRowId")
        seats = m.get("memberships")
        if seats is None:
            seats = [dict(s, group=dict(s["groupByGroupId"], id=s["groupByGroupId"]["rowId"]))
                     for s in m["membershipsByMemberId"]["nodes"]]
        return (m.get("id") or m.get("rowId"), m["name"], m["email"], sorted(
            (s["role"], s["joinedOn"], s["leftOn"], s["group"]["id"], s["group"]["name"],
             s["group"]["currency"]) for s in seats))
    if name == "MyReferrals":
        if "me" in data:
            c = data["me"]["referrals"]
            return c["totalCount"], [(e["node"]["id"], e["node"]["giver"].get("name"))
                                     for e in c["edges"]]
        c = data["allReferrals"]
        return c["totalCount"], [(n["rowId"], (n["memberByGiverMemberId"] or {}).get("name"))
                                 for n in c["nodes"]]
    if name == "GroupReport":
        if "groupReport" in data:
            return sorted((r["member"]["id"], r["given"], r["received"], r["closedValueGiven"],
                           r["closedValueReceived"]) for r in data["groupReport"]["rows"])
        return sorted((r["memberId"], int(r["given"]), int(r["received"]), r["closedValueGiven"],
                       r["closedValueReceived"]) for r in data["peerGroupReport"]["nodes"])
    return None


def cmd_compare(args) -> None:
    """Sends the first request of each file to its server and checks that both
    answers carry the same data."""
    answers = []
    for url, path in ((args.ours_url, args.ours), (args.peer_url, args.peer)):
        with open(path) as f:
            token, body = f.readline().rstrip("\n").split("\t", 1)
        status, text = post_json(url, body, None if token == "-" else token)
        problem = check_answer(status, text)
        if problem:
            die(f"compare: {url}: {problem}")
        answers.append(normalise(args.op, json.loads(text)))
    if answers[0] != answers[1]:
        print(f"bench.py: WARNING: {args.op}: our answer and the peer's differ:\n"
              f"  ours: {str(answers[0])[:400]}\n  peer: {str(answers[1])[:400]}", file=sys.stderr)
        sys.exit(3)
    print(f"{args.op}: our answer and the peer's carry the same data", file=sys.stderr)


# --- snapshot, record -----------------------------------------------------------------


def proc_children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(name))
    return children


def tree(pids: list[int], children) -> list[int]:
    out, todo = [], list(pids)
    while todo:
        p = todo.pop()
        if p in out:
            continue
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return 0
    fields = stat[stat.rfind(")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cmd_snapshot(args) -> None:
    children = proc_children()
    server = tree([int(p) for p in args.pids.split()], children)
    db = tree([int(args.db_pid)], children) if args.db_pid else []
    print(json.dumps({
        "cpu": {str(p): cpu_ticks(p) for p in server},
        "db_cpu": {str(p): cpu_ticks(p) for p in db},
        "hwm_kb": sum(hwm_kb(p) for p in server),
        "t": time.monotonic(),
    }))


def delta(before: dict, after: dict) -> int:
    return sum(v - before.get(p, 0) for p, v in after.items())


def cmd_record(args) -> None:
    result = None
    with open(args.wrk_out, errors="replace") as f:
        for line in f:
            if line.startswith("BENCH-RESULT "):
                result = json.loads(line[len("BENCH-RESULT "):])
    before, after = json.loads(args.before), json.loads(args.after)
    hz = os.sysconf("SC_CLK_TCK")
    row = {"op": args.op, "clients": args.clients, "server": args.server, "ok": result is not None}
    if result:
        # CPU is read as wrk stops, so it is divided by the requests answered (the few
        # still in flight then, at most one a connection, had only started).
        n = max(result["requests"], 1)
        errors = (result["connect_errors"] + result["read_errors"] + result["write_errors"]
                  + result["timeouts"] + result["bad_status"] + result["gql_errors"])
        row.update({
            "requests": result["requests"],
            "rps": result["requests"] / (result["duration_us"] / 1e6),
            "p50_ms": result["p50_us"] / 1000,
            "p99_ms": result["p99_us"] / 1000,
            "errors": errors,
            "first_error": result["first_error"],
            "cpu_us": delta(before["cpu"], after["cpu"]) / hz * 1e6 / n,
            "db_cpu_us": (delta(before["db_cpu"], after["db_cpu"]) / hz * 1e6 / n
                          if after["db_cpu"] else None),
            "statements": (float(args.statements) if args.statements not in ("", "-") else None),
            "hwm_mib": after["hwm_kb"] / 1024,
        })
    with open(args.results, "a") as f:
        f.write(json.dumps(row) + "\n")
    if result:
        print(f"{args.op:<15} c={args.clients:<3} {args.server:<14} {row['rps']:9.1f} req/s "
              f"p50 {row['p50_ms']:.2f} ms p99 {row['p99_ms']:.2f} ms errors {row['errors']}"
              + (f" (first: {row['first_error'][:200]})" if row["errors"] else ""),
              file=sys.stderr)
    else:
        print(f"{args.op} c={args.clients} {args.server}: wrk gave no result", file=sys.stderr)


# --- the SQL floor --------------------------------------------------------------------

ENTRY = re.compile(r"^@@(\d+)@@([^@]*)@@ (LOG|DETAIL|ERROR|STATEMENT|WARNING|HINT|CONTEXT|NOTICE|FATAL):  (.*)$")
PARAM = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')")
MARK = "rx-bench-marker-"


def psql(args, sql: str) -> str:
    cmd = [args.psql, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
           str(args.port), "-U", "postgres", "-d", args.db, "-c", sql]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def parse_log(text: str):
    """Log entries as (user, kind, message) with continuation lines joined."""
    entries: list[list[str]] = []
    for line in text.splitlines():
        m = ENTRY.match(line)
        if m:
            entries.append([m.group(2), m.group(3), m.group(4)])
        elif entries:
            entries[-1][2] += "\n" + line
    return entries


def statements_between_markers(entries, role: str):
    """{marker: [(sql, params)]} for the role's statements logged before each marker."""
    chunks: dict[str, list] = {}
    current: list = []
    last = None
    for user, kind, msg in entries:
        if kind == "LOG" and MARK in msg and user != role:
            name = msg[msg.index(MARK) + len(MARK):].split("'")[0]
            chunks[name] = current
            current = []
            last = None
            continue
        if user != role:
            continue
        if kind == "LOG":
            m = re.match(r"(?:statement|execute [^:]*): (.*)", msg, re.S)
            if m:
                last = [m.group(1).strip(), {}]
                current.append(last)
            else:
                last = None
        elif kind == "DETAIL" and last is not None and msg.startswith("parameters:"):
            for pm in PARAM.finditer(msg):
                v = pm.group(2)
                last[1][int(pm.group(1))] = None if v == "NULL" else v[1:-1].replace("''", "'")
    return chunks


def cmd_count_statements(args) -> None:
    """Statements per request, counted exactly: pg_stat_statements reset, then
    requests one at a time (the file's, round-robin; --count of them, or as many as
    --seconds allow, at least 5), then the calls of the server's role ÷ requests.
    A wrk run cannot be counted so: it ends with up to one request a connection in
    flight, which our server abandons partway and PostGraphile completes."""
    with open(args.requests) as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    psql(args, "SELECT pg_stat_statements_reset()")
    sent, start = 0, time.monotonic()
    while sent < args.count and (sent < 5 or time.monotonic() - start < args.seconds):
        token, body = lines[sent % len(lines)].split("\t", 1)
        status, text = post_json(args.url, body, None if token == "-" else token)
        problem = check_answer(status, text)
        if problem:
            die(f"count-statements: {args.url}: {problem}")
        sent += 1
    time.sleep(0.3)
    calls = psql(args, "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements "
                       f"WHERE userid = '{args.role}'::regrole").strip()
    print(f"{int(calls) / sent:.3f}")


def cmd_floor_capture(args) -> None:
    with open(args.requests) as f:
        lines = [line.rstrip("\n") for line in f]
    lines = lines[: args.count]
    start = os.path.getsize(args.log)
    psql(args, "ALTER SYSTEM SET log_statement = 'all'")
    psql(args, "SELECT pg_reload_conf()")
    try:
        time.sleep(0.5)
        psql(args, f"SELECT '{MARK}before'")
        time.sleep(1.5)  # background statements alone: these are left out below
        psql(args, f"SELECT '{MARK}idle'")
        for i, line in enumerate(lines):
            token, body = line.split("\t", 1)
            status, text = post_json(args.url, body, None if token == "-" else token)
            problem = check_answer(status, text)
            if problem:
                die(f"floor capture: request failed: {problem}")
            time.sleep(0.1)
            psql(args, f"SELECT '{MARK}{i}'")
    finally:
        psql(args, "ALTER SYSTEM RESET log_statement")
        psql(args, "SELECT pg_reload_conf()")
    time.sleep(0.3)
    with open(args.log, errors="replace") as f:
        f.seek(start)
        text = f.read()
    chunks = statements_between_markers(parse_log(text), args.role)
    idle = {sql for sql, _ in chunks.get("idle", [])}
    os.makedirs(args.out, exist_ok=True)
    defines = []
    scripts = []
    counts = []
    for i in range(len(lines)):
        stmts = [(sql, p) for sql, p in chunks.get(str(i), []) if sql not in idle]
        if not stmts:
            die(f"floor capture: no statements logged for request {i} (role {args.role})")
        counts.append(len(stmts))
        out_lines = []
        for j, (sql, params) in enumerate(stmts):
            def sub(m, j=j):
                n = int(m.group(1))
                if n not in params:
                    return m.group(0)
                if params[n] is None:
                    return "NULL"
                if params[n] == "":
                    return "''"  # pgbench cannot define an empty variable
                var = f"r{i}s{j}p{n}"
                value = params[n]
                defines.append(f"{var}={value}")
                # pgbench sends every variable untyped; the server sent types. Type
                # integers and booleans (where the context may not), leave the rest
                # to the context (ids, enums, dates and timestamps compared to columns).
                if re.fullmatch(r"-?\d+", value):
                    return f"(:{var})::bigint"
                if value in ("true", "false", "t", "f"):
                    return f"(:{var})::boolean"
                return f":{var}"
            line = re.sub(r"\$(\d+)", sub, " ".join(sql.split()))
            out_lines.append(line.rstrip(";") + ";")
        path = os.path.join(args.out, f"request{i}.sql")
        with open(path, "w") as f:
            f.write("\n".join(out_lines) + "\n")
        scripts.append(path)
    with open(os.path.join(args.out, "defines"), "w") as f:
        f.write("\n".join(defines) + "\n")
    with open(os.path.join(args.out, "scripts"), "w") as f:
        f.write("\n".join(scripts) + "\n")
    print(f"{len(scripts)} request(s), {min(counts)}-{max(counts)} statements each",
          file=sys.stderr)


def seq_scans(plan, table: str):
    """Every 'Seq Scan' node over `table` in an EXPLAIN (FORMAT JSON) plan."""
    found = []
    if isinstance(plan, dict):
        if plan.get("Node Type") == "Seq Scan" and plan.get("Relation Name") == table:
            found.append(plan)
        for v in plan.values():
            found += seq_scans(v, table)
    elif isinstance(plan, list):
        for v in plan:
            found += seq_scans(v, table)
    return found


def rows_read(plan, table: str, indexes: set) -> int:
    """Rows the scans of `table` and its indexes produced in an EXPLAIN (ANALYZE,
    FORMAT JSON) plan, over all their loops."""
    n = 0
    if isinstance(plan, dict):
        if "Actual Rows" in plan and (plan.get("Relation Name") == table
                                      or plan.get("Index Name") in indexes):
            n += int(plan["Actual Rows"]) * int(plan.get("Actual Loops", 1))
        for v in plan.values():
            n += rows_read(v, table, indexes)
    elif isinstance(plan, list):
        for v in plan:
            n += rows_read(v, table, indexes)
    return n


# A generic plan may read this many times the referral rows of the plan made for
# the statement's own values (plus a little slack for small data) before the check
# calls it a plan that has left the index the statement is meant to use.
GENERIC_ROWS_FACTOR = 4
GENERIC_ROWS_SLACK = 1000


def cmd_explain_check(args) -> None:
    """EXPLAINs every statement captured by floor-capture (with its values) and fails
    when one reads the referrals table with a sequential scan: on the bench data, every
    listed query must find its referrals through an index. Each statement is planned
    twice, as our server's prepared statements are: for its own values, and as the
    generic plan PostgreSQL switches to after a few runs (plan_cache_mode =
    force_generic_plan), which fails too when it reads far more referral rows than the
    first (an index that does not narrow to the group or member at hand)."""
    with open(os.path.join(args.dir, "defines")) as f:
        values = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
    with open(os.path.join(args.dir, "scripts")) as f:
        scripts = [line.strip() for line in f if line.strip()]
    indexes = set(psql(args, "SELECT indexname FROM pg_indexes WHERE tablename = 'referrals'")
                  .split())
    checked, bad = 0, []
    for path in scripts:
        with open(path) as f:
            statements = [line.strip().rstrip(";") for line in f if line.strip()]
        for sql in statements:
            if not sql.upper().startswith(("SELECT", "WITH")):
                continue

            def literal(name):
                return "'" + values[name].replace("'", "''") + "'"
            text = re.sub(r":(r\d+s\d+p\d+)", lambda m: literal(m.group(1)), sql)
            short = " ".join(text.split())[:300]
            custom = json.loads(psql(args, "EXPLAIN (ANALYZE, FORMAT JSON) " + text))
            checked += 1
            if seq_scans(custom, "referrals"):
                bad.append(f"Seq Scan on referrals: {short}")
            # The same statement prepared with its values as parameters, generic plan.
            names: list[str] = []

            def placeholder(m):
                if m.group(1) not in names:
                    names.append(m.group(1))
                return f"${names.index(m.group(1)) + 1}"
            prepared = re.sub(r":(r\d+s\d+p\d+)", placeholder, sql)
            execute = "EXECUTE s" + (f"({', '.join(literal(n) for n in names)})" if names else "")
            try:
                generic = json.loads(psql(
                    args, "SET plan_cache_mode = force_generic_plan; "
                    f"PREPARE s AS {prepared}; EXPLAIN (ANALYZE, FORMAT JSON) {execute}"))
            except subprocess.CalledProcessError as e:
                print(f"  WARNING: no generic plan for: {short}\n    {e.stderr.strip()[:300]}",
                      file=sys.stderr)
                continue
            if seq_scans(generic, "referrals"):
                bad.append(f"Seq Scan on referrals in the generic plan: {short}")
            mine, theirs = rows_read(custom, "referrals", indexes), rows_read(
                generic, "referrals", indexes)
            if theirs > GENERIC_ROWS_FACTOR * mine + GENERIC_ROWS_SLACK:
                bad.append(f"generic plan reads {theirs} referral rows against {mine}: {short}")
    print(f"explain-check {args.op}: {checked} statement(s), {len(bad)} reading referrals "
          "without a fitting index", file=sys.stderr)
    for line in sorted(set(bad)):
        print(f"  {line}", file=sys.stderr)
    if bad:
        sys.exit(1)


def cmd_floor_run(args) -> None:
    with open(os.path.join(args.dir, "scripts")) as f:
        scripts = [s for s in f.read().split() if s]
    with open(os.path.join(args.dir, "defines")) as f:
        defines = [d for d in f.read().split("\n") if d]
    cmd = [args.pgbench, "-n", "-M", "prepared", "-c", str(args.clients), "-j",
           str(min(args.clients, 2)), "-T", str(args.duration), "-h", "127.0.0.1", "-p",
           str(args.port), "-U", args.user, args.db]
    for s in scripts:
        cmd += ["-f", s]
    for d in defines:
        cmd += ["-D", d]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.duration + 60)
    m = re.search(r"^tps = ([\d.]+)", proc.stdout, re.M)
    failed = re.search(r"number of failed transactions: (\d+)", proc.stdout)
    if proc.returncode != 0 or not m or (failed and int(failed.group(1)) > 0):
        print(f"bench.py: pgbench failed ({proc.returncode}):\n{proc.stdout[-800:]}\n"
              f"{proc.stderr[-1500:]}", file=sys.stderr)
        print("")
        return
    print(m.group(1))


def cmd_floor_record(args) -> None:
    with open(args.results, "a") as f:
        f.write(json.dumps({"floor": True, "op": args.op, "clients": args.clients,
                            "tps": float(args.tps) if args.tps else None}) + "\n")


# --- table ----------------------------------------------------------------------------


def fmt(v, spec: str, dash: str = "—") -> str:
    return dash if v is None else format(v, spec)


def cmd_table(args) -> None:
    rows, floors = [], {}
    with open(args.results) as f:
        for line in f:
            r = json.loads(line)
            if r.get("floor"):
                floors[(r["op"], r["clients"])] = r["tps"]
            else:
                rows.append(r)
    with open(args.meta) as f:
        meta = json.load(f)
    by_key = {(r["op"], r["clients"], r["server"]): r for r in rows}
    out = []
    out.append("| operation | clients | server | req/s | p50 ms | p99 ms | SQL statements/req "
               "| server CPU µs/req | PostgreSQL CPU µs/req | peak RSS MiB | ours ÷ peer (req/s) "
               "| SQL floor req/s | ours ÷ floor |")
    out.append("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        op, c, server = r["op"], r["clients"], r["server"]
        if not r.get("ok"):
            out.append(f"| {op} | {c} | {server} | failed | | | | | | | | | |")
            continue
        procs = server.rsplit("-", 1)[-1]
        ratio = floor = floor_ratio = None
        if server.startswith("ours"):
            peer = by_key.get((op, c, f"peer-{procs}"))
            if peer and peer.get("ok") and peer.get("rps"):
                ratio = r["rps"] / peer["rps"]
            if server.startswith("ours-pg"):
                floor = floors.get((op, c))
                if floor:
                    floor_ratio = r["rps"] / floor
        rps = f"{r['rps']:,.0f}" if r["rps"] >= 100 else f"{r['rps']:,.1f}"
        if r.get("errors"):
            rps += f" ({r['errors']} errors)"
        out.append("| " + " | ".join([
            op, str(c), server, rps, f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}",
            fmt(r.get("statements"), ".2f"), fmt(r.get("cpu_us"), ",.0f"),
            fmt(r.get("db_cpu_us"), ",.0f"), fmt(r.get("hwm_mib"), ",.0f"),
            fmt(ratio, ".2f", ""), fmt(floor, ",.0f", ""), fmt(floor_ratio, ".2f", ""),
        ]) + " |")
    print("\n".join(out))
    print()
    for note in meta.get("notes", []):
        print(f"- {note}")


def main() -> None:
    p = argparse.ArgumentParser(prog="bench.py")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("free-port").set_defaults(fn=cmd_free_port)
    s = sub.add_parser("summary")
    s.add_argument("file")
    s.add_argument("--accounts", type=int, default=100)
    s.set_defaults(fn=cmd_summary)
    s = sub.add_parser("signin")
    s.add_argument("url")
    s.add_argument("password")
    s.add_argument("out")
    s.add_argument("emails", nargs="+")
    s.set_defaults(fn=cmd_signin)
    s = sub.add_parser("requests")
    for a in ("--op", "--kind", "--tokens", "--out", "--group-id", "--date-from", "--date-to",
              "--leader-email"):
        s.add_argument(a, required=True)
    s.add_argument("--receivers")
    s.set_defaults(fn=cmd_requests)
    s = sub.add_parser("probe")
    s.add_argument("url")
    s.add_argument("file")
    s.add_argument("--count", type=int, default=3)
    s.add_argument("--show", type=int, default=0)
    s.set_defaults(fn=cmd_probe)
    s = sub.add_parser("compare")
    for a in ("--op", "--ours-url", "--ours", "--peer-url", "--peer"):
        s.add_argument(a, required=True)
    s.set_defaults(fn=cmd_compare)
    s = sub.add_parser("snapshot")
    s.add_argument("--pids", required=True)
    s.add_argument("--db-pid", default="")
    s.set_defaults(fn=cmd_snapshot)
    s = sub.add_parser("record")
    for a in ("--results", "--op", "--server", "--wrk-out", "--before", "--after"):
        s.add_argument(a, required=True)
    s.add_argument("--clients", type=int, required=True)
    s.add_argument("--statements", default="-")
    s.set_defaults(fn=cmd_record)
    for name, fn in (("floor-capture", cmd_floor_capture), ("floor-run", cmd_floor_run),
                     ("count-statements", cmd_count_statements)):
        s = sub.add_parser(name)
        s.add_argument("--psql", default="psql")
        s.add_argument("--pgbench", default="pgbench")
        s.add_argument("--port", type=int, required=True)
        s.add_argument("--db", required=True)
        s.set_defaults(fn=fn)
        if name == "count-statements":
            for a in ("--url", "--requests", "--role"):
                s.add_argument(a, required=True)
            s.add_argument("--count", type=int, default=50)
            s.add_argument("--seconds", type=float, default=5.0)
        elif name == "floor-capture":
            for a in ("--url", "--requests", "--log", "--role", "--out"):
                s.add_argument(a, required=True)
            s.add_argument("--count", type=int, default=10)
        else:
            s.add_argument("--dir", required=True)
            s.add_argument("--user", required=True)
            s.add_argument("--clients", type=int, required=True)
            s.add_argument("--duration", type=int, required=True)
    s = sub.add_parser("explain-check")
    for a in ("--psql", "--port", "--db", "--dir", "--op"):
        s.add_argument(a, required=True)
    s.set_defaults(fn=cmd_explain_check)
    s = sub.add_parser("floor-record")
    for a in ("--results", "--op", "--tps"):
        s.add_argument(a, required=True)
    s.add_argument("--clients", type=int, required=True)
    s.set_defaults(fn=cmd_floor_record)
    s = sub.add_parser("table")
    s.add_argument("results")
    s.add_argument("meta")
    s.set_defaults(fn=cmd_table)
    args = p.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
