"""seqkit.io.data.download with file:// URLs (tests never touch the network)."""

import hashlib

import pytest

from seqkit.errors import SeqkitError
from seqkit.io.data import cache_dir, download


def _source(tmp_path, data=b"some bytes\n"):
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    return src.as_uri(), hashlib.sha256(data).hexdigest()


def test_download_checks_the_sha256_and_caches(tmp_path):
    url, sha = _source(tmp_path)
    path = download(url, sha, progress=False)
    assert path.read_bytes() == b"some bytes\n" and path.parent == cache_dir("downloads")
    (tmp_path / "src.bin").unlink()
    assert download(url, sha, progress=False) == path  # cached: the source is not read again


def test_wrong_sha256_leaves_nothing_behind(tmp_path):
    url, _ = _source(tmp_path)
    with pytest.raises(SeqkitError, match="expected"):
        download(url, "0" * 64, filename="x.bin", progress=False)
    assert list(cache_dir("downloads").iterdir()) == []


def test_no_sha256_is_for_callers_that_check_the_content(tmp_path):
    url, _ = _source(tmp_path, b"archive")
    assert download(url, None, filename="a.zip", progress=False).read_bytes() == b"archive"


def test_unreachable_url_is_a_clean_error(tmp_path):
    with pytest.raises(SeqkitError, match="could not download"):
        download((tmp_path / "missing.bin").as_uri(), None, progress=False)


def test_run_cli_does_not_register_installed_plugins_twice():
    """seqkit.testing.cli_app starts from core's commands: no conflict warnings for plugins the
    real CLI already registered."""
    from seqkit.testing import run_cli

    for _ in range(2):
        r = run_cli(["--help"])
        assert r.exit_code == 0 and "registered by both" not in r.stderr
