import assert from "node:assert/strict";
import type { LoadJob } from "../../bench/load/job.js";
import { readH2loadLog } from "../../bench/load/h2load.js";

// The bench fails a row on any request without an answer, so what it leaves
// out as h2load's own artefact must be exactly that, no more.
describe("readH2loadLog", () => {
  const job: LoadJob = {
    protocol: "grpc",
    url: "http://127.0.0.1:1",
    players: [],
    gameIds: [],
    batchSize: 200,
    eventIds: "none",
    concurrency: 32,
    warmupMs: 200,
    durationMs: 1000,
  };
  const t0 = 1_796_303_190_015_162;
  const log = (rows: Array<[offsetUs: number, status: number, durationUs: number]>) =>
    rows.map(([at, status, duration]) => `${t0 + at}\t${status}\t${duration}`).join("\n") + "\n";
  const read = (rows: Array<[number, number, number]>) => readH2loadLog(job, log(rows), { cpuMs: 0, bodyBytes: 0 });

  // The shape of a grpc-200-paired log that failed CI: streams in flight at
  // the warm-up's end logged with status 0, started up to 7.6 ms into the
  // window, all ending at one instant before the first answer.
  const handover: Array<[number, number, number]> = [
    [0, 0, 15_978],
    [7, 0, 16_024],
    [172, 0, 17_862],
    [6_183, 0, 11_825],
    [7_632, 0, 10_391],
  ];
  const answered: Array<[number, number, number]> = [
    [0, 200, 18_100],
    [12_300, 200, 6_300],
    [400_000, 200, 9_000],
    [900_000, 200, 9_000],
  ];

  it("leaves out the streams in flight at the warm-up's end", () => {
    const r = read([...handover, ...answered]);
    assert.deepEqual(r.statuses, { "200": 4 });
    assert.equal(r.ok, 4);
  });

  it("leaves out the streams cut off when the window closed", () => {
    const r = read([...answered, [905_000, -1, 5_000], [908_000, 0, 2_000]]);
    assert.deepEqual(r.statuses, { "200": 4 });
  });

  it("counts a request without an answer inside the window", () => {
    const r = read([...handover, ...answered, [500_000, 0, 30_000]]);
    assert.deepEqual(r.statuses, { "200": 4, "no-answer": 1 });
    assert.equal(r.timeline[0]?.statuses["no-answer"], 1);
  });

  it("counts one started after the first answer came back, early in the window", () => {
    const r = read([...answered, [18_200, 0, 5_000]]);
    assert.deepEqual(r.statuses, { "200": 4, "no-answer": 1 });
  });
});
