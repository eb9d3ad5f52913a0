-- The peer's side of scripts/bench-peer: what PostGraphile exposes beyond the
-- tables it generates fields for by itself. Schema `peer`, so that our
-- migrations never see it. Created after seeding, on the bench database only.

CREATE SCHEMA IF NOT EXISTS peer;

-- One member's row of the group report: referrals given and received in the
-- group over the period (withdrawn ones left out), and the value of won
-- business given and received (won in the period), as our group report counts
-- them (domain/src/reports/group_report.rs). Rows: members with a seat in the
-- group at some time in the period, by name.
CREATE TYPE peer.group_report_row AS (
    member_id text,
    name text,
    given bigint,
    received bigint,
    closed_value_given numeric,
    closed_value_received numeric
);

CREATE FUNCTION peer.group_report(group_id text, period_from date, period_to date)
RETURNS SETOF peer.group_report_row
LANGUAGE sql STABLE
AS $$
    WITH period AS (
        SELECT (period_from::timestamp AT TIME ZONE 'UTC') AS start_at,
               ((period_to + 1)::timestamp AT TIME ZONE 'UTC') AS end_at
    ),
    seats AS (
        SELECT DISTINCT ms.member_id
        FROM memberships ms
        WHERE ms.group_id = group_report.group_id
          AND ms.joined_on <= period_to
          AND (ms.left_on IS NULL OR ms.left_on >= period_from)
    ),
    made AS (
        SELECT r.giver_member_id, r.receiver_member_id
        FROM referrals r, period p
        WHERE r.group_id = group_report.group_id
          AND r.status <> 'WITHDRAWN'
          AND r.created_at >= p.start_at AND r.created_at < p.end_at
    ),
    won AS (
        SELECT r.giver_member_id, r.receiver_member_id, r.closed_value_e4
        FROM referrals r, period p
        WHERE r.group_id = group_report.group_id
          AND r.status = 'WON'
          AND r.won_at >= p.start_at AND r.won_at < p.end_at
    ),
    given AS (SELECT giver_member_id AS member_id, count(*) AS n FROM made GROUP BY 1),
    received AS (SELECT receiver_member_id AS member_id, count(*) AS n FROM made GROUP BY 1),
    won_given AS (SELECT giver_member_id AS member_id, sum(closed_value_e4) AS v FROM won GROUP BY 1),
    won_received AS (SELECT receiver_member_id AS member_id, sum(closed_value_e4) AS v FROM won GROUP BY 1)
    SELECT s.member_id, m.name,
           coalesce(g.n, 0), coalesce(r.n, 0),
           round(coalesce(wg.v, 0) / 10000.0, 2), round(coalesce(wr.v, 0) / 10000.0, 2)
    FROM seats s
    JOIN members m ON m.id = s.member_id
    LEFT JOIN given g ON g.member_id = s.member_id
    LEFT JOIN received r ON r.member_id = s.member_id
    LEFT JOIN won_given wg ON wg.member_id = s.member_id
    LEFT JOIN won_received wr ON wr.member_id = s.member_id
    ORDER BY m.name, s.member_id
$$;
