import io
import os
import threading

from inboxwatch.sources.follow import FollowedFile


def read_available(followed: FollowedFile, count: int) -> list[bytes]:
    return [followed.read1() for _ in range(count)]


def test_follow_reads_appended_lines(tmp_path):
    path = tmp_path / "mail.log"
    path.write_bytes(b"one\ntwo\n")
    followed = FollowedFile(str(path), poll_interval=0.01)
    assert read_available(followed, 2) == [b"one\n", b"two\n"]
    with open(path, "ab") as handle:
        handle.write(b"three\n")
    assert followed.read1() == b"three\n"


def test_follow_waits_for_incomplete_line(tmp_path):
    path = tmp_path / "mail.log"
    path.write_bytes(b"one\npar")
    followed = FollowedFile(str(path), poll_interval=0.01)
    assert followed.read1() == b"one\n"
    with open(path, "ab") as handle:
        handle.write(b"tial\n")
    assert followed.read1() == b"partial\n"


def test_follow_survives_rename_rotation(tmp_path):
    path = tmp_path / "mail.log"
    path.write_bytes(b"old-1\n")
    followed = FollowedFile(str(path), poll_interval=0.01)
    assert followed.read1() == b"old-1\n"
    with open(path, "ab") as handle:
        handle.write(b"old-2\n")
    os.rename(path, tmp_path / "mail.log.1")
    path.write_bytes(b"new-1\n")
    assert followed.read1() == b"old-2\n"
    assert followed.read1() == b"new-1\n"


def test_follow_restarts_after_truncation(tmp_path):
    path = tmp_path / "mail.log"
    path.write_bytes(b"first line\nsecond line\n")
    followed = FollowedFile(str(path), poll_interval=0.01)
    assert read_available(followed, 2) == [b"first line\n", b"second line\n"]
    path.write_bytes(b"x\n")
    assert followed.read1() == b"x\n"


def test_follow_resumes_from_saved_position(tmp_path):
    path = tmp_path / "mail.log"
    path.write_bytes(b"a\nb\nc\n")
    followed = FollowedFile(str(path), poll_interval=0.01, lag=0)
    assert read_available(followed, 2) == [b"a\n", b"b\n"]
    position = followed.safe_position()
    followed.close()

    resumed = FollowedFile(str(path), start=position, poll_interval=0.01)
    assert resumed.read1() == b"c\n"


def test_follow_ignores_position_of_replaced_file(tmp_path):
    path = tmp_path / "mail.log"
    path.write_bytes(b"a\nb\n")
    followed = FollowedFile(str(path), poll_interval=0.01, lag=0)
    followed.read1()
    position = followed.safe_position()
    followed.close()
    path.unlink()
    path.write_bytes(b"z\n")

    resumed = FollowedFile(str(path), start=position, poll_interval=0.01)
    assert resumed.read1() == b"z\n"


def test_follow_returns_end_of_stream_when_stopped(tmp_path):
    path = tmp_path / "mail.log"
    path.write_bytes(b"")
    stop = threading.Event()
    stop.set()
    followed = FollowedFile(str(path), stop=stop, poll_interval=0.01)
    assert followed.read1() == b""


def test_follow_feeds_a_text_reader(tmp_path):
    path = tmp_path / "mail.log"
    path.write_bytes(b"alpha\nbeta\n")
    stop = threading.Event()
    followed = FollowedFile(str(path), stop=stop, poll_interval=0.01)
    reader = io.TextIOWrapper(followed, encoding="utf-8")
    assert reader.readline() == "alpha\n"
    assert reader.readline() == "beta\n"


def test_follow_calls_idle_hook_while_waiting(tmp_path):
    path = tmp_path / "mail.log"
    path.write_bytes(b"a\n")
    stop = threading.Event()
    calls = []

    def on_idle():
        calls.append(1)
        stop.set()

    followed = FollowedFile(str(path), stop=stop, poll_interval=0.01, on_idle=on_idle)
    assert followed.read1() == b"a\n"
    assert followed.read1() == b""
    assert calls == [1]
