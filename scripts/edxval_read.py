"""
Read a transcript back the way the LMS does: edxval.api.get_video_transcript_data.

Usage (with <run>/stack.env in the environment, run by the stack's venv python):
    python scripts/edxval_read.py EDX_VIDEO_ID LANG
Prints {"file_name": ..., "content": <text>} as JSON; exits 1 if edx-val has no such
transcript, 2 on any other error (message on stderr).
    python scripts/edxval_read.py --batch
Reads one JSON [EDX_VIDEO_ID, LANG] per line from stdin and prints one JSON line for each:
{"file_name": ..., "content": ...} or {"error": ...}.
"""
import json
import os
import sys
from pathlib import Path


def read(api, edx_video_id, language):
    """(file_name, text) or raises LookupError when edx-val has no such transcript."""
    data = api.get_video_transcript_data(edx_video_id, language)
    if data is None:
        raise LookupError(f"no transcript for video {edx_video_id!r} language {language!r}")
    content = data["content"]
    if isinstance(content, bytes):
        content = content.decode("utf-8")
    return data["file_name"], content


def main(argv):
    batch = argv[1:] == ["--batch"]
    if len(argv) != 3 and not batch:
        print(f"usage: {argv[0]} EDX_VIDEO_ID LANG | --batch", file=sys.stderr)
        return 2
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "edxval_settings")
    import django
    django.setup()
    from edxval import api

    if batch:
        for line in sys.stdin:
            edx_video_id, language = json.loads(line)
            try:
                file_name, content = read(api, edx_video_id, language)
                print(json.dumps({"file_name": file_name, "content": content}, ensure_ascii=False))
            except Exception as e:  # noqa: BLE001 - report whatever edx-val raised
                print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
        return 0
    try:
        data = api.get_video_transcript_data(argv[1], argv[2])
        if data is None:
            print(f"error: no transcript for video {argv[1]!r} language {argv[2]!r}", file=sys.stderr)
            return 1
        content = data["content"]
        if isinstance(content, bytes):
            content = content.decode("utf-8")
    except Exception as e:  # noqa: BLE001 - report whatever edx-val raised
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"file_name": data["file_name"], "content": content}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
