"""Landing and archive locations are parsed as untrusted input."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.storage.errors import StorageLocationError
from pipeline.storage.s3_client import settings_from_env
from pipeline.storage.uris import StorageLocation, parse_location


def test_s3_uri_gives_bucket_and_prefix_without_slashes() -> None:
    location = parse_location("s3://carton-caps/landing/prod/", what="--landing")
    assert location == StorageLocation(bucket="carton-caps", prefix="landing/prod")
    assert location.key("r1", "app.sqlite") == "landing/prod/r1/app.sqlite"
    assert location.uri("r1") == "s3://carton-caps/landing/prod/r1"
    assert location.s3a_uri("r1") == "s3a://carton-caps/landing/prod/r1"


def test_bucket_root_has_an_empty_prefix() -> None:
    location = parse_location("s3://carton-caps", what="--archive")
    assert location.prefix == ""
    assert location.key("LATEST") == "LATEST"
    assert str(location) == "s3://carton-caps"


def test_a_folder_is_a_local_location() -> None:
    location = parse_location("~/landing", what="--landing")
    assert not location.is_s3
    assert location.path == Path("~/landing").expanduser()


def test_the_archive_must_be_in_object_storage() -> None:
    with pytest.raises(StorageLocationError) as caught:
        parse_location("/srv/archive", what="--archive", allow_local=False)
    assert str(caught.value) == ("--archive must be an s3://bucket/prefix URI, got "
                                 "'/srv/archive'")


def test_credentials_in_the_uri_are_refused_without_quoting_them() -> None:
    with pytest.raises(StorageLocationError) as caught:
        parse_location("s3://AKIAEXAMPLEKEY123456:hunter2secret@carton-caps/x", what="--archive")
    message = str(caught.value)
    assert "hunter2secret" not in message and "AKIAEXAMPLEKEY123456" not in message
    assert message.startswith("--archive holds credentials in the URI: refused")


@pytest.mark.parametrize(("text", "expected"), [
    ("", "--landing is empty: give a folder or s3://bucket/prefix"),
    ("http://carton-caps/x", "--landing must be an s3:// URI or a folder; the scheme 'http' "
                             "is not supported"),
    ("s3://Carton_Caps/x", "--landing: 'Carton_Caps' is not a valid bucket name (3-63 "
                           "characters: lowercase letters, digits, dots and hyphens; not an "
                           "IP address)"),
    ("s3://10.0.0.1/x", "--landing: '10.0.0.1' is not a valid bucket name (3-63 characters: "
                        "lowercase letters, digits, dots and hyphens; not an IP address)"),
    ("s3://carton-caps/a/../b", "'a/../b' is not a usable key prefix: use segments of "
                                "letters, digits and _ . = + - separated by single slashes, "
                                "without '.' or '..'"),
    ("s3://carton-caps/a//b", "'a//b' is not a usable key prefix: use segments of letters, "
                              "digits and _ . = + - separated by single slashes, without '.' "
                              "or '..'"),
    ("s3://carton-caps/x?versionId=1", "--landing 's3://carton-caps/x?versionId=1' has a "
                                       "query, fragment, escape or quote: give a plain "
                                       "s3://bucket/prefix"),
    ("s3://carton-caps/a b", "--landing 's3://carton-caps/a b' contains spaces or control "
                             "characters"),
    ("s3://carton-caps/runs/*", "'runs/*' is not a usable key prefix: use segments of "
                                "letters, digits and _ . = + - separated by single slashes, "
                                "without '.' or '..'"),
])
def test_malformed_locations_are_refused_with_one_line(text: str, expected: str) -> None:
    with pytest.raises(StorageLocationError) as caught:
        parse_location(text, what="--landing")
    assert str(caught.value) == expected


def test_child_segments_are_checked_too() -> None:
    location = parse_location("s3://carton-caps/landing", what="--landing")
    assert location.child("r1").prefix == "landing/r1"
    with pytest.raises(StorageLocationError):
        location.child("../other")


def test_endpoint_settings_come_from_the_standard_variables() -> None:
    settings = settings_from_env({"AWS_ENDPOINT_URL": "http://127.0.0.1:9000/",
                                  "AWS_REGION": "eu-west-1"})
    assert settings.endpoint_url == "http://127.0.0.1:9000"
    assert settings.path_style and not settings.use_ssl
    assert settings.endpoint_host == "127.0.0.1:9000"
    assert settings.region == "eu-west-1"
    aws = settings_from_env({})
    assert aws.endpoint_url is None and not aws.path_style and aws.use_ssl
    assert settings_from_env({"AWS_ENDPOINT_URL": "http://a:1",
                              "AWS_ENDPOINT_URL_S3": "https://b:2"}).endpoint_url == "https://b:2"


def test_an_endpoint_with_credentials_is_refused_without_quoting_them() -> None:
    with pytest.raises(StorageLocationError) as caught:
        settings_from_env({"AWS_ENDPOINT_URL": "http://user:pa55word@127.0.0.1:9000"})
    assert "pa55word" not in str(caught.value)
    assert str(caught.value).startswith("AWS_ENDPOINT_URL holds credentials: refused")
