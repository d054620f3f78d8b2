from chalicelib.adapters.dynamo_tokens import DynamoTokenStore
from chalicelib.domain.tokens import hash_secret
from wharf_stack.bootstrap import main


def test_bootstrap_creates_an_admin_token_in_the_table(aws, capsys):
    assert main(["--table", aws.resources.table, "--region", "us-east-1"]) == 0
    out = capsys.readouterr()
    secret = out.out.strip()
    assert secret.startswith("wharf_")
    record = DynamoTokenStore(aws.clients.dynamodb, aws.resources.table).get_by_hash(
        hash_secret(secret)
    )
    assert record is not None and record.role == "admin"
    assert secret not in out.err
