// Prints vitest's JSON report as the plain line CI reads: "N passed, N failed[, N skipped]".
import { readFileSync } from 'node:fs';

// Several reports (a rerun of files whose worker never started) are added up.
const paths = process.argv.length > 2 ? process.argv.slice(2) : ['.test-results/vitest.json'];
const reports = [];
for (const path of paths) {
  try {
    reports.push(JSON.parse(readFileSync(path, 'utf8')));
  } catch (err) {
    console.log(`test report ${path} is missing or unreadable: ${err.message}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}
const sum = (key) => reports.reduce((n, r) => n + (r[key] ?? 0), 0);
const report = { numPassedTests: sum('numPassedTests'), numFailedTests: sum('numFailedTests'), numPendingTests: sum('numPendingTests'), numTodoTests: sum('numTodoTests'), testResults: reports.flatMap((r) => r.testResults ?? []) };
const passed = report.numPassedTests ?? 0;
const failedTests = report.numFailedTests ?? 0;
// A suite that failed to load (syntax error, failed beforeAll) counts as a failure too.
const failedSuites = (report.testResults ?? []).filter((s) => s.status === 'failed' && (s.assertionResults ?? []).every((a) => a.status !== 'failed')).length;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
const failed = failedTests + failedSuites;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
if (skipped > 0) console.log(`${skipped} skipped test(s): a skipped test is a failed promise`);
process.exit(failed > 0 || skipped > 0 || passed === 0 ? 1 : 0);
