#!/usr/bin/env node
// The whole test suite, as CI runs it: type-check, proto lint, generated code in
// sync with proto/, then mocha (unit and integration against the real Redis and
// MariaDB). Mocha's reporter prints the closing "N passed, N failed" line.
import { spawnSync } from "node:child_process";

const bin = (name) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;
const run = (label, cmd, args) => {
  process.stdout.write(`> ${label}\n`);
  const r = spawnSync(cmd, args, { stdio: "inherit" });
  if (r.status !== 0) {
    process.stdout.write(`${label} failed\n0 passed, 1 failed\n`);
    process.exit(r.status ?? 1);
  }
};

run("tsc --noEmit", bin("tsc"), ["--noEmit", "-p", "."]);
run("buf lint", bin("buf"), ["lint"]);
run("buf generate", bin("buf"), ["generate"]);
run("gen/ matches proto/", "git", ["diff", "--exit-code", "--stat", "--", "gen"]);
const untracked = spawnSync("git", ["ls-files", "--others", "--exclude-standard", "gen"], { encoding: "utf8" });
if (untracked.stdout.trim() !== "") {
  process.stdout.write(`buf generate created files not committed:\n${untracked.stdout}0 passed, 1 failed\n`);
  process.exit(1);
}
// buf breaking: the contract must not break generated stubs of the previous
// release (the newest tag), or of the previous commit when there is no tag.
const git = (...args) => spawnSync("git", args, { encoding: "utf8" });
const tag = git("describe", "--tags", "--abbrev=0").stdout.trim();
const previous = tag ? `.git#tag=${tag}` : git("rev-parse", "--verify", "-q", "HEAD~1").status === 0 ? ".git#ref=HEAD~1" : "";
if (previous) run(`buf breaking against ${previous}`, bin("buf"), ["breaking", "--against", previous]);
else process.stdout.write("> buf breaking: no previous release or commit to compare with\n");

const mocha = spawnSync(bin("mocha"), process.argv.slice(2), { stdio: "inherit" });
process.exit(mocha.status ?? 1);
