"""Account lists from the command line and files; the Dask address forms."""

from __future__ import annotations

import pytest

from auditor.distributed import dask_client, parse_account_ids, read_accounts_file
from auditor.errors import UsageError


def test_ids_keep_order_drop_duplicates_and_comments():
    assert parse_account_ids(
        ["222222222222,111111111111", "222222222222 # again", "333333333333"]
    ) == ["222222222222", "111111111111", "333333333333"]


@pytest.mark.parametrize(
    "bad", ["12345678901", "1234567890123", "12345678901a", "arn:aws:iam::123456789012:root"]
)
def test_a_bad_id_is_a_usage_error_naming_it(bad):
    with pytest.raises(UsageError, match="not a 12-digit AWS account id"):
        parse_account_ids([bad])


def test_accounts_file(tmp_path):
    path = tmp_path / "accounts.txt"
    path.write_text("# production\n111111111111  # payments\n\n222222222222, 333333333333\n")
    assert read_accounts_file(path) == ["111111111111", "222222222222", "333333333333"]
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing yet\n")
    with pytest.raises(UsageError, match="no account id"):
        read_accounts_file(empty)
    bad = tmp_path / "bad.txt"
    bad.write_text("111111111111\nfoo\n")
    with pytest.raises(UsageError, match=r"bad.txt: 'foo' is not a 12-digit"):
        read_accounts_file(bad)


@pytest.mark.parametrize("address", ["local:many", "local:0"])
def test_bad_local_dask_address_is_a_usage_error(address):
    pytest.importorskip("distributed")
    with pytest.raises(UsageError, match="local:N"):
        dask_client(address)
