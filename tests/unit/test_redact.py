import logging

import pytest

from api.contract.redact import RedactingFilter, redact_text, redact_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("rtsp://admin:s3cret@10.0.0.5:554/Streaming/Channels/101",
         "rtsp://***:***@10.0.0.5:554/Streaming/Channels/101"),
        ("rtsp://admin@10.0.0.5/live", "rtsp://***@10.0.0.5/live"),
        ("rtsp://10.0.0.5:554/live?channel=1", "rtsp://10.0.0.5:554/live?channel=1"),
        ("http://user:p%40ss%3Aw0rd@cam.example:8080/video.mjpg",
         "http://***:***@cam.example:8080/video.mjpg"),
        # a raw "@" in the password (common on cameras): mask up to the last "@"
        ("rtsp://admin:p@ss@10.0.0.5/live", "rtsp://***:***@10.0.0.5/live"),
        ("rtsp://admin:@10.0.0.5/", "rtsp://***:***@10.0.0.5/"),
        ("/data/clips/street.mp4", "/data/clips/street.mp4"),
        ("rtsp://[fe80::1]:554/x", "rtsp://[fe80::1]:554/x"),
        ("rtsp://u:pw@[fe80::1]:554/x", "rtsp://***:***@[fe80::1]:554/x"),
        ("http://10.0.0.9/cgi-bin/snap?loginuse=admin&loginpas=hunter2&ch=1",
         "http://10.0.0.9/cgi-bin/snap?loginuse=***&loginpas=***&ch=1"),
    ],
)
def test_redact_url(url, expected):
    assert redact_url(url) == expected


@pytest.mark.parametrize("garbage", [None, "", 42, b"rtsp://a:b@h/x", object(), "://@@@", "rtsp://"])
def test_redact_url_never_raises(garbage):
    out = redact_url(garbage)
    assert isinstance(out, str)
    if isinstance(garbage, bytes):
        assert out == "rtsp://***:***@h/x"


def test_redact_url_with_unprintable_object():
    class Hostile:
        def __str__(self):
            raise RuntimeError("nope")

    assert "unprintable" in redact_url(Hostile())


def test_redact_text_several_urls_in_free_text():
    text = ("failed rtsp://admin:s3cret@10.0.0.5/a, then tried "
            "'http://bob:pw1234@cam:80/b' and rtsps://eve@x/y; mail ops@example.com")
    out = redact_text(text)
    assert "s3cret" not in out and "pw1234" not in out and "admin" not in out
    assert "bob" not in out and "eve" not in out
    assert "rtsp://***:***@10.0.0.5/a" in out
    assert "http://***:***@cam:80/b" in out
    assert "rtsps://***@x/y" in out
    assert "ops@example.com" in out  # an e-mail is not a URL's userinfo


def test_redact_text_masks_bare_secrets_from_known_urls():
    url = "rtsp://operator:p%40ss%20w0rd!@10.0.0.5/live"
    text = ("401 for user operator with password p@ss w0rd! "
            "(encoded p%40ss%20w0rd%21, form p%40ss+w0rd%21, raw p%40ss%20w0rd!)")
    out = redact_text(text, urls=[url])
    for secret in ("operator", "p@ss w0rd!", "p%40ss%20w0rd", "p%40ss+w0rd"):
        assert secret not in out, out
    assert out.startswith("401 for user ***")


def test_redact_text_ignores_tiny_literals_and_bad_urls():
    # A 1-char username would otherwise blank every "a" in the message.
    assert redact_text("a camera", urls=["rtsp://a:b@h/x", None, 3]) == "a camera"


def test_redact_text_without_credentials_is_identity():
    text = "opened rtsp://10.0.0.5:554/live at 12:00 (user@host style e-mail kept)"
    assert redact_text(text) == text


def _record(msg, args=(), exc_info=None):
    return logging.LogRecord("t", logging.WARNING, __file__, 1, msg, args, exc_info)


def test_logging_filter_redacts_msg_and_args():
    f = RedactingFilter(urls=["rtsp://admin:s3cret@10.0.0.5/live"])
    rec = _record("camera %s failed: %s", ("rtsp://admin:s3cret@10.0.0.5/live", "bad s3cret"))
    assert f.filter(rec) is True
    assert rec.getMessage() == "camera rtsp://***:***@10.0.0.5/live failed: bad ***"


def test_logging_filter_redacts_exception_text():
    f = RedactingFilter()
    try:
        raise ValueError("cannot open rtsp://admin:s3cret@cam/x")
    except ValueError:
        import sys

        rec = _record("boom", exc_info=sys.exc_info())
    f.filter(rec)
    formatted = logging.Formatter().format(rec)
    assert "s3cret" not in formatted and "rtsp://***:***@cam/x" in formatted


def test_logging_filter_survives_bad_format_args():
    f = RedactingFilter()
    rec = _record("%d rtsp://u:pw@h/x", ("not a number",))
    assert f.filter(rec) is True
    assert "pw" not in rec.getMessage()


def test_logging_filter_on_handler(caplog):
    logger = logging.getLogger("gridsight.test.redact")
    handler_filter = RedactingFilter()
    caplog.handler.addFilter(handler_filter)
    try:
        with caplog.at_level(logging.INFO, logger="gridsight.test.redact"):
            logger.info("connecting to %s", "rtsp://root:toor1@1.2.3.4/")
    finally:
        caplog.handler.removeFilter(handler_filter)
    assert "toor1" not in caplog.text
    assert "rtsp://***:***@1.2.3.4/" in caplog.text


def test_scheme_glued_to_an_identifier_is_still_redacted():
    assert redact_text("cam1_rtsp://admin:pw@host/x") == "cam1_rtsp://***:***@host/x"


def test_raw_slash_in_password_does_not_leak_its_tail():
    out = redact_text("open failed: rtsp://admin:pa/ss@10.0.0.1:554/live")
    assert "pa/ss" not in out and "ss@" not in out and "10.0.0.1:554/live" in out
