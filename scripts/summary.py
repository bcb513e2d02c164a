"""The summary `scripts/local-run` prints: one line per course run (videos, migrated, failed,
validation problems, transcripts, flag) with its reasons, then the batch's totals.

    summary.py RUNS COURSES

RUNS is the folder where local-run saved `temporal workflow result -o json` of the batch
(batch.json) and of each course (course-<i>.json), COURSES how many courses there are.
"""
import json
import sys


def course_lines(number, text):
    try:
        result = json.loads(text)
    except ValueError:
        return [f"course #{number}: {text.strip()}"]
    r = result.get("result")
    if result.get("status") != "COMPLETED" or not r:
        failure = result.get("closeEvent", {}).get("workflowExecutionFailedEventAttributes", {}).get("failure", {})
        return [f"{result.get('workflowId')}: {result.get('status')}: {failure.get('message', '')}"]
    c = r["counts"]
    flag = "on" if r["flag"]["enabled"] else "off"
    done = c["planned"] if r["dry_run"] else c["migrated"]
    lines = [f"{r['course_key']:<44} {c['videos']:>6} {done:>8} {c['failed']:>6} {c['validation_failures']:>7} {c['transcripts_migrated']:>11}  {flag}"]
    # A video failed for several reasons has one line each in its message.
    lines += [f"    {line}" for f in r.get("failures") or [] for line in f["message"].splitlines()]
    if r["more_failures"]:
        lines.append(f"    … and {r['more_failures']} more in transcript_migrator_video_failure (run {r['run_number']})")
    # Skipped work is reported too: languages with no source file, and orphan blocks.
    lines += [f"    skipped: {s['message']}" for s in r.get("skipped") or []]
    if c.get("transcripts_without_source", 0) > len(r.get("skipped") or []):
        lines.append(f"    … {c['transcripts_without_source']} languages without a source in all")
    if c.get("orphans"):
        lines.append(f"    {c['orphans']} orphan video block(s) not migrated: " + ", ".join(o["block_id"] for o in r.get("orphans") or []))
    return lines


def batch_line(text):
    try:
        batch = json.loads(text)
    except ValueError:
        return f"batch: {text.strip()}"
    r = batch.get("result") or {}
    c = r.get("counts", {})
    return (f"batch {batch.get('workflowId')}: {batch.get('status')}: {c.get('courses', 0)} courses, {c.get('passed', 0)} passed, "
            f"{c.get('failed', 0)} failed, {c.get('planned', 0)} planned, {c.get('already_migrated', 0)} already migrated")


def main(runs, count):
    print(f"{'course':<44} {'videos':>6} {'migrated':>8} {'failed':>6} {'invalid':>7} {'transcripts':>11}  flag")
    for i in range(count):
        with open(f"{runs}/course-{i}.json") as saved:
            print("\n".join(course_lines(i, saved.read())))
    with open(f"{runs}/batch.json") as saved:
        print(batch_line(saved.read()))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
