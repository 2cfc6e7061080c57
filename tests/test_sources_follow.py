import gzip
import io
import logging
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


def stop_after_reading(path, count: int):
    """Read `count` lines of a followed file, close it and return the position a service would store."""
    followed = FollowedFile(str(path), poll_interval=0.01, lag=0)
    read_available(followed, count)
    position = followed.safe_position()
    followed.close()
    return position


def test_follow_resumes_small_file_that_grew(tmp_path):
    path = tmp_path / "mail.log"
    path.write_bytes(b"a\nb\n")
    position = stop_after_reading(path, 2)
    with open(path, "ab") as handle:
        handle.write(b"c\n" * 600)

    resumed = FollowedFile(str(path), start=position, poll_interval=0.01)
    assert resumed.read1() == b"c\n"
    assert resumed.safe_position().offset == 4


def test_follow_reads_file_rotated_while_stopped(tmp_path, caplog):
    path = tmp_path / "mail.log"
    path.write_bytes(b"old-1\n")
    position = stop_after_reading(path, 1)
    with open(path, "ab") as handle:
        handle.write(b"old-2\nold-3\n")
    os.rename(path, tmp_path / "mail.log-20261204")
    path.write_bytes(b"new-1\n")

    caplog.set_level(logging.INFO, logger="inboxwatch.sources.follow")
    resumed = FollowedFile(str(path), start=position, poll_interval=0.01, lag=0)
    assert resumed.read1() == b"old-2\n"
    assert resumed.safe_position().inode == position.inode
    assert resumed.read1() == b"old-3\n"
    assert resumed.read1() == b"new-1\n"
    assert resumed.safe_position().inode == path.stat().st_ino
    assert "reading the rest of %s from byte 6 first" % (tmp_path / "mail.log-20261204") in caplog.text


def test_follow_resumes_inside_rotated_file(tmp_path):
    path = tmp_path / "mail.log"
    path.write_bytes(b"old-1\n")
    first = stop_after_reading(path, 1)
    with open(path, "ab") as handle:
        handle.write(b"old-2\nold-3\n")
    os.rename(path, tmp_path / "mail.log.1")
    path.write_bytes(b"new-1\n")

    # Stopped again after one line of the rotated file: the stored position points into it.
    followed = FollowedFile(str(path), start=first, poll_interval=0.01, lag=0)
    assert followed.read1() == b"old-2\n"
    second = followed.safe_position()
    followed.close()
    os.rename(tmp_path / "mail.log.1", tmp_path / "mail.log.2")

    resumed = FollowedFile(str(path), start=second, poll_interval=0.01)
    assert resumed.read1() == b"old-3\n"
    assert resumed.read1() == b"new-1\n"


def test_follow_reads_rotated_file_before_new_one_exists(tmp_path):
    path = tmp_path / "mail.log"
    path.write_bytes(b"old-1\n")
    position = stop_after_reading(path, 1)
    with open(path, "ab") as handle:
        handle.write(b"old-2\n")
    os.rename(path, tmp_path / "mail.log.1")

    resumed = FollowedFile(str(path), start=position, poll_interval=0.01)
    assert resumed.read1() == b"old-2\n"
    path.write_bytes(b"new-1\n")
    assert resumed.read1() == b"new-1\n"


def test_follow_warns_when_rotated_file_is_gone(tmp_path, caplog):
    path = tmp_path / "mail.log"
    path.write_bytes(b"old-1\n")
    position = stop_after_reading(path, 1)
    with open(path, "ab") as handle:
        handle.write(b"old-2\n")
    # Compressed by logrotate: the rotated content now lives in another inode.
    os.rename(path, tmp_path / "mail.log.1")
    with open(tmp_path / "mail.log.1", "rb") as source, gzip.open(tmp_path / "mail.log.1.gz", "wb") as target:
        target.write(source.read())
    # The new file is created first, so that it cannot reuse the freed inode.
    path.write_bytes(b"new-1\n")
    os.unlink(tmp_path / "mail.log.1")

    caplog.set_level(logging.WARNING, logger="inboxwatch.sources.follow")
    resumed = FollowedFile(str(path), start=position, poll_interval=0.01)
    assert resumed.read1() == b"new-1\n"
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert str(path) in warnings[0]
    assert "stored inode %d" % position.inode in warnings[0]
    assert "after byte 6 could not be read" in warnings[0]


def test_follow_rereads_file_truncated_while_stopped(tmp_path, caplog):
    path = tmp_path / "mail.log"
    path.write_bytes(b"first line\nsecond line\n")
    position = stop_after_reading(path, 2)
    with open(path, "r+b") as handle:
        handle.truncate(0)
        handle.write(b"x\n")
    assert path.stat().st_ino == position.inode

    caplog.set_level(logging.WARNING, logger="inboxwatch.sources.follow")
    resumed = FollowedFile(str(path), start=position, poll_interval=0.01)
    assert resumed.read1() == b"x\n"
    assert "shorter than the stored position (byte 23), so it was truncated" in caplog.text


def test_follow_skips_rotated_file_with_other_content(tmp_path, caplog):
    path = tmp_path / "mail.log"
    path.write_bytes(b"old-1\n")
    position = stop_after_reading(path, 1)
    os.rename(path, tmp_path / "mail.log.1")
    with open(tmp_path / "mail.log.1", "r+b") as handle:
        handle.write(b"OTHER\nmore\n")
    path.write_bytes(b"new-1\n")

    caplog.set_level(logging.WARNING, logger="inboxwatch.sources.follow")
    resumed = FollowedFile(str(path), start=position, poll_interval=0.01)
    assert resumed.read1() == b"new-1\n"
    assert "has the stored inode %d of %s but not its content" % (position.inode, path) in caplog.text
